"""The challenge job, end to end, as a user runs it."""

import subprocess
import sys

import pytest
from conftest import DEMO_DATA, ROOT, challenge_data_or_skip


def run_example(data, output, *extra):
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "run.py"),
            "--data",
            str(data),
            "--output",
            str(output),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_run_py_reproduces_demo_validation(tmp_path):
    out = tmp_path / "output.tsv"
    result = run_example(DEMO_DATA, out)
    assert result.returncode == 0, result.stderr
    assert "mean_score" in result.stderr  # the CV table is printed
    assert out.read_bytes() == (DEMO_DATA / "validation" / "subjects.tsv").read_bytes()


@pytest.mark.slow
def test_run_py_reproduces_challenge_validation(tmp_path):
    data = challenge_data_or_skip()
    out = tmp_path / "output.tsv"
    result = run_example(data, out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (data / "validation" / "subjects.tsv").read_bytes()


def test_run_py_without_the_outer_features(tmp_path):
    out = tmp_path / "output.tsv"
    result = run_example(DEMO_DATA, out, "--model", "features", "--no-outer-features")
    assert result.returncode == 0, result.stderr
    assert "features (no outer)" in result.stderr  # the CV table names it
    assert out.read_bytes() == (DEMO_DATA / "validation" / "subjects.tsv").read_bytes()
    cnn = run_example(DEMO_DATA, out, "--model", "cnn", "--outer-features")
    assert cnn.returncode == 1
    assert cnn.stderr.startswith("run.py: error: outer_features: the CNN reads")

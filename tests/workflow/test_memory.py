"""Memory bounds of ``blurkit predict`` on large images (no timings).

Each run is a separate process; its peak is the maximum resident set size
the kernel reports for that child (``wait4``), so other tests' children do
not count.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

LIMIT_BYTES = 1024**3


@pytest.fixture(scope="module")
def large_png(tmp_path_factory):
    # A smooth ramp with noise: compresses like a scan, has detail to judge.
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.arange(4096), np.arange(4096)) % 256
    noisy = np.clip(ramp + rng.normal(0, 4, (4096, 4096)), 0, 255)
    path = tmp_path_factory.mktemp("large") / "large.png"
    Image.fromarray(noisy.astype(np.uint8)).save(path)
    return path


def _run_and_measure(args, tmp_path):
    """Peak RSS (bytes) of ``python -m blurkit.cli predict ARGS``."""
    command = [sys.executable, "-m", "blurkit.cli", "predict", *args, "-q"]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    # wait4 reaps this child and reports its own peak; read stderr first so
    # that a chatty failure cannot block on a full pipe.
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    assert process.returncode == 0, stderr.decode()
    return usage.ru_maxrss * 1024  # kilobytes on Linux


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KB")
@pytest.mark.parametrize("sigma", [False, True], ids=["labels", "sigma"])
def test_one_4096_image_takes_under_1_gb(large_png, tmp_path, sigma):
    out = tmp_path / "out.tsv"
    args = [str(large_png), "-o", str(out)] + (["--sigma"] if sigma else [])
    peak = _run_and_measure(args, tmp_path)
    assert peak < LIMIT_BYTES, f"peak RSS {peak / 2**20:.0f} MB"
    rows = out.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("large\t")

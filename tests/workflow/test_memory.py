"""Memory bounds of ``blurkit predict`` on large images (no timings).

Each run is a separate process, which reports its own peak resident set
size (VmHWM), so neither the test process nor other tests count.
"""

from __future__ import annotations

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


# The command, then its own peak: VmHWM belongs to the process's memory map,
# which exec replaces. ru_maxrss would not do: Linux carries it over fork and
# exec, so a child of a large test process would report the parent's size.
_MEASURED = """
import sys
from blurkit.cli import main
status = main(sys.argv[2:])
with open("/proc/self/status") as lines, open(sys.argv[1], "w") as out:
    out.write(next(line for line in lines if line.startswith("VmHWM:")))
sys.exit(status)
"""


def _run_and_measure(args, tmp_path):
    """Peak RSS (bytes) of ``blurkit predict ARGS``, in a process of its own."""
    peak_file = tmp_path / "peak.txt"
    command = [sys.executable, "-c", _MEASURED, str(peak_file), "predict", *args]
    result = subprocess.run(
        [*command, "-q"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return int(peak_file.read_text().split()[1]) * 1024  # kB


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
@pytest.mark.parametrize("sigma", [False, True], ids=["labels", "sigma"])
def test_one_4096_image_takes_under_1_gb(large_png, tmp_path, sigma):
    out = tmp_path / "out.tsv"
    args = [str(large_png), "-o", str(out)] + (["--sigma"] if sigma else [])
    peak = _run_and_measure(args, tmp_path)
    assert peak < LIMIT_BYTES, f"peak RSS {peak / 2**20:.0f} MB"
    rows = out.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("large\t")

"""Memory benchmark: peak RSS of ``blurkit predict`` on large images.

Target (issue 13): at most 1 GB for any single image up to 4096x4096, with
and without ``--sigma`` (which loads the full model: scikit-learn and torch);
a folder of large images stays bounded too, since each task reads and
predicts at most ``CHUNK_PIXELS`` pixels at a time (one larger image alone).

Each command runs as a separate process, which reports its own peak resident
set size (VmHWM; see ``throughput.run_timed``). The images are made once from a demo
slice (bicubic upsampling plus seeded noise, so that they compress like real
scans) in ``benchmarks/_work/memory/`` (git-ignored). The built-in model is
used, so nothing needs training.

Usage::

    python benchmarks/memory.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from throughput import blurkit_command, run_timed

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "memory"
SOURCE = ROOT / "data" / "validation" / "sub-DEMO0081.png"
LIMIT_MB = 1024
FOLDER_SHAPES = [(4096, 4096), (3072, 4096), (3000, 3000), (2048, 2048)]


def make_image(path: Path, shape: tuple[int, int], seed: int) -> Path:
    """An 8-bit PNG of ``shape``: the demo slice upsampled, with noise; once."""
    if path.is_file():
        return path
    base = Image.open(SOURCE).convert("L").resize(shape[::-1], Image.BICUBIC)
    noisy = np.asarray(base, dtype=np.float32)
    noisy += np.random.default_rng(seed).normal(0, 3, shape).astype(np.float32)
    tmp = path.with_name(path.name + ".tmp.png")
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(tmp)
    tmp.replace(path)
    return path


def predict(*args: str) -> list[str]:
    return blurkit_command("predict", *args, "-q")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each")
    args = parser.parse_args(argv)

    WORK.mkdir(parents=True, exist_ok=True)
    print("Making the large images (once)...", flush=True)
    big = make_image(WORK / "big4096.png", (4096, 4096), 0)
    folder = WORK / "folder"
    folder.mkdir(exist_ok=True)
    for i, shape in enumerate(FOLDER_SHAPES):
        make_image(folder / f"large{i}_{shape[0]}x{shape[1]}.png", shape, i + 1)
    small = SOURCE
    out = str(WORK / "out.tsv")

    cases = [
        ("one 121x121 slice (start-up)", predict(str(small), "-o", out), None),
        ("one 121x121 slice, --sigma", predict(str(small), "-o", out, "--sigma"), None),
        ("one 4096x4096 image", predict(str(big), "-o", out), LIMIT_MB),
        ("one 4096x4096 image, --sigma",
         predict(str(big), "-o", out, "--sigma"), LIMIT_MB),
        (f"folder of {len(FOLDER_SHAPES)} large images (2 threads)",
         predict(str(folder), "-o", out), None),
        (f"folder of {len(FOLDER_SHAPES)} large images, --sigma",
         predict(str(folder), "-o", out, "--sigma"), None),
        (f"folder of {len(FOLDER_SHAPES)} large images, --sigma --n-jobs 1",
         predict(str(folder), "-o", out, "--sigma", "--n-jobs", "1"), None),
    ]  # fmt: skip
    print(f"{'blurkit predict (built-in model)':56}{'peak MB':>9}{'wall s':>8}  target")
    for label, command, limit in cases:
        runs = [run_timed(command) for _ in range(args.repeat)]
        peak = max(run["peak_mb"] for run in runs)
        wall = min(run["wall"] for run in runs)
        target = ""
        if limit:
            target = f"<= {limit} MB: {'met' if peak <= limit else 'MISSED'}"
        print(f"{label:56}{peak:9.0f}{wall:8.1f}  {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU contention benchmark: a blurkit job alone, then two identical ones at once.

Target (issue 13, point 5): with a second identical job running, each job
takes at most 2.5x its time alone. Before blurkit set its thread counts on
purpose, two ``blurkit train data/train --model cnn`` started together took
80 s each against 20 s alone (4x): torch, BLAS and OpenMP each started one
spinning thread per processor in both jobs.

Each repeat times the job alone, then two copies started together (each its
own process, wall time from its start); the ratio is each together-time over
the alone-time of the same repeat, and the script prints the median and the
range over repeats. On a machine other people use, the ratios are noisy:
compare with a run on a quiet machine.

Usage::

    python benchmarks/contention.py [--repeat 3] [--job train-cnn|predict]
                                    [--n-jobs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"
TARGET = 2.5


def many_images(folder: Path, copies: int = 250) -> Path:
    """A folder of links to the demo validation images, ``copies`` times each
    under distinct names (subjects must be unique)."""
    folder.mkdir()
    for source in sorted((DEMO / "validation").glob("*.png")):
        for k in range(copies):
            (folder / f"c{k:03d}_{source.name}").symlink_to(source)
    return folder


def job_command(
    job: str, out: Path, n_jobs: int | None, images: Path | None = None
) -> list[str]:
    command = [sys.executable, "-m", "blurkit.cli"]
    if job == "train-cnn":
        command += ["train", str(DEMO / "train"), "--model", "cnn"]
        command += ["-o", str(out.with_suffix(".blurkit")), "-q"]
    else:  # predict: the built-in model over 4,000 links to demo images
        command += ["predict", str(images), "-o", str(out), "-q"]
    if n_jobs is not None:
        command += ["--n-jobs", str(n_jobs)]
    return command


def run_together(commands: list[list[str]]) -> list[float]:
    """Start the commands at once; return each one's wall time."""
    start = time.perf_counter()
    processes = [
        subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for c in commands
    ]
    walls = [0.0] * len(processes)
    pending = set(range(len(processes)))
    while pending:
        for i in list(pending):
            if processes[i].poll() is not None:
                walls[i] = time.perf_counter() - start
                pending.discard(i)
        time.sleep(0.01)
    for process, command in zip(processes, commands, strict=True):
        stderr = process.stderr.read().decode()
        process.stderr.close()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{stderr}")
    return walls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--job", choices=["train-cnn", "predict"], default="train-cnn")
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="passed to each job (default: its own)"
    )
    args = parser.parse_args(argv)

    alone, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = many_images(tmp / "images") if args.job == "predict" else None
        one = job_command(args.job, tmp / "a.tsv", args.n_jobs, images)
        two = [
            job_command(args.job, tmp / f"{c}.tsv", args.n_jobs, images) for c in "bc"
        ]
        print(f"Job: {' '.join(one[1:])}", flush=True)
        for i in range(args.repeat):
            (wall,) = run_together([one])
            together = run_together(two)
            alone.append(wall)
            ratios += [t / wall for t in together]
            print(
                f"  repeat {i + 1}: alone {wall:.1f} s; together "
                + ", ".join(f"{t:.1f} s" for t in together)
                + " ("
                + ", ".join(f"{t / wall:.2f}x" for t in together)
                + ")",
                flush=True,
            )
    median = statistics.median(ratios)
    print(
        f"Each of two jobs together vs alone: median {median:.2f}x "
        f"(range {min(ratios):.2f}x to {max(ratios):.2f}x over {len(ratios)} "
        f"job runs; alone: median {statistics.median(alone):.1f} s); "
        f"target <= {TARGET}x: {'met' if median <= TARGET else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

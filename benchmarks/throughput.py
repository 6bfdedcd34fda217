"""Throughput benchmark: ``blurkit predict`` against the classic recipe.

The classic recipe is one process looping over the files::

    image = cv2.imread(path, 0)
    sharp = cv2.Laplacian(image, cv2.CV_64F).var() > threshold

It is fast and wrong on hard cases; blurkit must be right and cheaper in
wall time, and close in CPU time. This script times, in the same run and on
the same files, each command as a separate process, process start included
(wall time, and CPU time = user + system, from ``wait4``), ``--repeat``
rounds interleaved so that a busy moment of the machine hits all of them; it
prints medians, and each ratio to the recipe's run of the same round as a
median with its range. CPU time depends less on other jobs than wall time.

- the recipe (OpenCV, from ``opencv-python-headless``, which blurkit does not
  depend on: install it for the benchmark; without it the recipe runs with
  Pillow and ``scipy.ndimage.laplace``, the same computation, and says so);
- ``blurkit predict`` with a features model (``blurkit train data/train``):
  targets <= 0.75x the recipe's wall time and <= 1.25x its CPU time; and
  with one trained without the outer features (``--no-outer-features``),
  what they cost;
- ``blurkit predict`` with a CNN model (``blurkit train data/train --model
  cnn``): targets <= 1.25x wall and <= 2.0x CPU;
- the peak memory (max RSS) of ``blurkit predict`` over all the slices and
  over 1,000 of them: target ratio <= 1.5, since prediction streams;
- ``blurkit train`` (default model) on the 320 challenge images (target <=
  15 s) and ``python examples/run.py --data DIR`` (target <= 60 s), when
  the challenge data is there;
- with ``--dask``, ``blurkit predict --scheduler local`` too (no target; its
  output must equal the single-process one).

The slices (default 20,000) are made once from the demo images in ``data/``
with small seeded variations (shift, flip, contrast), written as 8-bit PNG
files into ``benchmarks/_work/`` (git-ignored) and reused by later runs, like
the two models (``--retrain`` trains them again).

Usage::

    python benchmarks/throughput.py [--n-images 20000] [--repeat 5]
                                    [--data ../shared/data] [--skip-train]
                                    [--skip-cnn] [--dask] [--retrain]
    python benchmarks/throughput.py --quick   # 3 rounds, no training timings
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
DEMO = ROOT / "data"
N_SMALL = 1000
SEED = 0

# The recipe as its users write it; the threshold only matters for the labels.
RECIPE_CV2 = """
import os, sys
import cv2
folder, out = sys.argv[1:3]
names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
with open(out, "w") as f:
    f.write("Subject\\tLabel\\n")
    for name in names:
        image = cv2.imread(os.path.join(folder, name), 0)
        sharp = cv2.Laplacian(image, cv2.CV_64F).var() > 100.0
        f.write(f"{name[:-4]}\\t{int(sharp)}\\n")
"""
# Same computation without OpenCV: 'mirror' is OpenCV's default border.
RECIPE_PIL = """
import os, sys
import numpy as np
from PIL import Image
from scipy import ndimage
folder, out = sys.argv[1:3]
names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
with open(out, "w") as f:
    f.write("Subject\\tLabel\\n")
    for name in names:
        with Image.open(os.path.join(folder, name)) as im:
            image = np.asarray(im.convert("L"), dtype=np.float64)
        sharp = ndimage.laplace(image, mode="mirror").var() > 100.0
        f.write(f"{name[:-4]}\\t{int(sharp)}\\n")
"""


# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #


def make_slices(folder: Path, n_images: int, seed: int = SEED) -> Path:
    """Write ``n_images`` varied copies of the demo slices into ``folder``, once.

    Slice ``i`` is demo image ``i % n_demo``, shifted by up to 4 pixels,
    flipped left-right half of the time and scaled in intensity by 0.85 to
    1.15, with a generator seeded by ``(seed, i)``: the first 1,000 slices of
    any run are the same files.
    """
    stamp = folder / ".complete"
    expected = json.dumps({"n_images": n_images, "seed": seed})
    if stamp.is_file() and stamp.read_text() == expected:
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sources = sorted(DEMO.glob("*/*.png"))
    if not sources:
        sys.exit(f"throughput.py: no demo images in {DEMO}")
    bases = [np.asarray(Image.open(p), dtype=np.float64) for p in sources]
    print(f"Writing {n_images} PNG slices into {folder} (once)...", flush=True)
    for i in range(n_images):
        rng = np.random.default_rng([seed, i])
        image = np.roll(
            bases[i % len(bases)], tuple(rng.integers(-4, 5, size=2)), axis=(0, 1)
        )
        if rng.random() < 0.5:
            image = image[:, ::-1]
        image = np.clip(np.rint(image * rng.uniform(0.85, 1.15)), 0, 255)
        Image.fromarray(image.astype(np.uint8)).save(folder / f"slice{i:06d}.png")
    stamp.write_text(expected)
    return folder


def blurkit_command(*args: str) -> list[str]:
    # `python -m blurkit.cli` is the `blurkit` console script without the
    # launcher (a pyenv shim here, which adds its own start time).
    return [sys.executable, "-m", "blurkit.cli", *args]


def train_model(path: Path, family: str, retrain: bool, *options: str) -> str | None:
    """Train (or reuse) a model on the demo set (``blurkit train --model
    FAMILY OPTIONS``); return an error or None."""
    if path.is_file() and not retrain:
        # The check's TSV goes to a temporary folder, never to a device.
        with tempfile.TemporaryDirectory() as scratch:
            check = subprocess.run(
                blurkit_command(
                    "predict",
                    str(path),
                    str(DEMO / "validation"),
                    "-o",
                    str(Path(scratch) / "check.tsv"),
                    "-q",
                ),
                capture_output=True,
                text=True,
            )
        if check.returncode == 0:
            return None
        print(f"Cached {path.name} does not load; training it again.")
    print(f"Training the {family} model {' '.join(options)} on {DEMO / 'train'}...")
    tmp = path.with_name(path.name + ".tmp")
    result = subprocess.run(
        blurkit_command(
            "train",
            str(DEMO / "train"),
            "-o",
            str(tmp),
            "--model",
            family,
            "-q",
            *options,
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit status {result.returncode}"
    tmp.replace(path)
    return None


# --------------------------------------------------------------------------- #
# Timing
# --------------------------------------------------------------------------- #


# Runs a Python command (``-m MODULE ARGS`` or ``SCRIPT ARGS``, or ``-c CODE
# ARGS``) in this interpreter, then writes its own peak resident set size
# (VmHWM) to the file named first, and on a second line the peak of the
# largest of its own worker processes (forked by ``blurkit predict``; 0 for
# none), which counts the pages it shares with the command. ru_maxrss from
# wait4 would not do for the command itself: Linux carries it over fork and
# exec, so a child reports at least this benchmark's own peak (the images it
# made, the timings it holds).
_PEAK_WRAPPER = """
import atexit, resource, runpy, sys
peak_file, how, target, *args = sys.argv[1:]

def write_peak():
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open("/proc/self/status") as lines, open(peak_file, "w") as out:
        out.write(next(line for line in lines if line.startswith("VmHWM:")))
        out.write(f"Workers: {workers} kB\\n")

atexit.register(write_peak)
if how == "-m":
    sys.argv = [target, *args]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
elif how == "-c":
    sys.argv = ["-c", *args]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = [target, *args]
    runpy.run_path(target, run_name="__main__")
"""


def _with_peak(command: list[str], peak_file: Path) -> list[str]:
    """``command`` run through `_PEAK_WRAPPER` when it is a Python command."""
    if command[0] != sys.executable or not sys.platform.startswith("linux"):
        return command
    how, rest = (
        (command[1], command[2:])
        if command[1] in ("-m", "-c")
        else (
            "script",
            command[1:],
        )
    )
    return [sys.executable, "-c", _PEAK_WRAPPER, str(peak_file), how, *rest]


def run_timed(command: list[str], timeout: float | None = None) -> dict:
    """Run a command; return its wall time, CPU time and peak memory.

    The CPU time is the child's and its workers', from ``wait4``; the peak
    (``peak_mb``) is the resident set size the child reports for itself plus
    its largest worker's (``rss_mb`` and ``workers_rss_mb``, see
    `_PEAK_WRAPPER`; from ``wait4`` for a command that is not Python's). A
    command still running
    after ``timeout`` seconds is stopped, and the result says ``timed_out``.
    """
    peak_file = Path(tempfile.mkdtemp()) / "peak.txt"
    start = time.perf_counter()
    process = subprocess.Popen(
        _with_peak(command, peak_file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    timer = threading.Timer(timeout, process.kill) if timeout else None
    if timer:
        timer.start()
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if timer:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    timed_out = timeout is not None and wall >= timeout
    if process.returncode != 0 and not timed_out:
        raise RuntimeError(
            f"{' '.join(command)} failed ({process.returncode}):\n"
            f"{stderr.decode(errors='replace')}"
        )
    rss_mb, workers_mb = usage.ru_maxrss / 1024, 0.0
    if peak_file.is_file():
        lines = peak_file.read_text().splitlines()
        rss_mb = int(lines[0].split()[1]) / 1024
        workers_mb = int(lines[1].split()[1]) / 1024
        peak_file.unlink()
    peak_file.parent.rmdir()
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": rss_mb,
        "workers_rss_mb": workers_mb,
        # The command's peak plus its largest worker's (which counts the
        # pages they share twice): memory that grows with the number of
        # images, in the command or in a worker, shows in it.
        "peak_mb": rss_mb + workers_mb,
        "timed_out": timed_out,
    }


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()}"
    )


def verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "MISSED"


# --------------------------------------------------------------------------- #
# Main
# --------------------------------------------------------------------------- #


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short version: 3 runs, no training timings, no Dask",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="challenge data (train/, validation/) for the training timings",
    )
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument(
        "--dask", action="store_true", help="also time --scheduler local"
    )
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument(
        "--train-timeout",
        type=float,
        default=900,
        help="stop each training timing after this many seconds (default: 900)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.skip_train, args.dask = 3, True, False

    WORK.mkdir(parents=True, exist_ok=True)
    large = make_slices(WORK / f"slices-{args.n_images}", args.n_images)
    small = make_slices(WORK / f"slices-{N_SMALL}", N_SMALL)

    try:
        import cv2  # noqa: F401

        recipe, recipe_name = RECIPE_CV2, "recipe (cv2.imread + cv2.Laplacian)"
    except ImportError:
        recipe, recipe_name = RECIPE_PIL, "recipe (Pillow + ndimage.laplace)"
        print(
            "OpenCV is not installed (pip install opencv-python-headless): the "
            "recipe runs with Pillow and scipy.ndimage.laplace instead."
        )

    # name: (file, family, options); the features model without the outer
    # features measures what they cost, in the same rounds.
    trained = {
        "features": (WORK / "features.model", "features", ()),
        "features, no outer": (
            WORK / "features-no-outer.model",
            "features",
            ("--no-outer-features",),
        ),
    }
    if not args.skip_cnn:
        trained["cnn"] = (WORK / "cnn.model", "cnn", ())
    models = {}
    for name, (path, family, options) in trained.items():
        error = train_model(path, family, args.retrain, *options)
        if error:
            print(f"The {name} model could not be trained, skipped: {error}")
        else:
            models[name] = path

    out = WORK / "out"
    out.mkdir(exist_ok=True)
    commands = {"recipe": [sys.executable, "-c", recipe, str(large), str(out / "r")]}
    for family, path in models.items():
        commands[family] = blurkit_command(
            "predict", str(path), str(large), "-o", str(out / family), "-q"
        )
    small_command = blurkit_command(
        "predict", str(models["features"]), str(small), "-o", str(out / "s"), "-q"
    )
    one_command = blurkit_command(
        "predict",
        str(models["features"]),
        str(DEMO / "validation" / "sub-DEMO0081.png"),
        "-o",
        str(out / "one"),
        "-q",
    )

    print(f"Machine: {machine_description()}")
    print(
        f"Timing {len(commands)} commands on {args.n_images} slices, "
        f"{args.repeat} runs each...",
        flush=True,
    )
    # Warm the file cache: every command then reads the files from memory.
    run_timed(commands["recipe"])
    runs = {name: [] for name in [*commands, "small", "one"]}
    for _ in range(args.repeat):
        for name, command in commands.items():
            runs[name].append(run_timed(command))
        runs["small"].append(run_timed(small_command))
        runs["one"].append(run_timed(one_command))

    def median(name, key="wall"):
        return statistics.median(run[key] for run in runs[name])

    def ratios(name, key):
        # Each run against the recipe's run of the same round (interleaved):
        # a busy moment of the machine weighs on both.
        return [
            run[key] / recipe[key]
            for run, recipe in zip(runs[name], runs["recipe"], strict=True)
        ]

    def spread(values):
        return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"

    print()
    print(
        f"Medians of {args.repeat} interleaved runs; ratios to the recipe's run "
        "of the same round, median (min-max). CPU = user + system time."
    )
    print(
        f"{'':40}{'wall s':>8}{'CPU s':>8}  {'wall ratio':>18}  {'CPU ratio':>18}"
        "  targets (wall, CPU)"
    )
    print(f"{recipe_name:40}{median('recipe'):8.2f}{median('recipe', 'cpu'):8.2f}")
    # Targets by family: the model without the outer features has the
    # features model's.
    limits = {"features": (0.75, 1.25), "cnn": (1.25, 2.0)}
    for name in models:
        wall_ratios, cpu_ratios = ratios(name, "wall"), ratios(name, "cpu")
        wall_limit, cpu_limit = limits[trained[name][1]]
        verdicts = (
            f"<= {wall_limit}x: {verdict(statistics.median(wall_ratios), wall_limit)}"
            f", <= {cpu_limit}x: {verdict(statistics.median(cpu_ratios), cpu_limit)}"
        )
        print(
            f"{'blurkit predict, ' + name:40}{median(name):8.2f}"
            f"{median(name, 'cpu'):8.2f}  {spread(wall_ratios):>18}  "
            f"{spread(cpu_ratios):>18}  {verdicts}"
        )
    print(
        f"{'blurkit predict, features, 1 image':40}"
        f"{median('one'):8.2f}{median('one', 'cpu'):8.2f}  (start-up)"
    )
    per_image = (median("features", "cpu") - median("one", "cpu")) / (args.n_images - 1)
    print(
        f"  CPU per image: features {per_image * 1e6:.0f} us after start-up; "
        f"recipe {median('recipe', 'cpu') / args.n_images * 1e6:.0f} us, "
        "start-up included"
    )

    peak_large = max(run["peak_mb"] for run in runs["features"])
    peak_small = max(run["peak_mb"] for run in runs["small"])
    ratio = peak_large / peak_small
    workers = max(run["workers_rss_mb"] for run in runs["features"])
    print(
        f"Peak memory of blurkit predict (features; the command plus its "
        f"largest worker, {workers:.0f} MB): {peak_large:.0f} MB on "
        f"{args.n_images} slices, {peak_small:.0f} MB on {N_SMALL}: ratio "
        f"{ratio:.2f} (target <= 1.5: {verdict(ratio, 1.5)})"
    )
    n_rows = sum(1 for _ in open(out / "features")) - 1
    if n_rows != args.n_images:
        print(f"WARNING: blurkit predict wrote {n_rows} rows, not {args.n_images}")

    if args.dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("Dask: not installed (pip install 'blurkit[dask]'), skipped.")
        else:
            command = blurkit_command(
                "predict",
                str(models["features"]),
                str(large),
                "-o",
                str(out / "dask"),
                "-q",
                "--scheduler",
                "local",
            )
            run = run_timed(command)
            same = filecmp.cmp(out / "dask", out / "features", shallow=False)
            print(
                f"blurkit predict --scheduler local (2 worker processes, "
                f"cluster start included): {run['wall']:.2f} s wall, output "
                f"{'identical to' if same else 'DIFFERENT from'} the "
                "single-process run"
            )

    if args.skip_train:
        return 0
    if not (args.data / "train" / "subjects.tsv").is_file():
        print(f"Training timings skipped: no challenge data at {args.data}")
        return 0
    timings = [
        (
            f"blurkit train {args.data / 'train'}",
            blurkit_command(
                "train", str(args.data / "train"), "-o", str(WORK / "train.model"), "-q"
            ),
            15,
        ),
        (
            f"python examples/run.py --data {args.data}",
            [sys.executable, str(ROOT / "examples" / "run.py"), "--data",
             str(args.data), "--output", str(out / "run.tsv"),
             "--report", str(out / "run.html")],
            60,
        ),
    ]  # fmt: skip
    for label, command, limit in timings:
        print(f"Timing {label}...", flush=True)
        run = run_timed(command, timeout=args.train_timeout)
        wall = f"{run['wall']:.1f} s" + (" (stopped)" if run["timed_out"] else "")
        print(
            f"{label}: {wall} wall (target <= {limit} s: {verdict(run['wall'], limit)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where streaming prediction's extra CPU time goes: threads against processes.

``blurkit predict`` ran its chunks in ``--n-jobs`` threads; this script
showed what they cost, and the command now forks worker processes where safe
(see ``blurkit.workflow._predict._map_chunks``), threads elsewhere. It
measures, in this process and on the same PNG slices, the CPU time per image
(user + system, ``getrusage``) and the wall time per image of:

- decoding alone (``blurkit.io.read_pixels``),
- the features model alone (``predict_proba`` on decoded chunks of 256),
- both, as ``blurkit predict`` does them,

each serially and in two threads, ``--repeat`` rounds interleaved; then of
``blurkit predict --n-jobs 1`` run alone and as two processes at once. It
prints medians and ranges. If two threads cost more CPU per image than one,
while two processes at once cost no more than one alone, the extra is the
threads' (the GIL's handoffs, a thread woken on the other core), not the
machine's.

Usage::

    python benchmarks/threads.py [--n-images 10240] [--repeat 3]

The slices and the features model are those of ``benchmarks/throughput.py``
(in ``benchmarks/_work/``), made the same way when they are not there yet.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from throughput import WORK, blurkit_command, make_slices, train_model

from blurkit._threads import inner_thread_limits, one_openmp_thread


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(function, items, n_threads):
    """Wall and CPU seconds of ``function`` over ``items``."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    if n_threads == 1:
        for item in items:
            function(item)
    else:
        # As blurkit predict runs them: OpenMP on one thread in each thread.
        with ThreadPoolExecutor(n_threads, initializer=one_openmp_thread) as pool:
            list(pool.map(function, items))
    return time.perf_counter() - wall, cpu_seconds() - cpu


def predict_one_thread(model, folder, out):
    return blurkit_command(
        "predict", str(model), str(folder), "-o", str(out), "-q", "--n-jobs", "1"
    )


def run_processes(commands):
    """Wall and CPU seconds of each command, all started together."""
    start = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    results = []
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(process.args)} failed")
        results.append((time.perf_counter() - start, usage.ru_utime + usage.ru_stime))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=10_240)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from blurkit.io import load_predictor
    from blurkit.io._images import read_pixels

    # The slices and the features model of benchmarks/throughput.py, made
    # (or reused) the same way.
    WORK.mkdir(parents=True, exist_ok=True)
    folder = make_slices(WORK / "slices-20000", 20_000)
    model_path = WORK / "features.model"
    error = train_model(model_path, "features", retrain=False)
    if error:
        print(f"The features model could not be trained: {error}")
        return 1
    names = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    paths = [str(folder / n) for n in names[: args.n_images]]
    n = len(paths)
    chunks = [paths[i : i + 256] for i in range(0, n, 256)]
    model = load_predictor(model_path)

    def decode(chunk):
        return np.stack([read_pixels(p) for p in chunk])

    stacks = [decode(chunk) for chunk in chunks]

    def both(chunk):
        return model.predict_proba(decode(chunk))

    cases = {
        "decode": (decode, chunks),
        "features": (model.predict_proba, stacks),
        "decode + features": (both, chunks),
    }
    runs = {(name, k): [] for name in cases for k in (1, 2)}
    # BLAS, OpenMP and torch on one thread each, as in blurkit predict.
    with inner_thread_limits(1):
        for _ in range(args.repeat):
            for name, (function, items) in cases.items():
                for k in (1, 2):
                    runs[name, k].append(timed(function, items, k))

    def spread(values):
        values = [v / n * 1e6 for v in values]
        low, high = min(values), max(values)
        return f"{statistics.median(values):6.0f} ({low:.0f}-{high:.0f})"

    print(f"{n} slices, {args.repeat} rounds; microseconds per image, median (range)")
    print(f"{'':28}{'wall':>18}{'CPU':>18}")
    for (name, k), values in runs.items():
        label = f"{name}, {k} thread{'s' if k > 1 else ''}"
        walls, cpus = zip(*values, strict=True)
        print(f"{label:28}{spread(walls):>18}{spread(cpus):>18}")

    out = WORK / "out"
    out.mkdir(parents=True, exist_ok=True)
    alone, pair = [], []
    for _ in range(args.repeat):
        alone += run_processes([predict_one_thread(model_path, folder, out / "a")])
        pair += run_processes(
            [predict_one_thread(model_path, folder, out / f"p{i}") for i in (0, 1)]
        )
    n_all = len(names)
    print(f"\nblurkit predict --n-jobs 1 on {n_all} slices, CPU per image (us):")
    for label, values in (("alone", alone), ("two processes at once", pair)):
        cpus = [cpu / n_all * 1e6 for _, cpu in values]
        print(
            f"  {label:24}{statistics.median(cpus):6.0f} "
            f"({min(cpus):.0f}-{max(cpus):.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

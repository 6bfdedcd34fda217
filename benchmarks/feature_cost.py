"""What the features cost per slice, with and without the outer features.

The default features (``SharpnessFeatures(outer=True, fringe=True,
detail_shift=True, ghosts=True, reach=True, despike=True)``, what
``make_feature_pipeline()`` and the built-in model read) compute the
fringe, the detail shift, the ghosts and the reach, a second spectrum and
its small DFTs, only for slices with detail outside the head and in the finest band
(``blurkit.metrics._sharpness.MOTION_GATE`` and ``FINE_DETAIL_GATE``), and
read a slice again without its k-space spike only where one stands out
(``blurkit.metrics._spikes``). Their cost therefore depends on the slices:
a clean background (skull-stripped or preprocessed scans, the challenge's)
keeps the gate closed; noise in the background opens it on about half of
the slices; moved slices open it; spiked slices are read twice.

This script times ``sharpness_features_stack`` on one thread, in this
process, on 8-bit slices (the challenge's training images, or the demo
set's when ``--data`` has none), CPU time (``time.process_time``) per slice,
``--repeat`` interleaved rounds, medians and ranges, for:

- ``plain``: the features without the outer ones (``--no-outer-features``);
- ``outer``: with ``outer_detail`` and ``outer_level`` only;
- ``default``: the default, with the gate;
- ``ungated``: the default's features computed on every slice (the gate
  forced open), as they were before the gate;

on the slices as they are, with Gaussian noise of 2% of the range added
(clipped), moved (blurkit's ``kspace_motion``, a pure translation of the
last 30% of the lines), and spiked (blurkit's ``kspace_spike``, one spike
at a random frequency, intensity 0.3, its real part clipped). It also
prints the share of slices whose gate opens.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/feature_cost.py [--data ../shared/data]
                                                        [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from blurkit.degrade import add_noise, kspace_motion, kspace_spike
from blurkit.io import load_dataset
from blurkit.metrics import _sharpness
from blurkit.models._families import OUTER_FEATURES_OPTION

REPO = Path(__file__).resolve().parents[1]

CONFIGURATIONS = {
    "plain": {},
    "outer": {"outer": True},
    "default": dict.fromkeys(OUTER_FEATURES_OPTION, True),
    "ungated": dict.fromkeys(OUTER_FEATURES_OPTION, True),
}


def _slices(data: Path, copies: int) -> dict[str, np.ndarray]:
    folder = data / "train"
    if not (folder / "subjects.tsv").is_file():
        folder = REPO / "data" / "train"
    images = np.asarray(load_dataset(folder).images, dtype=np.float64)
    rng = np.random.default_rng(0)
    noisy = [add_noise(image, 0.02, random_state=rng) for image in images]
    moved = [
        kspace_motion(
            image,
            rotations=[0.0],
            translations=[(3.0, 2.0)],
            times=[0.7],
            axis=i % 2,
            reference="first",
        )
        for i, image in enumerate(images)
    ]
    spiked = [
        kspace_spike(
            image,
            positions=[rng.uniform(-0.5, 0.5, size=2)],
            intensity=0.3,
            magnitude=False,
        )
        for image in images
    ]
    stacks = {
        "clean": images,
        "noise 2%": np.stack(noisy),
        "moved": np.stack(moved),
        "spiked": np.stack(spiked),
    }
    return {
        name: np.tile(
            np.round(np.clip(stack, 0, 1) * 255).astype(np.uint8), (copies, 1, 1)
        )
        for name, stack in stacks.items()
    }


def _cost(stack: np.ndarray, flags: dict, gated: bool) -> float:
    """CPU seconds per slice of one pass over ``stack``."""
    gates = _sharpness.MOTION_GATE, _sharpness.FINE_DETAIL_GATE
    if not gated:
        _sharpness.MOTION_GATE = _sharpness.FINE_DETAIL_GATE = -np.inf
    try:
        start = time.process_time()
        _sharpness.sharpness_features_stack(stack, **flags)
        return (time.process_time() - start) / len(stack)
    finally:
        _sharpness.MOTION_GATE, _sharpness.FINE_DETAIL_GATE = gates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--copies", type=int, default=6, help="copies of each slice")
    args = parser.parse_args(argv)
    stacks = _slices(args.data, args.copies)
    times = {(s, c): [] for s in stacks for c in CONFIGURATIONS}
    for round_ in range(args.repeat):
        print(f"round {round_ + 1}/{args.repeat}", file=sys.stderr)
        for (stack, name), values in times.items():
            flags = CONFIGURATIONS[name]
            values.append(_cost(stacks[stack], flags, gated=name != "ungated"))
    n = len(next(iter(stacks.values())))
    print(
        f"CPU time per slice (us), one thread, {n} slices a pass, {args.repeat} rounds"
    )
    print("median (range)")
    header = f"{'slices':10s}" + "".join(f"{name:>20s}" for name in CONFIGURATIONS)
    print(header + f"{'gate open':>12s}")
    for stack in stacks:
        cells = []
        for name in CONFIGURATIONS:
            values = [1e6 * v for v in times[(stack, name)]]
            low, high = min(values), max(values)
            cells.append(f"{statistics.median(values):6.0f} ({low:.0f}-{high:.0f})")
        features = _sharpness.sharpness_features_stack(
            stacks[stack][: n // args.copies], outer=True
        )
        share = np.mean(
            (features[:, 15] > _sharpness.MOTION_GATE)
            & (features[:, 12] > _sharpness.FINE_DETAIL_GATE)
        )
        print(f"{stack:10s}" + "".join(f"{c:>20s}" for c in cells) + f"{share:12.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

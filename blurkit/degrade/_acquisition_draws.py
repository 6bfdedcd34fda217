"""Parameter draws of the acquisition cases of :data:`DEGRADATIONS`.

One function per case, ``draw(rng) -> dict``, with the ranges as module
constants, so that the registry's descriptions and the draws use the same
numbers. The ranges are broad on purpose: the model must learn what each
artifact does to the spectrum, not one simulator's settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._acquisition import (
    gibbs_ringing,
    kspace_motion,
    rician_noise,
    thick_slices,
    truncate_kspace,
)
from ._changes import add_noise
from ._sampling import log_uniform, seed

MOTION_MOVEMENTS = (1, 3)
"""Number of movements during an acquisition (inclusive)."""
MOTION_DEGREES = (0.0, 8.0)
"""Size of each rotation, degrees, either sign. From 0, a translation alone
(an exact phase ramp, where a rotation is interpolated) since `coherence`
(``blurkit.metrics._coherence``) joined the features: with rotations of
1-8 degrees only, the model learnt moved lines as misplaced *and* softened
detail, and missed 23 exact translations of the held-out check against 13
(``benchmarks/heldout.py``, seeds 0-13; 1-8 degrees until 2026-12-06)."""
MOTION_PIXELS = (0.0, 6.0)
"""Size of each translation component, pixels (0-9 mm at 1.5 mm), either sign."""
MOTION_MIN_MOVED = 0.15
"""Least fraction of k-space lines acquired away from the reference position.

0.3 until 2026-12-06. Once `coherence` (``blurkit.metrics._coherence``)
joined the features, a model that never saw a smaller share moved learnt
that motion lowers it, and let a clean-looking coherence outweigh the
fringe of a few moved lines: over 56 held-out seeds it missed 117 of the
exact translations of one side's outer lines (15-25% of the lines) against
31 before; drawn down to 15%, 46 (20%: 63), and 36 centric motions against
52 (``benchmarks/heldout.py``, features cached per seed)."""
SINGLE_MOVEMENT_TIMES = (0.35, 0.65)
"""When the one movement of ``"single_movement"`` happens, a fraction of the
acquisition: near its middle, where the two positions share k-space about
equally and the image is nearly the average of two moved copies. (40-60%
until 2026-12-06: held out over 56 seeds, the wider span missed 51 phase
errors against 60 and labelled 48 label-keeping slices wrong against 58,
for 110 / 118 single movements missed against 103 / 120; see
``benchmarks/RESULTS.md``.)"""
SINGLE_MOVEMENT_DEGREES = (2.0, 10.0)
"""Size of its rotation, degrees, either sign."""
CENTRIC_MOVEMENT_TIMES = (0.5, 0.7)
"""When the one movement of ``"centric_movement"`` happens, a fraction of a
centric acquisition: the last 30-50% of the lines, the outer lines of both
sides of k-space, come from the moved position."""
TRUNCATION_FACTORS = (1.8, 3.0)
GIBBS_FACTORS = (2.5, 4.0)
THICKNESS_FACTORS = (2.0, 3.2)
ACQUISITION_NOISE = (0.005, 0.04)
GHOSTING_MAGNITUDE_SHARE = 1.0
"""Share of the ghosted copies shown as the magnitude image, as a scanner
exports it; the others keep the real part, as TorchIO's ``Ghosting`` does.
The magnitude folds the ghosts' negative half up onto the background, where
they look more like motion's trace. All of them since ``ghosts`` reads a
symmetric comb: it finds the real part's ghosts without them in training,
and over 56 held-out seeds (``benchmarks/heldout.py``) all magnitude images
left 52 of 5,376 slices with magnitude ghosts wrong, 80% left 104 (and
half of them, with the earlier comb, 229)."""


def _signed(rng: np.random.Generator, low: float, high: float, size=None):
    return rng.uniform(low, high, size) * rng.choice((-1.0, 1.0), size)


def _moved_fraction(times: np.ndarray, reference: str) -> float:
    """Fraction of lines acquired away from the reference position."""
    bounds = np.concatenate(([0.0], times, [1.0]))
    segment = 0 if reference == "first" else np.searchsorted(times, 0.5)
    return 1.0 - float(bounds[segment + 1] - bounds[segment])


def draw_kspace_motion(rng: np.random.Generator) -> dict:
    """1-3 movements of up to 8 degrees and 6 px, any phase-encoding axis."""
    n = int(rng.integers(MOTION_MOVEMENTS[0], MOTION_MOVEMENTS[1] + 1))
    reference = "centre" if rng.random() < 0.75 else "first"
    # Redraw the times until enough of k-space is acquired in motion: a
    # movement in the last few outer lines changes almost nothing.
    while True:
        times = np.sort(rng.uniform(0.05, 0.95, n))
        if np.all(np.diff(times) > 0.02) and (
            _moved_fraction(times, reference) >= MOTION_MIN_MOVED
        ):
            break
    return {
        "rotations": _signed(rng, *MOTION_DEGREES, n).tolist(),
        "translations": _signed(rng, *MOTION_PIXELS, (n, 2)).tolist(),
        "times": times.tolist(),
        "axis": int(rng.integers(2)),
        "reference": reference,
        "magnitude": bool(rng.random() < 0.7),
    }


def draw_single_movement(rng: np.random.Generator) -> dict:
    """One movement near the middle of the acquisition: a double exposure.

    A rotation of 2-10 degrees and a translation of up to 6 px per axis,
    at 35-65% of a linear acquisition along either axis; the real part or
    the magnitude, half of the time each. The draws of
    ``"kspace_motion"`` (1-3 movements anywhere in the acquisition) seldom
    fall there: with the movement within 5% of the middle (45-55% of the
    acquisition), a model trained on them alone missed two thirds of
    TorchIO's single movements (``benchmarks/heldout.py``, seeds 0-13), and
    caught every one before 40% or after 60%.
    """
    return _one_movement(rng, SINGLE_MOVEMENT_TIMES, reference="centre")


def draw_centric_movement(rng: np.random.Generator) -> dict:
    """One movement late in a centric acquisition: the fine detail displaced.

    The lines are acquired from the centre of k-space outward, so a movement
    at 50-70% of the acquisition moves the outer 30-50% of the lines of both
    sides: the coarse image stays where it was and only the detail beyond
    0.25-0.35 cycles per pixel is displaced. The rotation and translation
    are drawn as for ``"single_movement"`` (2-10 degrees, up to 6 px per
    axis), along either axis; the real part or the magnitude, half of the
    time each. The position at rest is the image's: the centre lines are
    acquired first. Linear acquisitions (``"kspace_motion"``,
    ``"single_movement"``) never show this: before it joined the
    augmentation, the default model missed 354 of 2,688 held-out slices
    with such motion (``benchmarks/heldout.py``, 56 seeds).
    """
    return _one_movement(
        rng, CENTRIC_MOVEMENT_TIMES, reference="first", ordering="centric"
    )


def _one_movement(rng: np.random.Generator, times, **fixed) -> dict:
    """``kspace_motion``'s parameters for one rigid movement (2-10 degrees,
    up to 6 px per axis) at a time uniform in ``times``, along either axis,
    the real part or the magnitude half of the time each; ``fixed`` adds
    the parameters that are not drawn."""
    rotations = _signed(rng, *SINGLE_MOVEMENT_DEGREES, 1).tolist()
    translations = _signed(rng, *MOTION_PIXELS, (1, 2)).tolist()
    time = float(rng.uniform(*times))
    axis = int(rng.integers(2))
    magnitude = bool(rng.random() < 0.5)
    return {
        "rotations": rotations,
        "translations": translations,
        "times": [time],
        "axis": axis,
        "magnitude": magnitude,
        **fixed,
    }


def _draw_axes(rng: np.random.Generator) -> list[int]:
    # Both axes half of the time, else one of them.
    return [0, 1] if rng.random() < 0.5 else [int(rng.integers(2))]


def draw_truncate_kspace(rng: np.random.Generator) -> dict:
    """Factor 1.8-3 in both axes or one; a sharp cut or any Tukey taper."""
    return {
        "factor": float(rng.uniform(*TRUNCATION_FACTORS)),
        "axes": _draw_axes(rng),
        "taper": 0.0 if rng.random() < 0.4 else float(rng.uniform(0.0, 1.0)),
        "magnitude": bool(rng.random() < 0.7),
    }


def draw_gibbs_ringing(rng: np.random.Generator) -> dict:
    """Factor 2.5-4, untapered, in both axes or one."""
    return {"factor": float(rng.uniform(*GIBBS_FACTORS)), "axes": _draw_axes(rng)}


def draw_thick_slices(rng: np.random.Generator) -> dict:
    """2-3.2x along a random axis; box, Gaussian or point profile."""
    factor = float(rng.uniform(*THICKNESS_FACTORS))
    return {
        "factor": factor,
        "axis": int(rng.integers(2)),
        "profile": str(rng.choice(["box", "gaussian", "point"])),
        "order": int(rng.choice([1, 3])),
        "offset": float(rng.uniform(0, factor)),
    }


def draw_grid_resampling(rng: np.random.Generator) -> dict:
    """Every 2nd or 3rd line kept as it is, the others interpolated or
    copied."""
    factor = int(rng.integers(2, 4))
    return {
        "factor": float(factor),
        "axis": int(rng.integers(2)),
        "profile": "point",
        "order": int(rng.choice([0, 1, 3])),
        "offset": float(rng.integers(factor)),
    }


ACQUISITION_BLURS = {
    "kspace_motion": (kspace_motion, draw_kspace_motion),
    "truncate_kspace": (truncate_kspace, draw_truncate_kspace),
    "gibbs_ringing": (gibbs_ringing, draw_gibbs_ringing),
    "thick_slices": (thick_slices, draw_thick_slices),
}
"""``name -> (func, draw)`` of the acquisition blurs."""


def draw_acquisition_noise(rng: np.random.Generator) -> dict:
    """One acquisition blur, then Gaussian or Rician noise of std 0.5-4%."""
    names = sorted(ACQUISITION_BLURS)
    blur = names[int(rng.integers(len(names)))]
    return {
        "blur": blur,
        "blur_params": ACQUISITION_BLURS[blur][1](rng),
        "noise": "rician" if rng.random() < 0.5 else "gaussian",
        "std": float(rng.uniform(*ACQUISITION_NOISE)),
        "random_state": seed(rng),
    }


def acquisition_blur_then_noise(
    image: np.ndarray,
    *,
    blur: str,
    blur_params: dict,
    noise: str,
    std: float,
    random_state: Any,
) -> np.ndarray:
    """One of :data:`ACQUISITION_BLURS`, then Gaussian or Rician noise."""
    blurred = ACQUISITION_BLURS[blur][0](image, **blur_params)
    add = rician_noise if noise == "rician" else add_noise
    return add(blurred, std, random_state=random_state)


def draw_ghosting(rng: np.random.Generator) -> dict:
    """2-10 ghosts, intensity 0.2-1, either axis; the magnitude image with
    probability `GHOSTING_MAGNITUDE_SHARE`, else the real part."""
    return {
        "n_ghosts": int(rng.integers(2, 11)),
        "axis": int(rng.integers(2)),
        "intensity": float(rng.uniform(0.2, 1.0)),
        "restore": float(rng.uniform(0.0, 0.05)),
        "magnitude": bool(rng.random() < GHOSTING_MAGNITUDE_SHARE),
    }


def draw_kspace_spike(rng: np.random.Generator) -> dict:
    """1-3 spikes anywhere in k-space, 0.02-0.5 times the mean intensity."""
    n = int(rng.integers(1, 4))
    return {
        "positions": rng.uniform(-0.5, 0.5, (n, 2)).tolist(),
        "intensity": log_uniform(rng, 0.02, 0.5),
        "magnitude": bool(rng.random() < 0.5),
    }


def draw_bias_field(rng: np.random.Generator) -> dict:
    """Cubic (or lower) polynomial field, coefficients in [-0.6, 0.6]."""
    order = int(rng.integers(1, 4))
    n = (order + 1) * (order + 2) // 2 - 1
    return {"coefficients": rng.uniform(-0.6, 0.6, n).tolist(), "order": order}


def draw_rician_noise(rng: np.random.Generator) -> dict:
    """Rician noise, std 0.5-5%."""
    return {"std": float(rng.uniform(0.005, 0.05)), "random_state": seed(rng)}

"""Periodic ghosts: every n-th k-space line weakened, the image repeated.

Periodic motion (breathing, the pulse) during the acquisition modulates
every ``n``-th phase-encoding line of k-space, which repeats the image ``n``
times along that axis, ``1 / n`` of the field of view apart (TorchIO's
``Ghosting``, `blurkit.degrade.ghosting`). The copies are as sharp as the
image, and the issue's contract keeps such a slice's label. But they put
fine detail outside the head, as motion does, and ``outer_detail`` cannot
tell the two apart. ``ghosts`` can: motion spreads over contiguous blocks
of lines, ghosting leaves a comb of weakened lines.

``ghosts`` is computed from the power spectrum of the image at its own size
(the line pattern has the period of the acquired matrix: the features'
FFT-friendly crop would detune it), mean removed, under a Hann window, as
the band ratios' spectrum. For each axis:

- each line's power, summed across the axis, in log (the rows over the
  rfft2's half-plane; the columns over every row, the half-plane's
  columns mirrored to the full set);
- its second difference along the axis, ``r``: a weakened line stands
  below the mean of its two neighbours; smooth trends cancel;
- the lines within `GHOST_MIN_LINE` of the centre left out (the steep
  centre of the spectrum);
- for each period ``n`` of `GHOST_PERIODS` and each offset, the comb of
  lines ``offset, offset + n, ...`` against the other lines: the two-sample
  t statistic of the difference of their means of ``r`` (the others' less
  the comb's, so that a comb of weakened lines is positive), with the
  variance pooled within the two groups (a strong comb then scores high,
  which a spread taken over all lines, the comb's included, would cap);

then the largest over combs and axes, as ``log10`` of it (at least 1, so at
least 0). On the challenge's held-out sharp slices (one seed's 48): clean
0.2-0.6 (the largest of some hundred t statistics of no pattern),
TorchIO's ghosting (4-10 ghosts, intensity 0.5-1) 0.6-1.5 with a median of
1.1, the same min-max rescaled 0.6-1.6; TorchIO's k-space motion, phase
errors, truncation, anisotropy, noise and spikes 0.1-0.7, a clean slice's
level.
`~blurkit.metrics._sharpness.sharpness_features` computes it only for
slices with detail outside the head (its motion gate); others take
`GHOST_NONE`, a clean slice's value. Off by default: the feature of
``SharpnessFeatures(ghosts=True)``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["GHOST_NAMES", "GHOST_NONE", "ghost_features_from_power"]

GHOST_NAMES = ("ghosts",)
"""The column `ghost_features_from_power` computes."""

GHOST_PERIODS = tuple(range(2, 11))
"""Periods of the comb, in lines: TorchIO draws 4-10 ghosts, blurkit's
augmentation 2-10."""

GHOST_MIN_LINE = 3
"""Lines nearer the centre of k-space than this are left out."""

GHOST_NONE = 0.5
"""``ghosts`` of a slice the motion gate keeps closed: about the median of
the challenge's clean sharp slices (0.47)."""

_TINY = 1e-30


@functools.lru_cache(maxsize=16)
def _combs(n_lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The lines ``r`` keeps, and each comb's lines and their number.

    For a line set of ``n_lines`` (centre at ``n_lines // 2``): the indices
    of the second differences kept (lines 1 to ``n_lines - 2``, away from
    the centre), a (kept, combs + 1) matrix of 0 and 1 whose product with
    ``r`` sums each comb, then all lines, and each comb's number of lines;
    None without any comb of two lines or more with two lines or more
    outside it.
    """
    lines = np.arange(1, n_lines - 1)
    kept = lines[np.abs(lines - n_lines // 2) >= GHOST_MIN_LINE]
    columns = []
    for period in GHOST_PERIODS:
        for offset in range(period):
            member = (kept - offset) % period == 0
            if 2 <= member.sum() <= len(kept) - 2:
                columns.append(member)
    if not columns:
        return None
    # A last column of ones: the totals.
    members = np.stack([*columns, np.ones(len(kept), dtype=bool)], axis=1)
    members = members.astype(np.float64)
    sizes = members[:, :-1].sum(axis=0)
    for array in (kept, members, sizes):
        array.flags.writeable = False
    return kept - 1, members, sizes


def _comb_score(line_power: np.ndarray) -> np.ndarray:
    """The largest comb t statistic of each row of ``line_power`` (n,
    lines), centred (the zero frequency at ``lines // 2``); NaN where there
    is no comb or no spread."""
    n, n_lines = line_power.shape
    combs = _combs(n_lines)
    if combs is None:
        return np.full(n, np.nan)
    kept, members, sizes = combs
    logged = np.log(line_power + _TINY)
    r = logged[:, 1:-1] - 0.5 * (logged[:, :-2] + logged[:, 2:])
    r = r[:, kept]
    # Each comb's lines against the others: a two-sample t statistic, the
    # spread pooled within the two groups (a strong comb is not noise). One
    # product per image: its rounding does not depend on the others.
    # (numpy's sums along rows of a 2-D array do not round as those of one
    # row: the totals are one more column of the same products.)
    sums = (r[:, np.newaxis, :] @ members)[:, 0]
    squares = (np.square(r)[:, np.newaxis, :] @ members)[:, 0]
    sums, total = sums[:, :-1], sums[:, -1:]
    squares, total_squares = squares[:, :-1], squares[:, -1:]
    n_kept = r.shape[1]
    others = n_kept - sizes
    within = squares - sums**2 / sizes
    within += (total_squares - squares) - (total - sums) ** 2 / others
    spread = np.sqrt(np.maximum(within, 0.0) / (n_kept - 2) * (1 / sizes + 1 / others))
    difference = (total - sums) / others - sums / sizes
    scores = np.divide(
        difference, spread, out=np.full_like(spread, -np.inf), where=spread > 0
    )
    best = scores.max(axis=1)
    return np.where(np.isfinite(best), best, np.nan)


def ghost_features_from_power(power: np.ndarray, w: int) -> np.ndarray:
    """``ghosts`` from rfft2 power spectra (n, h, w // 2 + 1) of width ``w``.

    The spectra are of the images at their own size (see the module's
    docstring); shape (n, 1). An image with no comb of two lines along
    either axis (sides under about 12 pixels) or no detail gives
    `GHOST_NONE`.
    """
    n, h = power.shape[:2]
    rows = np.fft.fftshift(power.sum(axis=2, dtype=np.float64), axes=1)
    half = power.sum(axis=1, dtype=np.float64)
    frequency = np.arange(w)
    columns = np.fft.fftshift(half[:, np.minimum(frequency, w - frequency)], axes=1)
    best = np.fmax(_comb_score(rows), _comb_score(columns))
    value = np.log10(np.maximum(best, 1.0))
    return np.where(np.isnan(best), GHOST_NONE, value)[:, np.newaxis]

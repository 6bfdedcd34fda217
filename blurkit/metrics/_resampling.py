"""Resampling: lines that hold no detail of their own.

An image resampled from a coarser grid along one axis (thick slices
resliced, a matrix interpolated back) has lines made from their
neighbours rather than acquired. Two kinds give themselves away, whatever
the library that made them:

- **interpolated lines** (linear or cubic interpolation from every 2nd or
  3rd line): such a line lies on the curve through its neighbours, and its
  second difference across the lines is about 0. Every ``k``-th line is
  acquired, so the lines of one phase of the period hold less detail than
  the others (`resampling_features`);
- **copied lines** (nearest-neighbour interpolation, ``np.repeat``,
  ``scipy.ndimage.zoom(order=0)``): a copy equals its neighbour, and their
  first difference is 0. The second difference sees nothing there (a copy
  of a pair's first line and the next pair's differ as much as acquired
  lines do), and the copies need not keep one phase (a factor of 2.03, or
  2.5, alternates runs of 2 and 3). `central_lines` counts them wherever
  they lie: the quarter of line pairs that differ least differ by almost
  nothing (`COPY_SHARE`).

A linear interpolation from a grid whose spacing is not a whole number of
lines (TorchIO's ``RandomAnisotropy`` with a factor of 2.25, SciPy's zoom
from 121 lines to 60 and back, sampled every 2.03 lines) has neither: its
quiet lines drift against the grid's phases. Wherever they lie, though, a
line midway between two samples lies on the straight line between them,
while its neighbours hold the samples' kinks: **quiet lines** hold far less
detail than their neighbours (`interpolation_evidence`). On
a clean slice a line's detail is its neighbours' within a factor of a few.

A cubic interpolation back leaves no quiet line, but every line's detail
still depends on where it falls between two samples: the lines' fourth
differences rise and fall with the period of the samples, 2.03 lines say,
a **periodic detail** that no anatomy has (`periodic_evidence`).

The feature ``resampling`` is the strongest of these pieces of evidence: a
clean slice reads about 0, a resampled one down to `RESAMPLING_FLOOR`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from ._spatial import second_difference

__all__ = [
    "COPY_SHARE",
    "RESAMPLING_FLOOR",
    "RESAMPLING_PERIODS",
    "CentralLines",
    "LineDetails",
    "central_lines",
    "concatenate_lines",
    "copies_evidence",
    "interpolation_evidence",
    "line_details",
    "periodic_evidence",
    "resampling_evidence",
    "resampling_features",
    "resampling_mode",
    "resampling_names",
]

RESAMPLING_PERIODS = (2, 3)
"""Line periods of the resampling features: 2x and 3x coarser sampling."""

RESAMPLING_FLOOR = -3.0
"""Floor of the resampling features: lines that hold no detail of their own."""


COPY_SHARE = 0.05
"""A line pair differs by almost nothing when the quarter of pairs that
differ least (noise taken away) differ by less than this share of the mean
pair. On held-out slices (four seeds' test sets under each of
``benchmarks/heldout.py``'s cases and others) that quarter differs by 0.2
times the mean pair and more, except under TorchIO's strong spikes, whose
clipped stripes leave lines alike (down to 0.09); slices with copied lines
read 0, up to their noise."""

_COPY_QUANTILE = 0.25
"""The share of line pairs read as the ones that differ least: a factor of
1.5 or more copies at least a third of the lines."""

_CONTENT_SHARE = 0.1
"""A line holds content when its detail along itself over the central half
is at least this share of the mean line's: pairs of flat lines (a
background, a saturated stripe) are not copies."""

_MIN_PAIRS = 8
"""Fewer pairs with content than this: no evidence (0)."""

QUIET_QUANTILE = 0.1
"""The share of lines read as the quietest against their neighbours: a
linear interpolation from every 2.03rd line (or more) leaves at least a
tenth of the lines nearly midway between two samples."""

QUIET_RAMP = (-1.2, -1.6)
"""``log10`` of the quietest lines' detail over their neighbours': from the
first value down the evidence falls steeply, to `RESAMPLING_FLOOR` at the
second. On held-out slices (four seeds' test sets under every case of
``benchmarks/heldout.py``): clean and label-keeping slices -0.83 and above
(a slice cropped to 88 px; -0.5 and above uncropped); a linear interpolation
from every 2.03rd to 2.6th line -1.78 and below, noise of 1% added after it
included. A steep ramp rather than a log ratio: a drifting phase reads as
an exact one does, and a model learns it from the exact resampling it is
trained on."""


PERIODIC_FREQUENCIES = tuple(np.linspace(0.28, 0.5, 23))
"""Frequencies (cycles per line) at which `periodic_evidence` looks for the
lines' detail rising and falling: samples every 2 to 3.6 lines."""

PERIODIC_RAMP = (0.3, 0.5)
"""The share of the lines' detail variation at its strongest frequency:
from the first value up the evidence falls steeply, to `RESAMPLING_FLOOR`
at the second. On held-out slices (two seeds' test sets under every case
of ``benchmarks/heldout.py``): clean and label-keeping slices 0.2 and below,
except under TorchIO's strong spikes (up to 0.45, before the features take
the spikes away); SciPy's zoom to half and back, linearly or cubically,
0.54 and above, noise of 1% added after it included."""

STRIPE_FREQUENCIES = tuple(np.linspace(0.1, 0.5, 41))
"""Frequencies (cycles per line) at which `periodic_evidence` looks for
stripes: the lines' means rising and falling."""

STRIPE_SHARE = 0.3
"""The share of the steps between the lines' means at their strongest
frequency above which an axis's periodic detail is read as stripes. On
held-out slices (six seeds' sharp test slices): clean slices and every
resampling 0.25 and below; TorchIO's strong spikes whose detail read as
periodic, 0.40-0.48 for 11 of 15 (0.06-0.16 for the others)."""

_PERIODIC_WINDOW = 5
"""Lines over which the detail's local mean is taken: each line's detail is
read against it, so that the anatomy's slow changes do not count."""


def resampling_mode(resampling) -> str | None:
    """``"strongest"``, ``"each"`` or None, from a ``resampling`` parameter.

    ``"strongest"`` (one feature, the strongest evidence over the periods),
    ``"each"`` or True (one feature per period, as in models saved before
    ``"strongest"`` existed), False or None (none).
    """
    if resampling is True or (isinstance(resampling, str) and resampling == "each"):
        return "each"
    if isinstance(resampling, str) and resampling == "strongest":
        return "strongest"
    if resampling is False or resampling is None:
        return None
    raise ValueError(
        "resampling must be 'strongest', 'each' (or True) or False; got "
        f"{resampling!r}."
    )


def resampling_names(resampling) -> list[str]:
    """The names of the resampling features for a ``resampling`` parameter."""
    mode = resampling_mode(resampling)
    if mode == "strongest":
        return ["resampling"]
    if mode == "each":
        return [f"resampling_{k}" for k in RESAMPLING_PERIODS]
    return []


class LineDetails(NamedTuple):
    """What `line_details` reads: each line's detail across it."""

    rows: np.ndarray
    """Shape (n, H - 2): each row's mean squared second difference, over the
    central half of the row, for the rows with two neighbours."""
    columns: np.ndarray
    """Shape (n, W - 2): the same for each column."""
    fourth_rows: np.ndarray
    """Shape (n, rows of the central half): each central row's sum of
    squared fourth differences across it, over the central half of the row
    (for `periodic_evidence`; 0 on images under 8 lines)."""
    fourth_columns: np.ndarray
    """Shape (n, columns of the central half): the same for each central
    column."""


def line_details(stack: np.ndarray, down=None) -> LineDetails:
    """Each row's and each column's detail, over their central half.

    A line's detail is the mean squared second difference across it (down
    the columns for a row, along the rows for a column), taken over the
    central half of the line, where the anatomy is; its fourth differences
    are the second differences of those (see `LineDetails`). ``down`` is
    ``second_difference(stack, axis=1)``, if already computed.
    """
    n, h, w = stack.shape
    centre = _central(w)
    if down is None:
        second = second_difference(stack[:, :, centre], axis=1)
    else:
        second = down[:, :, centre]
    rows = np.einsum("nij,nij->ni", second, second) / second.shape[2]
    fourth_rows = _central_fourth(second, h, axis=1)
    # Along each image's central rows taken as one line: a few long runs
    # rather than a short one per row, at half the cost. The two values that
    # straddle each row's end are computed, then left out.
    part = stack[:, _central(h)]
    flat = part.reshape(n, -1)
    differences = np.empty_like(flat)
    second_difference(flat, axis=1, out=differences[:, :-2])
    second = differences.reshape(part.shape)[:, :, : w - 2]
    columns = np.einsum("nij,nij->nj", second, second) / second.shape[1]
    fourth_columns = _central_fourth(second, w, axis=2)
    return LineDetails(rows, columns, fourth_rows, fourth_columns)


def _central_fourth(second: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Each central line's sum of squared fourth differences, from the
    second differences ``second`` along ``axis`` (which start at the second
    of ``size`` lines): the second differences of those."""
    centre = _central(size)
    lines = centre.stop - centre.start
    if centre.start < 2:
        return np.zeros((len(second), lines))
    index = [slice(None)] * 3
    index[axis] = slice(centre.start - 2, centre.stop)
    fourth = second_difference(second[tuple(index)], axis=axis)
    spec = "nij,nij->ni" if axis == 1 else "nij,nij->nj"
    return np.einsum(spec, fourth, fourth)


def resampling_features(rows, columns, noise_var) -> np.ndarray:
    """The resampling features from `line_details` (see `sharpness_features`).

    For each image and period ``k``: over both axes, the lowest log10 ratio
    of the weakest line phase's detail (lines ``p, p + k, p + 2k...``) to
    the smaller of the phases' mean and of the detail across the lines,
    both less the noise's (at most half the weakest phase's), clipped to
    [`RESAMPLING_FLOOR`, 0].
    """
    n = len(rows)
    out = np.zeros((n, len(RESAMPLING_PERIODS)))
    if not n or min(rows.shape[1], columns.shape[1]) < 1 + 2 * max(RESAMPLING_PERIODS):
        return out
    # A second difference (1, -2, 1) passes 6 times the noise variance.
    floor = 6.0 * np.broadcast_to(np.asarray(noise_var, dtype=np.float64), n)
    details = (rows, columns)
    for axis in (0, 1):
        lines, across = details[axis], details[1 - axis].mean(axis=1)
        for j, k in enumerate(RESAMPLING_PERIODS):
            usable = lines.shape[1] - lines.shape[1] % k
            phases = lines[:, :usable].reshape(n, -1, k).mean(axis=1)
            # A stripe pattern (a k-space spike) can make the lines' detail
            # periodic, or raise the detail across them: not both at once.
            reference = np.minimum(phases.mean(axis=1), across)
            value, _ = _weakest_evidence(phases.min(axis=1), reference, floor)
            out[:, j] = np.minimum(out[:, j], value)
    return out


def _weakest_evidence(weakest, reference, noise, share=1.0):
    """``log10`` of the weakest lines' detail over ``share`` times the
    reference, both less the noise's, clipped to [`RESAMPLING_FLOOR`, 0];
    and that scaled reference (not positive: no reference to compare with).

    No line holds less detail than its noise: an estimate above half the
    weakest lines' detail is inflated (by a stripe pattern, which the noise
    estimate reads as noise), so at most that half is taken away.
    """
    noise = np.minimum(noise, 0.5 * weakest)
    reference = share * (reference - noise)
    ratio = (weakest - noise) / np.maximum(reference, np.finfo(np.float64).tiny)
    return np.log10(np.clip(ratio, 10.0**RESAMPLING_FLOOR, 1.0)), reference


def _central(size: int) -> slice:
    """The central half of ``size`` lines (at least one)."""
    return slice(size // 4, min(size, size // 4 + max(1, size // 2)))


def _central_differences(stack: np.ndarray):
    """The central half of each image, and its first differences down the
    columns and along the rows (None for both if it has under 2 lines)."""
    n, h, w = stack.shape
    # A contiguous copy of the centre: the differences run on whole rows.
    part = np.ascontiguousarray(stack[:, _central(h), _central(w)])
    if min(part.shape[1:]) < 2:
        return part, None, None
    return part, np.diff(part, axis=1), np.diff(part, axis=2)


def _has_content(within: np.ndarray, spec: str) -> np.ndarray:
    """Which lines hold content: their detail along themselves (``within``
    reduced by ``spec``) is positive and at least `_CONTENT_SHARE` of the
    mean line's."""
    content = np.einsum(spec, within, within)
    mean = content.mean(axis=1, keepdims=True)
    return (content > 0) & (content >= _CONTENT_SHARE * mean)


class CentralLines(NamedTuple):
    """What `central_lines` reads over the central half of each image."""

    copied: np.ndarray
    """Shape (n, 2, 3): for the rows (pairs down the columns) then the
    columns, the `_COPY_QUANTILE` quantile of the differences between
    neighbouring lines with content, their mean and their number;
    `copies_evidence` reads it once the noise is known."""
    content: tuple
    """Which lines hold content: boolean arrays of shape (n, rows) and (n,
    columns) of the central half (`central_shape`), for
    `interpolation_evidence` and `periodic_evidence`."""
    means: tuple
    """Each line's mean over the central half: arrays of shape (n, rows) and
    (n, columns), for `periodic_evidence`."""


def central_lines(stack: np.ndarray) -> CentralLines:
    """Copied lines and lines with content, along each axis of the central
    half of each image (see `CentralLines`).

    A line's content is its detail along itself, the mean squared
    difference between its neighbouring pixels: 0 exactly on a flat line
    (a background, a saturated stripe), whatever its level. The two passes
    of differences, down the columns and along the rows, give both the
    pairs' differences of one axis and the lines' content of the other.
    """
    n = len(stack)
    copied = np.zeros((n, 2, 3))
    part, down, along = _central_differences(stack)
    means = (part.mean(axis=2, dtype=np.float64), part.mean(axis=1, dtype=np.float64))
    if down is None:
        empty = tuple(np.zeros((n, size), dtype=bool) for size in part.shape[1:])
        return CentralLines(copied, empty, means)
    lines = []
    for axis, (between, within, spec) in enumerate(
        ((down, along, "nij,nij->ni"), (along, down, "nij,nij->nj"))
    ):
        pairs = np.einsum(spec, between, between) / between.shape[2 - axis]
        lines.append(_has_content(within, spec))
        content = lines[-1][:, 1:] & lines[-1][:, :-1]
        low, count = _quantile_by_rank(pairs, content, _COPY_QUANTILE)
        total = np.where(content, pairs, 0.0).sum(axis=1, dtype=np.float64)
        copied[:, axis, 0] = np.where(count > 0, low, 0.0)
        copied[:, axis, 1] = total / np.maximum(count, 1)
        copied[:, axis, 2] = count
    return CentralLines(copied, tuple(lines), means)


def copies_evidence(copied: np.ndarray, noise_var) -> np.ndarray:
    """The evidence of copied lines, from `central_lines`' ``copied`` (n, 2, 3).

    For each axis: ``log10`` of the least differing pairs' difference over
    `COPY_SHARE` times the mean pair's, both less the noise's (a first
    difference passes twice the noise variance; at most half the least
    pairs' difference is taken away), clipped to [`RESAMPLING_FLOOR`, 0];
    0 with fewer than `_MIN_PAIRS` pairs. The lower of the two axes, shape
    (n,).
    """
    noise = 2.0 * np.broadcast_to(np.asarray(noise_var, dtype=np.float64), len(copied))
    value = np.zeros(len(copied))
    for axis in (0, 1):
        low, mean, count = copied[:, axis].T
        evidence, reference = _weakest_evidence(low, mean, noise, COPY_SHARE)
        usable = (count >= _MIN_PAIRS) & (reference > 0)
        value = np.minimum(value, np.where(usable, evidence, 0.0))
    return value


def interpolation_evidence(rows, columns, content, noise_var) -> np.ndarray:
    """The evidence of interpolated lines, from `line_details`' output and
    the content of `central_lines`.

    For each axis, over the lines of the central half that hold content, as
    do both their neighbours: each line's detail over its two neighbours'
    mean, both less the noise's (a second difference passes 6 times the
    noise variance; at most half the line's detail is taken away); the
    `QUIET_QUANTILE` quantile of these ratios, in ``log10``, read through
    the steep ramp `QUIET_RAMP` (0 above its first value, `RESAMPLING_FLOOR`
    below its second); 0 with fewer than `_MIN_PAIRS` such lines. The lower
    of the two axes, shape (n,).
    """
    n = len(rows)
    noise = 6.0 * np.broadcast_to(np.asarray(noise_var, dtype=np.float64), n)
    value = np.zeros(n)
    for detail, lines in zip((rows, columns), content, strict=True):
        # `line_details` starts at the second line.
        centre = _central(detail.shape[1] + 2)
        if centre.start < 1 or lines.shape[1] < 3:
            continue
        detail = detail[:, centre.start - 1 : centre.stop - 1]
        line = detail[:, 1:-1]
        usable = lines[:, 1:-1] & lines[:, :-2] & lines[:, 2:]
        floor = np.minimum(noise[:, np.newaxis], 0.5 * line)
        neighbours = 0.5 * (detail[:, :-2] + detail[:, 2:]) - floor
        # Neighbours with (next to) no detail of their own make a line
        # infinitely louder than them: a ratio past the float range is that.
        with np.errstate(over="ignore"):
            ratio = (line - floor) / np.maximum(neighbours, np.finfo(np.float64).tiny)
        quiet, count = _quantile_by_rank(ratio, usable, QUIET_QUANTILE)
        enough = count >= _MIN_PAIRS
        log_ratio = np.log10(
            np.clip(np.where(enough, quiet, 1.0), 10.0**RESAMPLING_FLOOR, None)
        )
        ramp = _ramp(log_ratio, *QUIET_RAMP)
        value = np.minimum(value, np.where(enough, RESAMPLING_FLOOR * ramp, 0.0))
    return value + 0.0


def periodic_evidence(fourth_rows, fourth_columns, content, means) -> np.ndarray:
    """The evidence of a detail that varies with a resampling period, from
    `line_details`' fourth differences and the content and line means of
    `central_lines`.

    For each axis, over the lines of the central half: each line's fourth
    differences (their sum of squares) over their local mean
    (`_PERIODIC_WINDOW` lines; 1 for a line without content); the share of
    this sequence's variance at the strongest of `PERIODIC_FREQUENCIES` (1
    for a pure alternation), read through the steep ramp `PERIODIC_RAMP` (0
    below its first value, `RESAMPLING_FLOOR` above its second); 0 with
    fewer than `_MIN_PAIRS` lines with content. The lower of the two axes,
    shape (n,). Noise has no period: it lowers the share.

    A stripe pattern along the lines (a k-space spike's wave, clipped) makes
    their detail periodic too, but it also makes their means rise and fall,
    which an interpolation does not: where the steps between the lines'
    means hold more than `STRIPE_SHARE` of their variance at one frequency,
    that axis gives no evidence.
    """
    n = len(fourth_rows)
    value = np.zeros(n)
    for detail, lines, mean in zip(
        (fourth_rows, fourth_columns), content, means, strict=True
    ):
        if detail.shape[1] < _MIN_PAIRS:
            continue
        local = ndimage.uniform_filter1d(
            detail, _PERIODIC_WINDOW, axis=1, mode="nearest"
        )
        usable = lines & (local > 0)
        ratio = np.where(usable, detail / np.where(usable, local, 1.0), 1.0)
        ramp = _ramp(_strongest_share(ratio, PERIODIC_FREQUENCIES), *PERIODIC_RAMP)
        ramp[np.count_nonzero(usable, axis=1) < _MIN_PAIRS] = 0.0
        # Stripes are looked for only where the detail reads as periodic.
        read = np.flatnonzero(ramp > 0)
        steps = np.diff(mean[read], axis=1)
        ramp[read[_strongest_share(steps, STRIPE_FREQUENCIES) > STRIPE_SHARE]] = 0.0
        value = np.minimum(value, RESAMPLING_FLOOR * ramp)
    return value + 0.0


def _strongest_share(sequence: np.ndarray, frequencies) -> np.ndarray:
    """The share of each row's variance at the strongest of ``frequencies``
    (summed image by image: an image's value does not depend on the
    others)."""
    sequence = sequence - sequence.mean(axis=1, keepdims=True)
    waves = _waves(sequence.shape[1], frequencies)
    half = waves.shape[1] // 2
    power = np.einsum("ni,if->nf", sequence, waves) ** 2
    power = power[:, :half] + power[:, half:]
    total = sequence.shape[1] * np.einsum("ni,ni->n", sequence, sequence)
    return power.max(axis=1) / np.maximum(total, np.finfo(np.float64).tiny)


@functools.lru_cache(maxsize=16)
def _waves(size: int, frequencies) -> np.ndarray:
    """Cosines then sines of ``frequencies`` over ``size`` lines, side by
    side: shape (size, 2 * frequencies)."""
    phases = 2 * np.pi * np.outer(np.arange(size), frequencies)
    waves = np.concatenate([np.cos(phases), np.sin(phases)], axis=1)
    waves.setflags(write=False)
    return waves


def _quantile_by_rank(values, usable, quantile):
    """Each row's ``quantile`` of its ``usable`` values, by rank (the lower
    one), and their number (values at an unusable place sort last): one
    sort for all rows, where `np.nanquantile` loops over them. A row
    without usable values gives its largest value; its count says so."""
    ordered = np.sort(np.where(usable, values, np.inf), axis=1)
    count = np.count_nonzero(usable, axis=1)
    rank = (np.maximum(count - 1, 0) * quantile).astype(np.intp)
    return ordered[np.arange(len(ordered)), rank], count


def _ramp(values, start, end):
    """0 at ``start`` and before it, 1 at ``end`` and beyond, linear between
    (either way round): the steep ramps of the evidence."""
    return np.clip((values - start) / (end - start), 0, 1)


def concatenate_lines(parts):
    """`line_details`' or `central_lines`' outputs of several blocks of
    images, as one: their arrays, and the arrays of their tuples, joined
    along the images (floating-point ones as float64, in which the evidence
    is read)."""

    def join(arrays):
        dtype = np.float64 if arrays[0].dtype.kind == "f" else None
        return np.concatenate(arrays, dtype=dtype)

    first = parts[0]
    joined = []
    for index, field in enumerate(first):
        if isinstance(field, tuple):
            axes = range(len(field))
            joined.append(tuple(join([p[index][a] for p in parts]) for a in axes))
        else:
            joined.append(join([part[index] for part in parts]))
    return type(first)(*joined)


def resampling_evidence(
    details: LineDetails, central: CentralLines, noise_var, mode
) -> np.ndarray:
    """The resampling features of a ``mode`` (`resampling_mode`), from
    `line_details` and `central_lines` of the same images, once the noise
    variance is known: each period's `resampling_features`, or the
    strongest of them, with the evidence of copied lines, quiet lines and a
    periodic detail (whatever the period) in each. Shape (n, features)."""
    lines = (details.rows, details.columns)
    whatever_the_period = np.minimum(
        np.minimum(
            copies_evidence(central.copied, noise_var),
            interpolation_evidence(*lines, central.content, noise_var),
        ),
        periodic_evidence(
            details.fourth_rows, details.fourth_columns, central.content, central.means
        ),
    )
    values = np.minimum(
        resampling_features(*lines, noise_var), whatever_the_period[:, np.newaxis]
    )
    if mode == "strongest":
        values = values.min(axis=1, keepdims=True)
    return values

"""Detail just outside the head: what motion and truncation leave there.

A translation during the acquisition moves a block of k-space lines' detail
by a few pixels, and a truncated k-space rings around every edge: both put
fine detail just outside the head, where a clean slice, sharp or blurred,
has none. The power spectrum hardly changes (a translation is a phase ramp),
so the band ratios of `sharpness_features` cannot see it. White noise, Rician
noise and k-space spikes put as much detail near the head as far from it;
strong ghosts (faint copies of the head along the phase axis) can fill a band
around it, brighter than the far background.

On the noise estimate's grid (every third pixel of every third row, with its
filter's absolute responses) each image gives:

- ``outer_detail``: log10 of the median response in a ring 3-6 pixels
  outside the head (beyond one grid step of it, within two) over the median
  response beyond the ring, each squared, both plus a floor of 1e-6 times
  the squared range from the background's floor to the top (so a clean
  slice, crop or constant image gives 0);
- ``outer_level``: log10 of the ring's median intensity over the head's,
  both less the far background's median, plus 0.001.

The background's floor is the 5th-percentile intensity, the top the 99th,
and the head every point above a tenth of the way from the floor to the
top. On a clean slice (a zero background) the floor is 0; where noise kept
whole (as a min-max rescaled export keeps it), Rician noise or an offset
lifts the whole background, the head and the levels are read from it, so
that a lifted background reads as a clean one, not as the intensity that
motion spreads just outside the head. (With the head a tenth of the top, a
background lifted by min-max rescaled noise crossed that tenth and the head
took up to 0.9 of the grid instead of 0.3; over 56 held-out seeds this
version missed 121 phase errors against 128 and called 20 slices with
MONAI's Rician noise blurred against 43.)

Where less than a tenth of the grid lies beyond the ring (a crop that cuts
the head, a slice that fills its field of view) there is no far background
to compare with, and ``outer_detail`` is 0 (with no point beyond the ring
at all, the far level is the floor). The regions and the detail take
every point of the grid; the intensities (the percentiles and the levels),
every other point of every other row, a quarter of the sorting for
statistics still of hundreds of values. (The detail needs every point:
on that sample, the ring's median over some 40 points moved
``outer_detail`` by up to 0.27 on white noise, and a model with it missed
57 held-out images outside the phase errors against 34, over seven seeds.)

The same pass tells whether the far background holds motion's streaks
(`far_streaks`): energy along the lines that cross the head, none beside
it. It is not a feature but part of the gate of the motion features
(`~blurkit.metrics._sharpness.MOTION_GATE`).

These are the features of ``SharpnessFeatures(outer=True)``, off by
default: they cost about a sixth of the other features' time (18 us per
120x120 image against 97, on one thread).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "OUTER_NAMES",
    "OUTER_NONE",
    "far_streaks",
    "outer_and_streaks",
    "outer_features",
]

OUTER_NAMES = ("outer_detail", "outer_level")
"""Names of the two features, in `outer_features`' column order."""

_HEAD_SHARE_OF_TOP = 0.1
LOW_PERCENTILE = 5
"""Percentile of the intensities read as the background's floor."""
TOP_PERCENTILE = 99
"""Percentile of the intensities read as the top."""
_MIN_FAR_SHARE = 0.1
_MIN_PIXELS = 10
_FLOOR = 1e-6
_LEVEL_FLOOR = 1e-3
STREAK_LEVEL = 1e-4
"""Excess energy (over the noise's) of the far background in the lines that
cross the head, per point, over the head's squared level, above which those
lines may hold motion's streaks (`far_streaks`)."""
STREAK_CONTRAST = 10.0
"""How many times the excess energy per point of the far background's lines
that cross the head must exceed that of its lines beside the head, for
``streaks``."""
_MIN_BESIDE = 10
OUTER_NONE = np.array([0.0, np.log10(_LEVEL_FLOOR)])
"""The features of an image with nothing outside its head (a clean slice)."""
_GAUSSIAN_MAD = 0.6745 * 6.0  # the noise filter's median response per unit std
# Every other point of every other row of the grid.
_SAMPLE = (slice(None), slice(None, None, 2), slice(None, None, 2))
# Regions of the grid, as `_regions` codes them.
_FAR, _RING, _CLOSE = 0, 1, 2
# Each region's factor on the noise responses (never negative): the ring's
# negated, sorting before the far background's; NaN (sorting last) for the
# head and the points within one grid step of it.
_REGION_FACTOR = np.array([1.0, -1.0, np.nan], dtype=np.float32)


def head_threshold(low, top):
    """The intensity above which a point is the head, from the background's
    floor ``low`` and the top ``top`` (floats or arrays): a tenth of the way
    from one to the other.

    Just above a tenth: a point at exactly a tenth (a tie, common on 8-bit
    grey levels) falls outside the head whether read as levels or as
    level / 255, whose float32 rounding would otherwise decide.
    """
    return low + _HEAD_SHARE_OF_TOP * (1 + 1e-4) * (top - low)


def sorted_head_threshold(ordered: np.ndarray) -> np.ndarray:
    """`head_threshold` of each image from its intensities sorted along rows
    (a sample of them): the floor its `LOW_PERCENTILE`-th percentile, the
    top its `TOP_PERCENTILE`-th. Float64, shape (n,)."""
    low = _percentile(ordered, LOW_PERCENTILE)
    return head_threshold(low, _percentile(ordered, TOP_PERCENTILE))


def _regions(head: np.ndarray) -> np.ndarray:
    """Each grid point's region: `_CLOSE`, `_RING` or `_FAR`, uint8.

    `_CLOSE` within a 3x3 square of the head (``ndimage.maximum_filter``'s
    dilation), `_RING` within a 5x5 one but not a 3x3 one, `_FAR` beyond.
    The dilations are ORs of shifted slices of each image's rows laid end to
    end, with a false border that keeps rows apart: contiguous runs, several
    times faster than the filter on grids this small.
    """
    n, h, w = head.shape
    width = w + 4
    padded = np.zeros((n, h + 6, width), dtype=bool)
    padded[:, 3:-3, 2:-2] = head
    flat = padded.reshape(n, -1)
    # The head's rows, with two spare points at each end for the columns.
    lo, hi = 3 * width - 2, (h + 3) * width + 2
    rows3 = flat[:, lo - width : hi - width] | flat[:, lo:hi]
    rows3 |= flat[:, lo + width : hi + width]
    rows5 = rows3 | flat[:, lo - 2 * width : hi - 2 * width]
    rows5 |= flat[:, lo + 2 * width : hi + 2 * width]
    size = hi - lo - 4
    close = rows3[:, 1 : 1 + size] | rows3[:, 2 : 2 + size]
    close |= rows3[:, 3 : 3 + size]
    near = rows5[:, :size] | rows5[:, 1 : 1 + size]
    for shift in (2, 3, 4):
        near |= rows5[:, shift : shift + size]
    region = close.view(np.uint8) + near.view(np.uint8)  # 0 far, 1 ring, 2 close
    return region.reshape(n, h, width)[:, :, 2:-2]


def _middles(ordered: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Median of ``ordered[i, start[i] : start[i] + count[i]]``, rows sorted.

    The mean of the two middle values for an even count (as ``np.median``),
    in float64; 0 for an empty segment.
    """
    rows = np.arange(len(ordered))
    low = ordered[rows, np.maximum(start + (count - 1) // 2, 0)]
    high = ordered[rows, np.minimum(start + count // 2, ordered.shape[1] - 1)]
    middle = (low.astype(np.float64) + high) / 2.0
    return np.where(count > 0, middle, 0.0)


def _percentile(ordered: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(rows, q, axis=1)`` of rows already sorted, in float64."""
    position = q / 100 * (ordered.shape[1] - 1)
    below = int(np.floor(position))
    above = min(below + 1, ordered.shape[1] - 1)
    fraction = position - below
    low = ordered[:, below].astype(np.float64)
    high = ordered[:, above].astype(np.float64)
    # numpy's linear interpolation, which counts from the nearer end.
    if fraction >= 0.5:
        return high - (high - low) * (1 - fraction)
    return low + (high - low) * fraction


def _region_median(intensity: np.ndarray, mask: np.ndarray, empty) -> np.ndarray:
    """Median of each row's ``intensity`` where ``mask``; ``empty`` where none."""
    ordered = np.where(mask, intensity, np.inf)
    ordered.sort(axis=1)
    count = np.count_nonzero(mask, axis=1)
    return np.where(count > 0, _middles(ordered, 0, count), empty)


def outer_features(grid: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``outer_detail`` and ``outer_level`` of each image, shape (n, 2): the
    features of `outer_and_streaks`, which takes the same arguments."""
    return outer_and_streaks(grid, response)[0]


def outer_and_streaks(grid: np.ndarray, response: np.ndarray, noise_var=None):
    """``outer_detail`` and ``outer_level`` of each image, and whether motion
    may have left streaks far from it.

    Parameters
    ----------
    grid : ndarray of shape (n, rows, columns)
        The images' intensities on the noise estimate's grid.
    response : ndarray of shape (n, rows, columns)
        The absolute responses of the noise filter there
        (``_spatial._noise_responses``).
    noise_var : float or ndarray of shape (n,), default=None
        The noise's variance, in the grid's units; None skips the streaks.

    Returns
    -------
    features : ndarray of shape (n, 2)
        ``outer_detail`` and ``outer_level``.
    streaks : ndarray of bool, shape (n,), or None
        `far_streaks` (None without ``noise_var``).
    """
    n = len(grid)
    intensity = grid[_SAMPLE].reshape(n, -1)
    size = intensity.shape[1]
    ordered = np.sort(intensity, axis=1)
    top = _percentile(ordered, TOP_PERCENTILE)
    # The background's floor: 0 on a clean slice, lifted by an offset or by
    # noise kept whole (a min-max rescaled export) or made positive (Rician).
    low = _percentile(ordered, LOW_PERCENTILE)
    head = grid > head_threshold(low, top)[:, None, None]
    region = _regions(head)
    # The levels, on the sample: the head's is the top of each sorted row;
    # the ring's and the far background's, medians of their own points.
    n_head = np.count_nonzero(head[_SAMPLE].reshape(n, -1), axis=1)
    head_level = _middles(ordered, size - n_head, n_head)
    sampled = region[_SAMPLE].reshape(n, -1)
    ring_level = _region_median(intensity, sampled == _RING, 0.0)
    far_level = _region_median(intensity, sampled == _FAR, low)
    # The detail, on every point: one sort gives the ring's (negated, first)
    # and the far background's responses in order.
    region = np.ascontiguousarray(region).reshape(n, -1)
    keyed = _REGION_FACTOR.take(region)
    keyed *= response.reshape(n, -1)
    keyed.sort(axis=1)
    # Codes 0, 1 and 2: the count of nonzero codes and their sum give the
    # size of each region.
    nonzero = np.count_nonzero(region, axis=1)
    n_close = region.sum(axis=1, dtype=np.int64) - nonzero
    n_ring, n_far = nonzero - n_close, region.shape[1] - nonzero
    enough = n_far >= _MIN_FAR_SHARE * keyed.shape[1]
    detail = []
    for start, count in ((0, n_ring), (n_ring, n_far)):
        median = np.abs(_middles(keyed, start, count)) / _GAUSSIAN_MAD
        detail.append(np.where(enough & (count > _MIN_PIXELS), median**2, 0.0))
    floor = _FLOOR * (top - low) ** 2 + 1e-300
    outer_detail = np.log10((detail[0] + floor) / (detail[1] + floor))
    # No range from the floor to the top (a slice constant at 95% of its
    # points and more): no head, and the floor above would not scale with
    # the intensities.
    outer_detail = np.where(top > low, outer_detail, 0.0)
    level = np.maximum(ring_level - far_level, 0.0) / np.maximum(
        head_level - far_level, 1e-6
    )
    features = np.column_stack([outer_detail, np.log10(level + _LEVEL_FLOOR)])
    if noise_var is None:
        return features, None
    far = region.reshape(grid.shape) == _FAR
    streaks = far_streaks(grid, head, far, far_level, head_level, noise_var)
    return features, streaks & (top > low)


def far_streaks(grid, head, far, far_level, head_level, noise_var) -> np.ndarray:
    """Whether the far background holds energy along the lines through the
    head, and none beside it: motion's streaks.

    A movement during the acquisition changes the phase of some k-space
    lines, and the head's signal leaks along the phase-encoding axis, in
    streaks across the field of view: one movement near the middle of the
    acquisition (TorchIO's ``RandomMotion(num_transforms=1)``) leaves them
    far from the head, along the lines that cross it, while the fine
    detail just outside the head (``outer_detail``) stays that of a clean
    slice. Noise and a k-space spike's wave spread over every line alike.

    For each axis, the far background's points (beyond the ring) on lines
    that cross the head (``through``) and on lines that do not
    (``beside``): the mean squared deviation from the far background's
    median, less ``noise_var``, of each set. True where, along some axis,
    ``through``'s exceeds `STREAK_LEVEL` times the square of ``head_level``
    (the head's median intensity) above ``far_level``, and `STREAK_CONTRAST`
    times ``beside``'s, with at least `_MIN_BESIDE` points beside the head.
    """
    excess = grid - np.asarray(far_level, dtype=grid.dtype)[:, None, None]
    excess *= excess
    excess *= far
    noise = np.asarray(noise_var, dtype=np.float64)
    scale = STREAK_LEVEL * np.maximum(head_level - far_level, 0.0) ** 2
    streaks = np.zeros(len(grid), dtype=bool)
    for axis in (1, 2):
        # Each line's energy and far points, summed across it.
        crosses = head.any(axis=axis)
        energy = excess.sum(axis=axis, dtype=np.float64)
        count = np.count_nonzero(far, axis=axis)
        n_through = np.einsum("ij,ij->i", count, crosses)
        n_beside = count.sum(axis=1) - n_through
        through = np.einsum("ij,ij->i", energy, crosses)
        beside = energy.sum(axis=1) - through
        through = through / np.maximum(n_through, 1) - noise
        beside = beside / np.maximum(n_beside, 1) - noise
        streaks |= (
            (through > scale)
            & (through > STREAK_CONTRAST * np.maximum(beside, 0.0))
            & (n_beside >= _MIN_BESIDE)
        )
    return streaks

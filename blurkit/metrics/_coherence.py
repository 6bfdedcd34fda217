"""The coherence of the finest detail with the edges: motion along one axis.

A clean slice's detail at every scale lies on its edges: across an edge,
the gradient of its finest band points the way the gradient of its coarser
detail does, whatever the edge's polarity (the finest band of a step, or of
a thin line, peaks where the step or the line lies, with its sign). Rigid
motion during the acquisition moves the outer k-space lines of one axis,
those acquired after the movement: the finest detail *along that axis* then
comes from the moved slice and no longer lies on the edges of the coarser
image, which stayed where it was. Its power does not change, so the band
ratios read a sharp slice; and where the outer lines of both sides moved (a
late movement in a centric or symmetric ordering) or the two halves of
k-space come from two poses (one movement near the middle of the
acquisition), nothing may show outside the head either.

``coherence`` compares the two in-plane axes. For each axis ``a``, from
the image's two-dimensional DFT, bands bounded along ``a`` only (every
frequency across it kept), each frequency's power capped at `CAP` times
its band's median:

- the coarse image, the frequencies below `COARSE_CUT` (0.3 cycles per
  pixel) along ``a``, and the finest detail, those from `FINE_CUT` (0.36)
  up;
- their differences ``c`` and ``f`` between neighbouring pixels, along both
  axes, on the image less a margin of `MARGIN` pixels (the periodic DFT
  makes the two ends of each line neighbours, and an image whose content
  reaches its border rings there);
- ``sum(f * c * |c|) / sum(|c|^3)``: the finest detail's gradient projected
  on the coarse gradient's direction, weighted where the coarse edges are
  strongest (a square weight: the plain product of two disjoint bands sums
  to zero whatever their alignment).

Then ``log10`` of the smaller axis's over the larger's, clipped to [-1, 0]:
on the challenge's clean sharp slices -0.16 to -0.01 (1st to 90th
percentile), with 2% noise, ghosts, JPEG at quality 75 or a weak k-space
spike much the same, on crops that cut the head -0.22 and above; with the
outer 30-50% of the lines of both sides moved (2-5 degrees, 1.3-5 px),
-0.6 to -0.2, and 93% below every one of those cases' 1st percentiles;
TorchIO's single movement, 72% (real part) and 92% (magnitude). A
resolution lost along one axis lowers it too (a Gaussian of 0.6 px along
one axis: about -0.5): the finest detail of that axis is then weak, not
misplaced, which the band ratios' weakest orientation reads. An image
whose fine detail is not coherent enough to tell from noise (`Z_MIN`:
blurred, or noise alone), or too small for the margin, reads
`COHERENCE_NONE`.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from ._spectral import _cached_for_small_shapes

__all__ = ["COHERENCE_NAMES", "COHERENCE_NONE", "coherence_features"]

COHERENCE_NAMES = ("coherence",)
"""Name of the feature."""

COARSE_CUT = 0.3
"""Highest frequency of the coarse image along the axis, cycles per pixel
(excluded). Below the outer 30-50% of the lines that a late movement of a
centric acquisition moves, near enough to the finest detail that the two
share their edges (from 0.25 down, far fewer moved slices stand out)."""

FINE_CUT = 0.36
"""Lowest frequency of the finest detail along the axis, cycles per pixel."""

MARGIN = 4
"""Pixels left out at each border."""

CAP = 100.0
"""Each frequency's power is capped at this many times its band's median
power: a k-space spike, one frequency far above the others, then adds no
more than a frequency of the head's own detail. Uncapped, the wave of a
strong spike (TorchIO's default intensity, min-max rescaled) took half of
such slices below every clean case's 1st percentile."""

_MEDIAN_STEP = 4

Z_MIN = 2.0
"""An image's coherence is read where the numerator of its more coherent
axis stands this many standard errors above 0, the standard error that
noise independent of the coarse gradient would give it (``sqrt(mean(f^2)
sum(c^2 |c|^2))``, summed over both directions). Clean sharp slices of the
challenge score 4.7 and more (1st percentile), with noise of 5% of the
range kept whole 2.3 and more; blurred slices with such noise, whose
finest band holds nothing else, 1.1 at most: their ratio is noise, which
a model read as motion (and, outside anything it was trained on, called
some of them sharp)."""

COHERENCE_NONE = 0.0
"""``coherence`` of an image with no fine detail to compare: a clean slice's."""

_FLOOR = -1.0


@_cached_for_small_shapes
def _bands(h: int, w: int):
    """For each axis, the coarse and the finest band of an (h, w) image's
    rfft2 as boolean masks, and every `_MEDIAN_STEP`-th index of each
    (flat), where its median power is read."""
    along_rows = np.abs(fft.fftfreq(h))[:, np.newaxis]
    along_columns = np.abs(fft.rfftfreq(w))[np.newaxis, :]
    shape = (h, w // 2 + 1)
    bands = []
    for frequency in (along_rows, along_columns):
        pair = []
        for mask in (frequency < COARSE_CUT, frequency >= FINE_CUT):
            mask = np.broadcast_to(mask, shape)
            pair.append((mask, np.flatnonzero(mask)[::_MEDIAN_STEP]))
        bands.append(pair)
    return bands


def _ratios(scratch: np.ndarray):
    """For each image of a stack (n, h, w) and each axis (n, 2):
    ``sum(f * c * |c|) / sum(|c|^3)`` (``nan`` where ``sum(|c|^3)`` is 0)
    and its numerator in standard errors, were ``f`` noise independent of
    ``c`` (`Z_MIN`). Sums in the stack's precision (numpy's pairwise
    summation)."""
    n, h, w = scratch.shape
    spectrum = fft.rfft2(scratch, axes=(1, 2))
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    flat = power.reshape(n, -1)
    ratios = np.empty((n, 2))
    scores = np.empty((n, 2))
    inner = (slice(None), slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    for axis, pair in enumerate(_bands(h, w)):
        images = []
        for mask, sample in pair:
            # Each frequency's power capped at `CAP` times the band's median:
            # a k-space spike is one frequency far above its band.
            limit = CAP * np.median(flat[:, sample], axis=1)[:, None, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                gain = np.sqrt(np.minimum(1.0, limit / power))
            gain = np.where(mask, np.nan_to_num(gain, nan=1.0), 0.0)
            band = fft.irfft2(spectrum * gain.astype(power.dtype), (h, w), axes=(1, 2))
            images.append(band[inner])
        coarse, fine = images
        numerator = np.zeros(n)
        denominator = np.zeros(n)
        variance = np.zeros(n)
        for along in (1, 2):
            c = np.diff(coarse, axis=along)
            f = np.diff(fine, axis=along)
            weight = np.abs(c)
            weight *= c
            mean_square = np.square(f).mean(axis=(1, 2))
            variance += mean_square * np.square(weight).sum(axis=(1, 2))
            f *= weight
            numerator += f.sum(axis=(1, 2))
            # c |c| c = |c|^3.
            weight *= c
            denominator += weight.sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[:, axis] = numerator / denominator
            scores[:, axis] = numerator / np.sqrt(variance)
    return ratios, scores


def coherence_features(scratch: np.ndarray) -> np.ndarray:
    """``coherence`` of each image of a stack (n, h, w); shape (n, 1).

    Computed in the stack's precision (float32 for blurkit's features); see
    the module's docstring.
    """
    n, h, w = scratch.shape
    values = np.full((n, 1), COHERENCE_NONE)
    if min(h, w) < 2 * MARGIN + 3:
        return values
    ratios, scores = _ratios(scratch)
    low = np.min(ratios, axis=1)
    high = np.max(ratios, axis=1)
    readable = np.isfinite(low) & (np.fmax(scores[:, 0], scores[:, 1]) > Z_MIN)
    # Where readable, the larger ratio is positive.
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.log10(np.clip(low / high, 10.0**_FLOOR, 1.0))
    values[:, 0] = np.where(readable, share, COHERENCE_NONE)
    return values

"""k-space spikes: find the plane wave a spike adds, and take it away.

A spike (one corrupted k-space sample) adds a plane wave over the whole
image, a herringbone. Clipped to the image's range, as an export keeps it,
the wave's troughs vanish on the background and its crests stay: the
background holds half-waves, and the detail and intensity just outside the
head read as the motion they resemble. The features of a spiked slice are computed
again on the slice with its wave taken away (``despike=True`` of
`sharpness_features`), so that a sharp slice reads as sharp.

Detection costs three ``argmax`` per image, on the power spectrum the band
features compute anyway (`spike_candidates`). Only candidates get a second,
exact look, on the image at its own size, where a spike acquired on the
image's grid falls on one frequency (`remove_spikes`):

- the peak's magnitude is at least `PEAK_RATIO` times every frequency at a
  distance of 2 from it;
- its wave is taken away where the image lies between its minimum and its
  maximum (where the clipping kept it); a pixel at either was clipped and
  stays (a background of 0 stays 0, a saturated pixel saturated), unless
  the wave is strong (below), or the image was not clipped (at most
  `MAX_CLIPPED_SHARE` of its pixels at either, as in a min-max rescaled
  export), where every pixel loses its wave. The
  wave's coefficient is read from the image, then from the image less its
  current estimate, `_ITERATIONS` times, which recovers what the clipping
  took from it.

A wave above `MAX_AMPLITUDE` of the image's range clips the head too (its
troughs below the background, its crests above the top), unless nothing
was clipped (at most `MAX_CLIPPED_SHARE` of the pixels at the image's
minimum or maximum, as in a min-max rescaled export). Left in place, those
clipped pixels keep the wave's crests and troughs, holes that read as
detail; they are filled instead (`_fill_clipped`): each with the
Gaussian-weighted mean of its unclipped neighbours on the wave's other side
(which the wave could not clip), within what the clipping leaves possible
(a pixel clipped to the minimum was at most the minimum less the wave, one
clipped to the maximum at least the maximum less the wave). The wave's
estimate takes three times as many rounds there, since fewer pixels are
left to read it from.

On held-out subjects (``benchmarks/heldout.py --seeds 0-55``) taking the
waves away took the slices with TorchIO's spikes of intensity 0.1-0.5
labelled wrong from 54 of 5,376 to 9, and the phase errors missed from 121
of 2,688 to 102: a model that no longer sees spiked slices that look moved
draws its line closer to the moved ones (see the README). Filling the
clipped pixels of strong waves, rather than leaving those slices as they
were, took TorchIO's default spikes (intensity 1-3) labelled wrong from 6
to 1 of 5,376 (to 3 with the mean of every unclipped neighbour), every
other row within a slice.
"""

from __future__ import annotations

import numpy as np

from ._spectral import _cached_for_small_shapes

__all__ = [
    "MAX_AMPLITUDE",
    "MAX_CLIPPED_SHARE",
    "MAX_PIXELS",
    "PEAK_RATIO",
    "SPIKE_GATE",
    "remove_spikes",
    "spike_candidates",
]

SPIKE_GATE = 10.0
"""Power ratio of a candidate spike: one of the `_CANDIDATE_PEAKS` strongest
frequencies of the windowed power spectrum, weighted by their squared
radius, over the largest at a distance of 3 from it. Clean, blurred, moved,
noisy and ghosted held-out slices read 1-10 (at most 9.6 on one seed's 96
slices under 26 artifacts); slices with TorchIO's spikes of intensity
0.1-0.5, 9 to thousands. A candidate only costs `remove_spikes`' look, which
finds nothing on a slice without a spike; a spike below the gate keeps its
wave, as do most spikes on an axis, where the head's own edges are as
strong."""

PEAK_RATIO = 8.0
"""Magnitude of a spike over every frequency at a distance of 2 from it, in
the unwindowed spectrum of the image at its own size."""

MAX_AMPLITUDE = 0.15
"""Amplitude (of all the waves together, as a share of the image's range)
above which the pixels a wave clipped are filled (`_fill_clipped`) rather
than left as they are. TorchIO's default spikes (intensity 1-3) give
0.2-0.6: they clip the head, and taking them away with its clipped pixels
left as they were made more slices wrong than it made right."""

MAX_CLIPPED_SHARE = 0.01
"""Share of pixels at the image's minimum or maximum up to which an image
is taken as unclipped (a min-max rescaled export has one of each): its
waves are taken away whatever their amplitude, exactly, since nothing was
clipped."""

_CANDIDATE_PEAKS = 3
"""The frequencies `spike_candidates` looks at: the strongest of the
weighted power spectrum, in that number."""

_MIN_RADIUS = 3
"""Frequencies closer than this to 0 (in cycles per image) are the head's
own, never a spike."""

_MAX_SPIKES = 3
_ITERATIONS = 4
_FILL_SIGMA = 1.0
"""Standard deviation (pixels) of the Gaussian weights of the unclipped
neighbours that fill a clipped pixel."""

MAX_PIXELS = 2**20
"""Largest image (in pixels: 1024x1024) searched for spikes. A k-space
spike is an MRI slice's artifact, and slices are at most 512 or so on a
side; the search takes several full-size float64 arrays, so a larger image
(a 4096x4096 photograph: over a gigabyte) is read as it is, and the memory
of large images stays bounded."""


@_cached_for_small_shapes
def _radius_weights(height: int, width: int) -> np.ndarray:
    """Squared radius of each frequency of an rfft2 half-plane, 0 near 0
    (read-only: shared between calls)."""
    rows = np.fft.fftfreq(height) * height
    columns = np.arange(width // 2 + 1, dtype=np.float64)
    squared = rows[:, np.newaxis] ** 2 + columns**2
    weights = np.where(squared >= _MIN_RADIUS**2, squared, 0.0).astype(np.float32)
    weights.setflags(write=False)
    return weights


def _ring(distance: int) -> list[tuple[int, int]]:
    """Offsets at Chebyshev distance ``distance``."""
    span = range(-distance, distance + 1)
    return [(dy, dx) for dy in span for dx in span if max(abs(dy), abs(dx)) == distance]


# The frequencies at Chebyshev distance 2, as a filter's footprint.
_RING_2 = np.ones((5, 5), dtype=bool)
_RING_2[1:4, 1:4] = False


def spike_candidates(power: np.ndarray, width: int) -> np.ndarray:
    """Whether each image's power spectrum holds a candidate spike.

    Parameters
    ----------
    power : ndarray of shape (n, height, width // 2 + 1)
        Power spectra, an rfft2 half-plane each (windowed).
    width : int
        The images' width.

    Returns
    -------
    ndarray of bool, shape (n,)
        True where the ratio described in `SPIKE_GATE` exceeds it.
    """
    n, height, half = power.shape
    if n == 0 or height < 7 or width < 7 or height * width > MAX_PIXELS:
        return np.zeros(n, dtype=bool)
    weighted = (power * _radius_weights(height, width)).reshape(n, -1)
    # The strongest few: a weak spike may come after the head's own low
    # frequencies, which the weights do not always put below it.
    # (One argmax at a time: numpy's argpartition costs a hundred times
    # more on these rows, many of whose weights are 0.)
    images = np.arange(n)
    strongest = np.empty((n, min(_CANDIDATE_PEAKS, weighted.shape[1])), dtype=np.intp)
    for i in range(strongest.shape[1]):
        strongest[:, i] = weighted.argmax(axis=1)
        weighted[images, strongest[:, i]] = -np.inf
    row, column = np.divmod(strongest, half)
    dy, dx = np.array(_ring(3)).T
    r = (row[..., np.newaxis] + dy) % height
    c = column[..., np.newaxis] + dx
    # Beyond the half-plane: the conjugate frequency, of equal power.
    mirrored = (c < 0) | (c > width // 2)
    c = np.where(c < 0, -c, np.where(c > width // 2, width - c, c))
    r = np.where(mirrored, (-r) % height, r)
    around = power[images[:, np.newaxis, np.newaxis], r, c].max(axis=2)
    peak = power[images[:, np.newaxis], row, column]
    return np.any(peak > SPIKE_GATE * around, axis=1)


def remove_spikes(image: np.ndarray) -> np.ndarray | None:
    """The image without its k-space spikes' waves, or None if it has none.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image, in any units.

    Returns
    -------
    ndarray of shape (H, W), float64, or None
        The image with each spike's wave taken away where the clipping kept
        it, never below the image's minimum (an image that was not clipped
        loses it everywhere and is not clipped back); None when no spike
        stands out (see `PEAK_RATIO`), or when the image is larger than
        `MAX_PIXELS`.
        Where strong waves clipped the image (`MAX_AMPLITUDE`), its clipped
        pixels are filled from their neighbours.
    """
    height, width = np.shape(image)
    if height < 7 or width < 7 or height * width > MAX_PIXELS:
        return None
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    if high <= low:
        return None
    # Imported here: only a candidate spike needs it, and a command that
    # reads clean slices starts without it.
    from scipy import ndimage

    magnitude = np.abs(np.fft.fft2(image))
    # The largest magnitude at Chebyshev distance 2, the spectrum periodic.
    around = ndimage.maximum_filter(magnitude, footprint=_RING_2, mode="wrap")
    ratio = magnitude / np.maximum(around, 1e-12 * magnitude.max())
    rows = np.fft.fftfreq(height) * height
    columns = np.fft.fftfreq(width) * width
    near = rows[:, np.newaxis] ** 2 + columns**2 < _MIN_RADIUS**2
    ratio[near] = 0.0
    # The strongest ratios, a spike's conjugate beside it: the largest first.
    ratios = ratio.ravel()
    strongest = np.argpartition(ratios, -2 * _MAX_SPIKES)[-2 * _MAX_SPIKES :]
    peaks = []
    for index in strongest[np.argsort(ratios[strongest])[::-1]]:
        if ratios[index] < PEAK_RATIO or len(peaks) == _MAX_SPIKES:
            break
        r, c = divmod(int(index), width)
        if ((-r) % height, (-c) % width) not in peaks:
            peaks.append((r, c))
    if not peaks:
        return None
    size = height * width
    # A frequency and its conjugate make one real wave, of twice the
    # coefficient's magnitude over the size; one equal to its own conjugate
    # (at Nyquist along both axes) makes one of the coefficient's.
    factors = [
        1.0 if (r, c) == ((-r) % height, (-c) % width) else 2.0 for r, c in peaks
    ]
    amplitude = sum(
        f * magnitude[r, c] / size for f, (r, c) in zip(factors, peaks, strict=True)
    )
    # Pixels at the image's minimum or maximum were clipped: they stay, or
    # are filled where the waves are strong. Unless there are too few of
    # them (`MAX_CLIPPED_SHARE`): a min-max rescaled export puts one pixel
    # at each, where the waves are too, and left there, they would read as
    # single bright or dark dots, fine detail over the whole spectrum.
    kept = (image > low) & (image < high)
    unclipped = 1.0 - np.count_nonzero(kept) / size <= MAX_CLIPPED_SHARE
    if unclipped:
        kept[:] = True
    strong = amplitude > MAX_AMPLITUDE * (high - low) and not unclipped
    # Each spike's wave is a * cos + b * sin of its phase, where a and b are
    # the dot products of the image with them (one DFT term, not a whole
    # FFT), times the factor over the size.
    y, x = np.arange(height)[:, np.newaxis], np.arange(width)
    bases = []
    for factor, (r, c) in zip(factors, peaks, strict=True):
        phase = 2 * np.pi * (r * y / height + c * x / width)
        bases.append((np.cos(phase).ravel(), np.sin(phase).ravel(), factor / size))
    kept = kept.ravel()
    flat = image.ravel()
    wave = np.zeros_like(flat)
    despiked = flat
    for _ in range(3 * _ITERATIONS if strong else _ITERATIONS):
        for cosine, sine, weight in bases:
            a, b = cosine @ despiked, sine @ despiked
            wave += weight * a * cosine
            wave += weight * b * sine
        despiked = np.where(kept, flat - wave, flat)
    despiked = despiked.reshape(height, width)
    if strong:
        shape = (height, width)
        despiked = _fill_clipped(
            image, despiked, wave.reshape(shape), kept.reshape(shape), low, high
        )
    return despiked if unclipped else np.clip(despiked, low, high)


def _fill_clipped(image, despiked, wave, kept, low, high) -> np.ndarray:
    """``despiked`` with each pixel outside ``kept`` (clipped to the image's
    minimum ``low`` or maximum ``high``) filled.

    A pixel clipped to the maximum takes the Gaussian-weighted mean of its
    unclipped neighbours where the wave is at most 0; one clipped to the
    minimum, of those where it is at least 0. There the wave could not clip
    the neighbour, whatever its value: their mean is not drawn toward the
    values that escaped the clipping (dark ones beside a bright clipped
    pixel), as the mean of every unclipped neighbour is. The fill is then
    kept within the values the clipping leaves possible: at most the
    minimum less the wave where the pixel was clipped to the minimum, at
    least the maximum less the wave where clipped to the maximum. A pixel
    with no such neighbour takes the middle of those values.
    """
    from scipy import ndimage

    at_low = image <= low
    lowest = np.where(at_low, low, high - wave)
    highest = np.maximum(lowest, np.where(at_low, low - wave, high))
    middle = 0.5 * (lowest + highest)

    def neighbours_mean(chosen):
        weights = ndimage.gaussian_filter(chosen.astype(np.float64), _FILL_SIGMA)
        sums = ndimage.gaussian_filter(np.where(chosen, despiked, 0.0), _FILL_SIGMA)
        return np.where(weights > 1e-3, sums / np.maximum(weights, 1e-3), middle)

    guess = np.where(
        at_low,
        neighbours_mean(kept & (wave >= 0)),
        neighbours_mean(kept & (wave <= 0)),
    )
    return np.where(kept, despiked, np.clip(guess, lowest, highest))

"""The default sharpness features: noise-corrected spectral band ratios."""

from __future__ import annotations

import numpy as np

from .._validation import as_image, as_image_stack
from ._coherence import COHERENCE_NAMES, COHERENCE_NONE, coherence_features
from ._fringe import FRINGE_NAMES, fringe_features, tukey_spectrum
from ._ghosts import GHOST_NAMES, GHOST_NONE, ghost_features_from_power
from ._outer import OUTER_NAMES, OUTER_NONE, outer_and_streaks
from ._reach import REACH_NAMES, REACH_NONE, reach_stack
from ._resampling import (
    central_lines,
    concatenate_lines,
    line_details,
    resampling_evidence,
    resampling_mode,
    resampling_names,
)
from ._shift import SHIFT_NAMES, detail_shift_features
from ._sparsity import (
    SPARSITY_CLEAN,
    SPARSITY_NAMES,
    sparsity_from_moments,
    sparsity_moments,
)
from ._spatial import (
    _noise_grid,
    _noise_responses,
    _noise_std,
    _noise_std_of,
    second_difference,
)
from ._spectral import (
    _band_counts,
    _band_means,
    _corner_count,
    _corner_noise,
    _raw_power_spectrum,
)
from ._spikes import remove_spikes, spike_candidates

__all__ = [
    "LOG_FLOOR",
    "SHARPNESS_BAND_EDGES",
    "log10_ratio",
    "sharpness_features",
    "sharpness_features_stack",
]

SHARPNESS_BAND_EDGES = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.8, 1.0)
"""Default band edges of `sharpness_features`, as fractions of Nyquist."""

OPTIONAL_FEATURES = {
    "outer": OUTER_NAMES,
    "fringe": FRINGE_NAMES,
    "detail_shift": SHIFT_NAMES,
    "ghosts": GHOST_NAMES,
    "reach": REACH_NAMES,
    "sparsity": SPARSITY_NAMES,
    "despike": (),
    "coherence": COHERENCE_NAMES,
}
"""The optional feature groups: each flag of `sharpness_features` and the
names of the columns it adds, in their order (after ``noise_to_signal``,
before the resampling features). ``despike`` adds none: it reads a slice
with a k-space spike without the spike's wave (`_spikes`)."""

MOTION_GATE = 0.02
"""``outer_detail`` above which ``fringe``, ``detail_shift``, ``ghosts`` and
``reach`` are computed (as they are where the far background holds motion's
streaks, `~blurkit.metrics._outer.far_streaks`).

Motion during the acquisition puts fine detail just outside the head (held-
out phase errors: ``outer_detail`` 0.03 and more; TorchIO's motion 0.08 and
more), where a clean slice has none (0 exactly, about 0 with noise). A slice
at or below the gate, without streaks, takes `CLEAN_TUKEY` instead: no
second spectrum is computed for it, and a tight crop or a clean slice cannot
read as moved. One movement near the middle of the acquisition leaves
nothing just outside the head but streaks along the phase-encoding axis far
from it: over fourteen held-out seeds, opening the gate on those too took
the features model's misses of TorchIO's single movement from 133 to 52 of
672 slices.
"""

FINE_DETAIL_GATE = -5.0
"""The finest band's log10 power ratio (its mean, noise subtracted) above
which ``fringe``, ``detail_shift``, ``ghosts`` and ``reach`` are computed,
with `MOTION_GATE`.

Both read the finest band; a slice whose finest band holds nothing above
the noise (blurred by more than about 0.75 px: sharp slices read -3.4 to
-2.6, blurred ones -6, the floor) has no fine detail to double or shift, and
the band ratios call it blurred already.
"""

CLEAN_TUKEY = (-1.2, 0.0)
"""``fringe`` and ``detail_shift`` of a slice the gate keeps closed: their
medians on the challenge's clean sharp slices."""


LOG_FLOOR = -6.0
"""Floor of the log10 power ratios: what a band holding no detail reads as."""

NOISE_PLAUSIBILITY = 1.5
"""How far the noise estimate may exceed the weakest cell of the highest band.

White noise of variance ``v`` adds ``v`` to the power of every cell, so an
estimate well above the highest band's weakest cell cannot be white noise: a
stripe pattern (a k-space spike) raised it. Such an estimate is taken as 0.
"""

NOISE_CORNER_PLAUSIBILITY = 1.25
"""How far the noise estimate may exceed the one read from the spectrum's corners.

The spatial estimate (Immerkaer's) reads a stripe pattern as noise wherever
it lies in the spectrum; the median power of the spectrum's corners (beyond
0.3 cycles per pixel along both axes) is that of white noise, plus detail,
and ignores the few frequencies of a spike. For white noise the two agree;
a spatial estimate above 1.25 times the corners' comes from stripes, and is
taken as 0, when it exceeds `NOISE_CORNER_MIN_SHARE` of the highest band's
weakest cell (when subtracting it would matter).
"""

NOISE_CORNER_MIN_SHARE = 0.5
"""Share of the highest band's weakest cell from which the corners' check applies."""

_PLAUSIBILITY_MIN_FREQUENCIES = 256
"""Frequencies the weakest highest-band cell (and the corners) need for the checks.

With fewer (images under about 60x60 pixels), the cells of pure noise vary
too much for the checks to be safe, and the noise estimate is kept as it is.
"""


def log10_ratio(numerator, denominator) -> np.ndarray:
    """log10(numerator / denominator), floored at `LOG_FLOOR`; 0/0 -> floor."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.broadcast_to(denominator, numerator.shape)
    ratio = np.full(numerator.shape, 10.0**LOG_FLOOR)
    np.divide(numerator, denominator, out=ratio, where=denominator > 0)
    return np.log10(np.maximum(np.nan_to_num(ratio, nan=0.0), 10.0**LOG_FLOOR))


def _smooth_size(n: int) -> int:
    """A side length for the FFT: ``n`` less at most ``max(3, n // 32)``.

    The largest integer in that range with no prime factor above 5, on which
    the FFT is fastest (120 rather than 121 saves a quarter of its time), or
    ``n`` itself when the range holds none.
    """
    for size in range(n, n - max(3, n // 32) - 1, -1):
        rest = size
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return size
    return n


def _fft_friendly_crop(stack: np.ndarray) -> np.ndarray:
    """The centred crop of a stack to sides of `_smooth_size` (a view)."""
    h, w = stack.shape[1:]
    height, width = _smooth_size(h), _smooth_size(w)
    top, left = (h - height) // 2, (w - width) // 2
    return stack[:, top : top + height, left : left + width]


def _unit_float32(stack: np.ndarray) -> np.ndarray:
    """The stack in float32, images of extreme magnitude scaled to [0.5, 1).

    An image whose peak magnitude is below 2**-16 or at least 2 is scaled by
    a power of two, which is exact, so that float32 holds it and its powers
    without overflow or loss, whatever magnitude `check_magnitude` accepted.
    Images already in that range (all images read from files) are kept.
    """
    peak = np.maximum(stack.max(axis=(1, 2)), -stack.min(axis=(1, 2)))
    peak = peak.astype(np.float64)
    exponent = np.frexp(peak)[1]
    rescale = ((exponent > 1) | (exponent < -15)) & (peak > 0)
    if not rescale.any():
        return np.ascontiguousarray(stack, dtype=np.float32)
    shift = np.where(rescale, -exponent, 0)[:, np.newaxis, np.newaxis]
    return np.ldexp(stack.astype(np.float64), shift).astype(np.float32)


def sharpness_features_stack(
    stack,
    band_edges=SHARPNESS_BAND_EDGES,
    n_orientations=4,
    subtract_noise=True,
    resampling="strongest",
    outer=False,
    fringe=False,
    detail_shift=False,
    ghosts=False,
    reach=False,
    sparsity=False,
    despike=False,
    coherence=False,
) -> np.ndarray:
    """`sharpness_features` of each image of a stack: shape (n, n_features).

    A uint8 stack is read as 8-bit grey levels, converted a block at a time
    rather than as a whole; the features equal those of ``level / 255`` (as
    blurkit reads 8-bit images) to float32 rounding (see `_float32_crop`).
    """
    stack = np.asarray(stack)
    # Grey levels are finite and bounded: nothing to check.
    if not (stack.dtype == np.uint8 and stack.ndim == 3 and 0 not in stack.shape):
        stack = as_image_stack(stack)
    return _sharpness_features(
        stack,
        band_edges,
        n_orientations,
        subtract_noise,
        resampling,
        outer,
        fringe,
        detail_shift,
        ghosts,
        reach,
        sparsity,
        despike,
        coherence,
    )


# Images per block: a block's float32 copy, spectrum and power stay in the
# processor's cache (16 images of 120x120 take 1 MB as float32).
_BLOCK = 16
# Points of the noise grid per call of `outer_features` (about 160 images of
# 120x120; whole blocks, one at least): its numpy calls, each over a few
# kilobytes per image, cost less per image in larger groups.
_OUTER_POINTS = 2**18
# Images per block of `coherence`: its transforms and their differences,
# several copies of each image, stay in the processor's cache.
_COHERENCE_BLOCK = 8
# Pixels above which an image's `coherence` is not read (as `despike` reads
# none above 1024x1024): a 4096x4096 image's took `blurkit predict` above
# 1 GB.
_COHERENCE_MAX_PIXELS = 1024 * 1024
# Pixels per block of `_whole_images`: a large image one at a time.
_GHOST_PIXELS = 2**18


def _sharpness_features(
    stack: np.ndarray,
    band_edges,
    n_orientations: int,
    subtract_noise: bool,
    resampling="strongest",
    outer=False,
    fringe=False,
    detail_shift=False,
    ghosts=False,
    reach=False,
    sparsity=False,
    despike=False,
    coherence=False,
) -> np.ndarray:
    """`sharpness_features_stack` of a stack already checked by `_as_stack`."""
    edges = tuple(float(edge) for edge in np.asarray(band_edges).ravel())
    n_orientations = int(n_orientations)
    mode = resampling_mode(resampling)
    n = len(stack)
    power = np.empty((n, len(edges) - 1, n_orientations))
    noise = np.empty(n)
    corner_noise = np.empty(n)
    n_periods = len(resampling_names(mode))
    n_outer = len(OUTER_NAMES) if outer else 0
    n_fringe = len(FRINGE_NAMES) if fringe else 0
    n_shift = len(SHIFT_NAMES) if detail_shift else 0
    n_ghosts = len(GHOST_NAMES) if ghosts else 0
    n_reach = len(REACH_NAMES) if reach else 0
    n_sparsity = len(SPARSITY_NAMES) if sparsity else 0
    n_coherence = len(COHERENCE_NAMES) if coherence else 0
    # The sparsity's sums, a block at a time; read once the noise is known.
    moments = np.zeros((n, 3)) if n_sparsity else None
    # Grids too small for the noise filter have no head: nothing outside it.
    # The fringe, the detail shift, the ghosts and the reach need the outer
    # detail too (their gate).
    outer_values = np.tile(OUTER_NONE, (n, 1))
    streaks = np.zeros(n, dtype=bool)
    h, w = _fft_friendly_crop(stack[:0]).shape[1:]
    # The lines' details and the central lines of each block, read once the
    # noise is known.
    details, centrals = [], []
    spiked = np.zeros(n, dtype=bool)
    gated = n_fringe or n_shift or n_ghosts or n_reach
    gather = (outer or gated) and h >= 3 and w >= 3
    if gather:
        # The noise grid's intensities and filter responses, gathered over
        # several blocks for `outer_features`.
        shape = _noise_grid(np.empty((0, h, w)), 3).shape[1:]
        group = _BLOCK * max(1, _OUTER_POINTS // (_BLOCK * shape[0] * shape[1]))
        grids = np.empty((min(n, group), *shape), dtype=np.float32)
        responses = np.empty_like(grids)
    # The spectra (and line details) a block at a time; the ratios, cheap,
    # for all images at once.
    for start in range(0, n, _BLOCK):
        block = slice(start, start + _BLOCK)
        scratch = _float32_crop(stack[block])
        # Down the columns at every row, in one pass over whole rows: the
        # noise estimate takes every third row of it, the rows' detail its
        # central half.
        down = second_difference(scratch, axis=1)
        if gather:
            # The noise filter's responses serve both: copied for the detail
            # just outside the head, then their median (which sorts them).
            response = _noise_responses(scratch, step=3, down=down)
            stop = start + len(scratch)
            first, last = start % group, start % group + len(scratch)
            grids[first:last] = _noise_grid(scratch, 3)
            responses[first:last] = response
            noise[block] = _noise_std_of(response) ** 2
            if last == len(grids) or stop == n:
                # The streaks only open the gate: without gated features,
                # nothing reads them.
                done = slice(stop - last, stop)
                outer_values[done], found = outer_and_streaks(
                    grids[:last], responses[:last], noise[done] if gated else None
                )
                if gated:
                    streaks[done] = found
        else:
            noise[block] = _noise_std(scratch, step=3, down=down) ** 2
        if mode:
            details.append(line_details(scratch, down))
            centrals.append(central_lines(scratch))
        if n_sparsity:
            moments[block] = sparsity_moments(scratch, down)
        del down
        spectrum, energy = _raw_power_spectrum(scratch, overwrite=True)
        power[block] = _band_means(spectrum, energy, w, edges, n_orientations)
        corner_noise[block] = _corner_noise(spectrum, energy, w)
        if despike or n_sparsity or n_coherence:
            spiked[block] = spike_candidates(spectrum, w)
        del spectrum
    # Cells with no frequency of the grid (tiny images) hold no detail.
    power = np.nan_to_num(power, nan=0.0, copy=False)
    noise = _plausible_noise(noise, power[:, -1], (h, w), edges, corner_noise)
    reference = power[:, 0].mean(axis=1)[:, np.newaxis]
    floor = noise[:, np.newaxis] if subtract_noise else 0.0
    high = power[:, 1:]
    n_bands = 2 * high.shape[1]
    n_extra = n_outer + n_fringe + n_shift + n_ghosts + n_reach + n_sparsity
    n_extra += n_coherence
    features = np.empty((n, n_bands + 1 + n_extra + n_periods))
    features[:, 0:n_bands:2] = log10_ratio(high.mean(axis=2) - floor, reference)
    features[:, 1:n_bands:2] = log10_ratio(high.min(axis=2) - floor, reference)
    features[:, n_bands] = log10_ratio(noise, reference[:, 0])
    if mode and details:
        features[:, n_bands + 1 + n_extra :] = resampling_evidence(
            concatenate_lines(details),
            concatenate_lines(centrals),
            noise if subtract_noise else 0.0,
            mode,
        )
    if n_outer:
        features[:, n_bands + 1 : n_bands + 1 + n_outer] = outer_values
    if n_sparsity:
        # A k-space spike's wave is anti-sparse detail: where one may stand
        # out, a clean slice's value (and the slice's own where `despike`
        # takes the wave away and reads it again).
        values = sparsity_from_moments(moments, noise if subtract_noise else 0.0)
        column = n_bands + n_extra - n_coherence
        features[:, column] = np.where(spiked, SPARSITY_CLEAN, values)
    if n_coherence:
        # Only slices with fine detail to compare (the motion gate's test),
        # and no k-space spike standing out: a clipped strong wave's
        # harmonics, and what `despike` leaves of it, are fine detail that
        # lies along one axis, coherent or not. Those read a clean slice's
        # value, with or without `despike`.
        detailed = features[:, n_bands - 2] > FINE_DETAIL_GATE
        features[:, n_bands + n_extra] = _coherence_features(stack, detailed & ~spiked)
    if gated:
        # The finest band's mean, the last band feature.
        open_ = ((outer_values[:, 0] > MOTION_GATE) | streaks) & (
            features[:, n_bands - 2] > FINE_DETAIL_GATE
        )
        first = n_bands + 1 + n_outer
        if n_fringe or n_shift:
            features[:, first : first + n_fringe + n_shift] = _tukey_features(
                stack, open_, n_fringe, n_shift
            )
        first += n_fringe + n_shift
        if n_ghosts:
            features[:, first : first + n_ghosts] = _ghost_features(stack, open_)
        if n_reach:
            features[:, first + n_ghosts : first + n_ghosts + n_reach] = (
                _reach_features(stack, open_)
            )
    if despike and spiked.any():
        options = (edges, n_orientations, subtract_noise, resampling)
        flags = (outer, fringe, detail_shift, ghosts, reach, sparsity)
        # A spike candidate's coherence stays a clean slice's (above).
        column = n_bands + n_extra if n_coherence else None
        _read_despiked(stack, spiked, features, *options, *flags, column)
    return features


def _read_despiked(stack, candidates, features, *options) -> None:
    """Compute again, in place, the features of the candidates whose k-space
    spikes `remove_spikes` takes away; ``options`` are `_sharpness_features`'
    after the stack up to ``sparsity``, then the column of ``coherence``
    (None without it), which keeps its value: it is not read again."""
    *options, coherence_column = options
    chosen, despiked = [], []
    for i in np.flatnonzero(candidates):
        image = remove_spikes(stack[i])
        if image is not None:
            chosen.append(i)
            # 8-bit grey levels as blurkit reads them, as the other images.
            despiked.append(image / 255.0 if stack.dtype == np.uint8 else image)
    if chosen:
        again = _sharpness_features(np.stack(despiked), *options)
        if coherence_column is not None:
            kept = features[chosen, coherence_column]
            again = np.insert(again, coherence_column, kept, axis=1)
        features[chosen] = again


def _coherence_features(stack, detailed) -> np.ndarray:
    """``coherence`` of a stack's images, shape (n,): `coherence_features`
    of their crops where ``detailed`` is True, a block of `_COHERENCE_BLOCK`
    at a time; `COHERENCE_NONE` elsewhere, and for images above
    `_COHERENCE_MAX_PIXELS` pixels."""
    values = np.full(len(stack), COHERENCE_NONE)
    if stack.shape[1] * stack.shape[2] > _COHERENCE_MAX_PIXELS:
        # Its bands, capped spectra and differences take several float
        # copies of the image: a large one reads a clean slice's value.
        return values
    chosen = np.flatnonzero(detailed)
    for start in range(0, len(chosen), _COHERENCE_BLOCK):
        block = chosen[start : start + _COHERENCE_BLOCK]
        values[block] = coherence_features(_float32_crop(stack[block]))[:, 0]
    return values


def _tukey_features(stack, open_, n_fringe, n_shift) -> np.ndarray:
    """``fringe`` and/or ``detail_shift`` of a stack's images (columns in
    that order): computed where ``open_`` (the gates) is True, a block of
    such images at a time; `CLEAN_TUKEY` elsewhere."""
    clean = np.array(CLEAN_TUKEY)[[0] * n_fringe + [1] * n_shift]
    values = np.tile(clean, (len(stack), 1))
    moved = np.flatnonzero(open_)
    for start in range(0, len(moved), _BLOCK):
        chosen = moved[start : start + _BLOCK]
        scratch = _float32_crop(stack[chosen])
        spectrum = tukey_spectrum(scratch)
        if n_shift:
            values[chosen, n_fringe:] = detail_shift_features(scratch, spectrum)
        if n_fringe:
            # Last: it squares the spectrum in place.
            values[chosen, :n_fringe] = fringe_features(scratch, spectrum)
    return values


def _ghost_features(stack, open_) -> np.ndarray:
    """``ghosts`` of a stack's images, shape (n, 1): from the spectrum of
    each image at its own size (`ghost_features_from_power`) where
    ``open_`` (the gates) is True, `GHOST_NONE` elsewhere (`_whole_images`)."""
    w = stack.shape[2]

    def ghosts(scratch):
        power, _ = _raw_power_spectrum(scratch, overwrite=True)
        return ghost_features_from_power(power, w)[:, 0]

    return _whole_images(stack, open_, ghosts, GHOST_NONE)


def _reach_features(stack, open_) -> np.ndarray:
    """``reach`` of a stack's images, shape (n, 1): `reach_stack` where
    ``open_`` (the gates) is True, `REACH_NONE` elsewhere (`_whole_images`)."""
    return _whole_images(stack, open_, reach_stack, REACH_NONE)


def _whole_images(stack, open_, feature, none) -> np.ndarray:
    """One feature of a stack's images, read at their own size (not the
    crop), shape (n, 1): ``feature(scratch)`` of the images where ``open_``
    is True, a float32 scratch copy (`_float32_scratch`) of a block of at
    most `_GHOST_PIXELS` pixels (one image at least) at a time, a value
    each; ``none`` elsewhere."""
    values = np.full((len(stack), 1), none)
    moved = np.flatnonzero(open_)
    h, w = stack.shape[1:]
    size = max(1, min(_BLOCK, _GHOST_PIXELS // (h * w)))
    for start in range(0, len(moved), size):
        chosen = moved[start : start + size]
        values[chosen, 0] = feature(_float32_scratch(stack[chosen]))
    return values


def _plausible_noise(noise, highest, crop_shape, edges, corner_noise) -> np.ndarray:
    """The noise variances, 0 where white noise cannot have produced them.

    ``highest`` holds each image's power in the cells of the highest band,
    shape (n, n_orientations); ``corner_noise`` the variance read from the
    corners of each spectrum (`_corner_noise`). The spatial estimator reads
    a stripe pattern (a k-space spike's, which covers the whole image) as
    noise, and subtracting that floor would erase the highest bands of a
    sharp image. An estimate above `NOISE_PLAUSIBILITY` times the weakest
    highest-band cell, or above `NOISE_CORNER_PLAUSIBILITY` times the
    corners' variance (and above `NOISE_CORNER_MIN_SHARE` of that cell),
    comes from such a pattern. Each check needs
    `_PLAUSIBILITY_MIN_FREQUENCIES` frequencies (in the weakest cell of
    ``crop_shape``'s grid, in the corners); without them the estimate is
    kept as it is.
    """
    counts = _band_counts(*crop_shape, edges, highest.shape[1])[-highest.shape[1] :]
    weakest = highest.min(axis=1)
    stripes = np.zeros(len(noise), dtype=bool)
    if counts.min() >= _PLAUSIBILITY_MIN_FREQUENCIES:
        stripes |= noise > NOISE_PLAUSIBILITY * weakest
    if _corner_count(*crop_shape) >= _PLAUSIBILITY_MIN_FREQUENCIES:
        # Only an estimate that would take more than half of the weakest
        # highest-band cell away: a smaller one, whatever its source, lowers
        # that cell by less than 0.3 decades.
        stripes |= (noise > NOISE_CORNER_PLAUSIBILITY * corner_noise) & (
            noise > NOISE_CORNER_MIN_SHARE * weakest
        )
    return np.where(stripes, 0.0, noise)


def _float32_crop(stack: np.ndarray) -> np.ndarray:
    """A contiguous float32 copy of the stack's FFT-friendly crop.

    The features' scratch space: every pass over it then runs on contiguous
    memory. 8-bit grey levels stay levels (0 to 255, exact in float32)
    rather than ``level / 255``: every feature is a ratio of powers of the
    same image, so the scale changes nothing but float32 rounding, and the
    division would cost a pass over the pixels. Other images are scaled as
    by `_unit_float32`.
    """
    return _float32_scratch(_fft_friendly_crop(stack))


def _float32_scratch(stack: np.ndarray) -> np.ndarray:
    """A contiguous float32 copy of the stack, levels kept as `_float32_crop`
    keeps them."""
    if stack.dtype == np.uint8:
        return stack.astype(np.float32, order="C")
    converted = _unit_float32(stack)
    if np.may_share_memory(converted, stack):
        return converted.copy()
    return converted


def sharpness_features(
    image,
    band_edges=SHARPNESS_BAND_EDGES,
    n_orientations=4,
    subtract_noise=True,
    resampling="strongest",
    outer=False,
    fringe=False,
    detail_shift=False,
    ghosts=False,
    reach=False,
    sparsity=False,
    despike=False,
    coherence=False,
) -> np.ndarray:
    """Noise- and contrast-robust sharpness features of an image.

    The features of :class:`blurkit.SharpnessFeatures` (which documents them),
    as a pure function.

    Parameters
    ----------
    image : array-like of shape (H, W)
        Grey-level image.
    band_edges : sequence of float, \
            default=(0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.8, 1.0)
        Increasing band edges as fractions of the Nyquist frequency; the
        first band is the reference.
    n_orientations : int, default=4
        Orientation sectors for the ``_min`` features.
    subtract_noise : bool, default=True
        Subtract the estimated noise floor before taking ratios.
    resampling : {"strongest", "each", False}, default="strongest"
        The resampling features: one, the strongest evidence of lines
        interpolated from their neighbours every 2nd or every 3rd line;
        ``"each"`` (or True), one per period (as in models saved before
        ``"strongest"`` existed); False, none.
    outer : bool, default=False
        Add the features ``outer_detail`` and ``outer_level``: the fine
        detail just outside the head against the far background, and the
        intensity there (see Notes). They catch more of the motion during
        the acquisition, for about a sixth more computing time.
    fringe : bool, default=False
        Add the feature ``fringe``: fringes in the power spectrum of the
        finest band, the trace of a translation that moved one side of
        k-space (see Notes).
    detail_shift : bool, default=False
        Add the feature ``detail_shift``: the displacement of the finest
        detail from coarser detail of the same edges, the trace of a
        translation that moved the outer lines of both sides of k-space
        (see Notes).
    ghosts : bool, default=False
        Add the feature ``ghosts``: the evidence of a comb of weakened
        k-space lines, every n-th along an axis, the trace of periodic
        motion, whose ghosts keep the label (see Notes).
    reach : bool, default=False
        Add the feature ``reach``: the share of the energy outside the head
        that lies more than 7 pixels from it; motion's ghosts reach there,
        JPEG's ringing does not (see Notes).
    sparsity : bool, default=False
        Add the feature ``sparsity``: the log kurtosis of the fine detail
        over the head's interior, which a double exposure (one movement
        near the middle of the acquisition) lowers (see Notes).
    despike : bool, default=False
        Compute the features of an image with a k-space spike without the
        spike's plane wave (see :class:`blurkit.SharpnessFeatures`). Adds no
        feature.
    coherence : bool, default=False
        Add the feature ``coherence``: how well the finest detail lies on
        the edges of the coarser image along the less coherent in-plane
        axis, against the other, the trace of motion that moved one axis's
        outer k-space lines (see Notes).

    Returns
    -------
    ndarray of shape (2 * (n_bands - 1) + 1 + n_extra + n_resampling,)
        For each band above the reference, the log10 ratio of its mean power
        to the reference power, then that of its weakest orientation; then
        the log10 ratio of the noise power to the reference power (ratios
        floored at -6); then ``outer_detail`` and ``outer_level``
        (``n_outer`` 2 with ``outer=True``, else 0); then ``fringe``
        with ``fringe=True``; then ``detail_shift`` with
        ``detail_shift=True``; then ``ghosts`` with ``ghosts=True``; then
        ``reach`` with ``reach=True``; then ``sparsity`` with
        ``sparsity=True``; then ``coherence`` with ``coherence=True``
        (``n_extra`` counts these, 0 to 8);
        last, the
        resampling features (0 for none, down to -3): ``n_resampling`` is 1,
        2 or 0.

    Notes
    -----
    Computed in single precision (float32), on a centred crop of the image
    whose sides have no prime factor above 5, where the FFT is fastest, when
    that crop takes at most 3 pixels or 3% of a side (121x121 becomes
    120x120): the border pixels, which the Hann window weighs least. An image of
    extreme magnitude (peak below 2**-16 or at least 2) is first scaled by a
    power of two, which is exact. The noise floor is estimated from a
    ninth of the pixels (every third pixel of every third row). White noise
    adds its variance to every cell of the spectrum, so an estimate above 1.5
    times the power of the highest band's weakest orientation is not noise
    but a stripe pattern (a k-space spike, which covers the whole image): it
    is taken as 0 (on images whose cells hold enough frequencies for the
    check, from about 60x60 pixels). So is an estimate above half that power
    and above 1.25 times the variance read from the corners of the spectrum
    (the median power beyond 0.3 cycles per pixel along both axes, over ln
    2, which white noise matches and a spike's few frequencies do not move;
    from about 80x80 pixels). Band powers
    are summed by one matrix product per image, so an image's features are
    the same, bit for bit, whatever images it is computed with (a batch, a
    chunk of files, one at a time); the input's floating-point dtype and
    memory layout change nothing. Every feature is a ratio of powers of the same image:
    scaling the intensities changes nothing but float32 rounding (about 1e-7
    relative), and scaling them by a power of two nothing at all.

    The resampling features catch what the spectrum misses: an image
    sampled every 2nd or 3rd line along one axis (thick slices, nearest
    neighbour downsampling) and interpolated back to its grid keeps its
    original lines, and the lines between hold no detail of their own, while
    the aliased spectrum still looks sharp. Each line's detail is the mean
    squared second difference across it (over the central half of the
    line), less the noise's share (6 times the noise variance). For period
    ``k`` the feature is the log10 ratio of the weakest line phase (lines
    ``p, p + k, ...``) to the smaller of the mean over phases and the detail
    across the lines, over both axes, clipped to [-3, 0]. The second
    reference keeps a stripe pattern (a k-space spike) from reading as
    resampling. Two more pieces of evidence enter each feature, whatever
    the period: copied lines (nearest-neighbour resampling, at any phase)
    and quiet lines (linear interpolation from a grid whose spacing is not
    a whole number of lines, so that its samples drift against the image's
    lines; see ``blurkit/metrics/_resampling.py``). ``"strongest"`` keeps
    the lower of the two periods' values:
    one feature, whose weight a model learns from examples of both periods
    (with one feature per period, a model trained on few examples of 3x
    resampling could learn a weight of the wrong sign for it).

    The outer features (``outer=True``) catch more of what both miss: a
    translation during the acquisition moves detail without changing the
    power spectrum, and truncation rings, putting fine detail just outside
    the head, where a clean slice has none. On the noise estimate's grid,
    the head is every pixel above a tenth of the 99th-percentile intensity;
    ``outer_detail`` is the log10 ratio of the noise filter's median squared
    response in a ring 3-6 pixels outside it to that beyond the ring (each
    plus 1e-6 times the squared 99th-percentile intensity: 0 on a clean
    slice; about 0 with noise or spikes, which fill the background evenly; 0
    too when less than a tenth of the grid lies beyond the ring, as in a
    crop that cuts the head), and ``outer_level`` the log10 of the ring's
    median intensity over the head's, plus 0.001 (strong ghosts, faint
    copies of the head, can raise it). The ring's median intensity and the
    head's, and the percentile, are read on every other point of every other
    row of that grid (see ``blurkit.metrics._outer``).

    ``fringe`` (``fringe=True``) sees motion that only changes phases. A
    translation ``d`` while the outer lines of one side of k-space are
    acquired leaves their power as it was, but the image's magnitude then
    holds two copies of its finest detail, ``d`` pixels apart, and the
    finest band's power spectrum fringes, whose autocorrelation peaks at
    ``d``. For each axis, the power at 0.38 cycles per pixel or more along
    it (of the image under a Tukey window that tapers a quarter of each
    side, not the Hann window of the bands; each frequency capped at 5
    times the band's median, so that a k-space spike cannot dominate), its
    autocorrelation at lags up to 8 pixels, and the largest one at least 2
    pixels across the axis over that at lag 0; ``fringe`` is log10 of the
    larger axis's (about -1.3 to -1.0 on a clean slice, up to 0; -6 with no
    power there). See ``blurkit.metrics._fringe``.

    ``detail_shift`` (``detail_shift=True``) sees the same translation when
    it moved the outer lines of both sides: the finest detail is then moved
    as a whole, away from the coarser detail of the same edges, rather than
    doubled. For each axis, from the same Tukey-windowed spectrum: two bands
    one-sided along it, every frequency across it (the finest, from 0.38
    cycles per pixel, and one as wide from 0.12; amplitudes capped at those
    of 5 times the band's median power), their energies (squared envelopes)
    smoothed by a Gaussian of 1.5 pixels, and their correlation coefficient
    at lags up to 8 pixels; the largest at 2-8 pixels less that at lag 0,
    the larger axis's (about -0.04 to 0.04 on a clean slice, a few
    hundredths more on a moved one; 0 with no such bands). See
    ``blurkit.metrics._shift``.

    ``ghosts`` (``ghosts=True``) tells the ghosts of periodic motion from
    motion. Every n-th phase-encoding line weakened repeats the head n times
    along that axis, as sharp as it: the slice keeps its label, but the
    copies put detail outside the head as motion does. From the
    Hann-windowed spectrum of the image at its own size (not the crop: the
    comb has the period of the acquired matrix), for each axis: each
    line's power summed across it, in log; its second difference along the
    axis; the 3 lines nearest the centre left out; for each period of 2 to
    10 lines and each offset, the two-sample t statistic of that comb's
    lines against the others; log10 of the largest over combs and axes, at
    least 1 (about 0.2-0.6 on a clean slice, 0.6-1.5 with TorchIO's
    ghosting). See ``blurkit.metrics._ghosts``.

    ``reach`` (``reach=True``) tells JPEG's ringing from motion, which
    ``outer_detail`` reads alike. JPEG quantises each 8x8 block on its own,
    so a block without any of the head comes back constant and the ringing
    stays within 7 pixels of the head; motion's ghosts reach farther. At
    the image's own size, with the head as for the outer features (every
    pixel above a tenth of the way from the 5th-percentile intensity to the
    99th): the squared intensities outside the head less their median, and
    log10 of the share of their sum more than 7 pixels from the head, plus
    0.001 (-3 on a clean slice and with JPEG, about -2 to -0.5 with
    motion). See ``blurkit.metrics._reach``.

    These four are computed only for slices with detail outside the head
    and in the finest band: ``outer_detail`` (computed for them, whether ``outer``
    is set or not) above 0.02 (``MOTION_GATE``), where motion puts it and a
    clean slice, sharp or blurred, has none, or streaks far from the head
    along the lines through it, which one movement near the middle of the
    acquisition leaves (``blurkit.metrics._outer.far_streaks``; noise and a
    k-space spike's wave spread over every line), and the last band's mean above
    -5 (``FINE_DETAIL_GATE``; a slice blurred by more than about 0.75 px
    has no fine detail to double or shift). Other slices take a clean sharp
    slice's values, -1.2, 0, 0.5 and -3: they cost no second spectrum, and a tight
    crop or a clean slice whose fine detail happens to correlate cannot
    read as moved.

    ``sparsity`` (``sparsity=True``), computed for every slice, sees one
    movement near the middle of the acquisition, which leaves nearly the
    average of two moved copies of the slice: each keeps its detail, and a
    rotation hardly moves the head's outline, but the sum of two misaligned
    copies of the fine detail is less sparse than one. On the crop: the log
    of ``E[d^4] / E[d^2]^2`` of the 5-point Laplacian ``d`` over the head
    (as for the outer features) eroded by 3 pixels, the noise's share of
    both moments taken away, clipped to [0, log 1000]; log 3 (Gaussian
    detail) where fewer than 100 pixels or under 5% of the detail's power
    are left (about 1.5-2.1 on a clean slice, 1.1-1.4 with one movement,
    0.8-1.1 blurred; ghosts lower it too). A k-space spike's wave, detail
    as little sparse as can be, would too: a slice whose spectrum may hold
    a spike reads a clean slice's 1.8 (and, where ``despike`` takes the
    wave away, its own value without it). See
    ``blurkit.metrics._sparsity``.

    ``coherence`` (``coherence=True``), computed for slices with fine detail
    (the last band's mean above ``FINE_DETAIL_GATE``), no k-space spike
    standing out and at most 1024x1024 pixels (others read 0, a clean
    slice's value), sees motion that moved the outer k-space lines of one
    axis without leaving a trace outside the head: the outer lines of both
    sides late in a centric acquisition, or one movement near the middle of
    a linear one. Across a clean slice's edges, the gradient of the finest
    detail points the way the coarser image's does, whatever the edge's
    polarity; detail that moved does not. On the crop, for each axis, the
    frequencies along it below 0.3 cycles per pixel and from 0.36 up, their
    differences ``c`` and ``f`` between neighbours along both axes, 4
    pixels off the border, and ``sum(f c |c|) / sum(|c|^3)``; then log10
    of the smaller axis's over the larger's, clipped to [-1, 0] (clean
    slices -0.2 to 0, moved ones -0.7 to -0.2), 0 where the more coherent
    axis's sum stands less than 2 standard errors above what noise would
    give (blurred, or noise alone). Each frequency's power is capped at 100
    times its band's median first: a k-space spike's wave is fine detail
    off every edge. See ``blurkit.metrics._coherence``.

    ``despike`` (``despike=True``) reads a slice with a k-space spike
    without it. A spike adds a plane wave over the image; clipped, as an
    export keeps it, the wave's crests lift the background, which then reads
    as the detail and intensity that motion leaves outside the head. Where
    the strongest frequency of the bands' spectrum (weighted by its squared
    radius) holds 10 times the power of every frequency 3 away from it, the
    image's own spectrum is searched for up to 3 frequencies whose magnitude
    is 8 times that of every frequency 2 away; their waves are taken away
    where the image lies above its minimum (where the clipping kept them),
    their coefficients read again from what is left 4 times, and every
    feature is computed on the result. Waves above 0.15 of the image's range
    clip the head too, and such an image is read as it is, unless at most 1%
    of its pixels lie at its minimum or maximum (nothing was clipped, as in
    a min-max rescaled export: any wave comes off whole); so is an image
    above 1024x1024 pixels (the search takes several float64 copies of it).
    See ``blurkit.metrics._spikes``.

    Examples
    --------
    >>> import numpy as np
    >>> from blurkit import sharpness_features
    >>> image = np.random.default_rng(0).random((32, 32))
    >>> features = sharpness_features(image)
    >>> features.shape
    (16,)
    >>> sharpness_features(image, outer=True).shape
    (18,)
    >>> sharpness_features(image, outer=True, fringe=True).shape
    (19,)
    >>> sharpness_features(image, outer=True, fringe=True, detail_shift=True).shape
    (20,)
    >>> flags = dict(outer=True, fringe=True, detail_shift=True, ghosts=True)
    >>> sharpness_features(image, **flags).shape
    (21,)
    >>> sharpness_features(image, **flags, reach=True).shape
    (22,)
    >>> sharpness_features(image, **flags, reach=True, coherence=True).shape
    (23,)
    >>> bool(np.allclose(features, sharpness_features(1000 * image)))
    True
    """
    return sharpness_features_stack(
        as_image(image),
        band_edges,
        n_orientations,
        subtract_noise,
        resampling,
        outer,
        fringe,
        detail_shift,
        ghosts,
        reach,
        sparsity,
        despike,
        coherence,
    )[0]

"""Sharpness metrics: pure functions of 2-D images.

Every metric takes an image first and options after, converts it to float up
front and never returns NaN: constant images and zero background give the
documented edge value. The ``*_stack`` variants compute the same quantity for
a stack of equally sized images, of shape ``(n, H, W)``, in one vectorised pass;
the single-image functions call them.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import fft

__all__ = [
    "band_power_profile",
    "highfreq_energy_ratio",
    "laplacian_variance",
    "noise_std",
    "sharpness_features",
]

_EPS = 1e-12

_LAPLACIAN_KERNEL = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)

# Immerkaer's noise-estimation mask: the difference of two Laplacians. It
# cancels locally linear structure; on white noise of std s its output has std
# 6 * s (the mask's L2 norm is 6).
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


MAX_ABS_VALUE = 1e100
"""Largest intensity magnitude the metrics accept.

Powers and variances square the intensities and sum them over the image, which
overflows float64 beyond about 1e150; images are meant to be in [0, 1].
"""


def _as_stack(images) -> np.ndarray:
    """Return ``images`` as a float array of shape (n, H, W).

    float32 input stays float32 (it is what :func:`blurkit.read_image`
    returns); anything else becomes float64.
    """
    stack = np.asarray(images)
    dtype = np.float32 if stack.dtype == np.float32 else np.float64
    stack = stack.astype(dtype, copy=False)
    if stack.ndim == 2:
        stack = stack[np.newaxis]
    if stack.ndim != 3:
        raise ValueError(
            f"Expected a 2-D image or a stack of shape (n, H, W); got an array "
            f"of shape {stack.shape}."
        )
    if 0 in stack.shape[1:]:
        raise ValueError(f"Expected a non-empty image; got shape {stack.shape[1:]}.")
    check_magnitude(stack)
    return stack


def check_magnitude(values: np.ndarray) -> None:
    """Raise a ValueError for NaN, inf, or magnitudes above `MAX_ABS_VALUE`."""
    if not values.size:
        return
    # max and min propagate NaN: one pass each checks for NaN, inf and overflow.
    peak = max(float(values.max()), -float(values.min()))
    if not np.isfinite(peak):
        raise ValueError("Image contains NaN or infinite values.")
    if peak > MAX_ABS_VALUE:
        raise ValueError(
            f"Image values too large: magnitudes up to {peak:.3g}, above "
            f"{MAX_ABS_VALUE:g}, whose squares overflow; expected intensities "
            "in [0, 1]."
        )


def _as_image(image) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"Expected a 2-D image; got an array of shape {image.shape}.")
    return image


def laplacian_variance_stack(stack) -> np.ndarray:
    """Laplacian variance of each image of a stack (see `laplacian_variance`)."""
    from scipy import ndimage

    stack = _as_stack(stack)
    lap = ndimage.correlate(stack, _LAPLACIAN_KERNEL[np.newaxis], mode="reflect")
    return lap.reshape(len(stack), -1).var(axis=1)


def laplacian_variance(image) -> float:
    """Variance of the discrete Laplacian of an image.

    The classic blur score (Pech-Pacheco et al., 2000): blurred images have
    weak second derivatives, hence a low variance.

    Parameters
    ----------
    image : array-like of shape (H, W)
        Grey-level image.

    Returns
    -------
    float
        A value in ``[0, inf)``; 0 for a constant image. Higher is sharper.

    Notes
    -----
    The 4-neighbour Laplacian is used with reflected borders. The score scales
    with the square of the image contrast and rises with noise, which is why
    blurkit's default features do not rely on it alone.

    References
    ----------
    .. [1] J. L. Pech-Pacheco, G. Cristobal, J. Chamorro-Martinez and
       J. Fernandez-Valdivia, "Diatom autofocusing in brightfield microscopy:
       a comparative study", ICPR 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from blurkit import laplacian_variance
    >>> laplacian_variance(np.zeros((8, 8)))
    0.0
    """
    return float(laplacian_variance_stack(_as_image(image))[0])


def noise_std_stack(stack) -> np.ndarray:
    """Noise standard deviation of each image of a stack (see `noise_std`)."""
    return _noise_std(_as_stack(stack))


def _noise_std(stack: np.ndarray, step: int = 1) -> np.ndarray:
    """`noise_std_stack` of a stack already checked by `_as_stack`.

    With ``step=k`` the median is taken over the response at every k-th
    interior pixel of every k-th row: a robust median needs far fewer than
    all of them, and the cost falls as ``k**2``. Computed in the stack's
    precision; returns float64.
    """
    n, h, w = stack.shape
    if h < 3 or w < 3:
        return np.zeros(n)
    shape = (len(range(1, h - 1, step)), len(range(1, w - 1, step)))
    response = np.empty((n, *shape), dtype=stack.dtype)
    # A few images at a time stay in the processor's cache.
    for start in range(0, n, 8):
        _noise_response(
            stack[start : start + 8], out=response[start : start + 8], step=step
        )
    # Median absolute response, scaled to a std for Gaussian noise: robust to
    # the edges of the brain, which only touch a minority of pixels.
    return _row_medians(response.reshape(n, -1)) / (0.6745 * 6.0)


def _noise_response(stack: np.ndarray, out: np.ndarray, step: int = 1) -> None:
    """Absolute response to `_NOISE_MASK` of the interior pixels of a stack.

    The mask is the outer product of ``(1, -2, 1)`` with itself, so it is
    applied as two second differences, one per axis. In float64 this equals,
    bit for bit, ``np.abs(ndimage.correlate(stack, mask))`` without its
    one-pixel border: the weights are powers of two, so every step is exact
    on the images' values. ``step`` keeps every ``step``-th interior pixel of
    every ``step``-th interior row.
    """
    h, w = stack.shape[1:]
    rows = stack[:, :, 0 : w - 2 : step] + stack[:, :, 2:w:step]
    rows -= 2 * stack[:, :, 1 : w - 1 : step]
    np.add(rows[:, 0 : h - 2 : step], rows[:, 2:h:step], out=out)
    out -= 2 * rows[:, 1 : h - 1 : step]
    np.abs(out, out=out)


def _row_medians(values: np.ndarray) -> np.ndarray:
    """Median of each row of a finite 2-D array, as float64.

    Equal to ``np.median(values, axis=1)`` for float64 input. Sorts
    ``values`` in place: on filter responses, half of which are often
    exactly 0 (the background), numpy's vectorised sort is several times
    faster than the partition ``np.median`` uses, which slows down on ties.
    """
    values.sort(axis=1)
    half = values.shape[1] // 2
    if values.shape[1] % 2:
        return values[:, half].astype(np.float64)
    return (values[:, half - 1].astype(np.float64) + values[:, half]) / 2


def noise_std(image) -> float:
    """Estimate the standard deviation of additive white noise in an image.

    Parameters
    ----------
    image : array-like of shape (H, W)
        Grey-level image.

    Returns
    -------
    float
        Estimated noise standard deviation, in the image's intensity units;
        ``[0, inf)``, 0 for a constant image or one smaller than 3x3.

    Notes
    -----
    Filters the image with Immerkaer's mask, which cancels locally linear
    structure, and converts the median absolute response to a Gaussian
    standard deviation. The median keeps strong edges from inflating the
    estimate as long as they cover less than half of the image.

    References
    ----------
    .. [1] J. Immerkaer, "Fast noise variance estimation", Computer Vision and
       Image Understanding 64(2), 1996.
    """
    return float(noise_std_stack(_as_image(image))[0])


@functools.lru_cache(maxsize=16)
def _spectral_grid(h: int, w: int):
    """Radial frequency, orientation and multiplicity of an rfft2 grid.

    Radial frequency is a fraction of the Nyquist frequency; orientations are
    folded to ``[0, pi)``, since the spectrum of a real image is
    point-symmetric. The multiplicity says how often each half-plane
    coefficient appears in the full spectrum. Cached per shape: the arrays
    are read-only.
    """
    fy = np.fft.fftfreq(h)[:, np.newaxis]
    fx = np.fft.rfftfreq(w)[np.newaxis, :]
    radius = np.hypot(fy, fx) / 0.5
    angle = np.mod(np.arctan2(fy, fx), np.pi)
    multiplicity = np.full((h, w // 2 + 1), 2.0)
    multiplicity[:, 0] = 1.0
    if w % 2 == 0:
        multiplicity[:, -1] = 1.0
    for array in (radius, angle, multiplicity):
        array.flags.writeable = False
    return radius, angle, multiplicity


@functools.lru_cache(maxsize=16)
def _hann_window(h: int, w: int, dtype) -> tuple[np.ndarray, float]:
    """Separable Hann window of an image shape, and the sum of its squares."""
    window = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    energy = float(np.sum(window**2))
    window = window.astype(dtype)
    window.flags.writeable = False
    return window, energy


def power_spectrum_stack(stack) -> np.ndarray:
    """Windowed power spectra of a stack, as rfft2 half-planes.

    Each image has its mean removed and is multiplied by a separable Hann
    window, so that the image border does not read as a sharp edge.
    Normalised so that white noise of variance ``v`` has expected power ``v``
    at every frequency. Computed in the stack's precision (float32 stays
    float32).
    """
    return _power_spectrum(_as_stack(stack))


def _power_spectrum(stack: np.ndarray) -> np.ndarray:
    """`power_spectrum_stack` of a stack already checked by `_as_stack`."""
    power, energy = _raw_power_spectrum(stack)
    power /= power.dtype.type(energy)
    return power


def _raw_power_spectrum(stack: np.ndarray) -> tuple[np.ndarray, float]:
    """Unnormalised `_power_spectrum`, and the window energy to divide by."""
    _, h, w = stack.shape
    window, energy = _hann_window(h, w, stack.dtype)
    windowed = stack - stack.mean(axis=(1, 2), keepdims=True)
    windowed *= window
    # scipy's FFT is numpy's pocketfft, with a single-precision path.
    spectrum = fft.rfft2(windowed, axes=(1, 2), overwrite_x=True)
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    return power, energy


def highfreq_energy_ratio_stack(stack, cutoff: float = 0.5) -> np.ndarray:
    """High-frequency energy ratio of each image (see `highfreq_energy_ratio`)."""
    if not 0.0 < cutoff < 1.0:
        raise ValueError(
            f"cutoff must be a fraction of the Nyquist frequency in (0, 1); "
            f"got {cutoff!r}."
        )
    stack = _as_stack(stack)
    power = _power_spectrum(stack)
    radius, _, multiplicity = _spectral_grid(*stack.shape[1:])
    weighted = power * multiplicity
    total = weighted.sum(axis=(1, 2))
    high = weighted[:, radius > cutoff].sum(axis=1)
    return np.where(total > _EPS, high / np.maximum(total, _EPS), 0.0)


def highfreq_energy_ratio(image, cutoff: float = 0.5) -> float:
    """Fraction of an image's spectral energy above a cutoff frequency.

    Parameters
    ----------
    image : array-like of shape (H, W)
        Grey-level image.
    cutoff : float, default=0.5
        Cutoff radial frequency as a fraction of the Nyquist frequency
        (0.5 cycles per pixel), so the measure means the same on any image
        size.

    Returns
    -------
    float
        A value in ``[0, 1]``: the share of the (mean-removed, Hann-windowed)
        energy above ``cutoff``. 0 for a constant image. Higher is sharper.
        Invariant to intensity scaling, but white noise raises it.

    Examples
    --------
    >>> import numpy as np
    >>> from blurkit import highfreq_energy_ratio
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.random((64, 64))
    >>> round(highfreq_energy_ratio(noise, cutoff=0.5), 1)  # white noise
    0.8
    >>> highfreq_energy_ratio(np.ones((64, 64)))
    0.0
    """
    return float(highfreq_energy_ratio_stack(_as_image(image), cutoff=cutoff)[0])


def band_power_profile_stack(
    stack, band_edges, n_orientations: int = 1, noise_power=None
) -> np.ndarray:
    """Mean power per radial band and orientation (see `band_power_profile`).

    Returns an array of shape (n, n_bands, n_orientations).
    """
    return _band_power_profile(
        _as_stack(stack), band_edges, n_orientations, noise_power
    )


@functools.lru_cache(maxsize=16)
def _band_weights(h: int, w: int, band_edges: tuple, n_orientations: int):
    """Averaging weights from an rfft2 grid to band and orientation cells.

    Returns ``weights`` of shape (h * (w // 2 + 1), n_cells), such that
    ``power.reshape(n, -1) @ weights`` holds the mean power of each cell over
    the full spectrum (half-plane coefficients weighted by their
    multiplicity), and ``counts``, the number of full-spectrum frequencies of
    each cell (0 for a cell the grid misses). Cells are ordered band-major.
    """
    radius, angle, multiplicity = _spectral_grid(h, w)
    edges = np.asarray(band_edges, dtype=np.float64)
    n_bands = len(edges) - 1
    band = np.digitize(radius, edges) - 1
    orientation = np.minimum(
        (angle / np.pi * n_orientations).astype(int), n_orientations - 1
    )
    inside = ((band >= 0) & (band < n_bands)).ravel()
    cell = (band * n_orientations + orientation).ravel()
    n_cells = n_bands * n_orientations
    counts = np.bincount(cell[inside], multiplicity.ravel()[inside], minlength=n_cells)
    weights = np.zeros((radius.size, n_cells))
    rows = np.flatnonzero(inside)
    weights[rows, cell[inside]] = multiplicity.ravel()[inside] / np.maximum(
        counts[cell[inside]], 1.0
    )
    weights.flags.writeable = False
    counts.flags.writeable = False
    return weights, counts


def _band_power_profile(
    stack: np.ndarray, band_edges, n_orientations: int = 1, noise_power=None
) -> np.ndarray:
    """`band_power_profile_stack` of a stack already checked by `_as_stack`."""
    n, h, w = stack.shape
    edges = tuple(float(edge) for edge in np.asarray(band_edges).ravel())
    weights, counts = _band_weights(h, w, edges, int(n_orientations))
    power, energy = _raw_power_spectrum(stack)
    # One matrix product for all images and cells, in the stack's precision.
    means = (power.reshape(n, -1) @ weights.astype(power.dtype, copy=False)).astype(
        np.float64
    )
    means /= energy
    if noise_power is not None:
        means = means - np.asarray(noise_power, dtype=np.float64).reshape(-1, 1)
    means[:, counts == 0] = np.nan
    return means.reshape(n, len(edges) - 1, n_orientations)


def band_power_profile(
    image, band_edges=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0), n_orientations=1
) -> np.ndarray:
    """Mean spectral power in radial frequency bands (and orientations).

    Parameters
    ----------
    image : array-like of shape (H, W)
        Grey-level image.
    band_edges : sequence of float, \
            default=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
        Increasing band edges, as fractions of the Nyquist frequency.
    n_orientations : int, default=1
        Number of equal orientation sectors in ``[0, pi)``; the first sector
        is centred on the horizontal frequency axis.

    Returns
    -------
    ndarray of shape (n_bands, n_orientations)
        Mean power of the mean-removed, Hann-windowed image per band and
        sector, normalised so that white noise of variance ``v`` gives ``v``
        in every band. A cell that holds no frequency of the grid (possible on
        tiny images) is NaN. 0 everywhere for a constant image.
    """
    return band_power_profile_stack(
        _as_image(image), band_edges, n_orientations=n_orientations
    )[0]


SHARPNESS_BAND_EDGES = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.8, 1.0)
"""Default band edges of `sharpness_features`, as fractions of Nyquist."""

LOG_FLOOR = -6.0
"""Floor of the log10 power ratios: what a band holding no detail reads as."""


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
    n = len(stack)
    flat = stack.reshape(n, -1)
    peak = np.maximum(flat.max(axis=1), -flat.min(axis=1)).astype(np.float64)
    exponent = np.frexp(peak)[1]
    rescale = ((exponent > 1) | (exponent < -15)) & (peak > 0)
    if not rescale.any():
        return np.ascontiguousarray(stack, dtype=np.float32)
    shift = np.where(rescale, -exponent, 0)[:, np.newaxis, np.newaxis]
    return np.ldexp(stack.astype(np.float64), shift).astype(np.float32)


def sharpness_features_stack(
    stack, band_edges=SHARPNESS_BAND_EDGES, n_orientations=4, subtract_noise=True
) -> np.ndarray:
    """`sharpness_features` of each image of a stack: shape (n, n_features)."""
    return _sharpness_features(
        _as_stack(stack), band_edges, n_orientations, subtract_noise
    )


def _sharpness_features(
    stack: np.ndarray, band_edges, n_orientations: int, subtract_noise: bool
) -> np.ndarray:
    """`sharpness_features_stack` of a stack already checked by `_as_stack`."""
    n_bands = len(np.asarray(band_edges).ravel()) - 1
    features = np.empty((len(stack), 2 * (n_bands - 1) + 1))
    # Blocks of a few dozen images keep the FFT's working set in the
    # processor's cache: a third faster than whole batches.
    for start in range(0, len(stack), 32):
        block = slice(start, start + 32)
        features[block] = _sharpness_block(
            stack[block], band_edges, n_orientations, subtract_noise
        )
    return features


def _sharpness_block(stack, band_edges, n_orientations, subtract_noise):
    # A contiguous float32 block first (no copy when it already is one), then
    # the crop, a view: reductions then sum in the same order whatever the
    # input's dtype and layout.
    stack = _fft_friendly_crop(_unit_float32(stack))
    n_orientations = int(n_orientations)
    noise = _noise_std(stack, step=3) ** 2
    power = _band_power_profile(stack, band_edges, n_orientations)
    # Cells with no frequency of the grid (tiny images) hold no detail.
    power = np.nan_to_num(power, nan=0.0)
    reference = power[:, 0].mean(axis=1)
    floor = noise[:, None] if subtract_noise else 0.0
    high = power[:, 1:]
    features = np.empty((len(stack), 2 * high.shape[1] + 1))
    features[:, 0:-1:2] = log10_ratio(high.mean(axis=2) - floor, reference[:, None])
    features[:, 1:-1:2] = log10_ratio(high.min(axis=2) - floor, reference[:, None])
    features[:, -1] = log10_ratio(noise, reference)
    return features


def sharpness_features(
    image, band_edges=SHARPNESS_BAND_EDGES, n_orientations=4, subtract_noise=True
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

    Returns
    -------
    ndarray of shape (2 * (n_bands - 1) + 1,)
        For each band above the reference, the log10 ratio of its mean power
        to the reference power, then that of its weakest orientation; last,
        the log10 ratio of the noise power to the reference power. Ratios are
        floored at -6.

    Notes
    -----
    Computed in single precision (float32), on a centred crop of the image
    whose sides have no prime factor above 5, where the FFT is fastest, when
    that crop takes at most 3 pixels or 3% of a side (121x121 becomes
    120x120): the border pixels, which the Hann window weighs least. An image of
    extreme magnitude (peak below 2**-16 or at least 2) is first scaled by a
    power of two, which is exact. The noise floor is estimated from a
    ninth of the pixels (every third pixel of every third row). Band powers
    are summed by one matrix product per block of images, whose rounding can
    differ in the last float32 digits (about 1e-7) with the number of images
    computed together; the input's dtype and memory layout change nothing. Every
    feature is a ratio of powers of the same image: scaling the intensities
    changes nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from blurkit import sharpness_features
    >>> image = np.random.default_rng(0).random((32, 32))
    >>> features = sharpness_features(image)
    >>> features.shape
    (15,)
    >>> bool(np.allclose(features, sharpness_features(1000 * image)))
    True
    """
    return sharpness_features_stack(
        _as_image(image), band_edges, n_orientations, subtract_noise
    )[0]

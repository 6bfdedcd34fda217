"""Sharpness metrics: pure functions of 2-D images.

Every metric takes an image first and options after, converts it to float up
front and never returns NaN: constant images and zero background give the
documented edge value. The ``*_stack`` variants compute the same quantity for
a stack of equally sized images, of shape ``(n, H, W)``, in one vectorised pass;
the single-image functions call them.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, ndimage

__all__ = [
    "band_power_profile",
    "highfreq_energy_ratio",
    "laplacian_variance",
    "noise_std",
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
    """Return ``images`` as a float64 array of shape (n, H, W)."""
    stack = np.asarray(images, dtype=np.float64)
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


def _noise_std(stack: np.ndarray) -> np.ndarray:
    """`noise_std_stack` of a stack already checked by `_as_stack`."""
    n, h, w = stack.shape
    if h < 3 or w < 3:
        return np.zeros(n)
    response = np.empty((n, h - 2, w - 2))
    # A few images at a time stay in the processor's cache.
    for start in range(0, n, 8):
        _noise_response(stack[start : start + 8], out=response[start : start + 8])
    # Median absolute response, scaled to a std for Gaussian noise: robust to
    # the edges of the brain, which only touch a minority of pixels.
    return _row_medians(response.reshape(n, -1)) / (0.6745 * 6.0)


def _noise_response(stack: np.ndarray, out: np.ndarray) -> None:
    """Absolute response to `_NOISE_MASK` of the interior pixels of a stack.

    Equal, bit for bit, to ``np.abs(ndimage.correlate(stack, mask))`` without
    its one-pixel border, twice as fast: the weights (1, -2, 4) are powers of
    two, so every product is exact, and the terms are summed in the order
    ``ndimage.correlate`` sums them (the mask's elements in C order).
    """
    h, w = stack.shape[1:]
    scaled = {1: stack, -2: -2 * stack, 4: 4 * stack}
    out[...] = 0.0
    for (i, j), weight in np.ndenumerate(_NOISE_MASK):
        out += scaled[int(weight)][:, i : h - 2 + i, j : w - 2 + j]
    np.abs(out, out=out)


def _row_medians(values: np.ndarray) -> np.ndarray:
    """Median of each row of a finite 2-D array, equal to ``np.median(axis=1)``.

    Sorts ``values`` in place. On filter responses, half of which are often
    exactly 0 (the background), numpy's vectorised sort is several times
    faster than the partition ``np.median`` uses, which slows down on ties.
    """
    values.sort(axis=1)
    half = values.shape[1] // 2
    if values.shape[1] % 2:
        return values[:, half].copy()
    return (values[:, half - 1] + values[:, half]) / 2


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


def _spectral_grid(h: int, w: int):
    """Radial frequency, orientation and multiplicity of an rfft2 grid.

    Radial frequency is a fraction of the Nyquist frequency; orientations are
    folded to ``[0, pi)``, since the spectrum of a real image is
    point-symmetric. The multiplicity says how often each half-plane
    coefficient appears in the full spectrum.
    """
    fy = np.fft.fftfreq(h)[:, np.newaxis]
    fx = np.fft.rfftfreq(w)[np.newaxis, :]
    radius = np.hypot(fy, fx) / 0.5
    angle = np.mod(np.arctan2(fy, fx), np.pi)
    multiplicity = np.full((h, w // 2 + 1), 2.0)
    multiplicity[:, 0] = 1.0
    if w % 2 == 0:
        multiplicity[:, -1] = 1.0
    return radius, angle, multiplicity


def power_spectrum_stack(stack) -> np.ndarray:
    """Windowed power spectra of a stack, as rfft2 half-planes.

    Each image has its mean removed and is multiplied by a separable Hann
    window, so that the image border does not read as a sharp edge.
    Normalised so that white noise of variance ``v`` has expected power ``v``
    at every frequency.
    """
    return _power_spectrum(_as_stack(stack))


def _power_spectrum(stack: np.ndarray) -> np.ndarray:
    """`power_spectrum_stack` of a stack already checked by `_as_stack`."""
    _, h, w = stack.shape
    window = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    windowed = stack - stack.mean(axis=(1, 2), keepdims=True)
    windowed *= window
    # scipy's FFT is numpy's pocketfft (equal results) with less overhead.
    spectrum = fft.rfft2(windowed, axes=(1, 2), overwrite_x=True)
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    power /= np.sum(window**2)
    return power


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


def _band_power_profile(
    stack: np.ndarray, band_edges, n_orientations: int = 1, noise_power=None
) -> np.ndarray:
    """`band_power_profile_stack` of a stack already checked by `_as_stack`."""
    power = _power_spectrum(stack)
    n = len(stack)
    edges = np.asarray(band_edges, dtype=np.float64)
    radius, angle, multiplicity = _spectral_grid(*stack.shape[1:])
    band = np.digitize(radius, edges) - 1
    orientation = np.minimum(
        (angle / np.pi * n_orientations).astype(int), n_orientations - 1
    )
    n_bands = len(edges) - 1
    inside = (band >= 0) & (band < n_bands)
    cell = (band * n_orientations + orientation)[inside]
    n_cells = n_bands * n_orientations
    weight = multiplicity[inside]
    counts = np.bincount(cell, weight, minlength=n_cells)
    # One bincount for the whole stack: image i's cells are offset by
    # i * n_cells. Each cell still sums its values in pixel order.
    cells = (np.arange(n)[:, np.newaxis] * n_cells + cell).ravel()
    sums = np.bincount(
        cells, (power[:, inside] * weight).ravel(), minlength=n * n_cells
    ).reshape(n, n_cells)
    means = sums / np.maximum(counts, 1.0)
    if noise_power is not None:
        means = means - np.asarray(noise_power, dtype=np.float64).reshape(-1, 1)
    means[:, counts == 0] = np.nan
    return means.reshape(n, n_bands, n_orientations)


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

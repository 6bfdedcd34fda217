"""Spectral sharpness metrics: windowed power spectra and their band powers.

Frequencies are fractions of the Nyquist frequency, so that a metric means the
same on any image size.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import fft

from .._validation import as_image, as_image_stack

__all__ = [
    "band_power_profile",
    "band_power_profile_stack",
    "highfreq_energy_ratio",
    "highfreq_energy_ratio_stack",
    "power_spectrum_stack",
]

_EPS = 1e-12


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
    return _power_spectrum(as_image_stack(stack))


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
    stack = as_image_stack(stack)
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
    return float(highfreq_energy_ratio_stack(as_image(image), cutoff=cutoff)[0])


def band_power_profile_stack(
    stack, band_edges, n_orientations: int = 1, noise_power=None
) -> np.ndarray:
    """Mean power per radial band and orientation (see `band_power_profile`).

    Returns an array of shape (n, n_bands, n_orientations).
    """
    return _band_power_profile(
        as_image_stack(stack), band_edges, n_orientations, noise_power
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
        as_image(image), band_edges, n_orientations=n_orientations
    )[0]

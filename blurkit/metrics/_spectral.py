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

# Grids and windows of images up to this many pixels are cached per shape
# (a few MB each); those of larger images are recomputed, not kept, so that
# a folder of large images of many sizes does not fill the memory.
_CACHED_PIXELS = 1024 * 1024

# Above this many pixels, an image is processed with bounded temporaries:
# its window applied by rows and columns, its band powers summed by
# `numpy.bincount` over a small table of cell indices, rather than with a
# full-size window and a dense (frequencies x cells) weight matrix.
_LARGE_PIXELS = 512 * 512


def _cached_while_small(pixels):
    """``functools.lru_cache`` (16 entries) for the calls whose ``pixels(*args)``
    is at most `_CACHED_PIXELS`; larger ones are computed each time and not
    kept. Arguments are positional. The wrapper's ``cache_clear`` empties the
    cache."""

    def decorate(function):
        cached = functools.lru_cache(maxsize=16)(function)

        @functools.wraps(function)
        def wrapper(*args):
            if pixels(*args) <= _CACHED_PIXELS:
                return cached(*args)
            return function(*args)

        wrapper.cache_clear = cached.cache_clear
        return wrapper

    return decorate


_cached_for_small_shapes = _cached_while_small(lambda h, w, *args: h * w)
"""``functools.lru_cache`` for the shapes ``(h, w, ...)`` of at most
`_CACHED_PIXELS`."""


@_cached_for_small_shapes
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


@_cached_for_small_shapes
def _hann_window(h: int, w: int, dtype) -> tuple[np.ndarray, float]:
    """Separable Hann window of an image shape, and the sum of its squares."""
    window = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    energy = float(np.sum(window**2))
    window = window.astype(dtype)
    window.flags.writeable = False
    return window, energy


@_cached_for_small_shapes
def _ones(h: int, w: int, dtype) -> np.ndarray:
    """A read-only vector of ``h * w`` ones, to sum images by matrix products."""
    ones = np.ones(h * w, dtype=dtype)
    ones.flags.writeable = False
    return ones


def _hann_factors(h: int, w: int, dtype) -> tuple[np.ndarray, np.ndarray, float]:
    """The row and column factors of `_hann_window`, and its energy.

    For large images: applied one after the other, they need no array of
    the image's size.
    """
    rows, columns = np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1]
    energy = float(np.sum(rows**2) * np.sum(columns**2))
    return rows.astype(dtype)[:, np.newaxis], columns.astype(dtype), energy


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


def _raw_power_spectrum(
    stack: np.ndarray, overwrite: bool = False, window_factors=None
) -> tuple[np.ndarray, float]:
    """Unnormalised `_power_spectrum`, and the window energy to divide by.

    ``overwrite=True`` windows ``stack`` in place, sparing a copy of it.
    ``window_factors``, a separable window's row and column factors ((h, 1)
    and (w,)), replace the Hann window; the energy returned is theirs.
    """
    spectrum, energy = _windowed_spectrum(stack, overwrite, window_factors)
    return _power_in_place(spectrum), energy


def _windowed_spectrum(
    stack: np.ndarray, overwrite: bool = False, window_factors=None
) -> tuple[np.ndarray, float]:
    """The rfft2 of each image, its mean removed, under the window; and the
    window's energy. The parameters are `_raw_power_spectrum`'s."""
    n, h, w = stack.shape
    if stack.flags.c_contiguous:
        # A matrix-vector product: a quarter of the time of ``mean``.
        mean = stack.reshape(n, 1, -1) @ _ones(h, w, stack.dtype)
        mean /= h * w
        mean = mean.reshape(n, 1, 1)
    else:
        mean = stack.mean(axis=(1, 2), keepdims=True)
    if overwrite:
        windowed = stack
        windowed -= mean
    else:
        windowed = stack - mean
    if window_factors is not None:
        rows, columns = window_factors
        energy = float(np.sum(np.square(rows, dtype=np.float64)))
        energy *= float(np.sum(np.square(columns, dtype=np.float64)))
        windowed *= rows
        windowed *= columns
    elif h * w <= _LARGE_PIXELS:
        window, energy = _hann_window(h, w, stack.dtype)
        windowed *= window
    else:
        rows, columns, energy = _hann_factors(h, w, stack.dtype)
        windowed *= rows
        windowed *= columns
    # scipy's FFT is numpy's pocketfft, with a single-precision path.
    return fft.rfft2(windowed, axes=(1, 2), overwrite_x=True), energy


def _power_in_place(spectrum: np.ndarray) -> np.ndarray:
    """``|spectrum|**2``, squaring ``spectrum``'s parts in place (it is lost):
    the values of ``re**2 + im**2`` with one temporary array fewer."""
    parts = spectrum.view(spectrum.real.dtype).reshape(*spectrum.shape, 2)
    np.square(parts, out=parts)
    return np.add(parts[..., 0], parts[..., 1])


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


def _cells(radius, angle, edges: np.ndarray, n_orientations: int) -> np.ndarray:
    """Band-major cell of each frequency; ``n_cells`` for those outside."""
    n_bands = len(edges) - 1
    band = np.digitize(radius, edges) - 1
    orientation = np.minimum(
        (angle / np.pi * n_orientations).astype(int), n_orientations - 1
    )
    inside = (band >= 0) & (band < n_bands)
    return np.where(
        inside, band * n_orientations + orientation, n_bands * n_orientations
    )


@_cached_for_small_shapes
def _band_weights(h: int, w: int, band_edges: tuple, n_orientations: int, dtype):
    """Averaging weights from an rfft2 grid to band and orientation cells.

    Returns ``weights`` of shape (h * (w // 2 + 1), n_cells), in ``dtype``,
    such that ``power.reshape(n, -1) @ weights`` holds the mean power of each
    cell over the full spectrum (half-plane coefficients weighted by their
    multiplicity), and ``counts``, the number of full-spectrum frequencies of
    each cell (0 for a cell the grid misses). Cells are ordered band-major.
    """
    radius, angle, multiplicity = _spectral_grid(h, w)
    edges = np.asarray(band_edges, dtype=np.float64)
    n_cells = (len(edges) - 1) * n_orientations
    cell = _cells(radius, angle, edges, n_orientations).ravel()
    inside = cell < n_cells
    counts = np.bincount(cell[inside], multiplicity.ravel()[inside], minlength=n_cells)
    weights = np.zeros((radius.size, n_cells))
    rows = np.flatnonzero(inside)
    weights[rows, cell[inside]] = multiplicity.ravel()[inside] / np.maximum(
        counts[cell[inside]], 1.0
    )
    weights = weights.astype(dtype, copy=False)
    weights.flags.writeable = False
    counts.flags.writeable = False
    return weights, counts


# Rows of the frequency grid computed at a time for large images.
_ROW_BLOCK = 256


def _cell_rows(h: int, w: int, band_edges: tuple, n_orientations: int):
    """`_cells` of an rfft2 grid, ``(first row, cells)`` a block of rows at a time."""
    edges = np.asarray(band_edges, dtype=np.float64)
    fy = np.fft.fftfreq(h)[:, np.newaxis]
    fx = np.fft.rfftfreq(w)[np.newaxis, :]
    for top in range(0, h, _ROW_BLOCK):
        block = fy[top : top + _ROW_BLOCK]
        radius = np.hypot(block, fx) / 0.5
        angle = np.mod(np.arctan2(block, fx), np.pi)
        yield top, _cells(radius, angle, edges, n_orientations)


@functools.lru_cache(maxsize=2)
def _band_cell_table(h: int, w: int, band_edges: tuple, n_orientations: int):
    """`_band_weights` for large images: a cell index per frequency.

    Returns ``cells`` of shape (h, w // 2 + 1), int16, holding each
    half-plane coefficient's cell (``n_cells`` outside every band), and
    ``counts`` as in `_band_weights`. Built a block of rows at a time, so
    that no float array of the grid's size exists; two shapes are kept.
    """
    cells = np.empty((h, w // 2 + 1), dtype=np.int16)
    for top, block in _cell_rows(h, w, band_edges, n_orientations):
        cells[top : top + len(block)] = block
    cells.flags.writeable = False
    return cells, _band_counts(h, w, band_edges, n_orientations)


@functools.lru_cache(maxsize=16)
def _band_counts(h: int, w: int, band_edges: tuple, n_orientations: int):
    """Frequencies of the full spectrum in each band and orientation cell.

    Band-major, as the cells of `_band_power_profile`: the ``counts`` of
    `_band_weights` and `_band_cell_table`, without their tables.
    """
    n_cells = (len(band_edges) - 1) * n_orientations
    counts = np.zeros(n_cells + 1)
    for _, cells in _cell_rows(h, w, band_edges, n_orientations):
        counts += _multiplicity_sums(cells, None, w, n_cells)
    counts = counts[:n_cells]
    counts.flags.writeable = False
    return counts


def _multiplicity_sums(cells, values, w: int, n_cells: int) -> np.ndarray:
    """Sum of ``values`` (1 when None) per cell, each weighted by multiplicity.

    The first rfft2 column, and the last one when ``w`` is even, appear once
    in the full spectrum; the others twice.
    """
    last = cells.shape[1] - 1 if w % 2 == 0 else cells.shape[1]
    sums = 2 * np.bincount(
        cells[:, 1:last].ravel(),
        None if values is None else values[:, 1:last].ravel(),
        minlength=n_cells + 1,
    )
    for column in {0, last} - {cells.shape[1]}:
        sums += np.bincount(
            cells[:, column],
            None if values is None else values[:, column],
            minlength=n_cells + 1,
        )
    return sums


def _large_band_means(power: np.ndarray, w: int, band_edges, n_orientations: int):
    """Mean power per cell of each image: `_band_weights`'s product, by sums."""
    n, h = power.shape[:2]
    cells, counts = _band_cell_table(h, w, band_edges, n_orientations)
    n_cells = len(counts)
    means = np.zeros((n, n_cells + 1))
    for i in range(n):
        for top in range(0, h, _ROW_BLOCK):
            rows = slice(top, top + _ROW_BLOCK)
            means[i] += _multiplicity_sums(cells[rows], power[i, rows], w, n_cells)
    return means[:, :n_cells] / np.maximum(counts, 1.0), counts


def _band_power_profile(
    stack: np.ndarray,
    band_edges,
    n_orientations: int = 1,
    noise_power=None,
    overwrite: bool = False,
) -> np.ndarray:
    """`band_power_profile_stack` of a stack already checked by `_as_stack`.

    ``overwrite=True`` lets it use ``stack`` as scratch space.
    """
    power, energy = _raw_power_spectrum(stack, overwrite)
    return _band_means(
        power, energy, stack.shape[2], band_edges, n_orientations, noise_power
    )


def _band_means(
    power: np.ndarray,
    energy: float,
    w: int,
    band_edges,
    n_orientations: int = 1,
    noise_power=None,
) -> np.ndarray:
    """`_band_power_profile` from `_raw_power_spectrum`'s output, of width ``w``."""
    n, h = power.shape[:2]
    edges = tuple(float(edge) for edge in np.asarray(band_edges).ravel())
    if h * w <= _LARGE_PIXELS:
        weights, counts = _band_weights(h, w, edges, int(n_orientations), power.dtype)
        # One matrix product per image, for all cells, in the stack's
        # precision: an image's rounding does not depend on the others.
        means = (power.reshape(n, 1, -1) @ weights).astype(np.float64)[:, 0]
    else:
        means, counts = _large_band_means(power, w, edges, int(n_orientations))
    means /= energy
    if noise_power is not None:
        means = means - np.asarray(noise_power, dtype=np.float64).reshape(-1, 1)
    means[:, counts == 0] = np.nan
    return means.reshape(n, len(edges) - 1, n_orientations)


_CORNER = 0.3
"""Frequency (cycles per pixel) beyond which, along both axes, `_corner_noise` looks."""


@functools.lru_cache(maxsize=16)
def _corner_slices(h: int, w: int) -> tuple[slice, slice] | None:
    """Rows and every other column of an rfft2 grid beyond `_CORNER` along both axes.

    Contiguous ranges: those frequencies sit in the middle rows of an
    unshifted spectrum and in its last columns. None when there are none.
    """
    rows = np.flatnonzero(np.abs(np.fft.fftfreq(h)) > _CORNER)
    columns = np.flatnonzero(np.fft.rfftfreq(w) > _CORNER)
    if not len(rows) or not len(columns):
        return None
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1, 2)


def _corner_count(h: int, w: int) -> int:
    """Frequencies `_corner_noise` takes each median over, on an (h, w) image."""
    slices = _corner_slices(h, w)
    if slices is None:
        return 0
    return len(range(h)[slices[0]]) * len(range(w // 2 + 1)[slices[1]])


def _corner_noise(power: np.ndarray, energy: float, w: int) -> np.ndarray:
    """Each image's noise variance read from the corners of its spectrum.

    From `_raw_power_spectrum`'s output, of width ``w``: the median power of
    the frequencies beyond `_CORNER` cycles per pixel along both axes (every
    other column of them: the window correlates neighbours anyway), divided
    by ln 2. White noise of variance ``v`` gives each of them an
    exponentially distributed power of mean ``v``, whose median is ``v ln
    2``; image detail there only adds to it, and the few frequencies of a
    k-space spike leave the median as it is (`_corner_count` says over how
    many frequencies).
    """
    n, h = power.shape[:2]
    slices = _corner_slices(h, w)
    if slices is None:
        return np.full(n, np.inf)
    corner = power[:, slices[0], slices[1]].reshape(n, -1)
    middle = corner.shape[1] // 2
    medians = np.partition(corner, middle, axis=1)[:, middle].astype(np.float64)
    return medians / energy / np.log(2.0)


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

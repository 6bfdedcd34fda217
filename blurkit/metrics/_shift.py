"""The shift of the finest detail from coarser detail: motion on both sides.

`~blurkit.metrics._fringe` sees a translation of the outer k-space lines of
*one* side: the magnitude image then holds two copies of the finest detail.
Where the outer lines of *both* sides were acquired after a translation
``d`` (a centric ordering, or a late movement of a symmetric one), the
finest detail is not doubled but moved as a whole, ``d`` pixels away from
the coarser detail of the same edges, and ``fringe`` stays at a clean
slice's level. A clean slice's detail at every scale lies on its edges, so
the envelopes of a fine and a coarser band coincide.

``detail_shift`` is, for each axis, computed from `tukey_spectrum` (the
fringe's windowed spectrum):

- two bands of the same width along the axis, one-sided, with every
  frequency across it: the finest, from `FRINGE_CUT` (0.38) cycles per
  pixel to Nyquist, and a coarser one from `COARSER_CUT` (0.12) up;
- each frequency's amplitude capped at that of `FRINGE_CAP` times its
  band's median power (the phases kept), so that a k-space spike's few
  frequencies cannot dominate;
- each band's energy, the squared magnitude of its inverse DFT (its
  envelope: a one-sided band has no oscillation), smoothed by a Gaussian
  of `SMOOTH_PX` pixels, its mean removed;
- the correlation coefficient of the two energies at each lag up to
  `MAX_LAG` pixels along both axes (circular);
- the largest at lags of `MIN_CROSS_LAG` to `MAX_LAG` pixels (the larger
  coordinate), less that at lag 0;

then the larger of the two axes. Clean slices (the challenge's, the demo's)
give about -0.04 to 0.04. When the outer 30% of the lines of both sides
moved 3-4 px, it rises by 0.01 to 0.05 on the challenge's slices, whose
textures carry fine detail of their own, and by 0.09 to 0.19 on discs with
sharp edges; a model reads it beside the other features, not alone. An
image with no such bands (fewer than two frequencies in the finest one
along both axes, which only sides under 17 pixels may have) or no power in
them gives 0.

It is computed cheaply: a band of ``k`` frequencies along the axis is, once
demodulated, exactly represented on a grid of ``2k - 1`` or more points along
it, and so is its energy; the smoothing leaves nothing of the energies' spectra
beyond `ENERGY_CUT` cycles per pixel across the axis; and the correlation is
needed at 17 x 17 lags only, two small DFTs. On a 120x120 image: 27 points
instead of 120 along the axis, 37 frequencies instead of 120 across it.
`sharpness_features` computes it only for slices with detail outside the head
and in its finest band (``MOTION_GATE``, ``FINE_DETAIL_GATE``). Off by default:
the feature of ``SharpnessFeatures(detail_shift=True)``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from ._fringe import (
    FRINGE_CAP,
    FRINGE_CUT,
    MAX_LAG,
    MIN_CROSS_LAG,
    _lag_dft,
    tukey_spectrum,
)
from ._spectral import _cached_for_small_shapes

__all__ = ["SHIFT_NAMES", "detail_shift_features"]

SHIFT_NAMES = ("detail_shift",)
"""Name of the feature, in `detail_shift_features`' column."""

COARSER_CUT = 0.12
"""Lowest frequency of the coarser band, cycles per pixel along the axis.

Below the lines that late motion moves (the outer 30-50%, beyond 0.25), and
as wide as the finest band."""
SMOOTH_PX = 1.5
"""Standard deviation of the Gaussian that smooths each band's energy, px."""
ENERGY_CUT = 0.3
"""Highest frequency of the energies kept across the axis, cycles per pixel:
the smoothing's squared gain there is below 1e-3 (``exp(-4 pi^2 1.5^2
0.3^2)``)."""
SHIFT_NONE = 0.0
"""The feature of an image with no such bands, or no power in them."""


@_cached_for_small_shapes
def _plan(h: int, w: int):
    """What `_detail_shift` needs for an rfft2 of an (h, w) image.

    For each axis (0: along the rows) with bands of two frequencies or
    more: the axis, the first index of each band along it (the finest, then
    the coarser; `_band` takes them), their width ``k``, the grid's length
    along the axis, the energies' frequencies kept across it (``keep``), the
    weights of the energies' powers (the smoothing's squared gain; 2 for the
    half-plane's frequencies that stand for two; 0 for the mean) and the two
    DFTs to the lags (``along``: (lags, grid), ``across``: ``[cos | -sin]``,
    (2 kept, lags)). Then, for the lags laid out as a (lags, lags) table:
    the indices of those that count (``off``) and of lag 0.
    """
    lags = np.arange(-MAX_LAG, MAX_LAG + 1)
    chebyshev = np.maximum(np.abs(lags)[:, np.newaxis], np.abs(lags)[np.newaxis, :])
    off = np.flatnonzero((chebyshev >= MIN_CROSS_LAG).ravel())
    zero = MAX_LAG * len(lags) + MAX_LAG
    plans = []
    for axis in (0, 1):
        along_n, across_n = (h, w) if axis == 0 else (w, h)
        f = np.fft.fftfreq(along_n)
        finest = np.flatnonzero((f >= FRINGE_CUT) & (f < 0.5))
        k = len(finest)
        coarser = np.flatnonzero(f >= COARSER_CUT)[:k]
        if k < 2 or coarser[-1] >= finest[0]:
            continue
        starts = (int(finest[0]), int(coarser[0]))
        grid = fft.next_fast_len(2 * k - 1)
        u = np.fft.fftfreq(grid) * grid / along_n
        v = np.fft.rfftfreq(across_n)
        keep = np.flatnonzero(v <= ENERGY_CUT)
        v = v[keep]
        gain = np.exp(-4 * np.pi**2 * SMOOTH_PX**2 * (u[:, np.newaxis] ** 2 + v**2))
        weights = gain * np.where(v == 0, 1.0, 2.0)
        weights[0, 0] = 0.0
        along = _lag_dft(u, lags).astype(np.complex64)
        across = _lag_dft(v, lags).T
        across = np.concatenate([across.real, -across.imag]).astype(np.float32)
        plans.append(
            (axis, starts, k, grid, keep, weights.astype(np.float32), along, across)
        )
    return plans, off, zero


def _band(spectrum, axis, start, k, h, w) -> np.ndarray:
    """A one-sided band of ``axis`` from an rfft2 half-plane, by slices
    (fancy indexing is several times slower): (n, k, across), its
    frequencies along the axis increasing from ``start``, those across it
    in the FFT's order."""
    if axis == 1:
        return spectrum[:, :, start : start + k].transpose(0, 2, 1).copy()
    # Along the rows, the negative frequencies across are the mirror's:
    # S(fy, -fx) = conj(S(-fy, fx)), rows h - r and columns w - j.
    band = np.empty((len(spectrum), k, w), dtype=spectrum.dtype)
    positive = (w + 1) // 2
    band[:, :, :positive] = spectrum[:, start : start + k, :positive]
    mirror = spectrum[:, h - start - k + 1 : h - start + 1][:, ::-1]
    mirror = mirror[:, :, 1 : w - positive + 1][:, :, ::-1]
    np.conjugate(mirror, out=band[:, :, positive:])
    return band


def _energy_spectrum(band: np.ndarray, grid: int, keep: np.ndarray) -> np.ndarray:
    """The DFT of a band's energy (n, grid, kept), from the band (n, k,
    across), which it overwrites."""
    n, k, m = band.shape
    flat = band.reshape(n, k * m)
    scale = flat.real**2
    scale += flat.imag**2
    # The band's median power, from every third frequency.
    sample = scale[:, ::3].copy()
    middle = sample.shape[1] // 2
    cap = FRINGE_CAP * np.partition(sample, middle, axis=1)[:, middle]
    cap = np.maximum(cap, np.finfo(scale.dtype).tiny)[:, np.newaxis]
    # Amplitudes above the cap's scaled down to it, and all divided by it (1
    # / sqrt(max(power, cap))): at most 1 then, whatever the image's scale,
    # so that the energies' powers stay far from float32's limits.
    np.maximum(scale, cap, out=scale)
    np.sqrt(scale, out=scale)
    np.reciprocal(scale, out=scale)
    flat *= scale
    del scale
    # The band's signal on the coarse grid along the axis (its frequencies
    # shifted down to 0..k-1: a demodulation, which leaves the energy as it
    # is). The transforms run in place, and each array is let go when done
    # with: that bounds the memory a large image takes.
    signal = np.zeros((n, grid, m), dtype=band.dtype)
    signal[:, :k] = fft.ifft(band, axis=2, norm="forward", overwrite_x=True)
    del band, flat
    signal = fft.ifft(signal, axis=1, norm="forward", overwrite_x=True)
    energy = signal.real**2
    energy += signal.imag**2
    del signal
    energy = fft.rfft(energy, axis=2)[..., keep]
    return fft.fft(energy, axis=1, overwrite_x=True)


def _detail_shift(spectrum: np.ndarray, h: int, w: int) -> np.ndarray:
    """``detail_shift`` from `tukey_spectrum`'s output (unchanged); (n,)."""
    n = len(spectrum)
    plans, off, zero = _plan(h, w)
    best = np.full(n, np.nan)
    for axis, starts, k, grid, keep, weights, along, across in plans:
        finest, coarser = (
            _energy_spectrum(_band(spectrum, axis, start, k, h, w), grid, keep)
            for start in starts
        )
        # Each image's weighted power, one product per image (its rounding
        # does not depend on the others); the energies are still needed.
        norms = []
        for energy in (finest, coarser):
            power = (energy.real**2 + energy.imag**2).reshape(n, 1, -1)
            norms.append(np.sqrt((power @ weights.ravel())[:, 0]))
        cross = finest * np.conj(coarser)
        cross *= weights
        # The correlation at each lag: the DFT along the axis for every
        # image at once, then across it, keeping the real part.
        lagged = along @ cross  # (n, lags, kept)
        lagged = np.concatenate([lagged.real, lagged.imag], axis=2)
        table = (lagged @ across).reshape(n, -1)
        denominator = norms[0] * norms[1]
        shift = table[:, off].max(axis=1) - table[:, zero]
        shift = np.divide(
            shift, denominator, out=np.full(n, np.nan), where=denominator > 0
        )
        best = np.fmax(best, shift)
    return np.where(np.isnan(best), SHIFT_NONE, best)


def detail_shift_features(stack: np.ndarray, spectrum=None) -> np.ndarray:
    """``detail_shift`` of each image of a stack (n, h, w); shape (n, 1).

    Computed in the stack's precision, from `tukey_spectrum` (``spectrum``,
    when given, is its output for ``stack``, and is left unchanged).
    """
    n, h, w = stack.shape
    if spectrum is None:
        spectrum = tukey_spectrum(stack)
    return _detail_shift(spectrum, h, w)[:, np.newaxis]

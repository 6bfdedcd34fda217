"""The sparsity of the fine detail: what a double exposure lowers.

One movement during the acquisition, near its middle (TorchIO's
``RandomMotion(num_transforms=1)``), leaves the real part of the
reconstruction nearly the average of two rigidly moved copies of the slice:
a double exposure. Each copy keeps its detail, so the band ratios read a
sharp slice, and a rotation about the centre hardly moves the head's
outline, so nothing shows outside the head. But the sum of two misaligned
copies of the fine detail is less sparse than one: for independent terms
the excess kurtosis of the sum is half that of each, whatever the movement,
rotation or translation, so no registration against moved copies is
needed.

``sparsity`` is the log of the kurtosis, ``E[d^4] / E[d^2]^2``, of the
5-point Laplacian ``d`` (the sum of the second differences along both axes)
over the interior of the head:

- the head: the pixels above `~blurkit.metrics._outer.head_threshold`, a
  tenth of the way from the background's floor to the top (the 5th and
  99th percentiles of every sixth pixel of every sixth row);
- its interior: the head eroded by 3 pixels (the pixels whose diamond of
  city-block radius 3 lies in the head). The head's
  outline is the strongest and sparsest detail of a slice, and a double
  exposure barely changes it; read with it, the doubled slices came out
  *sparser* than clean ones;
- the noise's share of the moments taken away: white noise of variance
  ``v`` adds ``20 v`` to ``E[d^2]`` (the Laplacian's squared weights sum to
  20) and ``6 (20 v) E[s^2] + 3 (20 v)^2`` to ``E[d^4]`` (``s`` the
  detail without it).

On the challenge's held-out sharp slices (seeds 0-1 of
``benchmarks/heldout.py``) clean slices read 1.81 (1.49 to 2.10, 10th to
90th percentile) and those with TorchIO's one movement that the model
without it missed 1.30 (1.09 to 1.42). Ghosts, copies too, lower it, and so
does the stripe of a k-space spike; a bias field raises it. A model reads it
with ``ghosts``; a slice whose spectrum may hold a spike reads
`SPARSITY_CLEAN` (`~blurkit.metrics._sharpness.sharpness_features`), or
its own value once ``despike`` took the wave away.

A slice whose interior holds under `_MIN_PIXELS` pixels, or whose detail
there is mostly noise (the noise's share leaves under `_MIN_SIGNAL_SHARE`
of ``E[d^2]``), reads `SPARSITY_NONE`, the value of Gaussian detail. The
feature is clipped to [0, `_MAX`].
"""

from __future__ import annotations

import numpy as np

from ._outer import sorted_head_threshold
from ._spatial import second_difference
from ._spectral import _ones

__all__ = [
    "SPARSITY_CLEAN",
    "SPARSITY_NAMES",
    "SPARSITY_NONE",
    "sparsity_from_moments",
    "sparsity_moments",
]

SPARSITY_NAMES = ("sparsity",)
"""Name of the feature."""

SPARSITY_NONE = float(np.log(3.0))
"""``sparsity`` of Gaussian detail: what a slice without a readable interior gets."""

SPARSITY_CLEAN = 1.8
"""``sparsity`` of a slice that may hold a k-space spike: the median of the
challenge's clean sharp slices (1.79 on its training set, 1.87 on its
validation set; blurred slices read about 0.9). A spike's plane wave is
detail as little sparse as can be (a sinusoid's kurtosis is 1.5): strong
spikes, which `despike` left in place until 2026-12-06, lowered
``sparsity`` by 0.3 to 1.3 and a model called such sharp slices blurred.
A slice whose wave `despike` takes away reads its own value without it;
this one stands for the others (no peak stands out enough, or ``despike``
is off)."""

EROSION = 3
"""Pixels taken off the head's outline (a diamond of that city-block radius)."""

_NOISE_GAIN = 20.0
_MIN_PIXELS = 100
_MIN_SIGNAL_SHARE = 0.05
_MAX = float(np.log(1e3))
_SAMPLE_STEP = 6


def sparsity_moments(scratch: np.ndarray, down: np.ndarray) -> np.ndarray:
    """The sums behind ``sparsity``, shape (n, 3): over each image's interior,
    the sum of ``d**2``, the sum of ``d**4`` and the number of pixels.

    ``scratch`` is a contiguous float32 stack; ``down`` its second
    differences down the columns (``second_difference(scratch, axis=1)``).
    Every pass runs over each image's rows laid end to end, contiguous runs
    rather than a short one per row: the first and last columns, where a
    row's neighbours wrap to the next row, are outside the head by
    definition. The sums are float32 dot products, one per image: a
    relative rounding of about 1e-7, nothing beside the statistic's own
    spread. The noise is taken away later, by `sparsity_from_moments`.
    """
    n, h, w = scratch.shape
    moments = np.zeros((n, 3))
    if min(h, w) < 3 + 2 * EROSION:
        return moments
    flat = scratch.reshape(n, -1)
    # The Laplacian at rows 1 to h - 2, every column: along the rows (its
    # value at flat position k is stored at k - 1), plus down the columns.
    along = second_difference(flat, axis=1)
    laplacian = along[:, w - 1 : (h - 1) * w - 1]
    laplacian += down.reshape(n, -1)
    sample = scratch[:, ::_SAMPLE_STEP, ::_SAMPLE_STEP].reshape(n, -1)
    threshold = sorted_head_threshold(np.sort(sample, axis=1)).astype(np.float32)
    head = flat[:, w : (h - 1) * w] > threshold[:, None]
    head.reshape(n, h - 2, w)[:, :, [0, -1]] = False
    interior = _eroded(head, w, EROSION)
    squares = np.square(laplacian[:, EROSION * w : (h - 2 - EROSION) * w])
    squares *= interior
    # One product per image: an image's rounding does not depend on the
    # others (a reduction over the whole block may group them).
    rows = squares[:, np.newaxis, :]
    ones = _ones(h - 2 - 2 * EROSION, w, squares.dtype)
    moments[:, 0] = (rows @ ones)[:, 0]
    moments[:, 1] = (rows @ squares[:, :, np.newaxis])[:, 0, 0]
    moments[:, 2] = np.count_nonzero(interior, axis=1)
    return moments


def _eroded(mask: np.ndarray, width: int, radius: int) -> np.ndarray:
    """``ndimage.binary_erosion(mask, iterations=radius)`` of images whose
    rows of ``width`` are laid end to end (shape (n, rows * width)), false
    in their first and last columns, outside taken as false: the rows from
    ``radius`` to ``rows - radius``, laid end to end likewise.

    Each erosion by the 3x3 cross is the AND of five shifted slices; the
    false columns keep a row's neighbours from wrapping to the next.
    """
    for _ in range(radius):
        size = mask.shape[1] - 2 * width
        eroded = mask[:, width : width + size] & mask[:, :size]
        eroded &= mask[:, 2 * width : 2 * width + size]
        eroded &= mask[:, width - 1 : width - 1 + size]
        eroded &= mask[:, width + 1 : width + 1 + size]
        mask = eroded
    return mask


def sparsity_from_moments(moments: np.ndarray, noise_var) -> np.ndarray:
    """``sparsity`` of each image, shape (n,), from `sparsity_moments` and the
    noise variance (per pixel, in the stack's units; 0 keeps the noise)."""
    count = moments[:, 2]
    mean2 = moments[:, 0] / np.maximum(count, 1)
    mean4 = moments[:, 1] / np.maximum(count, 1)
    noise = _NOISE_GAIN * np.broadcast_to(
        np.asarray(noise_var, dtype=np.float64), count.shape
    )
    signal2 = mean2 - noise
    signal4 = mean4 - 6.0 * signal2 * noise - 3.0 * noise**2
    valid = (
        (count >= _MIN_PIXELS) & (signal2 > _MIN_SIGNAL_SHARE * mean2) & (signal4 > 0)
    )
    ratio = np.where(valid, signal4, 1.0) / np.where(valid, signal2, 1.0) ** 2
    return np.where(valid, np.clip(np.log(ratio), 0.0, _MAX), SPARSITY_NONE)

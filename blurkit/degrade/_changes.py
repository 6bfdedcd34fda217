"""Changes that must not change a slice's label: photometric and geometric.

Pure functions, image first and options after. Every function takes a 2-D
image with values in [0, 1] and returns a new float32 image in [0, 1]; only
:func:`add_noise` is random, and it takes a ``random_state``. The photometric
ones call scikit-image (``random_noise``, ``adjust_gamma``,
``rescale_intensity``).
"""

from __future__ import annotations

import io
from numbers import Integral
from typing import Any

import numpy as np
from PIL import Image
from skimage import exposure, util

from .._validation import (
    as_generator,
    as_unit_image,
    check_nonnegative,
    clip_to_unit,
    from_uint8,
    to_uint8,
)

__all__ = [
    "add_noise",
    "adjust_gamma",
    "dihedral",
    "jpeg_compress",
    "resize_canvas",
    "scale_intensity",
    "stretch_contrast",
]


def add_noise(
    image: np.ndarray, std: float, *, clip: bool = True, random_state: Any = None
) -> np.ndarray:
    """Add Gaussian noise, then clip to [0, 1] or rescale to it.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    std : float
        Standard deviation of the noise as a fraction of the [0, 1] range
        (``0.05`` is 5 %).
    clip : bool, default=True
        Clip the noisy image to [0, 1]: on a zero background only the
        noise's positive half is left. False keeps the noise whole and
        rescales the noisy image to [0, 1] by its minimum and maximum, as
        the export of a float image (TorchIO's ``RandomNoise``, say) to an
        8-bit file often does.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed or generator for the noise; an int gives the same noise every
        time.

    Returns
    -------
    noisy : ndarray of shape (H, W), float32
        Values in [0, 1]. Clipping makes the noise smaller than ``std`` near
        0 and 1 (e.g. on a zero background); rescaling makes it
        ``std / (max - min)`` of the noisy image's range.
    """
    image = as_unit_image(image)
    std = check_nonnegative("std", std)
    if not isinstance(clip, (bool, np.bool_)):
        raise TypeError(f"Expected clip, a bool, got {clip!r}.")
    if std == 0:
        return image
    noisy = util.random_noise(
        image, mode="gaussian", var=std**2, clip=False, rng=as_generator(random_state)
    )
    return clip_to_unit(noisy) if clip else _stretch(noisy)


def scale_intensity(image: np.ndarray, factor: float) -> np.ndarray:
    """Multiply intensities by ``factor``, then clip to [0, 1].

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    factor : float
        Non-negative multiplier; above 1 saturates the brightest pixels.

    Returns
    -------
    scaled : ndarray of shape (H, W), float32
    """
    image = as_unit_image(image)
    factor = check_nonnegative("factor", factor)
    return clip_to_unit(image * factor)


def adjust_gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    """Apply the power law ``image ** gamma``.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    gamma : float
        Positive exponent; below 1 brightens, above 1 darkens.

    Returns
    -------
    adjusted : ndarray of shape (H, W), float32
    """
    image = as_unit_image(image)
    gamma = float(gamma)
    if not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"Expected gamma > 0, got {gamma!r}.")
    return clip_to_unit(exposure.adjust_gamma(image, gamma))


def stretch_contrast(image: np.ndarray) -> np.ndarray:
    """Stretch intensities linearly so they span [0, 1] (min-max scaling).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].

    Returns
    -------
    stretched : ndarray of shape (H, W), float32
        Minimum 0 and maximum 1, except for a constant image, which is
        returned unchanged.
    """
    return _stretch(as_unit_image(image))


def _stretch(image: np.ndarray) -> np.ndarray:
    """``image`` rescaled linearly to span [0, 1], as float32; a constant
    image (to float32 rounding) clipped to [0, 1] instead."""
    if image.max() - image.min() <= np.finfo(np.float32).eps:
        return clip_to_unit(image)
    return clip_to_unit(exposure.rescale_intensity(image, out_range=(0.0, 1.0)))


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip an image through 8-bit JPEG compression, in memory.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    quality : int
        JPEG quality, 1 (worst) to 100 (best), as in Pillow.

    Returns
    -------
    compressed : ndarray of shape (H, W), float32
        The decoded image, values in [0, 1] on the 8-bit grid.
    """
    image = as_unit_image(image)
    if not isinstance(quality, Integral) or not 1 <= quality <= 100:
        raise ValueError(
            f"Expected a JPEG quality, an int in [1, 100], got {quality!r}."
        )
    encoded = io.BytesIO()
    grey = Image.fromarray(to_uint8(image), mode="L")
    grey.save(encoded, format="JPEG", quality=int(quality))
    encoded.seek(0)
    with Image.open(encoded) as decoded:
        return from_uint8(np.asarray(decoded.convert("L")))


def dihedral(image: np.ndarray, k: int) -> np.ndarray:
    """Apply one of the 8 flips and 90-degree rotations of the square.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    k : int
        0 to 3 rotate by ``k`` quarter turns counter-clockwise (0 is the
        identity); 4 to 7 flip left-right first, then rotate by ``k - 4``
        quarter turns.

    Returns
    -------
    transformed : ndarray, float32
        Shape (H, W) for an even number of quarter turns, (W, H) otherwise.

    Notes
    -----
    The inverse of ``k`` is ``(4 - k) % 4`` for ``k < 4``; every ``k >= 4`` is
    its own inverse (a reflection).
    """
    image = as_unit_image(image)
    if not isinstance(k, Integral) or not 0 <= k <= 7:
        raise ValueError(f"Expected k, an int in [0, 7], got {k!r}.")
    if k >= 4:
        image = np.fliplr(image)
    return np.ascontiguousarray(np.rot90(image, k % 4))


def resize_canvas(image: np.ndarray, shape: int | tuple[int, int]) -> np.ndarray:
    """Centre-pad with zeros or centre-crop an image to ``shape``.

    Nothing is interpolated: pixels keep their size and values, only the
    field of view changes. Each axis is padded or cropped on its own, with
    the odd pixel at the end (bottom or right).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    shape : int or tuple of (int, int)
        Output size; an int means a square.

    Returns
    -------
    resized : ndarray of shape ``shape``, float32
    """
    image = as_unit_image(image)
    target = (shape, shape) if isinstance(shape, Integral) else tuple(shape)
    if len(target) != 2 or not all(isinstance(n, Integral) and n >= 1 for n in target):
        raise ValueError(
            f"Expected shape, an int or a pair of ints >= 1, got {shape!r}."
        )
    out = np.zeros(target, dtype=np.float32)
    src, dst = [], []
    for n_in, n_out in zip(image.shape, target, strict=True):
        if n_out >= n_in:
            start = (n_out - n_in) // 2
            src.append(slice(0, n_in))
            dst.append(slice(start, start + n_in))
        else:
            start = (n_in - n_out) // 2
            src.append(slice(start, start + n_out))
            dst.append(slice(0, n_out))
    out[tuple(dst)] = image[tuple(src)]
    return out

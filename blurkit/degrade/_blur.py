"""Blurs: the "blurred" side of blurkit's robustness contract, in image space.

Pure functions, image first and options after. Every function takes a 2-D
image with values in [0, 1] and returns a new float32 image in [0, 1].

Borders: the filters use ``mode="reflect"``. Brain slices have a zero
background, so in the usual case every mode gives the same result; on a
cropped slice whose tissue touches the border, reflection neither darkens the
edge (as ``"constant"`` would) nor adds a step that looks like a sharp edge.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.transform import resize

from .._validation import as_unit_image, check_nonnegative, clip_to_unit

__all__ = [
    "defocus_blur",
    "disk_kernel",
    "gaussian_blur",
    "motion_blur",
    "motion_kernel",
    "reduce_resolution",
]


def _convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` convolved with ``kernel`` (reflected borders), in [0, 1]."""
    if kernel.size == 1:
        return image
    return clip_to_unit(
        ndimage.convolve(image, kernel.astype(np.float32), mode="reflect")
    )


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur an image with an isotropic Gaussian kernel.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    sigma : float
        Standard deviation of the Gaussian, in pixels. ``0`` returns the image
        unchanged.

    Returns
    -------
    blurred : ndarray of shape (H, W), float32
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((9, 9)); image[4, 4] = 1.0
    >>> blurred = gaussian_blur(image, sigma=1.0)
    >>> bool(blurred[4, 4] < 1.0)
    True
    """
    image = as_unit_image(image)
    sigma = check_nonnegative("sigma", sigma)
    if sigma == 0:
        return image
    return clip_to_unit(ndimage.gaussian_filter(image, sigma=sigma, mode="reflect"))


def motion_kernel(length: float, angle: float, *, oversampling: int = 16) -> np.ndarray:
    """Return a normalised, anti-aliased line kernel for linear motion blur.

    The segment of ``length`` pixels, centred on the kernel's centre, is
    sampled ``oversampling`` times per pixel and every sample is spread over
    its four nearest pixels with bilinear weights, so the kernel changes
    smoothly with the length and the angle.

    Parameters
    ----------
    length : float
        Length of the motion, in pixels. Lengths up to 1 give the identity
        kernel ``[[1.0]]``.
    angle : float
        Direction of the motion in degrees, counter-clockwise from the
        image's horizontal (column) axis.
    oversampling : int, default=16
        Samples along the segment per pixel of length.

    Returns
    -------
    kernel : ndarray of shape (K, K), float64
        Odd-sized, non-negative, sums to 1.
    """
    length = check_nonnegative("length", length)
    angle = float(angle)
    if not np.isfinite(angle):
        raise ValueError(f"Expected a finite angle in degrees, got {angle!r}.")
    if length <= 1:
        return np.ones((1, 1))
    half = int(np.ceil(length / 2)) + 1
    size = 2 * half + 1
    n_samples = int(np.ceil(length * oversampling)) + 1
    t = np.linspace(-length / 2, length / 2, n_samples)
    theta = np.deg2rad(angle)
    # Rows grow downwards, so a counter-clockwise angle moves rows up.
    rows = half - t * np.sin(theta)
    cols = half + t * np.cos(theta)
    row0, col0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    drow, dcol = rows - row0, cols - col0
    kernel = np.zeros((size, size))
    for r_off, w_row in ((0, 1 - drow), (1, drow)):
        for c_off, w_col in ((0, 1 - dcol), (1, dcol)):
            np.add.at(kernel, (row0 + r_off, col0 + c_off), w_row * w_col)
    return kernel / kernel.sum()


def motion_blur(image: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Blur an image along a straight line (camera or subject motion).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    length : float
        Length of the motion, in pixels. Lengths up to 1 return the image
        unchanged.
    angle : float
        Direction in degrees, counter-clockwise from the horizontal axis.

    Returns
    -------
    blurred : ndarray of shape (H, W), float32
        Values in [0, 1].

    See Also
    --------
    motion_kernel : the kernel used.
    """
    return _convolve(as_unit_image(image), motion_kernel(length, angle))


def disk_kernel(radius: float) -> np.ndarray:
    """Return a normalised disk kernel with an anti-aliased edge.

    A pixel's weight is its approximate coverage by the disk,
    ``clip(radius + 0.5 - distance, 0, 1)``, which grows continuously with
    ``radius``.

    Parameters
    ----------
    radius : float
        Disk radius in pixels. Radii up to 0.5 give the identity kernel.

    Returns
    -------
    kernel : ndarray of shape (K, K), float64
        Odd-sized, non-negative, sums to 1.
    """
    radius = check_nonnegative("radius", radius)
    half = int(np.ceil(radius))
    offsets = np.arange(-half, half + 1)
    distance = np.hypot(offsets[:, None], offsets[None, :])
    kernel = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    return kernel / kernel.sum()


def defocus_blur(image: np.ndarray, radius: float) -> np.ndarray:
    """Blur an image with a disk kernel (out-of-focus blur).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    radius : float
        Disk radius in pixels. Radii up to 0.5 return the image unchanged.

    Returns
    -------
    blurred : ndarray of shape (H, W), float32
        Values in [0, 1].

    See Also
    --------
    disk_kernel : the kernel used.
    """
    return _convolve(as_unit_image(image), disk_kernel(radius))


def reduce_resolution(image: np.ndarray, factor: float = 2) -> np.ndarray:
    """Lose resolution: downsample by ``factor``, then upsample back.

    Downsampling uses scikit-image's Gaussian anti-aliasing; upsampling is
    bilinear (``order=1``), as a scanner's low-resolution image shown on a
    finer grid usually is. Bilinear rather than cubic because cubic
    interpolation overshoots at edges, adding ringing that looks like detail.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    factor : float, default=2
        Ratio of the original to the reduced size along each axis, >= 1.
        ``1`` returns the image unchanged.

    Returns
    -------
    reduced : ndarray of shape (H, W), float32
        Same shape as ``image``, values in [0, 1].
    """
    image = as_unit_image(image)
    factor = float(factor)
    if not (np.isfinite(factor) and factor >= 1):
        raise ValueError(f"Expected a resolution factor >= 1, got {factor!r}.")
    if factor == 1:
        return image
    small_shape = tuple(max(1, round(n / factor)) for n in image.shape)
    small = resize(image, small_shape, order=1, mode="reflect", anti_aliasing=True)
    back = resize(small, image.shape, order=1, mode="edge", anti_aliasing=False)
    return clip_to_unit(back)

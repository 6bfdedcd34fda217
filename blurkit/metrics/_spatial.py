"""Spatial sharpness metrics: the Laplacian variance and the noise level.

Pure functions of 2-D images. Each ``*_stack`` variant computes the same
quantity for a stack of equally sized images, of shape ``(n, H, W)``, in one
vectorised pass; the single-image functions call them.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_image, as_image_stack

__all__ = [
    "laplacian_variance",
    "laplacian_variance_stack",
    "noise_std",
    "noise_std_stack",
]

_LAPLACIAN_KERNEL = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)

# Immerkaer's noise-estimation mask: the difference of two Laplacians. It
# cancels locally linear structure; on white noise of std s its output has std
# 6 * s (the mask's L2 norm is 6).
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


# Pixels filtered per pass of `_noise_std` (times its step).
_NOISE_PASS_PIXELS = 2**17


def laplacian_variance_stack(stack) -> np.ndarray:
    """Laplacian variance of each image of a stack (see `laplacian_variance`)."""
    from scipy import ndimage

    stack = as_image_stack(stack)
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
    return float(laplacian_variance_stack(as_image(image))[0])


def noise_std_stack(stack) -> np.ndarray:
    """Noise standard deviation of each image of a stack (see `noise_std`)."""
    return _noise_std(as_image_stack(stack))


def _noise_std(stack: np.ndarray, step: int = 1, down=None) -> np.ndarray:
    """`noise_std_stack` of a stack already checked by `_as_stack`.

    With ``step=k`` the median is taken over the response at every k-th
    interior pixel of every k-th row: a robust median needs far fewer than
    all of them, and the cost falls as ``k**2``. Computed in the stack's
    precision; returns float64. ``down``, when given, is
    ``second_difference(stack, axis=1)``, already computed (by the
    sharpness features, which need it at every row): its every ``step``-th
    row is the response's first pass, the same values.
    """
    n, h, w = stack.shape
    if h < 3 or w < 3:
        return np.zeros(n)
    return _noise_std_of(_noise_responses(stack, step=step, down=down))


def _noise_std_of(response: np.ndarray) -> np.ndarray:
    """The noise std from `_noise_responses`' output (sorted in place)."""
    # Median absolute response, scaled to a std for Gaussian noise: robust to
    # the edges of the brain, which only touch a minority of pixels.
    return _row_medians(response.reshape(len(response), -1)) / (0.6745 * 6.0)


def _noise_grid(stack: np.ndarray, step: int = 1) -> np.ndarray:
    """The pixels of `_noise_std`'s grid, a view of ``stack``.

    Every ``step``-th interior pixel of every ``step``-th interior row.
    """
    h, w = stack.shape[1:]
    return stack[:, 1 : h - 1 : step, 1 : w - 1 : step]


def _noise_responses(stack: np.ndarray, step: int = 1, down=None) -> np.ndarray:
    """Absolute noise-filter responses on `_noise_grid`, (n, rows, columns)."""
    n, h, w = stack.shape
    shape = _noise_grid(stack[:0], step).shape[1:]
    response = np.empty((n, *shape), dtype=stack.dtype)
    # A few images at a time keep the temporaries (a step-th of the rows) in
    # the processor's cache: about 8 images of 120x120 at step 1, and a
    # whole block of features (16) at step 3 in one go.
    per_pass = max(1, _NOISE_PASS_PIXELS * step // (h * w))
    for start in range(0, n, per_pass):
        block = slice(start, start + per_pass)
        _noise_response(
            stack[block],
            out=response[block],
            step=step,
            down=None if down is None else down[block],
        )
    return response


def _noise_response(stack: np.ndarray, out: np.ndarray, step: int = 1, down=None):
    """Absolute response to `_NOISE_MASK` of the interior pixels of a stack.

    The mask is the outer product of ``(1, -2, 1)`` with itself, so it is
    applied as two second differences: down the columns first, on whole
    rows, whose contiguous runs numpy vectorises, then along the rows, on
    the ``step``-th of the rows only. The weights are powers of two, so on
    integer grey levels (as float32) every step is exact. ``step`` keeps
    every ``step``-th interior pixel of every ``step``-th interior row.
    ``down`` is the first pass at every row, if already computed (see
    `_noise_std`).
    """
    if down is None:
        columns = second_difference(stack, axis=1, step=step)
    else:
        columns = down[:, ::step]
    second_difference(columns, axis=2, step=step, out=out)
    np.abs(out, out=out)


def second_difference(stack, axis, *, step=1, out=None):
    """``x[i - 1] - 2 x[i] + x[i + 1]`` along ``axis`` of a stack (1 or 2).

    For every ``step``-th interior position ``i`` along that axis, all
    positions along the others. Computed as ``(x[i - 1] + x[i + 1]) - x[i]
    - x[i]``, into ``out`` when given (of the result's shape), else into a
    new array: on integer grey levels (as float32) every step is exact.
    """
    n = stack.shape[axis]

    def along(start, stop):
        index = [slice(None)] * stack.ndim
        index[axis] = slice(start, stop, step)
        return stack[tuple(index)]

    out = np.add(along(0, n - 2), along(2, n), out=out)
    middle = along(1, n - 1)
    out -= middle
    out -= middle
    return out


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
    return float(noise_std_stack(as_image(image))[0])

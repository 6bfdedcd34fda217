"""Validation of image batches passed to blurkit's estimators."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ._metrics import check_magnitude

__all__ = ["MIN_IMAGE_SIZE", "check_image_size", "check_images", "group_by_shape"]

MIN_IMAGE_SIZE = 16
"""Smallest height and width, in pixels, of an image blurkit's models judge.

Below it the image's spectrum has no frequency in the reference band of
:class:`~blurkit.SharpnessFeatures` (0.05 to 0.15 of the Nyquist frequency,
whose lowest non-zero frequency on an ``n``-pixel side is ``2 / n``), so
every image reads as holding no detail and the prediction means nothing.
"""


def _square_side(n_pixels: int) -> int | None:
    side = math.isqrt(n_pixels)
    return side if side * side == n_pixels else None


def _is_image_list(X) -> bool:
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(np.ndim(image) == 2 for image in X)
    )


def check_images(X, *, image_shape=None, estimator=None, reset=True):
    """Validate a batch of images and return it as a list of 2-D float arrays.

    Parameters
    ----------
    X : ndarray of shape (n, H, W), ndarray of shape (n, H * W), or list
        The images. A 3-D array is a stack of equally sized images. A list of
        2-D arrays holds images, possibly of different sizes. A 2-D array (or
        a pandas DataFrame) holds one flattened image per row: it is reshaped
        to ``image_shape`` when given, else to a square when the row length is
        a perfect square, else each row is read as an image one pixel high.
        This is what lets blurkit's estimators pass scikit-learn's common
        checks, which feed 2-D tables.
    image_shape : tuple of int, default=None
        Shape of the images behind the rows of a 2-D ``X``.
    estimator : estimator instance, default=None
        When given and ``X`` is a 2-D table, its ``n_features_in_`` is set
        (``reset=True``) or checked (``reset=False``) as scikit-learn does.
        Image input leaves it unset: images of any size are accepted.
    reset : bool, default=True
        Whether this call comes from ``fit``.

    Returns
    -------
    list of ndarray
        The images as float64 2-D arrays (views where possible).

    Raises
    ------
    ValueError
        For an empty batch, images with no pixels, non-numeric, sparse or
        complex input, NaN or infinite values, values of magnitude above
        :data:`blurkit._metrics.MAX_ABS_VALUE` (1e100, whose squares
        overflow), or a table whose rows do not match ``image_shape``.
    """
    images = _check_images(X, image_shape=image_shape, estimator=estimator, reset=reset)
    for image in images:
        check_magnitude(image)
    return images


def _check_images(X, *, image_shape, estimator, reset):
    # Imported here: the command line's lightweight predictors use this
    # module without scikit-learn.
    from sklearn.utils import check_array
    from sklearn.utils.validation import validate_data

    if _is_image_list(X):
        images = [
            check_array(image, dtype=np.float64, input_name=f"image {i}")
            for i, image in enumerate(X)
        ]
        if estimator is not None and reset and hasattr(estimator, "n_features_in_"):
            del estimator.n_features_in_
        return images
    X_checked = check_array(X, dtype=np.float64, allow_nd=True)
    if estimator is not None and X_checked.ndim == 2:
        X_checked = validate_data(estimator, X, dtype=np.float64, reset=reset)
    elif estimator is not None and reset and hasattr(estimator, "n_features_in_"):
        del estimator.n_features_in_
    X = X_checked
    if X.ndim == 3:
        if 0 in X.shape[1:]:
            raise ValueError(f"Expected non-empty images; got shape {X.shape}.")
        return list(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected images as an array of shape (n, H, W) or (n, H * W), or a "
            f"list of 2-D arrays; got an array of shape {X.shape}."
        )
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if math.prod(shape) != X.shape[1]:
            raise ValueError(
                f"image_shape={shape} holds {math.prod(shape)} pixels, but each "
                f"row of X has {X.shape[1]}."
            )
    else:
        side = _square_side(X.shape[1])
        shape = (side, side) if side else (1, X.shape[1])
    return list(X.reshape(len(X), *shape))


def check_image_size(images, *, min_size=MIN_IMAGE_SIZE, names=None):
    """Raise a ValueError if an image is smaller than ``min_size`` on a side.

    Parameters
    ----------
    images : list of ndarray
        2-D images, as returned by :func:`check_images`.
    min_size : int, default=MIN_IMAGE_SIZE
        Smallest accepted height and width.
    names : sequence of str, default=None
        What to call each image in the message (e.g. its file); by default
        ``image <position>``.

    Raises
    ------
    ValueError
        Naming the first image that is too small, its shape and the minimum.
    """
    for i, image in enumerate(images):
        if min(image.shape) < min_size:
            name = f"image {i}" if names is None else names[i]
            raise ValueError(
                f"{name} is {image.shape[0]}x{image.shape[1]} pixels; blurkit "
                f"needs at least {min_size}x{min_size} pixels to judge sharpness"
            )


def group_by_shape(images) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group images by shape, for vectorised computation.

    Returns a list of ``(indices, stack)`` pairs, where ``stack`` of shape
    (k, H, W) holds the images at positions ``indices``, in input order.
    """
    positions = defaultdict(list)
    for i, image in enumerate(images):
        positions[image.shape].append(i)
    return [
        (np.asarray(idx), np.stack([images[i] for i in idx]))
        for idx in positions.values()
    ]

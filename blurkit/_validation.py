"""The one place where blurkit checks its inputs.

Every layer validates through these functions, so that an image, a batch, a
random state or a pixel conversion means the same everywhere:

- :func:`as_image_stack` and :func:`as_image`: numeric, non-empty, finite
  images (the metrics, the CNN's inference);
- :func:`as_unit_image`: an image with values in [0, 1] (degradations, image
  writing);
- :func:`check_images`: a batch given to an estimator, in any of the forms
  scikit-learn's checks feed (arrays, lists, 2-D tables);
- :func:`to_uint8` and :func:`from_uint8`: the one conversion between [0, 1]
  floats and 8-bit grey levels;
- :func:`as_generator`: the one random-state rule;
- :func:`stack_if_same_shape` and :func:`group_by_shape`: batches of images
  of one or several sizes.

It imports numpy only (scikit-learn and scikit-image inside the functions
that need them), so that the command line's lightweight predictors can use it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from numbers import Integral
from typing import Any

import numpy as np

__all__ = [
    "FLOAT_DTYPES",
    "MAX_ABS_VALUE",
    "MIN_IMAGE_SIZE",
    "as_generator",
    "as_image",
    "as_image_stack",
    "as_unit_image",
    "check_image_size",
    "check_images",
    "check_magnitude",
    "check_nonnegative",
    "clip_to_unit",
    "constant_images",
    "from_uint8",
    "group_by_shape",
    "stack_if_same_shape",
    "to_uint8",
]

MAX_ABS_VALUE = 1e100
"""Largest intensity magnitude the metrics accept.

Powers and variances square the intensities and sum them over the image, which
overflows float64 beyond about 1e150; images are meant to be in [0, 1].
"""

# Values this far outside [0, 1] are float rounding, not a wrong scale.
_RANGE_TOLERANCE = 1e-6


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


def as_image_stack(images, *, dtype=None) -> np.ndarray:
    """Return ``images`` as a checked float array of shape (n, H, W).

    Parameters
    ----------
    images : array-like of shape (H, W) or (n, H, W)
        One image or a stack of equally sized images.
    dtype : {None, numpy.float32, numpy.float64}, default=None
        None keeps float32 input in float32 (what :func:`blurkit.read_image`
        returns) and makes anything else float64.

    Raises
    ------
    ValueError
        For another number of dimensions, no image, images without pixels,
        NaN or infinite values, or magnitudes above :data:`MAX_ABS_VALUE`.
    """
    stack = np.asarray(images)
    if dtype is None:
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
    if not len(stack):
        raise ValueError(
            f"Expected at least one image; got an empty stack of shape {stack.shape}."
        )
    check_magnitude(stack)
    return stack


def as_image(image, *, dtype=np.float64) -> np.ndarray:
    """Return one image as a checked 2-D float array (see `as_image_stack`)."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"Expected a 2-D image; got an array of shape {image.shape}.")
    return as_image_stack(image, dtype=dtype)[0]


def as_unit_image(image: Any) -> np.ndarray:
    """Return ``image`` as a new 2-D float32 array in [0, 1], or raise.

    Integer and boolean images are rescaled from their type's range (an
    8-bit image is divided by 255); floating-point images must already lie in
    [0, 1] (up to rounding, 1e-6), and are clipped to it.

    Raises
    ------
    ValueError
        For an image that is not 2-D, is empty, holds NaN or infinite values,
        or floats outside [0, 1].
    TypeError
        For a non-numeric image.
    """
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(
            f"Expected a 2-D grey image, got an array of shape {array.shape}."
        )
    if array.size == 0:
        raise ValueError(f"Expected a non-empty image, got shape {array.shape}.")
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        from skimage.util import img_as_float32

        return img_as_float32(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"Expected a numeric image, got dtype {array.dtype}.")
    array = array.astype(np.float32)  # always a copy
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError("Expected a finite image, got NaN or infinite values.")
    if low < -_RANGE_TOLERANCE or high > 1 + _RANGE_TOLERANCE:
        raise ValueError(
            f"Expected image values in [0, 1], got the range [{low:g}, {high:g}]."
        )
    return np.clip(array, 0.0, 1.0, out=array)


def check_nonnegative(name: str, value: float) -> float:
    """``value`` as a float, or a ValueError unless it is finite and >= 0."""
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"Expected {name} to be a finite number >= 0, got {value!r}.")
    return value


def clip_to_unit(image: np.ndarray) -> np.ndarray:
    """``image`` clipped to [0, 1], as float32: the end of every degradation."""
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def to_uint8(image) -> np.ndarray:
    """Grey levels of an image in [0, 1]: ``rint(255 * clip(image, 0, 1))``.

    Rounds half to even, like every 8-bit conversion in blurkit.
    """
    levels = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255
    return np.rint(levels).astype(np.uint8)


def from_uint8(levels: np.ndarray) -> np.ndarray:
    """8-bit grey levels (uint8, any shape) as float32 in [0, 1]; else as is.

    float32 division is correctly rounded: each level becomes the float32
    nearest to ``level / 255``.
    """
    if levels.dtype != np.uint8:
        return levels
    grey = levels.astype(np.float32)
    grey /= np.float32(255)
    return grey


def as_generator(random_state: Any) -> np.random.Generator:
    """The one random-state rule of blurkit: a numpy Generator.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator, RandomState or SeedSequence
        None gives fresh entropy; an int or a SeedSequence seeds a new
        Generator; a Generator is used as it is (so successive calls draw
        different numbers); a legacy RandomState seeds a new Generator from
        one of its draws.

    Raises
    ------
    ValueError
        For any other value.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if (
        random_state is None
        or isinstance(random_state, np.random.SeedSequence)
        or (isinstance(random_state, Integral) and not isinstance(random_state, bool))
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        "Expected random_state to be None, an int, a numpy Generator, "
        f"RandomState or SeedSequence, got {random_state!r}."
    )


def stack_if_same_shape(images, *, dtype=None):
    """One ``(n, H, W)`` array when all images share a shape; else the list.

    ``dtype`` (default: kept) is applied to the stack only.
    """
    images = list(images)
    if images and all(image.shape == images[0].shape for image in images):
        return np.stack(images).astype(dtype or images[0].dtype, copy=False)
    return images


def constant_images(images) -> np.ndarray:
    """Which images hold a single value: a boolean per image of a stack or list.

    Such an image holds no detail at all, so blurkit's models call it
    blurred, whatever their features would extrapolate to.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        flat = images.reshape(len(images), -1)
        return flat.min(axis=1) == flat.max(axis=1)
    return np.array([np.min(image) == np.max(image) for image in images], dtype=bool)


MIN_IMAGE_SIZE = 16
"""Smallest height and width, in pixels, of an image blurkit's models judge.

Below it the image's spectrum has no frequency in the reference band of
:class:`~blurkit.SharpnessFeatures` (0.05 to 0.15 of the Nyquist frequency,
whose lowest non-zero frequency on an ``n``-pixel side is ``2 / n``), so
every image reads as holding no detail and the prediction means nothing.
"""


FLOAT_DTYPES = (np.float64, np.float32)
"""`check_images`'s ``dtype`` for consumers that compute in float32 anyway.

The sharpness features, the sigma regressor and the CNN convert every image
to float32: float32 images (what blurkit reads and augments) are kept as they
are rather than copied to float64 first, and give the very same results.
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


def check_images(X, *, image_shape=None, estimator=None, reset=True, dtype=np.float64):
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
    dtype : numpy dtype or tuple of them, default=numpy.float64
        The images' dtype. With a tuple, as scikit-learn's ``check_array``
        takes a list: images of one of its dtypes are kept as they are,
        others are converted to the first. A consumer that computes in
        float32 anyway passes `FLOAT_DTYPES`, sparing float32 images a
        float64 copy.

    Returns
    -------
    list of ndarray
        The images as 2-D arrays of ``dtype`` (views where possible).

    Raises
    ------
    ValueError
        For an empty batch, images with no pixels, non-numeric, sparse or
        complex input, NaN or infinite values, values of magnitude above
        :data:`MAX_ABS_VALUE` (1e100, whose squares
        overflow), or a table whose rows do not match ``image_shape``.
    """
    dtypes = tuple(map(np.dtype, dtype if isinstance(dtype, tuple) else [dtype]))
    # scikit-learn's finiteness check sums the values: finite values near the
    # float64 limit overflow there with a RuntimeWarning, before the
    # magnitude check below refuses them with its own message.
    with np.errstate(over="ignore", invalid="ignore"):
        images = _check_images(
            X, image_shape=image_shape, estimator=estimator, reset=reset, dtypes=dtypes
        )
    for image in images:
        check_magnitude(image)
    return images


def _is_plain_image(image) -> bool:
    """A non-empty 2-D real ndarray of finite values: what check_array accepts
    as is. The augmentation hands over lists of thousands of such images,
    where check_array's own overhead (about 0.15 ms each) was a quarter of a
    training's time; anything else goes through check_array and its errors.
    """
    if not (
        isinstance(image, np.ndarray)
        and image.ndim == 2
        and image.size
        and image.dtype.kind in "fiub"
    ):
        return False
    return image.dtype.kind != "f" or bool(np.isfinite(image).all())


def _check_images(X, *, image_shape, estimator, reset, dtypes):
    # Imported here: the command line's lightweight predictors use this
    # module without scikit-learn.
    from sklearn.utils import check_array
    from sklearn.utils.validation import validate_data

    # check_array's convention: a list keeps its dtypes, a dtype converts.
    dtype = list(dtypes) if len(dtypes) > 1 else dtypes[0]
    if _is_image_list(X):
        images = [
            (image if image.dtype in dtypes else image.astype(dtypes[0]))
            if _is_plain_image(image)
            else check_array(image, dtype=dtype, input_name=f"image {i}")
            for i, image in enumerate(X)
        ]
        if estimator is not None and reset and hasattr(estimator, "n_features_in_"):
            del estimator.n_features_in_
        return images
    X_checked = check_array(X, dtype=dtype, allow_nd=True)
    if estimator is not None and X_checked.ndim == 2:
        X_checked = validate_data(estimator, X, dtype=dtype, reset=reset)
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


def group_by_shape(images, max_bytes=2**24):
    """Group images by shape, for vectorised computation.

    Yields ``(indices, stack)`` pairs, where ``stack`` of shape (k, H, W)
    holds the images at positions ``indices``, in input order.

    Parameters
    ----------
    images : list of ndarray
        2-D images.
    max_bytes : int or None, default=2**24
        Largest stack to build (16 MiB): a larger group of one shape comes as
        several stacks, built one at a time, so that a thousand training
        images are never copied at once: a small stack reuses the memory of
        the one before, where fresh memory for a 100 MB stack cost up to a
        second on a virtual machine (see ``blurkit._process``). Each stack
        but the last holds a power of two images (at least one), so that
        code working in blocks of a power of two images computes the very
        same blocks, and results, as on the whole group: the features work
        16 at a time, and 16 MiB hold 128 slices of 121x121 in float64. None
        builds one stack per shape.
    """
    positions = defaultdict(list)
    for i, image in enumerate(images):
        positions[image.shape].append(i)
    for idx in positions.values():
        step = len(idx)
        fit = max_bytes // max(images[idx[0]].nbytes, 1) if max_bytes else step
        if fit < step:
            step = 1 << (max(fit, 1).bit_length() - 1)  # a power of two
        for start in range(0, len(idx), step):
            part = idx[start : start + step]
            yield np.asarray(part), np.stack([images[i] for i in part])

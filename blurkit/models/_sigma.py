"""Blur severity: the equivalent Gaussian sigma of a slice."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._threads import one_openmp_thread
from .._validation import FLOAT_DTYPES, as_generator, check_images
from ..degrade import add_noise, gaussian_blur
from ..features import SharpnessFeatures

__all__ = ["BlurSigmaRegressor", "make_sigma_training_set"]

# Narrow bands: a Gaussian's attenuation, 4 pi^2 sigma^2 f^2, is read off the
# shape of the spectrum, so the regressor needs it finely sampled.
SIGMA_BAND_EDGES = (
    0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7,
    0.8, 1.0,
)  # fmt: skip


def make_sigma_training_set(
    images, *, n_copies=12, sigma_max=4.5, noise_max=0.05, random_state=None
):
    """Blur sharp images with known Gaussian sigmas, to train a sigma regressor.

    Parameters
    ----------
    images : ndarray of shape (n, H, W) or list of 2-D arrays
        Sharp images, intensities in [0, 1].
    n_copies : int, default=12
        Blurred copies per image.
    sigma_max : float, default=4.5
        Sigmas are drawn uniformly in ``[0, sigma_max]`` pixels; one copy in
        ten is left unblurred (sigma 0).
    noise_max : float, default=0.05
        Half of the copies get additive Gaussian noise with a standard
        deviation drawn uniformly in ``[0, noise_max]`` (fraction of the
        intensity range), after the blur.
    random_state : int, RandomState instance or None, default=None
        Seed of every random draw.

    Returns
    -------
    blurred : list of ndarray
        ``n * n_copies`` images.
    sigmas : ndarray of shape (n * n_copies,)
        The sigma, in pixels, applied to each.
    """
    rng = as_generator(random_state)
    blurred, sigmas = [], []
    for image in check_images(images):
        for _ in range(int(n_copies)):
            sigma = 0.0 if rng.uniform() < 0.1 else rng.uniform(0.0, sigma_max)
            copy = gaussian_blur(image, sigma)
            if rng.uniform() < 0.5:
                noise = rng.uniform(0.0, noise_max)
                copy = add_noise(copy, noise, random_state=rng.integers(2**31))
            blurred.append(copy)
            sigmas.append(sigma)
    return blurred, np.asarray(sigmas)


class BlurSigmaRegressor(RegressorMixin, BaseEstimator):
    """Estimate the equivalent Gaussian blur of images, in pixels.

    A gradient-boosting regressor on the noise-corrected band-power profile
    of each image (:class:`SharpnessFeatures` with narrow bands). Train it on
    images whose blur is known, e.g. from :func:`make_sigma_training_set`;
    :class:`blurkit.BlurDetector` does this for you from the sharp training
    images.

    Parameters
    ----------
    max_iter : int, default=300
        Boosting iterations.
    learning_rate : float, default=0.05
        Boosting learning rate.
    random_state : int, RandomState instance or None, default=None
        Seed of the boosting's random steps.

    Attributes
    ----------
    model_ : Pipeline
        The fitted feature extractor and regressor.

    Notes
    -----
    The estimate is the sigma that, applied to a sharp training slice, gives
    the same spectrum shape; it is relative to the sharpness of the training
    slices, not to an ideal image. It is a ratio of powers, hence unchanged
    by intensity scaling, and the noise floor is subtracted before the ratio.
    Multiply by the pixel spacing for millimetres.
    """

    def __init__(self, *, max_iter=300, learning_rate=0.05, random_state=None):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the regressor.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
            Images.
        y : array-like of shape (n,)
            Their Gaussian blur sigma, in pixels.

        Returns
        -------
        self : object
        """
        images = check_images(X, dtype=FLOAT_DTYPES)
        y = column_or_1d(y, warn=True).astype(np.float64)
        if len(y) != len(images):
            raise ValueError(f"Got {len(images)} images but {len(y)} sigma values.")
        self.model_ = make_pipeline(
            SharpnessFeatures(
                band_edges=SIGMA_BAND_EDGES,
                n_orientations=1,
                resampling=False,
                outer=False,
            ),
            HistGradientBoostingRegressor(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                random_state=self.random_state,
            ),
        )
        # Gradient boosting on a few thousand rows gains nothing from OpenMP
        # threads, and on a busy machine they can slow a fit a hundredfold.
        with one_openmp_thread():
            self.model_.fit(images, y)
        return self

    def predict(self, X):
        """Estimated sigma of each image, in pixels (never negative).

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
            Images.

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self)
        # The features step validates X: a second float64 copy of the images
        # here would double the memory a large image takes.
        with one_openmp_thread():
            return np.maximum(self.model_.predict(X), 0.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

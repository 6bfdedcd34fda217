"""BlurDetector: the classifier and the blur-severity estimate, in one estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._geometry import PIXEL_SPACING_MM
from .._validation import check_image_size, check_images, stack_if_same_shape
from ._predictor import blur_constant_images
from ._selection import make_model_search
from ._sigma import BlurSigmaRegressor, make_sigma_training_set

__all__ = ["BlurDetector"]


class BlurDetector(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Sharp-or-blurred classifier with a blur-severity estimate.

    The model that ``blurkit train`` fits: a classifier (by default a
    cross-validated search across model families, see
    :func:`make_model_search`) and a :class:`BlurSigmaRegressor` trained on
    the sharp training images blurred with known sigmas.

    Parameters
    ----------
    classifier : estimator, default=None
        Any classifier of images; None means
        ``make_model_search("features", random_state=random_state)``.
    sigma_estimator : regressor or None, default="auto"
        "auto" means ``BlurSigmaRegressor(random_state=random_state)``; None
        skips the sigma estimate.
    pixel_spacing : float, default=1.5
        Pixel size in millimetres, for :meth:`predict_sigma` in mm (the
        challenge's 1.5 mm MNI grid).
    random_state : int or None, default=None
        Seed of every random step.

    Attributes
    ----------
    classifier_ : estimator
        The fitted classifier (a fitted GridSearchCV by default).
    sigma_estimator_ : BlurSigmaRegressor or None
    classes_ : ndarray of shape (2,)
    training_summary_ : dict
        Number of images, classes and image shapes seen in ``fit``.

    Notes
    -----
    Images must be at least 16x16 pixels
    (:data:`blurkit.MIN_IMAGE_SIZE`), in ``fit`` and in every
    prediction: smaller ones hold no frequency in the features' reference
    band, so the model cannot judge them and a ValueError says so. Constant
    images are judged (blurred, since they hold no detail); non-finite values
    raise scikit-learn's ValueError.
    """

    def __init__(
        self,
        *,
        classifier=None,
        sigma_estimator="auto",
        pixel_spacing=PIXEL_SPACING_MM,
        random_state=None,
    ):
        self.classifier = classifier
        self.sigma_estimator = sigma_estimator
        self.pixel_spacing = pixel_spacing
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the classifier and the sigma estimator.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
            Training images, intensities in [0, 1].
        y : array-like of shape (n,)
            1 for sharp, 0 for blurred.

        Returns
        -------
        self : object
        """
        images = check_images(X)
        check_image_size(images)
        y = column_or_1d(y, warn=True)
        if self.classifier is None:
            classifier = make_model_search("features", random_state=self.random_state)
        else:
            classifier = clone(self.classifier)
        stack = stack_if_same_shape(images)
        self.classifier_ = classifier.fit(stack, y)
        self.classes_ = self.classifier_.classes_
        if self.sigma_estimator is None:
            self.sigma_estimator_ = None
        else:
            sharp = [
                image for image, label in zip(images, y, strict=True) if label == 1
            ]
            if not sharp:
                raise ValueError("Training the sigma estimator needs sharp images.")
            blurred, sigmas = make_sigma_training_set(
                sharp, random_state=self.random_state
            )
            estimator = (
                BlurSigmaRegressor(random_state=self.random_state)
                if isinstance(self.sigma_estimator, str)
                else clone(self.sigma_estimator)
            )
            self.sigma_estimator_ = estimator.fit(blurred, sigmas)
        shapes = sorted({image.shape for image in images})
        self.training_summary_ = {
            "n_images": len(images),
            "classes": {int(c): int(np.sum(y == c)) for c in np.unique(y)},
            "image_shapes": [list(s) for s in shapes],
        }
        return self

    def predict(self, X):
        """Predict 1 (sharp) or 0 (blurred) for each image."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_proba(self, X):
        """Probabilities of blurred (column 0) and sharp (column 1).

        A constant image holds no detail: it is blurred, with probability 1.
        """
        check_is_fitted(self)
        images = check_images(X)
        check_image_size(images)
        proba = self.classifier_.predict_proba(X)
        return blur_constant_images(proba, images, self.classes_)

    def predict_sigma(self, X, *, unit="px"):
        """Estimated equivalent Gaussian blur of each image.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
        unit : {"px", "mm"}, default="px"
            Pixels, or millimetres using ``pixel_spacing``.

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self)
        if self.sigma_estimator_ is None:
            raise ValueError("This BlurDetector was fitted with sigma_estimator=None.")
        if unit not in ("px", "mm"):
            raise ValueError(f"unit must be 'px' or 'mm'; got {unit!r}.")
        check_image_size(check_images(X))
        sigma = self.sigma_estimator_.predict(X)
        return sigma * self.pixel_spacing if unit == "mm" else sigma

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

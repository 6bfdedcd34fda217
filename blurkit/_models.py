"""Models: the feature pipeline, the CNN, the hybrid, and model selection.

Everything here is an estimator or a factory of estimators; nothing reads or
writes files. The CNN (and torch) is imported only when a CNN or hybrid model
is built.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._augment import AugmentedClassifier, DegradationAugmenter
from ._sigma import BlurSigmaRegressor, make_sigma_training_set
from ._transformers import SharpnessFeatures
from ._validation import check_image_size, check_images

__all__ = [
    "FAMILIES",
    "default_param_grid",
    "BlurDetector",
    "cv_results_table",
    "degraded_accuracy",
    "make_classifier",
    "make_feature_pipeline",
    "make_hybrid",
    "make_model_search",
]

FAMILIES = ("features", "cnn", "hybrid")

# The CNN inside the hybrid is fitted three times per fit of the hybrid (its
# stacking folds, then all data): a short schedule keeps the hybrid's share
# of a search small. The CNN family itself trains on the default schedule
# (up to 20 epochs, with early stopping), which makes it more robust.
_SEARCH_CNN_PARAMS = {"max_epochs": 6}


def make_feature_pipeline(*, C=10.0, features=None):
    """The feature-based classifier: sharpness features, scaling, logistic model.

    Parameters
    ----------
    C : float, default=10.0
        Inverse regularisation strength of the logistic regression.
    features : transformer, default=None
        The feature extractor; None means :class:`SharpnessFeatures`.

    Returns
    -------
    Pipeline
        Steps ``features``, ``scale`` and ``classify``.
    """
    return Pipeline(
        [
            ("features", SharpnessFeatures() if features is None else features),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=C, max_iter=5000)),
        ]
    )


def _make_cnn(random_state=None, **params):
    from ._cnn import BlurNetClassifier

    return BlurNetClassifier(random_state=random_state, **params)


def _log_odds(proba):
    """Log-odds of probabilities, clipped to +-13.8 (probabilities 1e-6)."""
    proba = np.clip(proba, 1e-6, 1 - 1e-6)
    return np.log(proba) - np.log1p(-proba)


def make_hybrid(*, random_state=None, cnn_params=None):
    """Stack the feature pipeline and the CNN.

    The hybrid is a :class:`~sklearn.ensemble.StackingClassifier`: the
    feature pipeline and the CNN are each fitted on the images, and a
    logistic regression combines the log-odds of their out-of-fold
    probabilities (internal 2-fold stratified cross-validation). On log-odds
    a confident model outweighs a hesitant one, as it should: the feature
    model is near-certain on most images, the CNN rarely is.

    Why stacking rather than one network fed with the features as a second
    input: the meta-model has three parameters, so it cannot overfit the 320
    challenge images; each base model keeps its own invariances (the features
    are exactly scale- and size-free, the CNN learns local patterns); and each
    part stays usable and testable on its own. A joint network would have to
    learn the invariances the features already have, from data that only
    shows heavy blur.

    Parameters
    ----------
    random_state : int or None, default=None
        Seed of the CNN and of the internal folds.
    cnn_params : dict, default=None
        Extra parameters of :class:`BlurNetClassifier`.

    Returns
    -------
    StackingClassifier
        With base estimators ``features`` and ``cnn``.
    """
    return StackingClassifier(
        estimators=[
            ("features", make_feature_pipeline()),
            ("cnn", _make_cnn(random_state=random_state, **(cnn_params or {}))),
        ],
        final_estimator=make_pipeline(
            FunctionTransformer(_log_odds, feature_names_out="one-to-one"),
            LogisticRegression(),
        ),
        cv=StratifiedKFold(2, shuffle=True, random_state=random_state),
        stack_method="predict_proba",
    )


def make_classifier(family="features", *, augment=True, random_state=None):
    """One model family, optionally trained on degraded copies of its data.

    Parameters
    ----------
    family : {"features", "cnn", "hybrid"}, default="features"
        The model family.
    augment : bool, default=True
        Wrap the model in :class:`AugmentedClassifier`, so that ``fit`` adds
        degraded copies of the training images (see
        :class:`DegradationAugmenter`). This is what makes the model robust to
        mild blur, noise and contrast changes the training data never shows.
    random_state : int or None, default=None
        Seed of the augmentation and of the CNN.

    Returns
    -------
    estimator
    """
    if family == "features":
        model = make_feature_pipeline()
    elif family == "cnn":
        model = _make_cnn(random_state=random_state)
    elif family == "hybrid":
        model = make_hybrid(random_state=random_state)
    else:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}.")
    if not augment:
        return model
    return AugmentedClassifier(
        model,
        augmenter=DegradationAugmenter(n_copies=4, random_state=random_state),
        random_state=random_state,
    )


def default_param_grid(family="auto", *, random_state=None):
    """A small, meaningful grid per family, for :func:`make_model_search`.

    - features: the logistic regression's ``C`` (how far to trust the
      features) and whether the noise floor is subtracted.
    - cnn: the number of filters (4 or 8).
    - hybrid: the stacked model as is.

    Parameters
    ----------
    family : {"auto", "features", "cnn", "hybrid"}, default="auto"
        "auto" gives the grids of all families, for selection across them.
    random_state : int or None, default=None
        Seed of the CNN inside the candidates.

    Returns
    -------
    list of dict
        Grids over an :class:`AugmentedClassifier`'s parameters.
    """
    families = FAMILIES if family == "auto" else (family,)
    grids = []
    for name in families:
        if name == "features":
            grids.append(
                {
                    "estimator": [make_feature_pipeline()],
                    "estimator__classify__C": [1.0, 10.0, 100.0],
                }
            )
        elif name == "cnn":
            grids.append(
                {
                    "estimator": [_make_cnn(random_state=random_state)],
                    "estimator__module__n_filters": [4, 8],
                }
            )
        elif name == "hybrid":
            grids.append(
                {
                    "estimator": [
                        make_hybrid(
                            random_state=random_state, cnn_params=_SEARCH_CNN_PARAMS
                        )
                    ],
                }
            )
        else:
            raise ValueError(
                f"family must be 'auto' or one of {FAMILIES}; got {family!r}."
            )
    return grids


def degraded_accuracy(estimator, X, y, *, n_copies=2, random_state=0):
    """Accuracy on images and degraded copies of them: a robustness score.

    A scorer with scikit-learn's signature, for model selection: the held-out
    images of each fold, plus ``n_copies`` degraded copies of each (seeded,
    labelled by the robustness contract, see :class:`DegradationAugmenter`).
    On the challenge data every candidate scores 100% on clean images; this
    score tells them apart by how well they resist what the data never shows.

    Parameters
    ----------
    estimator : fitted classifier
    X : ndarray of shape (n, H, W) or list of 2-D arrays
    y : array-like of shape (n,)
    n_copies : int, default=2
    random_state : int, default=0

    Returns
    -------
    float
    """
    augmenter = DegradationAugmenter(n_copies=n_copies, random_state=random_state)
    X_aug, y_aug = augmenter.fit_resample(X, y)
    return accuracy_score(y_aug, estimator.predict(X_aug))


def make_model_search(
    family="auto",
    *,
    param_grid=None,
    cv=3,
    scoring=degraded_accuracy,
    random_state=0,
    n_jobs=None,
    verbose=0,
):
    """Cross-validated model selection across blurkit's model families.

    Parameters
    ----------
    family : {"auto", "features", "cnn", "hybrid"}, default="auto"
        Which families compete; "auto" selects among all three.
    param_grid : dict or list of dict, default=None
        Your own grid over an :class:`AugmentedClassifier`'s parameters
        (``estimator``, ``estimator__...``, ``augmenter__...``); None uses
        :func:`default_param_grid`.
    cv : int or cross-validation splitter, default=3
        An int means that many stratified, shuffled folds seeded with
        ``random_state``.
    scoring : str or callable, default=degraded_accuracy
        Model-selection score; see :func:`degraded_accuracy`.
    random_state : int, default=0
        Seed of the folds, the augmentation and the CNN.
    n_jobs : int, default=None
        Parallel fits (joblib); works with joblib's Dask backend.
    verbose : int, default=0
        GridSearchCV's verbosity.

    Returns
    -------
    GridSearchCV
        Unfitted; ``refit=True``, so the best candidate is refitted on all
        the training data.
    """
    if param_grid is None:
        param_grid = default_param_grid(family, random_state=random_state)
    if isinstance(cv, int):
        cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return GridSearchCV(
        make_classifier("features", random_state=random_state),
        param_grid,
        cv=cv,
        scoring=scoring,
        n_jobs=n_jobs,
        verbose=verbose,
        refit=True,
        error_score="raise",
    )


def _describe_candidate(params):
    parts = []
    for key, value in params.items():
        if key == "estimator":
            parts.insert(0, _family_of(value))
        elif key == "augmenter":
            continue
        else:
            parts.append(f"{key.removeprefix('estimator__')}={value}")
    return " ".join(parts)


def _family_of(estimator):
    if isinstance(estimator, AugmentedClassifier):
        estimator = estimator.estimator
    if isinstance(estimator, StackingClassifier):
        return "hybrid"
    if isinstance(estimator, Pipeline):
        return "features"
    return "cnn"


def cv_results_table(search):
    """The cross-validation table of a fitted search, best first.

    Parameters
    ----------
    search : fitted GridSearchCV

    Returns
    -------
    pandas.DataFrame
        Columns ``candidate``, ``mean_score``, ``std_score``, ``mean_fit_s``,
        ``rank``.
    """
    results = search.cv_results_
    table = pd.DataFrame(
        {
            "candidate": [_describe_candidate(p) for p in results["params"]],
            "mean_score": results["mean_test_score"],
            "std_score": results["std_test_score"],
            "mean_fit_s": results["mean_fit_time"],
            "rank": results["rank_test_score"],
        }
    )
    # Ties keep the candidates' order, as GridSearchCV's best_index_ does.
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


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
    (:data:`blurkit._validation.MIN_IMAGE_SIZE`), in ``fit`` and in every
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
        pixel_spacing=1.5,
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
        stack = np.stack(images) if len({i.shape for i in images}) == 1 else images
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
        check_is_fitted(self)
        check_image_size(check_images(X))
        return self.classifier_.predict(X)

    def predict_proba(self, X):
        """Probabilities of blurred (column 0) and sharp (column 1)."""
        check_is_fitted(self)
        check_image_size(check_images(X))
        return self.classifier_.predict_proba(X)

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

"""Lightweight predictors: a fitted model's predictions without scikit-learn.

A short ``blurkit predict`` run would spend most of its time importing
scikit-learn, skops and skorch and rebuilding the estimator from the model
file. For the two model families that most files hold, :func:`save_model
<blurkit.save_model>` therefore also stores the few numbers that
prediction needs, and the command line predicts with them:

- a features model (:class:`~blurkit.SharpnessFeatures`, then a
  ``StandardScaler``, optionally a degree-2 ``PolynomialFeatures`` and a
  second ``StandardScaler``, then a binary ``LogisticRegression``): the
  feature parameters, the scalers' means and scales and the logistic
  coefficients.
  Prediction needs numpy and ``scipy.fft`` only.
- a CNN (:class:`~blurkit.BlurNetClassifier`): the network's constructor
  parameters and weights. Prediction needs numpy only (the network's
  forward pass written out in ``_blurnet_numpy``; importing torch took
  most of a short run's time).

These predictors compute the features with the same function as
:class:`~blurkit.SharpnessFeatures`
(``blurkit.metrics.sharpness_features_stack``, past its input checks) and
the network's output with the same operations as ``BlurNet.forward``
(``_blurnet_numpy``); for the features,
only the last steps (scaling, the pairwise products, the linear score and
its logistic) are written
out again here, following scikit-learn's order of operations. Tests check
that they give the full model's probabilities. Other models (the hybrid, your
own pipelines) have no lightweight predictor and are loaded in full.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from .._geometry import PIXEL_SPACING_MM
from .._validation import (
    as_image_stack,
    check_image_size,
    constant_images,
    from_uint8,
    group_by_shape,
)
from ..metrics._resampling import resampling_mode, resampling_names

# The checked-input entry point of sharpness_features_stack: predict_proba
# has validated the images already.
from ..metrics._sharpness import (
    OPTIONAL_FEATURES,
    _sharpness_features,
)
from ._blurnet_numpy import blurnet_proba_numpy, check_blurnet_weights

__all__ = ["FeaturesPredictor", "NetPredictor", "export_predictor", "make_predictor"]


def blur_constant_images(proba, images, classes):
    """Set the probabilities of constant images to certainly blurred (class 0).

    An image of one value holds no detail: blurred by definition, not by a
    model's extrapolation far outside its training images.
    """
    constant = constant_images(images)
    if constant.any():
        proba = np.array(proba, dtype=np.float64)
        proba[constant] = np.asarray(classes) == 0
    return proba


class _Predictor:
    """Shared input handling: images in, class probabilities out."""

    #: `predict_proba` takes uint8 stacks as 8-bit grey levels, so that
    #: streaming prediction need not convert whole chunks to float first.
    reads_grey_levels = True

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of ``classes_`` for each image.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
            Images; a list may mix sizes. A uint8 array holds 8-bit grey
            levels, read as ``level / 255`` (as :func:`blurkit.read_image`
            reads 8-bit files), converted a block at a time.

        Returns
        -------
        ndarray of shape (n, 2)
        """
        if isinstance(X, np.ndarray) and X.ndim == 3:
            # Validated once, here: grey levels need no check of their values.
            stack = X if X.dtype == np.uint8 else as_image_stack(X)
            check_image_size(stack[:1])
            return blur_constant_images(self._proba(stack), stack, self.classes_)
        images = [np.asarray(image) for image in X]
        check_image_size(images)
        proba = np.empty((len(images), len(self.classes_)))
        for indices, stack in group_by_shape(images):
            proba[indices] = self._proba(as_image_stack(stack))
        return blur_constant_images(proba, images, self.classes_)

    def predict(self, X) -> np.ndarray:
        """Predicted label of each image (see `predict_proba`)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class FeaturesPredictor(_Predictor):
    """A features model's pipeline, in numpy.

    ``SharpnessFeatures`` -> ``StandardScaler`` [-> ``PolynomialFeatures(2,
    include_bias=False)`` -> ``StandardScaler``] -> ``LogisticRegression``.

    Parameters
    ----------
    classes : array-like of shape (2,)
    features : dict
        ``band_edges``, ``n_orientations``, ``subtract_noise``,
        ``resampling`` (``"strongest"``, ``"each"``, True or False),
        ``outer``, ``fringe`` and ``detail_shift`` of the
        :class:`~blurkit.SharpnessFeatures` step (any of the last four
        missing, as in files saved before they existed, means False).
    mean, scale : ndarray of shape (n_features,)
        The scaler's ``mean_`` and ``scale_``.
    coef : ndarray of shape (1, n_terms)
    intercept : ndarray of shape (1,)
        The logistic regression's ``coef_`` and ``intercept_``.
    expanded_mean, expanded_scale : ndarray of shape (n_terms,) or None
        The second scaler's ``mean_`` and ``scale_``, after a degree-2
        ``PolynomialFeatures(include_bias=False)``; None (the default) when
        the logistic regression reads the scaled features directly.
    pixel_spacing : float, default=1.5
        The model's pixel size in mm, kept so that the predictor stands in
        for the model wherever the model's is read.
    """

    kind = "features-logistic"

    def __init__(
        self,
        *,
        classes,
        features,
        mean,
        scale,
        coef,
        intercept,
        expanded_mean=None,
        expanded_scale=None,
        pixel_spacing=PIXEL_SPACING_MM,
    ):
        self.classes_ = np.asarray(classes)
        self.features = {
            "resampling": False,
            **dict.fromkeys(OPTIONAL_FEATURES, False),
            **features,
        }
        for flag in OPTIONAL_FEATURES:
            # A string ("false") would read as True; despike adds no column
            # that the shapes below would check.
            if not isinstance(self.features[flag], (bool, np.bool_)):
                raise ValueError(
                    f"features[{flag!r}] must be true or false; got "
                    f"{self.features[flag]!r}"
                )
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.pixel_spacing = float(pixel_spacing)
        if (expanded_mean is None) != (expanded_scale is None):
            raise ValueError(
                "expected both expanded_mean and expanded_scale, or neither"
            )
        self.expanded = expanded_mean is not None
        n_features = 2 * (len(self.features["band_edges"]) - 2) + 1
        n_features += len(resampling_names(self.features["resampling"]))
        for flag, extra in OPTIONAL_FEATURES.items():
            n_features += len(extra) if self.features[flag] else 0
        n_terms = n_features
        shapes = {
            "mean": (self.mean.shape, (n_features,)),
            "scale": (self.scale.shape, (n_features,)),
        }
        if self.expanded:
            self.expanded_mean = np.asarray(expanded_mean, dtype=np.float64)
            self.expanded_scale = np.asarray(expanded_scale, dtype=np.float64)
            # The products x_i x_j for i <= j, in PolynomialFeatures' order
            # (itertools.combinations_with_replacement): fixed by the grid.
            self._pairs = np.triu_indices(n_features)
            n_terms += len(self._pairs[0])
            shapes["expanded_mean"] = (self.expanded_mean.shape, (n_terms,))
            shapes["expanded_scale"] = (self.expanded_scale.shape, (n_terms,))
        shapes["coef"] = (self.coef.shape, (1, n_terms))
        shapes["intercept"] = (self.intercept.shape, (1,))
        for name, (shape, expected) in shapes.items():
            if shape != expected:
                raise ValueError(f"{name} has shape {shape}; expected {expected}")
        if self.classes_.shape != (2,):
            raise ValueError(f"expected 2 classes; got {self.classes_.tolist()}")

    def _proba(self, stack):
        X = _sharpness_features(
            stack,
            self.features["band_edges"],
            self.features["n_orientations"],
            self.features["subtract_noise"],
            self.features["resampling"],
            *(bool(self.features[flag]) for flag in OPTIONAL_FEATURES),
        )
        # StandardScaler.transform, [PolynomialFeatures(2, include_bias=False)
        # and StandardScaler.transform,] then LogisticRegression's
        # decision_function and its binary predict_proba, in scikit-learn's
        # order.
        X -= self.mean
        X /= self.scale
        if self.expanded:
            i, j = self._pairs
            X = np.concatenate([X, X[:, i] * X[:, j]], axis=1)
            X -= self.expanded_mean
            X /= self.expanded_scale
        score = (X @ self.coef.T + self.intercept).reshape(-1)
        sharp = expit(score)
        return np.stack([1 - sharp, sharp], axis=1)

    def export(self):
        spec = {"features": self.features}
        arrays = {
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
        }
        if self.expanded:
            arrays["expanded_mean"] = self.expanded_mean
            arrays["expanded_scale"] = self.expanded_scale
        return spec, arrays


class NetPredictor(_Predictor):
    """A BlurNetClassifier's network, in numpy alone.

    The network runs in ``_blurnet_numpy``, from its weights: no torch is
    imported, which was most of a short prediction's time (see that
    module).

    Parameters
    ----------
    classes : array-like of shape (2,)
    module_params : dict
        Constructor parameters of :class:`~blurkit._blurnet.BlurNet`, kept
        as the file holds them; the network's shape is read from
        ``weights``, and these must agree with it (see
        ``_blurnet_numpy.check_blurnet_weights``).
    weights : dict of str to ndarray
        The network's ``state_dict``, as numpy arrays.
    batch_size : int
        Images per forward pass, as the classifier's.
    pixel_spacing : float, default=1.5
        As for `FeaturesPredictor`.

    Raises
    ------
    ValueError
        If ``weights`` do not describe a BlurNet.
    """

    kind = "blurnet"

    def __init__(
        self,
        *,
        classes,
        module_params,
        weights,
        batch_size,
        pixel_spacing=PIXEL_SPACING_MM,
    ):
        self.classes_ = np.asarray(classes)
        self.module_params = dict(module_params)
        self.batch_size = int(batch_size)
        self.pixel_spacing = float(pixel_spacing)
        self.weights = check_blurnet_weights(weights, self.module_params)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive; got {self.batch_size}")
        if self.weights["classifier.bias"].shape != self.classes_.shape:
            raise ValueError(
                f"the network has {len(self.weights['classifier.bias'])} outputs "
                f"for {len(self.classes_)} classes"
            )

    def _proba(self, stack):
        return blurnet_proba_numpy(
            self.weights,
            from_uint8(stack).astype(np.float32, copy=False),
            self.batch_size,
        )

    def export(self):
        spec = {"module_params": self.module_params, "batch_size": self.batch_size}
        arrays = {f"weights/{key}": value for key, value in self.weights.items()}
        return spec, arrays


def _fitted_core(model: Any) -> Any:
    """The fitted estimator that predicts, inside blurkit's wrappers."""
    for attribute in ("classifier_", "best_estimator_", "estimator_"):
        # BlurDetector, GridSearchCV, AugmentedClassifier, in that order.
        model = getattr(model, attribute, model)
    return model


def export_predictor(model: Any) -> tuple[dict, dict[str, np.ndarray]] | None:
    """What a lightweight predictor of ``model`` needs, or None.

    Returns ``(spec, arrays)``: JSON-able settings (with ``kind``) and numpy
    arrays, or None when ``model`` is not a fitted features model or CNN of
    the supported form (see the module docstring).
    """
    predictor = _predictor_of(model)
    if predictor is None:
        return None
    spec, arrays = predictor.export()
    spec = {
        "kind": predictor.kind,
        "classes": predictor.classes_.tolist(),
        "pixel_spacing": predictor.pixel_spacing,
        **spec,
    }
    return spec, arrays


def _is_plain_scaler(scaler) -> bool:
    from sklearn.preprocessing import StandardScaler

    return type(scaler) is StandardScaler and scaler.with_mean and scaler.with_std


def _predictor_of(model: Any):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures

    from ..features import SharpnessFeatures

    core = _fitted_core(model)
    classes = getattr(model, "classes_", None)
    spacing = getattr(model, "pixel_spacing", PIXEL_SPACING_MM)
    if classes is None or len(classes) != 2:
        return None
    if isinstance(core, Pipeline) and len(core.steps) in (3, 5):
        steps = [step for _, step in core.steps]
        features, scaler, logistic = steps[0], steps[1], steps[-1]
        expanded = {}
        if len(steps) == 5:
            expand, rescaler = steps[2], steps[3]
            if not (
                type(expand) is PolynomialFeatures
                and expand.degree == 2
                and not expand.interaction_only
                and not expand.include_bias
                and _is_plain_scaler(rescaler)
            ):
                return None
            expanded = {
                "expanded_mean": rescaler.mean_,
                "expanded_scale": rescaler.scale_,
            }
        if not (
            type(features) is SharpnessFeatures
            and features.image_shape is None
            and _is_plain_scaler(scaler)
            and type(logistic) is LogisticRegression
            and hasattr(logistic, "coef_")
            and logistic.coef_.shape[0] == 1
            and np.array_equal(logistic.classes_, classes)
        ):
            return None
        return FeaturesPredictor(
            classes=classes,
            features={
                "band_edges": [float(edge) for edge in features.band_edges],
                "n_orientations": int(features.n_orientations),
                "subtract_noise": bool(features.subtract_noise),
                "resampling": resampling_mode(features.resampling) or False,
                **{flag: bool(getattr(features, flag)) for flag in OPTIONAL_FEATURES},
            },
            mean=scaler.mean_,
            scale=scaler.scale_,
            coef=logistic.coef_,
            intercept=logistic.intercept_,
            pixel_spacing=spacing,
            **expanded,
        )
    if type(core).__name__ == "BlurNetClassifier":
        from ._blurnet import BlurNet

        if not (
            getattr(core, "initialized_", False)
            and type(core.module_) is BlurNet
            and np.array_equal(core.classes_, classes)
        ):
            return None
        params = core.get_params()
        return NetPredictor(
            classes=classes,
            module_params={
                key[len("module__") :]: value
                for key, value in params.items()
                if key.startswith("module__")
            },
            weights={
                key: tensor.detach().cpu().numpy()
                for key, tensor in core.module_.state_dict().items()
            },
            batch_size=params.get("iterator_valid__batch_size", core.batch_size),
            pixel_spacing=spacing,
        )
    return None


def make_predictor(spec: dict, arrays: dict[str, np.ndarray]) -> _Predictor:
    """Rebuild a lightweight predictor from `export_predictor`'s output.

    Raises
    ------
    ValueError
        If the settings or arrays do not describe a predictor.
    """
    try:
        kind = spec["kind"]
        common = {"classes": spec["classes"], "pixel_spacing": spec["pixel_spacing"]}
        if kind == FeaturesPredictor.kind:
            return FeaturesPredictor(
                features=spec["features"],
                mean=arrays["mean"],
                scale=arrays["scale"],
                coef=arrays["coef"],
                intercept=arrays["intercept"],
                expanded_mean=arrays.get("expanded_mean"),
                expanded_scale=arrays.get("expanded_scale"),
                **common,
            )
        if kind == NetPredictor.kind:
            prefix = "weights/"
            return NetPredictor(
                module_params=spec["module_params"],
                weights={
                    key[len(prefix) :]: value
                    for key, value in arrays.items()
                    if key.startswith(prefix)
                },
                batch_size=spec["batch_size"],
                **common,
            )
    except (KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(f"invalid lightweight predictor ({exc!r})") from exc
    raise ValueError(f"unknown lightweight predictor kind {kind!r}")

"""scikit-learn's common estimator checks on blurkit's estimators.

The checks feed small 2-D tables. blurkit reads a 2-D table as flattened
images (see blurkit._validation.check_images), so the transformers pass every
check. The models that learn from images keep a few documented exceptions,
listed below with the reason for each; `BlurDetector` is not run through the
checks at all: it refuses images under 16x16 pixels (too small to judge
sharpness), which is what nearly every check feeds it, and
`AugmentedClassifier` takes 3-D image stacks only, which the checks skip.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from blurkit import (
    BlurNetClassifier,
    BlurSigmaRegressor,
    FFTSharpness,
    LaplacianVariance,
    SharpnessFeatures,
)

_ANY_SIZE = (
    "images of any size are accepted, so the number of pixels is not an input "
    "dimension that is fixed at fit"
)
_NOT_IMAGES = (
    "the check's data are clusters of random points; read as images they hold "
    "no blur to learn"
)
EXPECTED_FAILED_CHECKS = {
    "BlurSigmaRegressor": {
        "check_n_features_in": _ANY_SIZE,
        "check_n_features_in_after_fitting": _ANY_SIZE,
        "check_regressors_train": _NOT_IMAGES,
        "check_non_transformer_estimators_n_iter": (
            "max_iter is that of the inner gradient boosting, which keeps its own "
            "n_iter_"
        ),
    },
    "BlurNetClassifier": {
        "check_n_features_in": _ANY_SIZE,
        "check_n_features_in_after_fitting": _ANY_SIZE,
        "check_estimators_partial_fit_n_features": _ANY_SIZE,
        "check_classifiers_train": _NOT_IMAGES,
        "check_no_attributes_set_in_init": (
            "skorch's NeuralNet sets history_, initialized_ and virtual_params_ "
            "in __init__"
        ),
        "check_set_params": (
            "skorch's set_params re-initialises the network with the new values, "
            "which the check's arbitrary values (a float for a callback) break"
        ),
    },
}


@parametrize_with_checks(
    [
        LaplacianVariance(),
        FFTSharpness(),
        SharpnessFeatures(),
        BlurSigmaRegressor(max_iter=20, random_state=0),
        BlurNetClassifier(max_epochs=2, random_state=0),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

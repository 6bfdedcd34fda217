"""scikit-learn's common estimator checks on blurkit's estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from blurkit import FFTSharpness, LaplacianVariance, SharpnessFeatures

# No expected failures: 2-D tables are read as flattened images (see
# blurkit._validation.check_images), which is what the checks feed.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [LaplacianVariance(), FFTSharpness(), SharpnessFeatures()],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

"""Property-based tests of the metrics and transformers (hypothesis).

Any shape (1x1, 1xN, Nx1 included), dtype and value range gives finite,
in-range results, or a clear ValueError for values too large to square in
float64: never a crash, a warning or a NaN.
"""

import warnings

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from blurkit._validation import MAX_ABS_VALUE
from blurkit.features import FFTSharpness, LaplacianVariance, SharpnessFeatures
from blurkit.metrics import (
    band_power_profile,
    highfreq_energy_ratio,
    laplacian_variance,
    noise_std,
)
from blurkit.models._families import OUTER_FEATURES_OPTION

# The default models' features: every optional one, the gated ones too.
DEFAULT_FLAGS = dict.fromkeys(OUTER_FEATURES_OPTION, True)

# No "explain" phase: it is slow, and the failing example is enough.
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)

DTYPES = [np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64, bool]
SIDES = st.integers(min_value=1, max_value=40)


def _elements(dtype):
    if dtype is bool:
        return st.booleans()
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return st.integers(int(info.min), int(info.max))
    width = 32 if dtype == np.float32 else 64
    # Huge, tiny (subnormal included), negative; finite only.
    return st.floats(allow_nan=False, allow_infinity=False, width=width)


@st.composite
def images(draw, shape=None):
    dtype = draw(st.sampled_from(DTYPES))
    if shape is None:
        shape = (draw(SIDES), draw(SIDES))
    # Mostly small arrays of anything, sometimes a constant one.
    fill = draw(st.one_of(st.none(), _elements(dtype)))
    if fill is not None:
        return np.full(shape, fill, dtype=dtype)
    return draw(arrays(dtype, shape, elements=_elements(dtype)))


def _too_large(image):
    return float(np.max(np.abs(np.asarray(image, dtype=np.float64)))) > MAX_ABS_VALUE


def _call(function, *args, **kwargs):
    """Call with every warning turned into an error (a warning fails the test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


def _features_or_too_large(transformer, X, too_large):
    """Features of ``X``, or None after a ValueError that only too large
    values may raise (a transformer may rescale them first, so they need not).
    """
    try:
        features = _call(transformer.fit_transform, X)
    except ValueError as exc:
        assert too_large and "too large" in str(exc)
        return None
    assert np.isfinite(features).all()
    return features


def _check(function, image, **kwargs):
    """Result of ``function(image)``, or None after the expected ValueError."""
    if _too_large(image):
        with pytest.raises(ValueError, match="too large"):
            _call(function, image, **kwargs)
        return None
    return _call(function, image, **kwargs)


@SETTINGS
@given(images())
def test_laplacian_variance_is_finite_and_non_negative(image):
    value = _check(laplacian_variance, image)
    if value is not None:
        assert np.isfinite(value) and value >= 0


@SETTINGS
@given(images())
def test_noise_std_is_finite_and_non_negative(image):
    value = _check(noise_std, image)
    if value is not None:
        assert np.isfinite(value) and value >= 0


@SETTINGS
@given(images(), st.floats(min_value=0.01, max_value=0.99))
def test_highfreq_energy_ratio_is_a_fraction(image, cutoff):
    value = _check(highfreq_energy_ratio, image, cutoff=cutoff)
    if value is not None:
        assert 0 <= value <= 1


@SETTINGS
@given(images(), st.integers(1, 6))
def test_band_power_profile_is_finite_where_the_grid_has_frequencies(
    image, n_orientations
):
    profile = _check(band_power_profile, image, n_orientations=n_orientations)
    if profile is None:
        return
    assert not np.isinf(profile).any()
    # NaN marks a cell holding no frequency of the grid (documented): it
    # depends on the shape only, as a constant image of that shape shows,
    # which is 0 in every other cell.
    empty = _call(
        band_power_profile, np.zeros(image.shape), n_orientations=n_orientations
    )
    np.testing.assert_array_equal(np.isnan(profile), np.isnan(empty))
    assert np.all(empty[~np.isnan(empty)] == 0)
    assert np.all(profile[~np.isnan(profile)] >= 0)


@SETTINGS
@given(st.integers(1, 4), SIDES, SIDES, st.sampled_from(DTYPES), st.data())
def test_stacks_and_lists_of_images_give_finite_features(n, h, w, dtype, data):
    shape = (n, h, w)
    batch = data.draw(arrays(dtype, shape, elements=_elements(dtype)))
    for transformer in (
        LaplacianVariance(),
        LaplacianVariance(normalize=True),
        FFTSharpness(),
        SharpnessFeatures(),
        SharpnessFeatures(outer=True),
        SharpnessFeatures(**DEFAULT_FLAGS),
    ):
        for X in (batch, list(batch)):
            features = _features_or_too_large(transformer, X, _too_large(batch))
            if features is not None:
                assert features.shape == (n, transformer.n_features_out_)


@SETTINGS
@given(st.lists(images(), min_size=1, max_size=4))
def test_images_of_mixed_sizes_and_dtypes_give_finite_features(batch):
    too_large = any(_too_large(image) for image in batch)
    transformers = (LaplacianVariance(), FFTSharpness(), SharpnessFeatures())
    for transformer in (
        *transformers,
        SharpnessFeatures(outer=True),
        SharpnessFeatures(**DEFAULT_FLAGS),
    ):
        features = _features_or_too_large(transformer, batch, too_large)
        if features is not None:
            assert features.shape == (len(batch), transformer.n_features_out_)


@SETTINGS
@given(images())
def test_features_do_not_change_when_intensities_are_scaled(image):
    # A property the features promise, tried on arbitrary input: scaling by
    # a power of two is exact in floating point.
    image = np.asarray(image, dtype=np.float64)
    if np.max(np.abs(image)) > MAX_ABS_VALUE / 4:
        return
    for features in (
        SharpnessFeatures(outer=True).fit([image]),
        SharpnessFeatures(**DEFAULT_FLAGS).fit([image]),
    ):
        np.testing.assert_allclose(
            _call(features.transform, [image * 4]),
            _call(features.transform, [image]),
            rtol=1e-6,
            atol=1e-6,
        )


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[np.nan, 0.0], [0.0, 0.0]]),
        np.array([[np.inf, 0.0], [0.0, 0.0]]),
        np.zeros((0, 5)),
        np.zeros((3, 4, 5, 6)),
        np.array([["a", "b"], ["c", "d"]]),
        np.full((4, 4), 10 * MAX_ABS_VALUE),
    ],
    ids=["nan", "inf", "empty", "4-D", "strings", "huge"],
)
@pytest.mark.parametrize(
    "metric", [laplacian_variance, noise_std, highfreq_energy_ratio, band_power_profile]
)
def test_bad_arrays_raise_a_value_error(metric, bad):
    with pytest.raises(ValueError):
        _call(metric, bad)


def test_values_near_the_float64_limit_are_refused_without_warnings():
    # Found by the test above: scikit-learn's finiteness check overflowed
    # (a RuntimeWarning) before blurkit's magnitude check could say why.
    batch = np.zeros((2, 4, 17))
    batch[0, 0, :2] = 8.98846567e307
    batch[1, 0, 0] = -8.98846567e307
    for transformer in (LaplacianVariance(), FFTSharpness(), SharpnessFeatures()):
        for X in (batch, list(batch)):
            assert _features_or_too_large(transformer, X, too_large=True) is None

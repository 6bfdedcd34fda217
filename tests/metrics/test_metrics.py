import numpy as np
import pytest
from conftest import blur, phantom

import blurkit.metrics
from blurkit import (
    band_power_profile,
    highfreq_energy_ratio,
    laplacian_variance,
    noise_std,
    sharpness_features,
)

SCORES = [laplacian_variance, highfreq_energy_ratio]


@pytest.mark.parametrize("score", SCORES)
def test_score_falls_monotonically_with_gaussian_sigma(score, sharp_image):
    values = [score(blur(sharp_image, s)) for s in (0, 0.5, 1, 2, 3, 4)]
    assert np.all(np.diff(values) < 0), values


@pytest.mark.parametrize("score", [*SCORES, noise_std])
@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (32, 48)])
def test_constant_image_gives_edge_value_zero(score, shape):
    for value in (0.0, 0.7):
        with np.errstate(all="raise"):
            assert score(np.full(shape, value)) == 0.0


def test_highfreq_ratio_is_a_fraction_and_scale_free(sharp_image):
    ratio = highfreq_energy_ratio(sharp_image, cutoff=0.3)
    assert 0 < ratio < 1
    assert highfreq_energy_ratio(0.25 * sharp_image, cutoff=0.3) == pytest.approx(ratio)


def test_highfreq_ratio_cutoff_is_relative_to_nyquist(sharp_image):
    # The same content at twice the pixel count has its energy at half the
    # relative frequency.
    upsampled = sharp_image.repeat(2, 0).repeat(2, 1)
    assert highfreq_energy_ratio(upsampled, 0.5) < highfreq_energy_ratio(
        sharp_image, 0.5
    )


@pytest.mark.parametrize("cutoff", [0, 1, -0.1, 1.5])
def test_highfreq_ratio_rejects_cutoff_outside_nyquist(cutoff, sharp_image):
    with pytest.raises(ValueError, match="cutoff"):
        highfreq_energy_ratio(sharp_image, cutoff=cutoff)


@pytest.mark.parametrize("std", [0.01, 0.05, 0.1])
def test_noise_std_recovers_added_noise(std, sharp_image):
    rng = np.random.default_rng(0)
    noisy = blur(sharp_image, 1) + rng.normal(0, std, sharp_image.shape)
    assert noise_std(noisy) == pytest.approx(std, rel=0.15)


def test_laplacian_variance_scales_with_contrast_squared(sharp_image):
    assert laplacian_variance(2 * sharp_image) == pytest.approx(
        4 * laplacian_variance(sharp_image)
    )


def test_band_power_profile_of_white_noise_is_flat():
    rng = np.random.default_rng(0)
    profile = band_power_profile(rng.normal(0, 0.1, (256, 256)), n_orientations=2)
    assert profile.shape == (8, 2)
    np.testing.assert_allclose(profile, 0.01, rtol=0.25)


def test_metrics_reject_nan_and_wrong_dimensions():
    with pytest.raises(ValueError, match="NaN"):
        laplacian_variance(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        highfreq_energy_ratio(np.zeros((2, 3, 4)))


def test_rgb_free_metrics_accept_integer_images():
    image = (phantom() * 255).astype(np.uint8)
    assert laplacian_variance(image) == pytest.approx(
        laplacian_variance(image.astype(float))
    )


def test_sharpness_features_do_not_depend_on_dtype_or_layout(sharp_image):
    from blurkit.metrics import sharpness_features_stack

    stack = np.stack([sharp_image, blur(sharp_image, 1.0)]).astype(np.float32)
    reference = sharpness_features_stack(stack)
    # The same values as float64, as a strided view, or one image at a time.
    np.testing.assert_array_equal(
        sharpness_features_stack(stack.astype(np.float64)), reference
    )
    padded = np.zeros((2, stack.shape[1] + 4, stack.shape[2] * 2), np.float32)
    padded[:, 2:-2, ::2] = stack
    np.testing.assert_array_equal(
        sharpness_features_stack(padded[:, 2:-2, ::2]), reference
    )
    # Alone, an image's band sums take another BLAS kernel: float32 rounding.
    np.testing.assert_allclose(sharpness_features(stack[1]), reference[1], rtol=1e-6)
    # 121x121 is cropped to 120x120, where the FFT is fastest: the border
    # row and column that the crop drops barely matter.
    assert reference.shape == (2, 16) and np.all(np.isfinite(reference))


@pytest.mark.parametrize(
    "name", [name for name in blurkit.metrics.__all__ if name.endswith("_stack")]
)
@pytest.mark.parametrize("dtype", [np.float64, np.uint8])
def test_an_empty_stack_is_a_clear_error(name, dtype):
    function = getattr(blurkit.metrics, name)
    args = (np.zeros((0, 32, 32), dtype=dtype),)
    if name == "band_power_profile_stack":
        args += ((0.1, 0.5, 1.0),)
    with pytest.raises(ValueError, match=r"at least one image.*\(0, 32, 32\)"):
        function(*args)

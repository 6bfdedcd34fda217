"""The fringe feature: two copies of the finest detail (blurkit.metrics._fringe)."""

import numpy as np
import pytest
from conftest import translated_late
from scipy.signal.windows import tukey

import blurkit
from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, kspace_spike
from blurkit.metrics import _sharpness, sharpness_features_stack
from blurkit.metrics._fringe import FRINGE_NAMES, fringe_features

# Column of the fringe among the 17 of SharpnessFeatures(fringe=True).
FRINGE = 15


def _fringe_of(images):
    return fringe_features(np.stack(images).astype(np.float32))[:, 0]


def _reference(image):
    """``fringe`` as the module's docstring states it: numpy's full FFT and
    a DFT summed at every lag."""
    h, w = image.shape
    tapered = (image - image.mean()) * np.outer(tukey(h, 0.5), tukey(w, 0.5))
    power = np.abs(np.fft.fft2(tapered)) ** 2
    lags = np.arange(-8, 9)
    best = 0.0
    for axis in (0, 1):
        spectrum = power if axis == 0 else power.T
        along = np.fft.fftfreq(spectrum.shape[0])
        across = np.fft.fftfreq(spectrum.shape[1])
        # One side, without the Nyquist frequency (-0.5 in fftfreq): rows
        # of increasing frequency, each across the axis in the FFT's order.
        rows = np.flatnonzero(along >= 0.38)
        if not len(rows):
            continue
        values = spectrum[rows].ravel()
        fa = np.repeat(along[rows], len(across))
        fc = np.tile(across, len(rows))
        # Capped at 5 times the median of every third frequency.
        sample = values[::3]
        values = np.minimum(values, 5 * np.sort(sample)[len(sample) // 2])
        peak = 0.0
        for la in lags:
            for lc in lags:
                if abs(lc) < 2:
                    continue
                r = np.abs(np.sum(values * np.exp(2j * np.pi * (fa * la + fc * lc))))
                peak = max(peak, r)
        best = max(best, peak / values.sum())
    return np.log10(best + 1e-6) if best > 0 else -6.0


@pytest.mark.parametrize("shape", [(64, 64), (45, 60), (60, 45)])
def test_fringe_follows_its_definition(sharp, shape):
    rng = np.random.default_rng(0)
    images = [sharp[0][: shape[0], : shape[1]], rng.random(shape)]
    ours = fringe_features(np.stack(images))[:, 0]
    expected = [_reference(image) for image in images]
    np.testing.assert_allclose(ours, expected, atol=1e-4)


def test_a_translation_of_one_side_of_k_space_doubles_the_fine_detail(sharp):
    # The outer lines of one side (linear ordering, the last 30%) acquired
    # after a translation: the power spectrum of the complex image is the
    # same, the magnitude's finest band holds two copies of the detail.
    clean = _fringe_of(sharp)
    assert np.all(clean < -0.9)
    for axis in (0, 1):
        moved = [translated_late(image, axis) for image in sharp]
        rise = _fringe_of(moved) - clean
        assert np.all(rise > 0.15), rise
        # A k-space spike in the same band moves it less: its power is capped.
        spiked = [
            kspace_spike(image, positions=[(0.42, 0.1)], intensity=0.5)
            for image in sharp
        ]
        assert np.all(_fringe_of(spiked) - clean < rise)


def test_noise_and_a_whole_image_shift_leave_it_nearly_as_it_was(sharp):
    clean = _fringe_of(sharp)
    rng = np.random.default_rng(0)
    noisy = [add_noise(image, 0.02, random_state=rng) for image in sharp]
    shifted = [np.roll(image, (3, 2), axis=(0, 1)) for image in sharp]
    assert np.all(np.abs(_fringe_of(noisy) - clean) < 0.1)
    assert np.all(np.abs(_fringe_of(shifted) - clean) < 0.1)


def test_scale_and_degenerate_images(sharp):
    stack = np.stack(sharp[:3]).astype(np.float32)
    # A ratio of powers of the same image: a power-of-two scale is exact.
    np.testing.assert_array_equal(fringe_features(4 * stack), fringe_features(stack))
    for images in (np.ones((2, 50, 50)), np.zeros((1, 9, 9)), np.ones((1, 2, 2))):
        np.testing.assert_array_equal(fringe_features(images), -6.0)


def test_the_fringe_is_added_on_request(sharp):
    features = SharpnessFeatures(fringe=True).fit(sharp)
    names = features.get_feature_names_out().tolist()
    assert names[14:17] == ["noise_to_signal", *FRINGE_NAMES, "resampling"]
    both = SharpnessFeatures(outer=True, fringe=True).fit(sharp)
    assert both.get_feature_names_out().tolist()[15:19] == [
        "outer_detail",
        "outer_level",
        "fringe",
        "resampling",
    ]
    default = SharpnessFeatures().fit(sharp)
    assert default.fringe is False and default.n_features_out_ == 16
    # Clean slices (no detail outside the head) and moved ones.
    images = list(sharp[:4]) + [translated_late(image) for image in sharp[:4]]
    kept = [i for i in range(17) if i != FRINGE]
    with_fringe = features.transform(images)
    np.testing.assert_array_equal(default.transform(images), with_fringe[:, kept])
    # Read on the features' crop (120x120 of these 121x121 slices) where
    # the gate opens; a clean slice's value elsewhere.
    crop = _sharpness._float32_crop(np.stack(images).astype(np.float32))
    outer_detail = both.transform(images)[:, 15]
    np.testing.assert_array_equal(outer_detail[:4] > _sharpness.MOTION_GATE, False)
    np.testing.assert_array_equal(outer_detail[4:] > _sharpness.MOTION_GATE, True)
    np.testing.assert_allclose(
        with_fringe[:, FRINGE],
        [_sharpness.CLEAN_TUKEY[0]] * 4 + fringe_features(crop[4:])[:, 0].tolist(),
    )
    np.testing.assert_array_equal(
        sharpness_features_stack(np.stack(images), fringe=True), with_fringe
    )
    assert blurkit.sharpness_features(sharp[0], fringe=True).shape == (17,)


def test_fringe_must_be_a_boolean(sharp):
    with pytest.raises(ValueError, match="fringe must be True or False; got 1"):
        SharpnessFeatures(fringe=1).fit(sharp)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 120, 121])
@pytest.mark.parametrize("taper", [0.0, 0.25, 0.5, 1.0])
def test_the_window_is_scipys_tukey(n, taper):
    from blurkit.metrics._fringe import _tukey

    np.testing.assert_allclose(_tukey(n, taper), tukey(n, taper), atol=1e-12)

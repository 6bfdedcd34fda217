"""The coherence of the finest detail with the edges (blurkit.metrics._coherence)."""

import numpy as np
import pytest
from scipy import ndimage

import blurkit.metrics._coherence as _coherence_module
from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, kspace_motion, kspace_spike
from blurkit.metrics import sharpness_features_stack
from blurkit.metrics._coherence import (
    CAP,
    COARSE_CUT,
    COHERENCE_NAMES,
    COHERENCE_NONE,
    FINE_CUT,
    MARGIN,
    Z_MIN,
    coherence_features,
)
from blurkit.metrics._sharpness import _fft_friendly_crop


def _coherence(images):
    return coherence_features(np.array(images, dtype=np.float32))[:, 0]


def _reference(image):
    """``coherence`` as the module's docstring states it, in float64 with
    full two-dimensional DFTs, explicit masks and every frequency's power
    in the bands' medians."""
    image = np.asarray(image, dtype=np.float64)
    spectrum = np.fft.fft2(image)
    power = np.abs(spectrum) ** 2
    ratios, scores = [], []
    for axis in (0, 1):
        frequency = np.abs(np.fft.fftfreq(image.shape[axis]))
        frequency = np.broadcast_to(np.expand_dims(frequency, 1 - axis), image.shape)
        bands = []
        for mask in (frequency < COARSE_CUT, frequency >= FINE_CUT):
            limit = CAP * np.median(power[mask])
            gain = np.sqrt(np.minimum(1, limit / np.maximum(power, 1e-300)))
            bands.append(np.fft.ifft2(spectrum * mask * gain).real)
        inner = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
        coarse, fine = (band[inner] for band in bands)
        numerator = denominator = variance = 0.0
        for along in (0, 1):
            c, f = np.diff(coarse, axis=along), np.diff(fine, axis=along)
            numerator += np.sum(f * c * np.abs(c))
            denominator += np.sum(np.abs(c) ** 3)
            variance += np.mean(f**2) * np.sum(c**4)
        ratios.append(numerator / denominator)
        scores.append(numerator / np.sqrt(variance))
    if max(scores) <= Z_MIN:
        return COHERENCE_NONE
    return np.log10(np.clip(min(ratios) / max(ratios), 0.1, 1))


def _centric(image, axis=0, shift=(3.0, 2.0), rotation=0.0):
    """The outer 40% of the lines of both sides along ``axis`` acquired after
    a movement (blurkit's ``kspace_motion`` in centric order)."""
    return kspace_motion(
        image,
        rotations=[rotation],
        translations=[shift],
        times=[0.6],
        axis=axis,
        reference="first",
        ordering="centric",
    )


def test_coherence_follows_its_definition(sharp):
    images = [*sharp[:3], _centric(sharp[0]), add_noise(sharp[1], 0.02, random_state=0)]
    expected = [_reference(image) for image in images]
    # The module reads each band's median on every 4th frequency.
    np.testing.assert_allclose(_coherence(images), expected, atol=0.01)


def test_clean_slices_read_about_zero_and_moved_ones_far_below(sharp):
    clean = _coherence(sharp)
    assert np.all(clean > -0.2)
    for axis in (0, 1):
        moved = _coherence([_centric(image, axis=axis) for image in sharp])
        assert np.all(moved < -0.15)
        assert np.all(moved < clean - 0.08)
        rotated = _coherence(
            [_centric(image, axis=axis, shift=(0, 0), rotation=4) for image in sharp]
        )
        assert np.all(rotated < clean - 0.1)


def test_no_motion_is_the_identity(sharp):
    still = [_centric(image, shift=(0.0, 0.0)) for image in sharp[:3]]
    np.testing.assert_allclose(_coherence(still), _coherence(sharp[:3]), atol=1e-4)


def test_it_ignores_polarity_scale_offset_and_the_axes_order(sharp):
    image = sharp[0]
    value = _coherence([image])[0]
    for other in (1 - image, 3 * image + 0.5, image.T, image[::-1]):
        assert _coherence([other])[0] == pytest.approx(value, abs=0.01)


def test_noise_does_not_read_as_motion(sharp):
    noisy = [add_noise(image, 0.03, random_state=i) for i, image in enumerate(sharp)]
    assert np.all(_coherence(noisy) > -0.2)


def test_a_blurred_slice_with_noise_reads_the_none_value(sharp):
    # Its finest band holds noise alone, whose ratio would be noise too.
    rng = np.random.default_rng(0)
    for image in sharp[:4]:
        blurred = ndimage.gaussian_filter(image, 2.5)
        for std in (0.02, 0.05):
            noisy = blurred + rng.normal(0, std, image.shape)
            assert _coherence([noisy])[0] == COHERENCE_NONE
            assert _coherence([np.clip(noisy, 0, 1)])[0] == COHERENCE_NONE


def test_images_without_fine_detail_or_too_small_read_the_none_value(sharp):
    blurred = [ndimage.gaussian_filter(image, 3) for image in sharp[:2]]
    flat = np.zeros_like(sharp[0])
    tiny = np.random.default_rng(0).random((2 * MARGIN + 2, 30))
    assert np.all(_coherence([*blurred, flat]) == COHERENCE_NONE)
    assert coherence_features(tiny[np.newaxis].astype(np.float32))[0, 0] == (
        COHERENCE_NONE
    )


def test_the_transformer_adds_the_column(sharp):
    features = SharpnessFeatures(coherence=True).fit(sharp)
    assert features.get_feature_names_out()[-2] == COHERENCE_NAMES[0]
    X = features.transform(sharp[:2])
    # Read on the features' crop (sides with no prime factor above 5).
    np.testing.assert_allclose(
        X[:, -2], _coherence(_fft_friendly_crop(sharp[:2])), atol=1e-4
    )
    plain = sharpness_features_stack(sharp[:2])
    np.testing.assert_array_equal(np.delete(X, -2, axis=1), plain)


def test_a_k_space_spike_does_not_read_as_motion(sharp, monkeypatch):
    # A strong spike, its real part min-max rescaled as a float export keeps
    # it: its wave is fine detail off every edge, capped to its band's level.
    for image in sharp[:3]:
        clean = _coherence([image])[0]
        for position in [(0.1, 0.4), (0.02, 0.3), (0.2, 0.1)]:
            spiked = kspace_spike(
                image, positions=[position], intensity=3.0, magnitude=False
            )
            spiked = (spiked - spiked.min()) / (spiked.max() - spiked.min())
            assert _coherence([spiked])[0] > max(clean - 0.1, -0.15)
    # Uncapped, it reads far below a clean slice.
    monkeypatch.setattr(_coherence_module, "CAP", np.inf)
    assert _coherence([spiked])[0] < -0.2

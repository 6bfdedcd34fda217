"""k-space spikes taken away before the features (see blurkit.metrics._spikes)."""

import numpy as np
import pytest
from scipy import ndimage

from blurkit import SharpnessFeatures
from blurkit.metrics import sharpness_features_stack
from blurkit.metrics._sharpness import _fft_friendly_crop
from blurkit.metrics._spectral import _raw_power_spectrum
from blurkit.metrics._spikes import (
    MAX_AMPLITUDE,
    MAX_CLIPPED_SHARE,
    remove_spikes,
    spike_candidates,
)

FLAGS = dict(outer=True, fringe=True, detail_shift=True, ghosts=True)


def _wave(shape, frequency, amplitude, phase=0.3):
    """A plane wave on the image's grid: what one k-space spike adds."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    f_row, f_col = frequency
    return amplitude * np.cos(
        2 * np.pi * (f_row * y / shape[0] + f_col * x / shape[1]) + phase
    )


def _spiked(image, frequency=(38, 17), amplitude=0.06):
    """``image`` with a spike's wave, clipped to [0, 1] as an export keeps it."""
    return np.clip(image + _wave(image.shape, frequency, amplitude), 0.0, 1.0)


def _windowed_power(images):
    crop = np.array(_fft_friendly_crop(np.asarray(images, dtype=np.float32)))
    return _raw_power_spectrum(crop, overwrite=True)[0], crop.shape[2]


def test_clean_slices_have_no_spike(sharp):
    assert not spike_candidates(*_windowed_power(sharp)).any()
    assert all(remove_spikes(image) is None for image in sharp)


@pytest.mark.parametrize("frequency", [(26, 0), (0, 26)])
def test_a_weak_spike_behind_the_heads_own_frequencies_is_a_candidate(
    demo_train, frequency
):
    # On a blurred slice the head's strongest low frequencies, even weighted
    # by their squared radius, may outweigh a weak spike: the gate looks at
    # the strongest few, not the strongest only (which took 2 of these 8).
    blurred = demo_train.images[demo_train.labels == 0][:8].astype(np.float64)
    spiked = np.stack([_spiked(image, frequency, amplitude=0.02) for image in blurred])
    assert spike_candidates(*_windowed_power(spiked)).all()
    assert all(remove_spikes(image) is not None for image in spiked)


@pytest.mark.parametrize("frequency", [(38, 17), (-5, 44), (52, -30), (-40, 25)])
def test_a_clipped_wave_is_taken_away(sharp, frequency):
    image = sharp[0]
    spiked = _spiked(image, frequency)
    assert spike_candidates(*_windowed_power(spiked[np.newaxis]))[0]
    despiked = remove_spikes(spiked)
    # Where the clipping kept the wave (between the extremes), it is gone;
    # the background clipped to 0 stays 0.
    kept = (spiked > 0) & (spiked < 1)
    error = np.abs(despiked - image)
    # (The wave's amplitude is 0.06; what remains is the head's own
    # content at that frequency and what the clipping took.)
    assert np.median(error[kept]) < 0.006
    assert np.percentile(error[kept], 99) < 0.02
    assert np.all(despiked[spiked == 0] == 0)
    # The wave's amplitude was 0.06: most of it is gone everywhere.
    assert np.abs(despiked - image).mean() < 0.1 * np.abs(spiked - image).mean()


def test_a_wave_of_a_min_max_rescaled_export_is_taken_away(sharp):
    # Unclipped, then rescaled by the minimum and maximum: linear, so the
    # wave comes off whole.
    image = sharp[1]
    waved = image + _wave(image.shape, (21, 40), 0.05)
    rescaled = (waved - waved.min()) / (waved.max() - waved.min())
    despiked = remove_spikes(rescaled)
    expected = (image - waved.min()) / (waved.max() - waved.min())
    inner = (rescaled > 0) & (rescaled < 1)
    assert np.percentile(np.abs(despiked - expected)[inner], 99) < 0.01
    # The pixels at the minimum and maximum lose their wave too: left with
    # it, each would stand out as a dot of fine detail (on a blurred slice,
    # enough to read as sharp).
    extremes = ~inner
    assert 0 < extremes.mean() <= MAX_CLIPPED_SHARE
    assert np.abs(despiked - expected)[extremes].max() < 0.01


@pytest.mark.parametrize("frequency", [(38, 17), (-52, 30)])
def test_a_wave_that_clips_the_head_is_taken_away_and_its_holes_filled(
    sharp, frequency
):
    image = sharp[0]
    # Amplitudes are shares of the image's range (here 1): this one clips
    # the head's dark and bright pixels, not only the background.
    wave = _wave(image.shape, frequency, 2 * MAX_AMPLITUDE)
    spiked = np.clip(image + wave, 0.0, 1.0)
    despiked = remove_spikes(spiked)
    error = np.abs(despiked - image)
    kept = (spiked > 0) & (spiked < 1)
    assert np.median(error[kept]) < 0.006
    # A clipped pixel is filled within what its clipping leaves possible
    # (to the wave's estimate): at most 0 less the wave where clipped to 0,
    # at least 1 less the wave where clipped to 1.
    at_low, at_high = spiked == 0, spiked == 1
    assert np.all(despiked[at_low] <= np.maximum(0.0, -wave[at_low]) + 0.02)
    assert np.all(despiked[at_high] >= 1 - wave[at_high] - 0.02)
    # The dark head pixels the troughs clipped to 0, holes left as they
    # were, are filled closer to the clean slice.
    holes = at_low & (image > 0.02)
    assert holes.sum() > 100
    assert error[holes].mean() < 0.7 * image[holes].mean()
    # The background stays dark: its troughs take what the crests beside
    # them read once the wave is gone (0), except beside the head, whose
    # pixels are neighbours too.
    head = ndimage.binary_dilation(image > 0.02, iterations=2)
    background = at_low & ~head
    assert background.sum() > 1000
    assert np.median(despiked[background]) == 0
    assert despiked[background].max() < 0.05
    # Over the whole slice most of the wave is gone.
    assert error.mean() < 0.2 * np.abs(spiked - image).mean()
    # A weaker wave's clipped pixels (the background) stay as they are.
    weak = _spiked(image, frequency, amplitude=0.8 * MAX_AMPLITUDE)
    assert np.all(remove_spikes(weak)[weak == 0] == 0)


def test_a_strong_wave_of_an_unclipped_image_is_taken_away(sharp):
    # Min-max rescaled, nothing was clipped: the wave comes off whole,
    # whatever its amplitude.
    image = sharp[2]
    waved = image + _wave(image.shape, (30, -22), 0.4)
    rescaled = (waved - waved.min()) / (waved.max() - waved.min())
    assert 0.4 / (waved.max() - waved.min()) > MAX_AMPLITUDE
    expected = (image - waved.min()) / (waved.max() - waved.min())
    despiked = remove_spikes(rescaled)
    assert np.abs(despiked - expected).max() < 0.01


def test_despike_keeps_clean_features_and_restores_spiked_ones(sharp):
    clean = sharpness_features_stack(sharp, **FLAGS)
    np.testing.assert_array_equal(
        sharpness_features_stack(sharp, **FLAGS, despike=True), clean
    )
    spiked = np.stack([_spiked(image) for image in sharp])
    before = sharpness_features_stack(spiked, **FLAGS)
    after = sharpness_features_stack(spiked, **FLAGS, despike=True)
    # Every spiked slice reads closer to its clean self, most of them as it.
    distance_before = np.abs(before - clean).max(axis=1)
    distance_after = np.abs(after - clean).max(axis=1)
    assert np.all(distance_after < distance_before)
    assert np.median(distance_after) < 0.05 < 0.3 < np.median(distance_before)
    # Each image's features are its own, whatever it is computed with.
    mixed = np.concatenate([sharp[:3], spiked[3:]])
    out = sharpness_features_stack(mixed, **FLAGS, despike=True)
    np.testing.assert_array_equal(out[:3], clean[:3])
    np.testing.assert_array_equal(out[3:], after[3:])


def test_despike_reads_grey_levels_as_their_values(sharp):
    spiked = np.stack([_spiked(image) for image in sharp[:4]])
    levels = np.round(spiked * 255).astype(np.uint8)
    from_levels = sharpness_features_stack(levels, **FLAGS, despike=True)
    from_values = sharpness_features_stack(levels / 255.0, **FLAGS, despike=True)
    np.testing.assert_allclose(from_levels, from_values, atol=1e-4)


def test_the_transformer_adds_no_column(sharp):
    with_it = SharpnessFeatures(**FLAGS, despike=True).fit(sharp)
    without = SharpnessFeatures(**FLAGS).fit(sharp)
    np.testing.assert_array_equal(
        with_it.get_feature_names_out(), without.get_feature_names_out()
    )
    with pytest.raises(ValueError, match="despike must be True or False"):
        SharpnessFeatures(despike="yes").fit(sharp)


def test_images_above_the_size_limit_are_read_as_they_are(sharp, monkeypatch):
    from blurkit.metrics import _spikes

    spiked = _spiked(sharp[0])
    assert remove_spikes(spiked) is not None
    # Below the crop the bands read (120x120) and the image (121x121).
    monkeypatch.setattr(_spikes, "MAX_PIXELS", 100 * 100)
    assert remove_spikes(spiked) is None
    assert not spike_candidates(*_windowed_power(spiked[np.newaxis]))[0]
    np.testing.assert_array_equal(
        sharpness_features_stack(spiked[np.newaxis], **FLAGS, despike=True),
        sharpness_features_stack(spiked[np.newaxis], **FLAGS),
    )

"""How far the disturbance outside the head reaches (blurkit.metrics._reach)."""

import numpy as np
import pytest
from conftest import translated_late
from scipy import ndimage

import blurkit
from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, jpeg_compress, kspace_motion
from blurkit.metrics import _sharpness, sharpness_features_stack
from blurkit.metrics._reach import (
    REACH_DISTANCE,
    REACH_NAMES,
    REACH_NONE,
    reach_stack,
)

# Columns of SharpnessFeatures with every optional feature: bands (14),
# noise, outer (2), fringe, detail_shift, ghosts, reach, resampling.
OUTER_DETAIL, REACH = 15, 20
ALL = dict.fromkeys(("outer", "fringe", "detail_shift", "ghosts", "reach"), True)


def _reach(images):
    """``reach`` of each image as the features compute it (float32), one
    image at a time."""
    return np.array(
        [reach_stack(np.array(image, dtype=np.float32)[None])[0] for image in images]
    )


def _reference(image):
    """``reach`` as the module's docstring states it, in float64 with
    numpy's percentiles and scipy's maximum filter."""
    image = np.asarray(image, dtype=np.float64)
    sample = image[::2, ::2]
    low, top = np.percentile(sample, [5, 99])
    threshold = low + 0.1 * (1 + 1e-4) * (top - low)
    head = image > threshold
    energy = (image - np.median(sample[sample <= threshold])) ** 2
    energy[head] = 0.0
    near = ndimage.maximum_filter(head, size=2 * REACH_DISTANCE + 1, mode="constant")
    return np.log10(energy[~near].sum() / energy.sum() + 1e-3)


def _square_head(spot=None, value=0.05):
    """A 64x64 slice: a 20x20 head of 1 on a zero background, and a faint
    pixel at ``spot`` outside it."""
    image = np.zeros((64, 64))
    image[22:42, 22:42] = 1.0
    if spot is not None:
        image[spot] = value
    return image


def test_reach_follows_its_definition(sharp):
    images = [
        *sharp[:2],
        translated_late(sharp[2], axis=0),
        kspace_motion(sharp[3], rotations=[3.0], translations=[[0, 0]], times=[0.6]),
        jpeg_compress(sharp[4], 75),
        add_noise(sharp[5], 0.03, random_state=0),
        _square_head((10, 10)),
    ]
    expected = [_reference(image) for image in images]
    np.testing.assert_allclose(_reach(images), expected, atol=1e-4)


def test_only_energy_beyond_seven_pixels_of_the_head_reaches():
    # The head spans rows and columns 22-41: a pixel 7 px from it (row 15)
    # stays within reach, 8 px (row 14) lies beyond.
    assert _reach([_square_head((15, 30))])[0] == REACH_NONE
    assert _reach([_square_head((15, 15))])[0] == REACH_NONE
    beyond = _reach([_square_head((14, 30)), _square_head((14, 14))])
    np.testing.assert_allclose(beyond, np.log10(1.001), rtol=1e-6)
    # Half of the energy beyond.
    image = _square_head((15, 30))
    image[50, 30] = 0.05
    np.testing.assert_allclose(_reach([image]), np.log10(0.501), rtol=1e-6)


def test_jpeg_stays_within_reach_and_motion_goes_beyond(sharp):
    # Clean slices: no energy outside the head at all.
    np.testing.assert_array_equal(_reach(sharp), REACH_NONE)
    # JPEG's ringing stays in the 8x8 blocks that hold an edge, aligned with
    # the slice or not (a crop of a compressed slice).
    for quality in (75, 90, 95):
        compressed = [jpeg_compress(image, quality) for image in sharp]
        assert np.all(_reach(compressed) < -2.8), quality
    cropped = [jpeg_compress(image, 90)[3:, 5:] for image in sharp]
    assert np.all(_reach(cropped) < -2.8)
    # Motion during the acquisition: ghosts of the edges reach farther.
    moved = [translated_late(image, axis=i % 2) for i, image in enumerate(sharp)]
    rotated = [
        kspace_motion(image, rotations=[3.0], translations=[[0, 0]], times=[0.6])
        for image in sharp
    ]
    assert np.all(_reach(moved) > -1.5)
    assert np.all(_reach(rotated) > -1.5)


def test_scale_and_degenerate_images(sharp):
    moved = [translated_late(image) for image in sharp[:3]]
    # A share of energies: a scale by a power of two changes nothing.
    np.testing.assert_array_equal(_reach([4 * image for image in moved]), _reach(moved))
    # No head, no background, or no energy outside the head.
    for image in (np.ones((50, 50)), np.zeros((9, 9)), np.ones((1, 1)), _square_head()):
        assert _reach([image])[0] == REACH_NONE


def test_a_stack_reads_each_image_as_alone(sharp):
    images = [
        sharp[0],
        translated_late(sharp[1]),
        jpeg_compress(sharp[2], 90),
        add_noise(sharp[3], 0.03, random_state=0),
        np.zeros_like(sharp[0]),
    ]
    together = reach_stack(np.stack(images).astype(np.float32))
    np.testing.assert_array_equal(together, _reach(images))


def test_reach_is_added_on_request_behind_the_motion_gate(sharp):
    features = SharpnessFeatures(**ALL).fit(sharp)
    names = features.get_feature_names_out().tolist()
    assert names[REACH - 1 :] == ["ghosts", *REACH_NAMES, "resampling"]
    assert features.n_features_out_ == 22
    alone = SharpnessFeatures(reach=True).fit(sharp)
    assert alone.get_feature_names_out().tolist()[14:] == [
        "noise_to_signal",
        "reach",
        "resampling",
    ]
    # Clean slices keep the gate closed; moved and compressed ones open it
    # and read the slice at its own size.
    moved = [translated_late(image, axis=1) for image in sharp[:3]]
    compressed = [jpeg_compress(image, 90) for image in sharp[:3]]
    images = list(sharp[:3]) + moved + compressed
    values = features.transform(images)
    gate = values[:, OUTER_DETAIL] > _sharpness.MOTION_GATE
    np.testing.assert_array_equal(gate, [False] * 3 + [True] * 6)
    np.testing.assert_array_equal(values[:3, REACH], REACH_NONE)
    np.testing.assert_allclose(values[3:, REACH], _reach(images[3:]), rtol=1e-6)
    assert values[3:6, REACH].min() > values[6:, REACH].max() + 1
    # The other features do not change with it.
    without = SharpnessFeatures(**{**ALL, "reach": False})
    kept = [i for i in range(22) if i != REACH]
    np.testing.assert_array_equal(without.fit(sharp).transform(images), values[:, kept])
    np.testing.assert_array_equal(
        sharpness_features_stack(np.stack(images), **ALL), values
    )
    assert blurkit.sharpness_features(sharp[0], reach=True).shape == (17,)


def test_the_reach_flag_must_be_a_boolean(sharp):
    with pytest.raises(ValueError, match="reach must be True or False; got"):
        SharpnessFeatures(reach="yes").fit(sharp)

"""The outer features: detail just outside the head (see blurkit.metrics._outer)."""

import pickle

import numpy as np
import pytest
from conftest import translated_late
from scipy import ndimage

import blurkit
from blurkit import SharpnessFeatures
from blurkit.degrade import (
    add_noise,
    degrade,
    kspace_motion,
    kspace_spike,
    resize_canvas,
)
from blurkit.metrics import _outer, _sharpness, sharpness_features_stack
from blurkit.metrics._outer import OUTER_NAMES, outer_and_streaks, outer_features
from blurkit.metrics._reach import REACH_NONE
from blurkit.metrics._spatial import (
    _noise_responses,
    _noise_std_of,
    second_difference,
)
from blurkit.models._families import OUTER_FEATURES_OPTION

# Columns of the outer features among the 18 of SharpnessFeatures(outer=True).
OUTER = slice(15, 17)


def _outer_of(images):
    stack = np.stack(images).astype(np.float32)
    return sharpness_features_stack(stack, outer=True)[:, OUTER]


def _grid_and_response(images):
    """The noise grid and responses `_sharpness_features` passes on."""
    scratch = _sharpness._float32_crop(np.stack(images).astype(np.float32))
    h, w = scratch.shape[1:]
    down = second_difference(scratch, axis=1)
    response = _noise_responses(scratch, step=3, down=down)
    return np.ascontiguousarray(scratch[:, 1 : h - 1 : 3, 1 : w - 1 : 3]), response


def _reference(grid, response):
    """`outer_features` as its docstring states it, with numpy and scipy."""
    out = []
    for intensity, values in zip(
        grid.astype(np.float64), response.astype(np.float64), strict=True
    ):
        sample = intensity[::2, ::2]
        top, low = np.percentile(sample, 99), np.percentile(sample, 5)
        head = intensity > low + 0.1 * (1 + 1e-4) * (top - low)
        close = ndimage.maximum_filter(head, size=3)
        near = ndimage.maximum_filter(head, size=5)
        ring, far = near & ~close, ~near
        detail = []
        for mask in (ring, far):
            median = np.median(values[mask]) / (0.6745 * 6) if mask.any() else 0.0
            ok = mask.sum() > 10 and far.mean() >= 0.1
            detail.append(median**2 if ok else 0.0)
        floor = 1e-6 * (top - low) ** 2 + 1e-300
        ring_sample, far_sample = ring[::2, ::2], far[::2, ::2]
        ring_level = np.median(sample[ring_sample]) if ring_sample.any() else 0.0
        far_level = np.median(sample[far_sample]) if far_sample.any() else low
        head_level = np.median(sample[head[::2, ::2]]) if head.any() else 0.0
        level = max(ring_level - far_level, 0.0) / max(head_level - far_level, 1e-6)
        out.append(
            [
                np.log10((detail[0] + floor) / (detail[1] + floor)),
                np.log10(level + 1e-3),
            ]
        )
    return np.array(out)


def test_outer_features_follow_their_definition(sharp):
    # The fast version (dilations as shifted ORs, medians of sorted rows, one
    # sort for two regions) against the plain one, on clean, moved, noisy,
    # cropped and ghosted slices.
    rng = np.random.default_rng(0)
    images = list(sharp[:3])
    for name in ("kspace_motion", "ghosting", "truncate_kspace"):
        images += [degrade(image, name, random_state=rng)[0] for image in sharp[:2]]
    images += [add_noise(image, 0.03, random_state=rng) for image in sharp[:2]]
    images += [
        add_noise(image, 0.03, clip=False, random_state=rng) for image in sharp[:2]
    ]
    images += [image - 0.2 for image in sharp[:2]]  # negative intensities
    crops = [resize_canvas(image, 90) for image in sharp[:3]]
    for group in (images, crops):
        grid, response = _grid_and_response(group)
        np.testing.assert_allclose(
            outer_features(grid, response), _reference(grid, response), rtol=1e-12
        )


def _streaks_reference(grid, noise_var):
    """`far_streaks` as its docstring states it, image by image."""
    out = []
    for intensity, noise in zip(grid.astype(np.float64), noise_var, strict=True):
        sample = intensity[::2, ::2]
        top, low = np.percentile(sample, 99), np.percentile(sample, 5)
        head = intensity > low + 0.1 * (1 + 1e-4) * (top - low)
        far = ~ndimage.maximum_filter(head, size=5)
        far_sample = far[::2, ::2]
        far_level = np.median(sample[far_sample]) if far_sample.any() else low
        head_level = np.median(sample[head[::2, ::2]]) if head.any() else 0.0
        found = False
        for axis in (1, 0):  # rows, then columns, through the head
            crosses = np.expand_dims(head.any(axis=axis), axis)
            through, beside = far & crosses, far & ~crosses
            energy = [
                np.mean((intensity[m] - far_level) ** 2) - noise if m.any() else -noise
                for m in (through, beside)
            ]
            found |= bool(
                energy[0] > _outer.STREAK_LEVEL * max(head_level - far_level, 0) ** 2
                and energy[0] > _outer.STREAK_CONTRAST * max(energy[1], 0)
                and beside.sum() >= 10
            )
        out.append(found and top > low)
    return np.array(out)


def _moved_mid(images, magnitude=False):
    """One movement (5 degrees, half a pixel) at the middle of the acquisition."""
    return [
        np.clip(
            kspace_motion(
                image,
                rotations=[5.0],
                translations=[(0.5, 0.5)],
                times=[0.5],
                axis=i % 2,
                magnitude=magnitude,
            ),
            0,
            1,
        )
        for i, image in enumerate(images)
    ]


def test_far_streaks_follow_their_definition(sharp):
    rng = np.random.default_rng(3)
    images = list(sharp[:3]) + _moved_mid(sharp[:4]) + _moved_mid(sharp[4:6], True)
    images += [add_noise(image, 0.02, random_state=rng) for image in sharp[:2]]
    images += [degrade(image, "ghosting", random_state=rng)[0] for image in sharp[:2]]
    images += [
        np.clip(kspace_spike(image, positions=[(0.3, -0.2)], intensity=0.3), 0, 1)
        for image in sharp[:2]
    ]
    grid, response = _grid_and_response(images)
    noise_var = _noise_std_of(response) ** 2
    streaks = outer_and_streaks(grid, response, noise_var)[1]
    np.testing.assert_array_equal(streaks, _streaks_reference(grid, noise_var))
    assert streaks.any() and not streaks.all()


def test_one_movement_near_the_middle_leaves_streaks_far_from_the_head(sharp):
    # TorchIO's single movement near the middle leaves the real part nearly
    # a double exposure, with nothing just outside the head, but the head's
    # signal streaks along the phase-encoding axis, far from it: the gated
    # features are then computed, as for other motion. Clean, noisy and
    # spiked slices hold no such streaks (noise and a spike's wave spread
    # over every line).
    def streaks(images):
        grid, response = _grid_and_response(images)
        return outer_and_streaks(grid, response, _noise_std_of(response) ** 2)[1]

    moved = _moved_mid(sharp)
    assert streaks(moved).all()
    assert not streaks(sharp).any()
    assert not streaks([add_noise(x, 0.02, random_state=0) for x in sharp]).any()
    spiked = [
        np.clip(kspace_spike(x, positions=[(0.1 * i - 0.4, 0.3)], intensity=0.3), 0, 1)
        for i, x in enumerate(sharp)
    ]
    assert not streaks(spiked).any()
    flags = dict.fromkeys(OUTER_FEATURES_OPTION, True)
    features = SharpnessFeatures(**flags)
    reach = list(features.fit(sharp).get_feature_names_out()).index("reach")
    assert np.all(features.transform(np.stack(moved))[:, reach] > REACH_NONE)
    assert np.all(features.transform(sharp)[:, reach] == REACH_NONE)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 2, 7), (5, 9, 6), (2, 40, 40)])
def test_regions_are_the_dilations_of_the_head(shape):
    rng = np.random.default_rng(1)
    for density in (0.0, 0.05, 0.5, 1.0):
        head = rng.random(shape) < density
        close = ndimage.maximum_filter(head, size=(1, 3, 3))
        near = ndimage.maximum_filter(head, size=(1, 5, 5))
        expected = close.astype(np.uint8) + near
        np.testing.assert_array_equal(_outer._regions(head), expected)


def test_sorted_row_helpers_match_numpy():
    rng = np.random.default_rng(2)
    ordered = np.sort(rng.random((6, 11)).astype(np.float32), axis=1)
    for q in (0, 37.5, 50, 99, 100):
        np.testing.assert_array_equal(
            _outer._percentile(ordered, q),
            np.percentile(ordered.astype(np.float64), q, axis=1),
        )
    start = np.array([0, 2, 5, 10, 0, 3])
    count = np.array([11, 4, 3, 1, 0, 8])
    expected = [
        np.median(row[s : s + c].astype(np.float64)) if c else 0.0
        for row, s, c in zip(ordered, start, count, strict=True)
    ]
    np.testing.assert_array_equal(_outer._middles(ordered, start, count), expected)


def test_groups_of_images_give_each_image_its_own_features(sharp, monkeypatch):
    # The grids are gathered over several blocks before `outer_features`:
    # groups of one block and a last, partial group change nothing.
    rng = np.random.default_rng(3)
    images = [degrade(image, "kspace_motion", random_state=rng)[0] for image in sharp]
    images *= 5
    stack = np.stack(images).astype(np.float32)
    whole = sharpness_features_stack(stack, outer=True)
    monkeypatch.setattr(_sharpness, "_OUTER_POINTS", 1)
    np.testing.assert_array_equal(sharpness_features_stack(stack, outer=True), whole)
    one = [sharpness_features_stack(stack[i : i + 1], outer=True) for i in range(3)]
    np.testing.assert_array_equal(np.concatenate(one)[:, OUTER], whole[:3, OUTER])


def test_clean_slices_and_crops_have_no_outer_detail(sharp):
    # A clean slice has nothing outside the head; nor has a crop of it, even
    # one that leaves too little background to compare with.
    for images in (sharp, [resize_canvas(image, 96) for image in sharp]):
        np.testing.assert_array_equal(_outer_of(images), [[0.0, -3.0]] * len(sharp))
    # Nor has a constant image, nor one too small for the noise filter.
    tiny = np.random.default_rng(0).random((2, 2))
    for image in (np.zeros((64, 64)), np.full((64, 64), 0.5), tiny):
        np.testing.assert_array_equal(
            blurkit.sharpness_features(image, outer=True)[OUTER], [0.0, -3.0]
        )


def test_a_slice_without_intensity_range_has_no_outer_detail():
    # Constant at 95% of its points and more: the floor and the top agree,
    # and scaling the intensities must not move the feature (hypothesis
    # found such a slice reading -298 and -297.6 at a scale of 4).
    row = [0.0, 1.0, 1.0] * 6 + [1.0] * 18
    image = np.array([row, [1.0] * 36, [1.0] * 36])
    for scale in (1.0, 4.0):
        features = blurkit.sharpness_features(image * scale, outer=True)
        assert features[OUTER][0] == 0.0


def test_a_translation_during_the_acquisition_puts_detail_outside(sharp):
    # Lines acquired after a translation: the power spectrum hardly changes,
    # but fine detail lands outside the head.
    moved = [translated_late(image) for image in sharp]
    assert np.all(_outer_of(moved)[:, 0] > 0.2)


def test_white_noise_fills_the_background_evenly(sharp):
    rng = np.random.default_rng(0)
    noisy = [add_noise(image, 0.02, random_state=rng) for image in sharp]
    assert np.all(np.abs(_outer_of(noisy)[:, 0]) < 0.2)


def test_a_lifted_background_reads_as_a_clean_one(sharp, monkeypatch):
    # An offset, or noise kept whole (rescaled by its minimum and maximum,
    # as a float image's export does), lifts the whole background: the head
    # and the levels are read from its floor, so the lift does not look like
    # the intensity that motion spreads just outside the head.
    clean = _outer_of(sharp)
    np.testing.assert_allclose(_outer_of([image + 0.2 for image in sharp]), clean)
    rng = np.random.default_rng(0)
    lifted = [add_noise(image, 0.04, clip=False, random_state=rng) for image in sharp]
    grid, response = _grid_and_response(lifted)
    assert np.median(outer_features(grid, response)[:, 1]) < -2.5
    # Read against zero, as before, the noisy background crossed the head's
    # threshold and its level was that of a moved slice.
    monkeypatch.setattr(_outer, "LOW_PERCENTILE", 0)
    assert np.median(outer_features(grid, response)[:, 1]) > -1.0


def test_the_outer_features_are_added_on_request(sharp):
    features = SharpnessFeatures(outer=True).fit(sharp)
    names = features.get_feature_names_out().tolist()
    assert names[14:18] == ["noise_to_signal", *OUTER_NAMES, "resampling"]
    default = SharpnessFeatures().fit(sharp)
    assert default.outer is False and default.n_features_out_ == 16
    kept = [i for i in range(18) if i not in (15, 16)]
    np.testing.assert_array_equal(
        default.transform(sharp), features.transform(sharp)[:, kept]
    )


def test_models_saved_before_the_outer_features_keep_16(sharp):
    # A fitted transformer pickled before ``outer`` existed has no such
    # attribute: it loads with outer=False and computes what it did.
    features = SharpnessFeatures().fit(sharp)
    state = features.__getstate__()
    del state["outer"]
    old = SharpnessFeatures.__new__(SharpnessFeatures)
    old.__setstate__(state)
    assert old.outer is False
    np.testing.assert_array_equal(old.transform(sharp), features.transform(sharp))
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["outer"] is False


def test_outer_must_be_a_boolean(sharp):
    with pytest.raises(ValueError, match="outer must be True or False; got 'False'"):
        SharpnessFeatures(outer="False").fit(sharp)

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import blur, phantom
from sklearn.base import clone

from blurkit import FFTSharpness, LaplacianVariance, SharpnessFeatures
from blurkit.degrade import add_noise, motion_blur, resize_canvas, thick_slices
from blurkit.metrics._sharpness import OPTIONAL_FEATURES

TRANSFORMERS = [LaplacianVariance(), FFTSharpness(), SharpnessFeatures()]


@pytest.fixture(scope="module")
def images():
    return np.stack([phantom(seed=s) for s in range(4)])


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_stack_list_and_single_image_agree(transformer, images):
    fitted = clone(transformer).fit(images)
    from_stack = fitted.transform(images)
    from_list = fitted.transform(list(images))
    np.testing.assert_allclose(from_stack, from_list)
    assert from_stack.shape == (4, fitted.n_features_out_)
    assert np.all(np.isfinite(from_stack))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_pandas_output_has_feature_names(transformer, images):
    fitted = clone(transformer).set_output(transform="pandas").fit(images)
    out = fitted.transform(images)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(fitted.get_feature_names_out())


def test_mixed_sizes_in_one_batch(images):
    # Like a brain slice, the content sits on a zero background.
    framed = np.pad(images[:2], ((0, 0), (12, 12), (12, 12)))
    features = SharpnessFeatures().fit(framed)
    padded = resize_canvas(framed[0], 120)
    out = features.transform([framed[0], padded, framed[1]])
    direct = features.transform(framed)
    np.testing.assert_allclose(out[[0, 2]], direct)
    # Zero padding keeps the spectrum's shape: features barely move.
    np.testing.assert_allclose(out[1, :-1], out[0, :-1], atol=0.3)


def test_sharpness_features_are_scale_invariant(images):
    features = SharpnessFeatures().fit(images)
    # Computed in float32: another scale changes the rounding only.
    np.testing.assert_allclose(
        features.transform(images * 0.3), features.transform(images), atol=1e-5
    )
    # A power of two scales exactly: the features do not change at all.
    np.testing.assert_array_equal(
        features.transform(images * 2.0**-40), features.transform(images)
    )
    np.testing.assert_array_equal(
        features.transform(images * 2.0**200), features.transform(images)
    )


def test_high_bands_fall_with_blur_and_noise_is_subtracted(images):
    features = SharpnessFeatures().fit(images)
    names = list(features.get_feature_names_out())
    band = names.index("band_0.35_0.45_mean")
    sharp = features.transform(images)[:, band]
    blurred = features.transform(np.stack([blur(x, 1.5) for x in images]))[:, band]
    noisy_blurred = features.transform(
        np.stack([add_noise(blur(x, 1.5), 0.05, random_state=0) for x in images])
    )[:, band]
    assert np.all(blurred < sharp - 1)
    assert np.all(noisy_blurred < sharp - 0.5)


def test_min_over_orientations_catches_motion_blur(images):
    features = SharpnessFeatures().fit(images)
    names = list(features.get_feature_names_out())
    mean, weakest = (
        names.index("band_0.25_0.35_mean"),
        names.index("band_0.25_0.35_min"),
    )
    moved = features.transform(np.stack([motion_blur(x, 9, 0) for x in images]))
    gap = moved[:, mean] - moved[:, weakest]
    sharp = features.transform(images)
    assert np.all(gap > sharp[:, mean] - sharp[:, weakest] + 0.3)


def test_constant_images_give_floor_features():
    features = SharpnessFeatures().fit(np.zeros((2, 16, 16)))
    out = features.transform(np.zeros((2, 16, 16)))
    names = list(features.get_feature_names_out())
    assert names[-2:] == ["noise_to_signal", "resampling"]
    assert np.all(out[:, :-1] == -6.0)
    # No line holds any detail: the resampling feature's floor.
    assert np.all(out[:, -1] == -3.0)


def _resampled(image, factor, axis, order):
    """Every ``factor``-th line kept, the others interpolated (grid-aligned)."""
    return thick_slices(
        image, factor=factor, axis=axis, profile="point", order=order, offset=1.0
    )


# Slices of the demo set: the phantoms' 8x8 blocks are lines copied 8 times,
# which the resampling feature reads as nearest-neighbour resampling.
@pytest.mark.parametrize("factor", [2, 3])
@pytest.mark.parametrize("axis", [0, 1])
def test_resampling_features_catch_interpolated_lines(sharp, factor, axis):
    features = SharpnessFeatures(resampling="each").fit(sharp)
    column = list(features.get_feature_names_out()).index(f"resampling_{factor}")
    clean = features.transform(sharp)[:, column]
    assert np.all(clean > -0.25)
    linear = np.stack([_resampled(x, factor, axis, 1) for x in sharp])
    assert np.all(features.transform(linear)[:, column] == -3.0)
    # Cubic interpolation leaves the lines between some detail of their own.
    cubic = np.stack([_resampled(x, factor, axis, 3) for x in sharp])
    assert np.mean(features.transform(cubic)[:, column]) < np.mean(clean) - 0.1
    # The noise of the scanner, added after, is (partly) subtracted.
    noisy = np.stack([add_noise(x, 0.02, random_state=0) for x in linear])
    assert np.all(features.transform(noisy)[:, column] < clean - 0.2)
    # The default's one feature is the stronger evidence of the two periods.
    each = features.transform(linear)[:, -2:]
    strongest = SharpnessFeatures().fit(sharp).transform(linear)
    np.testing.assert_array_equal(strongest[:, -1], each.min(axis=1))
    np.testing.assert_array_equal(strongest[:, :-1], features.transform(linear)[:, :-2])


def test_resampling_features_are_not_fooled_by_noise_or_stripes(sharp):
    features = SharpnessFeatures(resampling="each").fit(sharp)
    clean = features.transform(sharp)[:, -2:]
    rows, columns = np.indices(sharp.shape[1:])
    changed = {
        "noise": [add_noise(x, 0.05, random_state=0) for x in sharp],
        # A k-space spike's stripes: every 2nd line, and oblique ones, which
        # inflate the noise estimate.
        "stripes every 2nd row": [x + 0.3 * np.cos(np.pi * rows) for x in sharp],
        "oblique stripes": [
            x + 0.3 * np.cos(2 * np.pi * (0.25 * rows + 0.3 * columns)) for x in sharp
        ],
    }
    for name, changed_images in changed.items():
        out = features.transform(np.clip(np.stack(changed_images), 0, 1))[:, -2:]
        assert np.all(out > -0.35), name
    assert np.all(clean > -0.25)


def test_resampling_can_be_left_out_and_old_states_have_none(images):
    without = SharpnessFeatures(resampling=False).fit(images)
    assert without.n_features_out_ == 15
    np.testing.assert_array_equal(
        without.transform(images), SharpnessFeatures().fit_transform(images)[:, :-1]
    )
    # True, as in models saved before "strongest": one feature per period.
    each = SharpnessFeatures(resampling=True).fit(images)
    assert each.n_features_out_ == 17
    assert list(each.get_feature_names_out()[-2:]) == ["resampling_2", "resampling_3"]
    # A transformer pickled by blurkit 0.3 has no such parameter.
    state = SharpnessFeatures().fit(images).__getstate__()
    del state["resampling"]
    state["n_features_out_"] = 15
    old = SharpnessFeatures.__new__(SharpnessFeatures)
    old.__setstate__(state)
    assert old.resampling is False and old.transform(images).shape == (4, 15)


def test_two_d_input_with_image_shape():
    images = np.random.default_rng(0).random((3, 6, 10))
    flat = images.reshape(3, -1)
    features = SharpnessFeatures(image_shape=(6, 10)).fit(flat)
    np.testing.assert_allclose(
        features.transform(flat), SharpnessFeatures().fit_transform(images)
    )
    with pytest.raises(ValueError, match="image_shape"):
        SharpnessFeatures(image_shape=(5, 5)).fit(flat)


@pytest.mark.parametrize(
    "params",
    [{"band_edges": (0.5, 0.1, 0.9)}, {"n_orientations": 0}, {"resampling": "all"}],
)
def test_invalid_parameters_are_reported(params, images):
    with pytest.raises(ValueError):
        SharpnessFeatures(**params).fit(images)


def test_fft_sharpness_rejects_bad_cutoffs(images):
    with pytest.raises(ValueError, match="cutoffs"):
        FFTSharpness(cutoffs=(0.2, 1.2)).fit(images)


def test_group_by_shape_builds_bounded_stacks_with_the_same_results():
    import blurkit.features._transformers as transformers
    from blurkit._validation import group_by_shape

    rng = np.random.default_rng(0)
    images = [rng.random((40, 40)) for _ in range(50)] + [rng.random((30, 50))] * 3
    images.insert(7, rng.random((30, 50)))
    # Room for 40 images of 40x40 float64: stacks of 32, a power of two.
    room = 40 * 40 * 40 * 8
    groups = list(group_by_shape(images, max_bytes=room))
    assert [len(indices) for indices, _ in groups] == [32, 18, 4]
    order = np.concatenate([indices for indices, _ in groups])
    assert sorted(order) == list(range(len(images)))
    for indices, stack in groups:
        np.testing.assert_array_equal(stack, np.stack([images[i] for i in indices]))
    assert [len(i) for i, _ in group_by_shape(images, max_bytes=None)] == [50, 4]
    assert [len(i) for i, _ in group_by_shape(images, max_bytes=1)] == [1] * 54

    # The features work 16 images at a time: stacks of 32 give the very same
    # blocks, and results, bit for bit, as one stack per shape.
    def features(max_bytes):
        original = transformers.group_by_shape
        transformers.group_by_shape = lambda x: original(x, max_bytes=max_bytes)
        try:
            return SharpnessFeatures().fit(images).transform(images)
        finally:
            transformers.group_by_shape = original

    np.testing.assert_array_equal(features(room), features(None))


def test_spike_stripes_do_not_erase_the_highest_bands():
    # A k-space spike's stripes cover the whole image: the spatial noise
    # estimate reads them as noise, far above the power of the highest band,
    # which white noise cannot do. That estimate is taken as 0, rather than
    # subtracted and the sharp image's finest detail erased with it.
    images = np.stack([phantom(size=128, seed=s) for s in range(4)])
    rows, columns = np.indices(images.shape[1:])
    stripes = 0.3 * np.cos(2 * np.pi * (0.4 * rows + 0.35 * columns))
    striped = np.clip(images + stripes, 0, 1)
    features = SharpnessFeatures().fit(images)
    names = list(features.get_feature_names_out())
    clean, out = features.transform(images), features.transform(striped)
    top = names.index("band_0.8_1_min")
    assert np.all(out[:, top] > clean[:, top] - 0.5)
    assert np.all(out[:, names.index("noise_to_signal")] == -6.0)


@pytest.mark.parametrize("amplitude", [0.05, 0.1])
def test_stripes_below_the_highest_band_check_are_caught_by_the_corners(amplitude):
    # Stripes at (0.25, 0.3) cycles per pixel raise the spatial noise
    # estimate, but not above 1.5 times the highest band's weakest cell: the
    # first check lets them through, and the floor would erase the finest
    # detail (band_0.8_1_min 0.4 to 3.5 decades lower). The corners of the
    # spectrum, beyond 0.3 cycles per pixel, hold no stripe: their median
    # says the estimate is no white noise, and it is taken as 0 wherever it
    # would take more than half of the finest band away (so that band loses
    # less than 0.3 decades).
    images = np.stack([phantom(size=128, seed=s) for s in range(4)])
    rows, columns = np.indices(images.shape[1:])
    stripes = amplitude * np.cos(2 * np.pi * (0.25 * rows + 0.3 * columns))
    features = SharpnessFeatures().fit(images)
    names = list(features.get_feature_names_out())
    clean = features.transform(images)
    out = features.transform(np.clip(images + stripes, 0, 1))
    top = names.index("band_0.8_1_min")
    assert np.all(np.abs(out[:, top] - clean[:, top]) < 0.3)
    if amplitude == 0.1:
        assert np.all(out[:, names.index("noise_to_signal")] == -6.0)
    # White noise on the same images is still read as noise.
    noisy = images + 0.02 * np.random.default_rng(0).standard_normal(images.shape)
    assert np.all(features.transform(noisy)[:, names.index("noise_to_signal")] > -4)


@pytest.mark.parametrize("size", [32, 128])
def test_white_noise_is_still_read_as_noise(size):
    # Pure white noise puts its variance in every cell: the estimate is kept
    # (the noise-to-signal ratio is about 1, log10 about 0, not the floor of
    # -6), on images too small for the check (32x32) as on large ones.
    rng = np.random.default_rng(0)
    images = 0.5 + 0.05 * rng.standard_normal((8, size, size))
    features = SharpnessFeatures().fit(images)
    ratio = features.transform(images)[
        :, features.get_feature_names_out() == "noise_to_signal"
    ]
    assert np.all(np.abs(ratio) < 1.0)


def test_float32_images_need_no_float64_copy(images, monkeypatch):
    # The features are computed in float32: float32 images (what blurkit
    # reads and augments) are kept as they are, and give the very features
    # of their float64 values; fit_transform validates them once.
    import blurkit.features._transformers as module
    from blurkit._validation import check_images

    single = list(images.astype(np.float32))
    kept = check_images(single, dtype=(np.float64, np.float32))
    assert all(a is b for a, b in zip(kept, single, strict=True))
    assert all(image.dtype == np.float64 for image in check_images(single))
    levels = [(255 * image).astype(np.uint8) for image in single]
    converted = check_images(levels, dtype=(np.float64, np.float32))
    assert all(image.dtype == np.float64 for image in converted)

    assert images.dtype == np.float64
    features = SharpnessFeatures().fit(images)
    from_double = features.transform(list(images.astype(np.float32).astype(float)))
    np.testing.assert_array_equal(features.transform(single), from_double)

    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("dtype"))
        return check_images(*args, **kwargs)

    monkeypatch.setattr(module, "check_images", counting)
    out = SharpnessFeatures().fit_transform(single)
    np.testing.assert_array_equal(out, from_double)
    assert calls == [(np.float64, np.float32)]
    # The float64 transformers keep computing in float64.
    LaplacianVariance().fit(single)
    assert calls[-1] == np.float64


@pytest.mark.parametrize("flag", ["fringe", "detail_shift", "ghosts", "despike"])
def test_models_saved_before_an_optional_feature_keep_their_features(sharp, flag):
    # A transformer pickled before ``flag`` existed, with the flags that
    # came before it: it loads with the flag off and computes what it did.
    flags = list(OPTIONAL_FEATURES)
    earlier = dict.fromkeys(flags[: flags.index(flag)], True)
    features = SharpnessFeatures(**earlier).fit(sharp)
    state = features.__getstate__()
    del state[flag]
    old = SharpnessFeatures.__new__(SharpnessFeatures)
    old.__setstate__(state)
    assert getattr(old, flag) is False
    np.testing.assert_array_equal(old.transform(sharp), features.transform(sharp))
    assert pickle.loads(pickle.dumps(old)).get_params()[flag] is False

"""The features' fast paths compute what the plain definitions compute."""

import numpy as np
import pytest
from conftest import blur, phantom, translated_late
from scipy import ndimage

from blurkit._validation import from_uint8
from blurkit.metrics import noise_std_stack, sharpness_features_stack
from blurkit.metrics._resampling import line_details
from blurkit.metrics._sharpness import (
    _BLOCK,
    MOTION_GATE,
    OPTIONAL_FEATURES,
)
from blurkit.metrics._spatial import _NOISE_MASK, _noise_response, second_difference


def _grey_levels(n, size=121, seed=0):
    """8-bit slices, sharp and blurred, some noisy: a spread of features."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        # 121x121 slices are cropped to 120x120 for the FFT.
        image = blur(phantom(128, seed=i)[:size, :size], sigma=i % 4 * 0.7)
        image = image + rng.normal(0, 0.02 * (i % 3), image.shape)
        images.append(np.clip(np.round(image * 255), 0, 255))
    return np.stack(images).astype(np.uint8)


def test_grey_levels_give_the_features_of_their_float_images():
    levels = _grey_levels(6)
    # Levels are computed as levels, floats as level / 255: the features are
    # scale-free, so only float32 rounding differs.
    np.testing.assert_allclose(
        sharpness_features_stack(levels),
        sharpness_features_stack(from_uint8(levels)),
        rtol=1e-5,
        atol=1e-4,
    )


@pytest.mark.parametrize("option", [False, True])
@pytest.mark.parametrize("grey_levels", [True, False])
def test_an_images_features_do_not_depend_on_the_others(sharp, option, grey_levels):
    # Sharp, blurred and noisy phantoms and demo slices, some moved (the
    # gate of the fringe and the detail shift open on them).
    moved = [translated_late(image, axis=i % 2) for i, image in enumerate(sharp)]
    slices = np.round(np.concatenate([sharp, moved]) * 255).astype(np.uint8)
    stack = np.concatenate([_grey_levels(2 * _BLOCK + 3), slices])
    stack = stack[np.random.default_rng(0).permutation(len(stack))]
    if not grey_levels:
        stack = from_uint8(stack)
    flags = dict.fromkeys(OPTIONAL_FEATURES, option)
    together = sharpness_features_stack(stack, **flags)
    if option:
        gate = together[:, 15] > MOTION_GATE
        assert 6 <= gate.sum() < len(stack) - 6
    # One image at a time, or in other blocks: the same, bit for bit (every
    # matrix product is one image's).
    alone = [sharpness_features_stack(image[None], **flags)[0] for image in stack]
    np.testing.assert_array_equal(together, np.stack(alone))
    split = [sharpness_features_stack(part, **flags) for part in (stack[:7], stack[7:])]
    np.testing.assert_array_equal(together, np.concatenate(split))


def test_noise_response_is_the_masks_correlation():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 256, (3, 20, 23)).astype(np.float32)
    expected = np.abs(ndimage.correlate(levels, _NOISE_MASK[None], mode="reflect"))
    for step in (1, 3):
        out = np.empty(
            (3, len(range(1, 19, step)), len(range(1, 22, step))), np.float32
        )
        _noise_response(levels, out, step=step)
        # Integer levels: every step is exact, in whichever order.
        np.testing.assert_array_equal(out, expected[:, 1:-1:step, 1:-1:step])
        # From the first pass at every row, as the features compute it.
        shared = np.full_like(out, np.nan)
        down = second_difference(levels, axis=1)
        _noise_response(levels, shared, step=step, down=down)
        np.testing.assert_array_equal(shared, out)


def test_line_details_are_mean_squared_second_and_fourth_differences():
    rng = np.random.default_rng(0)
    for h, w in [(20, 23), (9, 4), (16, 3), (33, 40)]:
        stack = rng.random((3, h, w)).astype(np.float32)
        rows = ndimage.correlate1d(stack, [1, -2, 1], axis=1)[:, 1:-1]
        columns = ndimage.correlate1d(stack, [1, -2, 1], axis=2)[:, :, 1:-1]
        centre = slice(w // 4, w // 4 + max(1, w // 2))
        middle = slice(h // 4, h // 4 + max(1, h // 2))
        expected = (
            (rows[:, :, centre] ** 2).mean(axis=2),
            (columns[:, middle] ** 2).mean(axis=1),
        )
        # Each central line's fourth differences (over the central half of
        # the line), where two lines lie beyond it on each side.
        rows4 = ndimage.correlate1d(stack, [1, -4, 6, -4, 1], axis=1)
        columns4 = ndimage.correlate1d(stack, [1, -4, 6, -4, 1], axis=2)
        fourth = (
            (rows4[:, middle, centre] ** 2).sum(axis=2),
            (columns4[:, middle, centre] ** 2).sum(axis=1),
        )
        down = second_difference(stack, axis=1)
        for got in (line_details(stack), line_details(stack, down)):
            for values, want in zip(got[:2], expected, strict=True):
                np.testing.assert_allclose(values, want, rtol=1e-5)
            for values, want, size in zip(got[2:], fourth, (h, w), strict=True):
                if size // 4 >= 2:
                    np.testing.assert_allclose(values, want, rtol=1e-5)
                else:
                    np.testing.assert_array_equal(values, 0.0)


def test_noise_std_is_the_same_whatever_the_images_per_pass():
    images = np.stack([_grey_levels(1, size=64, seed=s)[0] for s in range(40)])
    stack = from_uint8(images).astype(np.float64)
    alone = np.array([noise_std_stack(image[None])[0] for image in stack])
    np.testing.assert_array_equal(noise_std_stack(stack), alone)


@pytest.mark.parametrize(
    "name, small, large",
    [
        ("_fringe._plan", (120, 120, np.float32), (1100, 1000, np.float32)),
        ("_fringe._window", (120, 120, np.float32), (1100, 1000, np.float32)),
        ("_shift._plan", (120, 120), (1100, 1000)),
        ("_spikes._radius_weights", (120, 120), (1100, 1000)),
        ("_ghosts._comb_design", (120,), (1100,)),
    ],
)
def test_size_keyed_tables_are_kept_for_small_images_only(name, small, large):
    # A folder of large images of many sizes must not fill the memory with
    # one table per size: tables of images over a megapixel (a line set
    # over 1024 lines) are computed each time and not kept.
    import importlib

    module, function = name.split(".")
    table = getattr(importlib.import_module(f"blurkit.metrics.{module}"), function)
    assert table(*small) is table(*small)
    assert table(*large) is not table(*large)

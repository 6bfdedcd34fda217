"""Periodic ghosts: a comb of weakened k-space lines (blurkit.metrics._ghosts)."""

import numpy as np
import pytest
from conftest import blur, phantom, translated_late
from scipy.interpolate import BSpline

import blurkit
from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, ghosting, kspace_spike, truncate_kspace
from blurkit.metrics import _sharpness, sharpness_features_stack
from blurkit.metrics._ghosts import GHOST_FLOOR, GHOST_NAMES, GHOST_NONE

# Columns of SharpnessFeatures with every optional feature: bands (14),
# noise, outer (2), fringe, detail_shift, ghosts, resampling.
OUTER_DETAIL, GHOSTS = 15, 19
ALL = dict.fromkeys(("outer", "fringe", "detail_shift", "ghosts"), True)


def _ghosts(images):
    """``ghosts`` of each image, the motion gate open for all of them."""
    stack = np.stack(images)
    return _sharpness._ghost_features(stack, np.ones(len(stack), dtype=bool))[:, 0]


def _reference(image):
    """``ghosts`` as the module's docstring states it, in float64 with
    numpy's complex FFT, scipy's B-splines and one least-squares fit per
    comb."""
    h, w = image.shape
    window = np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    power = np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2
    # The rows over the rfft2's half-plane; the columns over every row.
    lines = [power[:, : w // 2 + 1].sum(axis=1), power.sum(axis=0)]
    best = -np.inf
    for line in lines:
        logged = np.log(np.fft.fftshift(line) + 1e-30)
        n = len(logged)
        index = np.arange(n)
        keep = np.abs(index - n // 2) >= 3
        y, index, distance = logged[keep], index[keep], index[keep] - n // 2
        breaks = np.linspace(0, n - 1, max(1, round((n - 1) / 12)) + 1)
        knots = np.r_[[0.0] * 3, breaks, [n - 1.0] * 3]
        trend = BSpline.design_matrix(index.astype(float), knots, 3).toarray()
        for period in range(2, 11):
            for offset in range(period // 2 + 1):
                comb = ((distance - offset) % period == 0) | (
                    (distance + offset) % period == 0
                )
                if not 2 <= comb.sum() <= len(y) - 2:
                    continue
                design = np.column_stack([trend, comb])
                fit, residuals, rank, _ = np.linalg.lstsq(design, y, rcond=None)
                variance = residuals[0] / (len(y) - rank)
                covariance = variance * np.linalg.inv(design.T @ design)
                best = max(best, -fit[-1] / np.sqrt(covariance[-1, -1]))
    return max(np.log10(max(best, 1.0)), GHOST_FLOOR)


def test_ghosts_follow_their_definition(sharp):
    images = list(sharp[:3]) + [
        ghosting(sharp[3], n_ghosts=4, axis=0, intensity=0.8),
        ghosting(sharp[4], n_ghosts=7, axis=1, intensity=1.0),
        phantom(64, seed=1),
    ]
    expected = [_reference(np.asarray(image, dtype=np.float64)) for image in images]
    for image, value in zip(images, expected, strict=True):
        np.testing.assert_allclose(_ghosts([image]), value, atol=2e-3)


def test_ghosts_stand_out_and_other_artifacts_do_not(sharp):
    clean = _ghosts(sharp)
    assert np.all(clean < 0.75)
    # Every n-th line weakened, along either axis: the image repeated n
    # times, as sharp as it was; the real part or the magnitude image (two
    # ghosts of a magnitude image fold back onto their comb: see the module).
    for n_ghosts, magnitude in (
        (2, False),
        (4, False),
        (7, False),
        (4, True),
        (8, True),
    ):
        ghosted = [
            ghosting(
                image,
                n_ghosts=n_ghosts,
                axis=i % 2,
                intensity=1.0,
                magnitude=magnitude,
            )
            for i, image in enumerate(sharp)
        ]
        values = _ghosts(ghosted)
        assert np.median(values) > 0.85
        assert np.mean(values > clean) >= 0.9
    # Motion, truncation, noise, a spike and blur leave no comb.
    others = {
        "moved": [translated_late(image, axis=i % 2) for i, image in enumerate(sharp)],
        "truncated": [
            truncate_kspace(image, axes=i % 2) for i, image in enumerate(sharp)
        ],
        "noisy": [
            add_noise(image, 0.03, random_state=i) for i, image in enumerate(sharp)
        ],
        "spiked": [kspace_spike(image, intensity=0.3) for image in sharp],
        "blurred": [blur(image, 1.5) for image in sharp],
    }
    for name, images in others.items():
        assert np.median(_ghosts(images)) < 0.7, name


def test_scale_and_degenerate_images(sharp):
    stack = np.stack(sharp[:3]).astype(np.float32)
    # Log ratios of powers of the same image: a scale cancels.
    np.testing.assert_allclose(_ghosts(4 * stack), _ghosts(stack), rtol=1e-12)
    # No detail, or too few lines for a comb of two: a clean slice's value.
    for images in (np.ones((2, 50, 50)), np.zeros((1, 9, 9)), np.ones((1, 2, 2))):
        np.testing.assert_array_equal(_ghosts(images), GHOST_NONE)


def test_ghosts_are_added_on_request_behind_the_motion_gate(sharp):
    features = SharpnessFeatures(**ALL).fit(sharp)
    names = features.get_feature_names_out().tolist()
    assert names[GHOSTS - 2 :] == ["fringe", "detail_shift", *GHOST_NAMES, "resampling"]
    assert features.n_features_out_ == 21
    alone = SharpnessFeatures(ghosts=True).fit(sharp)
    assert alone.get_feature_names_out().tolist()[14:] == [
        "noise_to_signal",
        "ghosts",
        "resampling",
    ]
    # Clean slices keep the gate closed; moved and ghosted ones open it,
    # and read the spectrum of the whole slice (121x121), not the crop.
    moved = [translated_late(image, axis=1) for image in sharp[:3]]
    ghosted = [
        ghosting(image, n_ghosts=5, axis=1, intensity=1.0) for image in sharp[:3]
    ]
    images = list(sharp[:3]) + moved + ghosted
    values = features.transform(images)
    gate = values[:, OUTER_DETAIL] > _sharpness.MOTION_GATE
    np.testing.assert_array_equal(gate, [False] * 3 + [True] * 6)
    np.testing.assert_array_equal(values[:3, GHOSTS], GHOST_NONE)
    np.testing.assert_allclose(values[3:, GHOSTS], _ghosts(images[3:]))
    assert np.all(values[6:, GHOSTS] > values[3:6, GHOSTS].max())
    # The other features do not change with it.
    without = SharpnessFeatures(outer=True, fringe=True, detail_shift=True)
    kept = [i for i in range(21) if i != GHOSTS]
    np.testing.assert_array_equal(without.fit(sharp).transform(images), values[:, kept])
    np.testing.assert_array_equal(
        sharpness_features_stack(np.stack(images), **ALL), values
    )
    assert blurkit.sharpness_features(sharp[0], ghosts=True).shape == (17,)


def test_the_ghosts_flag_must_be_a_boolean(sharp):
    with pytest.raises(ValueError, match="ghosts must be True or False; got"):
        SharpnessFeatures(ghosts="yes").fit(sharp)


def test_the_comb_fit_holds_no_square_matrix_of_the_lines():
    # On a 4096-pixel side a (lines, lines) projection took 134 MB, and 270
    # MB with the combs beside it (and was cached); the trend's basis and the
    # projected combs take about 12 MB (and line sets over 1024 are not
    # cached).
    from blurkit.metrics._ghosts import _comb_design

    kept, trend, projected, norms, dof = _comb_design(4096)
    held = sum(array.nbytes for array in (kept, trend, projected, norms))
    assert held < 16 * 2**20
    assert trend.shape[0] == projected.shape[0] == len(kept) > 4000
    # The basis is orthonormal, and the projected combs are orthogonal to it.
    np.testing.assert_allclose(trend.T @ trend, np.eye(trend.shape[1]), atol=1e-9)
    np.testing.assert_allclose(trend.T @ projected, 0.0, atol=1e-9)
    _comb_design.cache_clear()

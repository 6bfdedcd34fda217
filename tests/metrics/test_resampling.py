"""Resampling evidence: interpolated lines and copied lines."""

import numpy as np
import pytest
from scipy import ndimage

from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, thick_slices
from blurkit.metrics._resampling import (
    RESAMPLING_FLOOR,
    copied_lines,
    copies_evidence,
    line_details,
    local_phase_evidence,
)


def _evidence(images, noise_var=0.0):
    stack = np.asarray(images, dtype=np.float32)
    return copies_evidence(copied_lines(stack), noise_var)


def _zoom_nearest(image, factor, axis):
    """Down along ``axis`` and back with SciPy's nearest neighbour."""
    zoom = np.ones(2)
    zoom[axis] = 1 / factor
    coarse = ndimage.zoom(image, zoom, order=0)
    back = ndimage.zoom(coarse, np.array(image.shape) / coarse.shape, order=0)
    return back[: image.shape[0], : image.shape[1]]


@pytest.fixture(scope="module")
def resampling_of(sharp):
    features = SharpnessFeatures().fit(sharp)
    column = list(features.get_feature_names_out()).index("resampling")
    return lambda images: features.transform(np.stack(images))[:, column]


@pytest.mark.parametrize("factor", [2, 2.5, 3])
@pytest.mark.parametrize("axis", [0, 1])
def test_copied_lines_read_as_resampled(sharp, resampling_of, factor, axis):
    assert np.all(resampling_of(sharp) > -0.25)
    # Copies need not keep one phase: 2.5 alternates runs of 2 and 3, and
    # SciPy's zoom maps 121 lines to 60 and back with a drifting phase.
    copied = [_zoom_nearest(x, factor, axis) for x in sharp]
    assert np.all(resampling_of(copied) == RESAMPLING_FLOOR)


def test_every_nearest_neighbour_resampling_reads_as_copies(sharp, resampling_of):
    repeated = [np.repeat(x[::2], 2, axis=1)[:, :121] for x in sharp]
    thick = [thick_slices(x, factor=2, axis=0, order=0) for x in sharp]
    for images in (repeated, thick):
        assert np.all(_evidence(images) == RESAMPLING_FLOOR)
        assert np.all(resampling_of(images) == RESAMPLING_FLOOR)
    # The evidence does not depend on the axis.
    np.testing.assert_array_equal(
        _evidence(repeated), _evidence([x.T for x in repeated])
    )


def test_copies_under_noise_are_weaker_evidence(sharp, resampling_of):
    copied = [np.repeat(x[::2], 2, axis=0)[:121] for x in sharp]
    weak = resampling_of([add_noise(x, 0.01, random_state=0) for x in copied])
    assert np.all(weak < -0.5)
    assert np.all(weak > RESAMPLING_FLOOR)


def test_lines_alike_for_other_reasons_are_not_copies(sharp, demo_train):
    rows, columns = np.indices(sharp.shape[1:])
    blurred = demo_train.images[demo_train.labels == 0][:8].astype(np.float64)
    alike = {
        "sharp": sharp,
        "blurred": blurred,
        "noisy": [add_noise(x, 0.05, random_state=0) for x in sharp],
        # A strong k-space spike clipped to the range: saturated stripes.
        "clipped stripes": [
            np.clip(x + 0.6 * np.cos(2 * np.pi * 0.04 * rows), 0, 1) for x in sharp
        ],
        # Flat lines (a background over half the centre) hold no content.
        "empty half": [np.where(rows < 60, 0.0, x) for x in sharp],
        "constant": [np.full((121, 121), 0.5)],
        "tiny": [np.ones((3, 3))],
    }
    for name, images in alike.items():
        assert np.all(_evidence(images) == 0.0), name


def test_copied_lines_shape_and_counts():
    stack = np.random.default_rng(0).random((2, 40, 24)).astype(np.float32)
    out = copied_lines(stack)
    assert out.shape == (2, 2, 3)
    # Pairs over the central half: 20 rows give 19 pairs, 12 columns 11.
    np.testing.assert_array_equal(out[:, :, 2], [[19, 11], [19, 11]])
    assert np.all(out[:, :, 0] <= out[:, :, 1])


def _zoom_linear(image, axis):
    """To half the lines along ``axis`` and back, SciPy's linear zoom both
    ways, without anti-aliasing: 121 lines to 60, a factor a little off 2."""
    zoom = np.ones(2)
    zoom[axis] = 0.5
    coarse = ndimage.zoom(image, zoom, order=1)
    back = ndimage.zoom(coarse, np.array(image.shape) / coarse.shape, order=1)
    return back[: image.shape[0], : image.shape[1]]


def _local(images, noise_var=0.0):
    stack = np.asarray(images, dtype=np.float32)
    return local_phase_evidence(*line_details(stack), noise_var)


@pytest.mark.parametrize("axis", [0, 1])
def test_a_drifting_phase_reads_as_resampled(sharp, resampling_of, axis):
    # The lines sampled drift against the grid's: no phase is quieter over
    # the whole slice, but within 8 lines one is.
    moved = [_zoom_linear(np.asarray(image, dtype=np.float64), axis) for image in sharp]
    assert np.all(_local(moved) <= RESAMPLING_FLOOR / 2)
    assert np.all(resampling_of(moved) <= RESAMPLING_FLOOR / 2)
    # Clean slices hold no such evidence.
    assert np.all(_local(sharp) == 0.0)


def test_local_phase_evidence_ignores_scale_noise_and_small_images(
    sharp, resampling_of
):
    moved = np.stack(
        [_zoom_linear(np.asarray(image, dtype=np.float64), 0) for image in sharp[:4]]
    )
    np.testing.assert_allclose(_local(0.25 * moved), _local(moved), atol=1e-6)
    # Noise acquired before the resampling (as a scanner's is) is
    # interpolated with the lines: the drift still reads. (Noise added after
    # it fills the quiet lines and hides it, as it hides copies.)
    noisy = [
        _zoom_linear(add_noise(image, 0.03, random_state=i).astype(np.float64), 1)
        for i, image in enumerate(sharp)
    ]
    assert np.all(resampling_of(noisy) <= RESAMPLING_FLOOR / 2)
    # Fewer than two windows of 8 lines along both axes: no evidence.
    assert np.all(_local(moved[:, :17, :17]) == 0.0)


def test_a_padded_border_is_not_a_quiet_phase(sharp, resampling_of):
    # Rows and columns of background hold no detail: windows of them are
    # left out, not read as the quietest phase (a slice padded with a wide
    # border read as fully resampled before they were).
    padded = [np.pad(np.asarray(image, dtype=np.float64), 60) for image in sharp]
    assert np.all(_local(padded) == 0.0)
    assert np.all(resampling_of(padded) > -0.25)
    moved = [np.pad(_zoom_linear(np.asarray(image), 0), 60) for image in sharp]
    assert np.all(_local(moved) <= RESAMPLING_FLOOR / 2)

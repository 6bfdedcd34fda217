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

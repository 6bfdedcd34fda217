"""Resampling evidence: interpolated lines and copied lines."""

import numpy as np
import pytest
from scipy import ndimage

from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, thick_slices
from blurkit.metrics._resampling import (
    RESAMPLING_FLOOR,
    central_lines,
    copies_evidence,
    interpolation_evidence,
    line_details,
    periodic_evidence,
)


def _evidence(images, noise_var=0.0):
    stack = np.asarray(images, dtype=np.float32)
    return copies_evidence(central_lines(stack).copied, noise_var)


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


@pytest.fixture(scope="module")
def not_resampled(sharp, demo_train):
    """Images whose lines are alike, or quiet, for other reasons than a
    resampling."""
    rows = np.indices(sharp.shape[1:])[0]
    blurred = demo_train.images[demo_train.labels == 0][:8].astype(np.float64)
    return {
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


def test_lines_alike_for_other_reasons_are_not_copies(not_resampled):
    for name, images in not_resampled.items():
        assert np.all(_evidence(images) == 0.0), name


def test_central_lines_shape_and_counts():
    stack = np.random.default_rng(0).random((2, 40, 24)).astype(np.float32)
    out, content, _ = central_lines(stack)
    assert out.shape == (2, 2, 3)
    # Pairs over the central half: 20 rows give 19 pairs, 12 columns 11.
    np.testing.assert_array_equal(out[:, :, 2], [[19, 11], [19, 11]])
    assert np.all(out[:, :, 0] <= out[:, :, 1])


def _interpolated(image, spacing, axis, offset=0.0):
    """Samples every ``spacing`` lines along ``axis`` (linearly between the
    lines, from ``offset``), then back to every line linearly: a grid that
    drifts against the image's when ``spacing`` is not a whole number."""
    moved = np.moveaxis(np.asarray(image, dtype=np.float64), axis, 0)
    lines = np.arange(len(moved))
    samples = np.arange(offset, len(moved) - 1, spacing)

    def along(values, at, to):
        return np.stack([np.interp(to, at, column) for column in values.T], axis=1)

    back = along(along(moved, lines, samples), samples, lines)
    return np.moveaxis(back, 0, axis)


def _periodic_evidence(stack):
    details, central = line_details(stack), central_lines(stack)
    return periodic_evidence(
        details.fourth_rows, details.fourth_columns, central.content, central.means
    )


def _interpolation_evidence(images, noise_var=0.0):
    stack = np.asarray(images, dtype=np.float32)
    content = central_lines(stack).content
    details = line_details(stack)
    return interpolation_evidence(details.rows, details.columns, content, noise_var)


@pytest.mark.parametrize("spacing", [2.1, 2.25, 2.5, 2.8])
@pytest.mark.parametrize("axis", [0, 1])
def test_interpolated_lines_at_any_spacing_read_as_resampled(
    sharp, resampling_of, spacing, axis
):
    # No line phase is quieter than another over the slice (the phase
    # drifts), and no line is a copy: the quietest lines against their
    # neighbours give it away, wherever they lie.
    interpolated = [
        _interpolated(x, spacing, axis, offset=0.37 * i) for i, x in enumerate(sharp)
    ]
    assert np.all(_interpolation_evidence(interpolated) == RESAMPLING_FLOOR)
    assert np.all(resampling_of(interpolated) == RESAMPLING_FLOOR)
    # The evidence does not depend on the axis.
    np.testing.assert_array_equal(
        _interpolation_evidence(interpolated),
        _interpolation_evidence([x.T for x in interpolated]),
    )


@pytest.mark.filterwarnings("error")
def test_lines_beside_lines_without_detail_read_as_interpolated():
    # Every other line holds no detail (subnormal), its neighbours a lot:
    # the loud lines' ratios pass the float range, which must not warn
    # (it did on a spiked slice of benchmarks/feature_cost.py), and the quiet
    # ones are the strongest evidence of interpolation.
    detail = np.full((1, 40), 1e-310)
    detail[0, 1::2] = 10.0
    # `line_details` starts at the second line; the central half of 42 lines.
    content = np.ones((1, 21), dtype=bool)
    evidence = interpolation_evidence(detail, detail, (content, content), 0.0)
    assert evidence.tolist() == [RESAMPLING_FLOOR]


def test_interpolated_lines_under_noise(sharp):
    interpolated = [_interpolated(x, 2.25, 0) for x in sharp]
    noisy = np.stack([add_noise(x, 0.01, random_state=0) for x in interpolated])
    assert np.all(_interpolation_evidence(noisy, 0.01**2) == RESAMPLING_FLOOR)
    # Stronger noise fills the quiet lines: the evidence weakens, and taking
    # the noise away (a second difference passes 6 times its variance)
    # gives some of it back.
    noisy = np.stack([add_noise(x, 0.03, random_state=0) for x in interpolated])
    known, unknown = (
        _interpolation_evidence(noisy, 0.03**2),
        _interpolation_evidence(noisy),
    )
    assert np.all(known > RESAMPLING_FLOOR)
    assert np.all(known <= unknown)
    assert np.any(known < unknown)


def test_scipy_zoom_to_half_and_back_linearly(sharp, resampling_of):
    # 121 lines to 60 and back: sampled every 2.03 lines, from the first.
    for axis in (0, 1):
        zoom = np.ones(2)
        zoom[axis] = 60 / 121
        for order in (0, 1, 3):
            coarse = [ndimage.zoom(x, zoom, order=order) for x in sharp]
            back = [ndimage.zoom(x, 121 / np.array(x.shape), order=1) for x in coarse]
            assert np.all(resampling_of(back) == RESAMPLING_FLOOR)


def test_lines_quiet_for_other_reasons_are_not_interpolated(sharp, not_resampled):
    quiet = {
        **not_resampled,
        # Resampled, but not from a coarser grid: a rotation, a shift by
        # half a line.
        "rotated": [
            np.clip(ndimage.rotate(x, 7, reshape=False, order=1), 0, 1) for x in sharp
        ],
        "half a line": [ndimage.shift(x, (0.5, 0), order=1) for x in sharp],
        # A wide border of flat lines.
        "padded": [np.pad(x, 40)[:121, :121] for x in sharp],
    }
    for name, images in quiet.items():
        assert np.all(_interpolation_evidence(images) == 0.0), name


@pytest.mark.parametrize("axis", [0, 1])
def test_cubic_interpolation_back_reads_as_periodic_detail(sharp, resampling_of, axis):
    # A cubic spline through samples every 2.03 lines leaves no line on a
    # straight line between its neighbours, but each line's detail rises
    # and falls with where it falls between two samples.
    zoom = np.ones(2)
    zoom[axis] = 60 / 121
    for order in (1, 3):
        coarse = [ndimage.zoom(x, zoom, order=order) for x in sharp]
        back = [ndimage.zoom(x, 121 / np.array(x.shape), order=3) for x in coarse]
        back = np.clip(back, 0, 1).astype(np.float32)
        evidence = _periodic_evidence(back)
        # Mostly at the floor; the demo slices' finest detail is fainter
        # than a scan's (on held-out OASIS slices, -2.6 and below).
        assert np.median(evidence) < -2.5
        assert np.all(evidence < -0.9)
        assert np.all(resampling_of(back) <= evidence + 1e-5)
        # Noise has no period: 1% of it weakens the evidence, a little.
        noisy = np.stack([add_noise(x, 0.01, random_state=0) for x in back])
        weaker = _periodic_evidence(noisy.astype(np.float32))
        assert np.median(weaker) < -2
        assert np.all(weaker < -0.4)


def test_details_without_a_resampling_period(sharp, demo_train):
    blurred = demo_train.images[demo_train.labels == 0][:8].astype(np.float64)
    rows = np.indices(sharp.shape[1:])[0]
    plain = {
        "sharp": sharp,
        "blurred": blurred,
        "noisy": [add_noise(x, 0.05, random_state=0) for x in sharp],
        "rotated": [
            np.clip(ndimage.rotate(x, 7, reshape=False, order=3), 0, 1) for x in sharp
        ],
        # JPEG's 8x8 blocks repeat every 8 lines: beyond the frequencies read.
        "blocks of 8": [
            np.repeat(np.repeat(x[::8, ::8], 8, 0), 8, 1)[:121, :121] for x in sharp
        ],
        "padded": [np.pad(x, 40)[:121, :121] for x in sharp],
        "empty half": [np.where(rows < 60, 0.0, x) for x in sharp],
        "constant": [np.full((121, 121), 0.5)],
        "tiny": [np.ones((3, 3))],
    }
    for name, images in plain.items():
        stack = np.asarray(images, dtype=np.float32)
        assert np.all(_periodic_evidence(stack) == 0.0), name

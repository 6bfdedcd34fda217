"""Properties of the MRI acquisition artifacts (blurkit.degrade._acquisition)."""

import numpy as np
import pytest
from scipy import ndimage

from blurkit.degrade import (
    DEGRADATIONS,
    bias_field,
    degrade,
    ghosting,
    gibbs_ringing,
    kspace_motion,
    kspace_spike,
    rician_noise,
    thick_slices,
    truncate_kspace,
)
from blurkit.degrade._acquisition_draws import MOTION_MIN_MOVED, draw_grid_resampling

ACQUISITION_BLURS = (
    "kspace_motion",
    "single_movement",
    "centric_movement",
    "truncate_kspace",
    "gibbs_ringing",
    "thick_slices",
    "grid_resampling",
    "acquisition+noise",
)
ACQUISITION_KEEPERS = ("ghosting", "kspace_spike", "bias_field", "rician_noise")


def phantom(shape=(64, 64), seed=0, low=0.0, high=1.0):
    """Smooth random blobs scaled to [low, high]: an object with edges."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.random(shape), 1.5)
    image = (image - image.min()) / (image.max() - image.min())
    return (low + (high - low) * image).astype(np.float32)


def energy(image):
    return float(np.sum(np.asarray(image, dtype=np.float64) ** 2))


@pytest.mark.parametrize("shape", [(64, 64), (63, 50)])
@pytest.mark.parametrize(("factor", "axes"), [(2.0, (0, 1)), (2.5, 0), (3.0, 1)])
def test_truncation_removes_exactly_the_frequencies_beyond_the_cut(shape, factor, axes):
    # A mid-grey image: the ringing stays inside [0, 1], so nothing is clipped.
    image = phantom(shape, low=0.3, high=0.7)
    low = truncate_kspace(image, factor=factor, axes=axes, magnitude=False)
    spectrum = np.fft.fft2(low.astype(np.float64))
    original = np.fft.fft2(image.astype(np.float64))
    cut = 0.5 / factor
    beyond = np.zeros(shape, dtype=bool)
    for axis in np.atleast_1d(axes):
        f = np.abs(np.fft.fftfreq(shape[axis]))
        beyond |= np.expand_dims(f > cut + 1e-12, 1 - axis)
    scale = np.abs(original[0, 0])
    # float32 output: zero up to its rounding.
    assert np.abs(spectrum[beyond]).max() < 1e-5 * scale
    assert np.allclose(spectrum[~beyond], original[~beyond], atol=1e-5 * scale)


def test_truncation_taper_and_identity():
    image = phantom()
    assert np.array_equal(truncate_kspace(image, factor=1.0), image)
    sharp_cut = truncate_kspace(image, factor=2, taper=0.0, magnitude=False)
    tapered = truncate_kspace(image, factor=2, taper=1.0, magnitude=False)
    # A taper removes more (it weighs down the kept band's edge): less energy.
    assert energy(tapered) < energy(sharp_cut) < energy(image)
    assert np.array_equal(
        gibbs_ringing(image, factor=3, axes=0), truncate_kspace(image, factor=3, axes=0)
    )


def test_gibbs_ringing_rings_at_an_edge():
    step = np.zeros((64, 64), dtype=np.float32)
    step[:, 32:] = 0.5
    step[:, :8] = 0.0
    ringing = gibbs_ringing(step, factor=3, axes=1)
    # Overshoot above the plateau next to the edge, as a sinc does.
    assert ringing[:, 33:40].max() > 0.52


def test_motion_is_the_identity_without_motion():
    image = phantom()
    assert np.array_equal(kspace_motion(image), image)
    still = kspace_motion(
        image, rotations=[0.0], translations=[(0.0, 0.0)], times=[0.5]
    )
    assert np.array_equal(still, image)


@pytest.mark.parametrize("reference", ["centre", "first"])
@pytest.mark.parametrize("axis", [0, 1])
def test_motion_keeps_energy_and_changes_the_image(reference, axis):
    # Zero background and an object well inside: rotations lose nothing.
    image = np.zeros((64, 64), dtype=np.float32)
    image[16:48, 16:48] = phantom((32, 32), low=0.1, high=0.6)
    moved = kspace_motion(
        image,
        rotations=[4.0, -3.0],
        translations=[(2.0, -1.5), (-1.0, 3.0)],
        times=[0.3, 0.7],
        axis=axis,
        reference=reference,
    )
    assert moved.dtype == np.float32 and moved.shape == image.shape
    assert energy(moved) == pytest.approx(energy(image), rel=0.05)
    assert np.abs(moved - image).mean() > 0.005


@pytest.mark.parametrize("ordering", ["linear", "centric"])
@pytest.mark.parametrize("axis", [0, 1])
def test_a_late_translation_moves_exactly_the_lines_acquired_after_it(ordering, axis):
    # Linear order: line of frequency f at index f + n/2 (from -n/2 up);
    # centric: 0, +1, -1, +2, -2, ... A translation multiplies the lines
    # acquired after the movement by its phase ramp and leaves the others.
    # Real part, values well inside [0, 1]: no clipping.
    n = 64
    image = phantom((n, n), seed=2, low=0.3, high=0.6)
    time = 33 / n  # the lines from index 33 on
    shift = (2.0, -3.0)
    moved = kspace_motion(
        image,
        rotations=[0.0],
        translations=[shift],
        times=[time],
        axis=axis,
        reference="first",
        magnitude=False,
        ordering=ordering,
    )
    k = np.round(np.fft.fftfreq(n) * n).astype(int)
    if ordering == "linear":
        index = k + n // 2
    else:
        index = np.where(k > 0, 2 * k - 1, -2 * k)
        index[k == -n // 2] = n - 1
    lines = index >= 33
    if ordering == "centric":  # |f| >= 17 / n on both sides: the image stays real
        assert np.array_equal(lines, np.abs(k) >= 17)
    f_rows = np.fft.fftfreq(n)[:, np.newaxis]
    f_cols = np.fft.fftfreq(n)[np.newaxis, :]
    ramp = np.exp(-2j * np.pi * (f_rows * shift[0] + f_cols * shift[1]))
    expected = np.fft.fft2(image.astype(np.float64))
    mask = lines[:, np.newaxis] if axis == 0 else lines[np.newaxis, :]
    expected = np.where(mask, expected * ramp, expected)
    # The real part keeps the Hermitian half of the acquired k-space.
    expected = np.fft.fft2(np.fft.ifft2(expected).real)
    np.testing.assert_allclose(
        np.fft.fft2(moved.astype(np.float64)), expected, atol=1e-3 * n * n
    )


def test_centric_motion_displaces_the_detail_and_keeps_the_power():
    # Both sides of the outer lines move: the power spectrum is unchanged,
    # the image is not.
    image = phantom((64, 64), seed=4, low=0.3, high=0.6)
    moved = kspace_motion(
        image,
        rotations=[0.0],
        translations=[(3.0, 0.0)],
        times=[33 / 64],
        reference="first",
        ordering="centric",
    )
    power = np.abs(np.fft.fft2(image.astype(np.float64)))
    moved_power = np.abs(np.fft.fft2(moved.astype(np.float64)))
    np.testing.assert_allclose(moved_power, power, atol=1e-3 * power.max())
    assert np.abs(moved - image).max() > 0.01


def test_motion_validates_its_parameters():
    image = phantom()
    with pytest.raises(ValueError, match="one time per movement"):
        kspace_motion(image, rotations=[1.0], translations=[], times=[0.5])
    with pytest.raises(ValueError, match="increasing times"):
        kspace_motion(
            image,
            rotations=[1.0, 1.0],
            translations=[(0, 0), (0, 0)],
            times=[0.6, 0.4],
        )
    with pytest.raises(ValueError, match="reference"):
        kspace_motion(
            image, rotations=[1.0], translations=[(0, 0)], times=[0.5], reference="x"
        )
    with pytest.raises(ValueError, match="ordering"):
        kspace_motion(
            image, rotations=[1.0], translations=[(0, 0)], times=[0.5], ordering="x"
        )


def test_thick_slices_blur_one_axis_only():
    image = phantom(seed=3)
    thick = thick_slices(image, factor=3, axis=0)
    assert np.array_equal(thick_slices(image, factor=1), image)

    def axis_power(img, axis):
        return float(np.sum(np.diff(img.astype(np.float64), axis=axis) ** 2))

    # Detail along the coarse axis is lost, along the other one mostly kept.
    assert axis_power(thick, 0) < 0.5 * axis_power(image, 0)
    assert axis_power(thick, 1) > 0.5 * axis_power(image, 1)
    for profile in ("box", "gaussian", "point"):
        out = thick_slices(image, factor=2.4, axis=1, profile=profile, order=3)
        assert out.shape == image.shape and out.dtype == np.float32


def test_ghosting_adds_shifted_copies():
    image = np.zeros((64, 64), dtype=np.float32)
    image[26:36, 24:40] = 0.8
    ghosted = ghosting(image, n_ghosts=4, axis=0, intensity=1.0, restore=0.0)
    # A copy 64 / 4 = 16 rows away, where the image is empty.
    assert ghosted[12:18, 24:40].mean() > 0.05
    assert ghosted[8:16, :16].max() < 0.02
    assert np.allclose(ghosting(image, n_ghosts=4, intensity=0.0), image, atol=1e-6)


def test_spike_adds_a_plane_wave():
    image = phantom(low=0.3, high=0.5)
    spiked = kspace_spike(
        image, positions=[(0.25, 0.125)], intensity=0.2, magnitude=False
    )
    spectrum = np.abs(np.fft.fft2((spiked - image).astype(np.float64)))
    row, col = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    assert (row, col) == (16, 8)
    assert np.array_equal(kspace_spike(image, intensity=0.0), image)


def test_bias_field_is_smooth_and_multiplicative():
    image = phantom(low=0.2, high=0.5)
    assert np.array_equal(bias_field(image), image)
    biased = bias_field(image, coefficients=[0.3, -0.2, 0.1, 0.2, 0.0], order=2)
    ratio = biased / image
    # The ratio is a smooth field: its second differences are tiny.
    assert np.abs(np.diff(ratio, 2, axis=0)).max() < 1e-3
    with pytest.raises(ValueError, match="coefficients"):
        bias_field(image, coefficients=[0.1, 0.2], order=2)


def test_rician_noise_lifts_the_background_and_is_seeded():
    image = np.zeros((64, 64), dtype=np.float32)
    noisy = rician_noise(image, 0.05, random_state=0)
    assert noisy.min() >= 0 and noisy.mean() > 0.05  # Rayleigh: mean 1.25 std
    assert np.array_equal(noisy, rician_noise(image, 0.05, random_state=0))
    assert not np.array_equal(noisy, rician_noise(image, 0.05, random_state=1))


@pytest.mark.parametrize("name", ACQUISITION_BLURS + ACQUISITION_KEEPERS)
def test_registered_cases_shapes_dtypes_labels_and_seeds(name):
    image = phantom((60, 72), seed=1)
    out, label, params = degrade(image, name, random_state=7)
    again, _, params_again = degrade(image, name, random_state=7)
    assert out.shape == image.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.array_equal(out, again) and params == params_again
    # The parameters alone reproduce the output.
    assert np.array_equal(DEGRADATIONS[name].func(image, **params), out)
    expected = 0 if name in ACQUISITION_BLURS else None
    assert label == expected
    if expected is None:
        assert DEGRADATIONS[name].applies_to == {0, 1}


def test_grid_resampling_keeps_every_kth_line():
    image = phantom((60, 72), seed=2)
    rng = np.random.default_rng(0)
    orders = set()
    for _ in range(20):
        params = draw_grid_resampling(rng)
        orders.add(params["order"])
        factor, offset = int(params["factor"]), int(params["offset"])
        assert factor in (2, 3) and 0 <= offset < factor
        out = thick_slices(image, **params)
        kept = [slice(None), slice(None)]
        kept[params["axis"]] = slice(offset, None, factor)
        # The sampled lines are the image's own; the others are not.
        np.testing.assert_allclose(out[tuple(kept)], image[tuple(kept)], atol=1e-6)
        assert not np.allclose(out, image, atol=1e-3)
    # Copied back by nearest neighbour, or interpolated linearly or cubically.
    assert orders == {0, 1, 3}


def test_ghosting_draws_are_mostly_magnitude_images():
    # Scanners export the magnitude image; the share is the documented one.
    from blurkit.degrade._acquisition_draws import GHOSTING_MAGNITUDE_SHARE

    rng = np.random.default_rng(0)
    draws = [DEGRADATIONS["ghosting"].draw_params(rng) for _ in range(2000)]
    share = np.mean([params["magnitude"] for params in draws])
    # Binomial standard error at 2,000 draws: under 0.01.
    assert abs(share - GHOSTING_MAGNITUDE_SHARE) < 0.04
    assert GHOSTING_MAGNITUDE_SHARE > 0.5
    assert {params["n_ghosts"] for params in draws} == set(range(2, 11))
    assert all(0.2 <= params["intensity"] <= 1.0 for params in draws)


def test_motion_draws_move_enough_of_k_space():
    rng = np.random.default_rng(0)
    for _ in range(50):
        params = DEGRADATIONS["kspace_motion"].draw_params(rng)
        assert 1 <= len(params["times"]) <= 3
        assert np.all(np.diff(params["times"]) > 0)
        assert all(0.0 <= abs(r) <= 8.0 for r in params["rotations"])
        # The moved share is at least MOTION_MIN_MOVED.
        bounds = np.concatenate(([0.0], params["times"], [1.0]))
        still = (
            0
            if params["reference"] == "first"
            else np.searchsorted(params["times"], 0.5)
        )
        assert 1 - (bounds[still + 1] - bounds[still]) >= MOTION_MIN_MOVED


def test_single_movement_draws_one_movement_near_the_middle():
    rng = np.random.default_rng(0)
    draws = [DEGRADATIONS["single_movement"].draw_params(rng) for _ in range(2000)]
    for params in draws:
        (time,) = params["times"]
        assert 0.35 <= time <= 0.65
        ((rows, columns),) = params["translations"]
        assert max(abs(rows), abs(columns)) <= 6.0
        (rotation,) = params["rotations"]
        assert 2.0 <= abs(rotation) <= 10.0
        assert params["reference"] == "centre"
    # Both axes, both signs, the real part and the magnitude about equally
    # (binomial standard error at 2,000 draws: about 0.01).
    assert {params["axis"] for params in draws} == {0, 1}
    assert abs(np.mean([params["magnitude"] for params in draws]) - 0.5) < 0.04
    assert abs(np.mean([params["rotations"][0] > 0 for params in draws]) - 0.5) < 0.04


def test_centric_movement_draws_move_the_outer_lines_of_both_sides():
    rng = np.random.default_rng(0)
    draws = [DEGRADATIONS["centric_movement"].draw_params(rng) for _ in range(2000)]
    for params in draws:
        assert params["ordering"] == "centric"
        # At rest first: the centre lines, acquired first, keep the image
        # where it was; the last 30-50% of the lines moved.
        assert params["reference"] == "first"
        (time,) = params["times"]
        assert 0.5 <= time <= 0.7
        (rotation,) = params["rotations"]
        assert 2.0 <= abs(rotation) <= 10.0
    assert {params["axis"] for params in draws} == {0, 1}
    assert abs(np.mean([params["magnitude"] for params in draws]) - 0.5) < 0.04


def test_centric_movement_keeps_the_coarse_image_in_place():
    # A pure translation late in a centric acquisition: the lines within
    # 0.25 cycles per pixel of the centre (acquired in the first half) are
    # the image's own, those beyond 0.35 the moved copy's, on both sides.
    image = phantom((64, 64), seed=2, low=0.3, high=0.7)
    params = DEGRADATIONS["centric_movement"].draw_params(np.random.default_rng(1))
    params.update(rotations=[0.0], translations=[(0.0, 3.0)], magnitude=False)
    moved = DEGRADATIONS["centric_movement"].func(image, **params)
    axis = params["axis"]
    original = np.fft.fft2(image.astype(np.float64))
    spectrum = np.fft.fft2(moved.astype(np.float64))
    f = np.expand_dims(np.abs(np.fft.fftfreq(64)), 1 - axis)
    inner = np.broadcast_to(f < 0.25, spectrum.shape)
    outer = np.broadcast_to(f > 0.35, spectrum.shape)
    ramp = np.exp(-2j * np.pi * 3.0 * np.fft.fftfreq(64))[np.newaxis, :]
    scale = np.abs(original[0, 0])
    assert np.abs(spectrum - original)[inner].max() < 1e-4 * scale
    shifted = np.broadcast_to(original * ramp, spectrum.shape)
    assert np.abs(spectrum - shifted)[outer].max() < 1e-4 * scale
    # and the outer lines did move: by as much as they hold.
    change = np.abs(spectrum - original)[outer].max()
    assert change > 0.5 * np.abs(original)[outer].max()


def test_single_movement_is_nearly_the_average_of_two_moved_copies():
    # A movement at the middle of the acquisition: half of k-space from each
    # position. The real part of the reconstruction then holds the average
    # of the two positions' spectra at every line but the centre one (the
    # real part of one half of a real image's spectrum is half the whole),
    # so the image is much nearer that average than either position.
    image = phantom((64, 64), seed=3)
    movement = {
        "rotations": [4.0],
        "translations": [(2.0, 3.0)],
        "reference": "first",
        "magnitude": False,
    }
    middle = kspace_motion(image, times=[0.5], **movement)
    moved = kspace_motion(image, times=[1e-9], **movement)

    def distance(a, b):
        return np.abs(a - b).mean()

    average = 0.5 * (image + moved)
    assert distance(middle, average) < 0.35 * distance(middle, image)
    assert distance(middle, average) < 0.35 * distance(middle, moved)

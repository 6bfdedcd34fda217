"""The detail shift: the finest detail moved from coarser detail
(blurkit.metrics._shift)."""

import numpy as np
import pytest
from conftest import translated_late
from scipy.signal.windows import tukey

import blurkit
from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, kspace_spike
from blurkit.metrics import _sharpness, sharpness_features_stack
from blurkit.metrics._fringe import fringe_features, tukey_spectrum
from blurkit.metrics._shift import SHIFT_NAMES, detail_shift_features

# Columns of SharpnessFeatures(outer=True, fringe=True, detail_shift=True):
# bands (14), noise, outer (2), fringe, detail_shift, resampling.
FRINGE, SHIFT = 17, 18


def _shift_of(images):
    return detail_shift_features(np.stack(images).astype(np.float32))[:, 0]


def _reference(image):
    """``detail_shift`` as the module's docstring states it, in float64 on
    the full grid: numpy's complex FFTs, the bands as masks, the
    correlation at every lag by an inverse FFT."""
    h, w = image.shape
    tapered = (image - image.mean()) * np.outer(tukey(h, 0.5), tukey(w, 0.5))
    spectrum = np.fft.fft2(tapered)
    power = np.abs(spectrum) ** 2
    fy = np.broadcast_to(np.fft.fftfreq(h)[:, np.newaxis], (h, w))
    fx = np.broadcast_to(np.fft.fftfreq(w), (h, w))
    gain = np.exp(-2 * np.pi**2 * 1.5**2 * (fy**2 + fx**2))
    lag_y = np.abs(np.fft.fftfreq(h) * h)[:, np.newaxis]
    lag_x = np.abs(np.fft.fftfreq(w) * w)
    chebyshev = np.maximum(lag_y, lag_x)
    counted = (chebyshev >= 2) & (chebyshev <= 8)
    best = None
    for along, order in ((fy, (0, 1)), (fx, (1, 0))):
        frequencies = np.fft.fftfreq(along.shape[order[0]])
        finest = np.flatnonzero((frequencies >= 0.38) & (frequencies < 0.5))
        coarser = np.flatnonzero(frequencies >= 0.12)[: len(finest)]
        if len(finest) < 2:
            continue
        energies = []
        for lines in (finest, coarser):
            mask = np.isin(along, frequencies[lines])
            # The band as rows of increasing frequency along the axis, each
            # across it in the FFT's order: the median of every third power.
            values = power.transpose(order)[lines].ravel()[::3]
            cap = 5 * np.sort(values)[len(values) // 2]
            scale = np.sqrt(np.minimum(1.0, cap / np.maximum(power, 1e-300)))
            signal = np.fft.ifft2(spectrum * mask * scale)
            energy = np.fft.fft2(np.abs(signal) ** 2) * gain
            energy[0, 0] = 0
            energies.append(energy)
        finest_energy, coarser_energy = energies
        norm = np.linalg.norm(finest_energy) * np.linalg.norm(coarser_energy)
        if norm == 0:
            continue
        correlation = np.fft.ifft2(finest_energy * np.conj(coarser_energy)).real
        correlation *= h * w / norm
        value = correlation[counted].max() - correlation[0, 0]
        best = value if best is None else max(best, value)
    return 0.0 if best is None else best


@pytest.mark.parametrize("shape", [(64, 64), (45, 60), (60, 45), (120, 120)])
def test_the_shift_follows_its_definition(sharp, shape):
    rng = np.random.default_rng(0)
    images = [sharp[0][: shape[0], : shape[1]], rng.random(shape)]
    ours = detail_shift_features(np.stack(images).astype(np.float32))[:, 0]
    expected = [_reference(image) for image in images]
    np.testing.assert_allclose(ours, expected, atol=1e-4)


def _moved_outer_lines(image, axis, sides, shift=(3.0, 2.0)):
    """The outer 30% of the lines along ``axis`` (beyond 0.35 cycles per
    pixel, on ``sides``) acquired after a translation by ``shift`` pixels;
    the magnitude, clipped to [0, 1] as a scanner's export would be."""
    spectrum = np.fft.fft2(image)
    fy = np.fft.fftfreq(image.shape[0])[:, np.newaxis]
    fx = np.fft.fftfreq(image.shape[1])[np.newaxis, :]
    along = np.broadcast_to(fy if axis == 0 else fx, image.shape)
    moved = np.zeros(image.shape, dtype=bool)
    for side in sides:
        moved |= side * along >= 0.35
    ramp = np.exp(-2j * np.pi * (fy * shift[0] + fx * shift[1]))
    spectrum = np.where(moved, spectrum * ramp, spectrum)
    return np.clip(np.abs(np.fft.ifft2(spectrum)), 0, 1)


def _discs(seed, size=121):
    """Overlapping discs of random intensities: sharp edges, every band's
    detail on them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.zeros((size, size))
    for _ in range(12):
        cy, cx = rng.uniform(25, 95, 2)
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(5, 25) ** 2
        image += rng.uniform(0.1, 0.4) * inside
    return np.clip(image, 0, 1)


def test_a_translation_of_both_sides_moves_the_fine_detail():
    images = [_discs(seed) for seed in range(8)]
    clean = _shift_of(images)
    assert np.all(np.abs(clean) < 0.05)
    for axis in (0, 1):
        both = _shift_of([_moved_outer_lines(image, axis, (1, -1)) for image in images])
        assert np.all(both - clean > 0.08), both - clean
        # One side moved doubles the detail (the fringe's case): half of it
        # stays in place.
        one = _shift_of([_moved_outer_lines(image, axis, (1,)) for image in images])
        assert np.all(one - clean < both - clean)


def test_noise_spikes_and_a_whole_image_shift_leave_it_nearly_as_it_was(sharp):
    clean = _shift_of(sharp)
    rng = np.random.default_rng(0)
    noisy = [add_noise(image, 0.02, random_state=rng) for image in sharp]
    shifted = [np.roll(image, (3, 2), axis=(0, 1)) for image in sharp]
    spiked = [
        kspace_spike(image, positions=[(0.42, 0.1)], intensity=0.5) for image in sharp
    ]
    for images in (noisy, shifted, spiked):
        assert np.all(np.abs(_shift_of(images) - clean) < 0.02)


def test_scale_spectrum_and_degenerate_images(sharp):
    stack = np.stack(sharp[:3]).astype(np.float32)
    # A ratio of powers of the same image: a power-of-two scale is exact.
    np.testing.assert_array_equal(
        detail_shift_features(4 * stack), detail_shift_features(stack)
    )
    # A spectrum given is the one it would compute, and stays as it was.
    spectrum = tukey_spectrum(stack)
    kept = spectrum.copy()
    np.testing.assert_array_equal(
        detail_shift_features(stack, spectrum), detail_shift_features(stack)
    )
    np.testing.assert_array_equal(spectrum, kept)
    for images in (np.ones((2, 50, 50)), np.zeros((1, 9, 9)), np.ones((1, 2, 2))):
        np.testing.assert_array_equal(detail_shift_features(images), 0.0)


def test_the_shift_is_added_on_request(sharp):
    features = SharpnessFeatures(outer=True, fringe=True, detail_shift=True)
    features.fit(sharp)
    names = features.get_feature_names_out().tolist()
    assert names[FRINGE:] == ["fringe", *SHIFT_NAMES, "resampling"]
    alone = SharpnessFeatures(detail_shift=True).fit(sharp)
    assert alone.get_feature_names_out().tolist()[14:17] == [
        "noise_to_signal",
        "detail_shift",
        "resampling",
    ]
    option = SharpnessFeatures(outer=True, fringe=True).fit(sharp)
    assert option.detail_shift is False and option.n_features_out_ == 19
    # Clean slices (no detail outside the head) and moved ones.
    images = list(sharp[:4]) + [translated_late(image, axis=1) for image in sharp[:4]]
    values = features.transform(images)
    kept = [i for i in range(20) if i != SHIFT]
    np.testing.assert_array_equal(option.transform(images), values[:, kept])
    # Read on the features' crop (120x120 of these 121x121 slices), from the
    # spectrum that the fringe reads too, where the gate opens; a clean
    # slice's values elsewhere.
    moved = values[:, 15] > _sharpness.MOTION_GATE
    np.testing.assert_array_equal(moved, [False] * 4 + [True] * 4)
    crop = _sharpness._float32_crop(np.stack(images[4:]).astype(np.float32))
    np.testing.assert_allclose(values[4:, SHIFT], detail_shift_features(crop)[:, 0])
    np.testing.assert_allclose(values[4:, FRINGE], fringe_features(crop)[:, 0])
    np.testing.assert_array_equal(
        values[:4, [FRINGE, SHIFT]], np.tile(_sharpness.CLEAN_TUKEY, (4, 1))
    )
    np.testing.assert_array_equal(
        sharpness_features_stack(
            np.stack(images), outer=True, fringe=True, detail_shift=True
        ),
        values,
    )
    assert blurkit.sharpness_features(sharp[0], detail_shift=True).shape == (17,)


def test_the_gate_needs_detail_outside_the_head_and_fine_detail(sharp):
    from conftest import DEMO_DATA

    flags = dict(outer=True, fringe=True, detail_shift=True)
    moved = [translated_late(image) for image in sharp[:4]]
    # Half of the demo set's blurred slices hold detail outside the head,
    # but nothing in the finest band: nothing fine to double or shift.
    train = blurkit.load_dataset(DEMO_DATA / "train")
    blurred = [image for image, label in zip(*train[:2], strict=True) if label == 0]
    values = sharpness_features_stack(np.stack(moved + blurred), **flags)
    outer_detail, finest = values[:, 15], values[:, 12]
    assert np.all(outer_detail[:4] > _sharpness.MOTION_GATE)
    assert np.all(finest[:4] > _sharpness.FINE_DETAIL_GATE)
    crop = _sharpness._float32_crop(np.stack(moved).astype(np.float32))
    np.testing.assert_allclose(values[:4, SHIFT], detail_shift_features(crop)[:, 0])
    closed = (outer_detail > _sharpness.MOTION_GATE) & (
        finest <= _sharpness.FINE_DETAIL_GATE
    )
    assert closed.sum() >= 10
    np.testing.assert_array_equal(
        values[closed][:, [FRINGE, SHIFT]],
        np.tile(_sharpness.CLEAN_TUKEY, (closed.sum(), 1)),
    )


def test_the_shift_must_be_a_boolean(sharp):
    with pytest.raises(ValueError, match="detail_shift must be True or False; got"):
        SharpnessFeatures(detail_shift="yes").fit(sharp)

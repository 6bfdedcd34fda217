"""The sparsity of the fine detail (blurkit.metrics._sparsity)."""

import numpy as np
import pytest
from scipy import ndimage

from blurkit import SharpnessFeatures
from blurkit.degrade import add_noise, ghosting
from blurkit.metrics import sharpness_features_stack
from blurkit.metrics._outer import head_threshold
from blurkit.metrics._sparsity import (
    EROSION,
    SPARSITY_NAMES,
    SPARSITY_NONE,
    _eroded,
    sparsity_from_moments,
    sparsity_moments,
)
from blurkit.metrics._spatial import second_difference


def _sparsity(images, noise_var=0.0):
    """``sparsity`` of each image, its noise variance given."""
    stack = np.array(images, dtype=np.float32)
    moments = sparsity_moments(stack, second_difference(stack, axis=1))
    return sparsity_from_moments(moments, noise_var)


def _reference(image, noise_var=0.0):
    """``sparsity`` as the module's docstring states it, in float64 with
    numpy's percentiles and scipy's Laplacian and erosion."""
    image = np.asarray(image, dtype=np.float64)
    low, top = np.percentile(image[::6, ::6], [5, 99])
    head = image > head_threshold(low, top)
    # The Laplacian is read where it is defined: off the image's border.
    head[[0, -1]] = head[:, [0, -1]] = False
    interior = ndimage.binary_erosion(head, iterations=3)
    detail = ndimage.laplace(image)[interior]
    noise = 20 * noise_var
    second = np.mean(detail**2) - noise
    fourth = np.mean(detail**4) - 6 * second * noise - 3 * noise**2
    return np.clip(np.log(fourth / second**2), 0, np.log(1e3))


def _double_exposure(image, shift):
    """The average of an image and a copy moved by ``shift`` pixels."""
    return (image + ndimage.shift(image, shift, order=1)) / 2


def test_sparsity_follows_its_definition(sharp):
    images = [*sharp[:3], add_noise(sharp[0], 0.02, random_state=0)]
    for noise_var in (0.0, 0.02**2):
        expected = [_reference(image, noise_var) for image in images]
        np.testing.assert_allclose(_sparsity(images, noise_var), expected, atol=1e-4)


def test_erosion_matches_scipy():
    mask = np.random.default_rng(0).random((3, 40, 30)) < 0.9
    mask[:, :, [0, -1]] = False
    eroded = _eroded(mask.reshape(3, -1), 30, EROSION).reshape(3, -1, 30)
    assert eroded.shape == (3, 40 - 2 * EROSION, 30)
    for image, result in zip(mask, eroded, strict=True):
        expected = ndimage.binary_erosion(image, iterations=EROSION)
        np.testing.assert_array_equal(result, expected[EROSION:-EROSION])


@pytest.mark.parametrize("index", range(4))
def test_a_double_exposure_is_less_sparse(sharp, index):
    # Two copies of the detail, a translation or a rotation apart.
    sharp = sharp[index]
    moved = [
        _double_exposure(sharp, (4, 0)),
        _double_exposure(sharp, (2, -3)),
        (sharp + ndimage.rotate(sharp, 6, reshape=False, order=1)) / 2,
    ]
    clean, *doubled = _sparsity([sharp, *moved])
    assert clean > 1.4
    assert np.all(np.asarray(doubled) < clean - 0.1)


def test_the_outline_is_left_out():
    # A flat disc: all its detail lies on its outline.
    y, x = np.mgrid[:64, :64]
    disc = ((y - 32) ** 2 + (x - 32) ** 2 < 20**2).astype(float)
    assert _sparsity([disc])[0] == SPARSITY_NONE


def test_noise_alone_reads_as_gaussian_detail():
    # A flat square under white noise: its interior holds noise only.
    square = np.zeros((121, 121))
    square[20:100, 20:100] = 0.5
    rng = np.random.default_rng(0)
    noise = np.clip(square + rng.normal(0, 0.05, square.shape), 0, 1)
    # Its own variance taken away, nothing is left: the value of no detail.
    assert _sparsity([noise], 0.05**2)[0] == SPARSITY_NONE
    # Kept, it reads as Gaussian detail: kurtosis 3.
    assert _sparsity([noise])[0] == pytest.approx(np.log(3), abs=0.1)


def test_scale_tiny_and_constant_images(sharp):
    sharp = sharp[0]
    value = _sparsity([sharp])[0]
    assert _sparsity([0.25 * sharp])[0] == pytest.approx(value, abs=1e-4)
    assert _sparsity([sharp[:8, :8]])[0] == SPARSITY_NONE
    assert _sparsity([np.full((50, 50), 0.3)])[0] == SPARSITY_NONE


def test_sparsity_is_added_on_request(sharp):
    sharp = sharp[0]
    ghosted = ghosting(sharp, n_ghosts=4, intensity=0.8)
    images = np.stack([sharp, _double_exposure(sharp, (3, 2)), ghosted])
    plain = sharpness_features_stack(images)
    with_it = sharpness_features_stack(images, sparsity=True)
    assert with_it.shape[1] == plain.shape[1] + 1
    # Its column comes after noise_to_signal and before the resampling.
    np.testing.assert_array_equal(np.delete(with_it, -2, axis=1), plain)
    transformer = SharpnessFeatures(sparsity=True).fit(images)
    names = transformer.get_feature_names_out().tolist()
    assert names[-2] == SPARSITY_NAMES[0]
    np.testing.assert_allclose(transformer.transform(images), with_it)
    # 8-bit grey levels read as blurkit reads them.
    levels = np.round(images * 255).astype(np.uint8)
    np.testing.assert_allclose(
        sharpness_features_stack(levels, sparsity=True)[:, -2],
        sharpness_features_stack(levels / 255.0, sparsity=True)[:, -2],
        atol=1e-4,
    )


def test_a_slice_that_may_hold_a_spike_reads_a_clean_value(sharp):
    from blurkit.degrade import kspace_spike
    from blurkit.metrics._sparsity import SPARSITY_CLEAN

    # A strong spike, which clips the head, and a weak one: despiking takes
    # both away (the strong one's clipped pixels filled), and each reads its
    # own value without the wave, near the clean slice's.
    strong = kspace_spike(sharp[0], intensity=2.0, magnitude=False)
    weak = kspace_spike(sharp[0], intensity=0.2, magnitude=False)
    column = sharpness_features_stack(
        np.stack([sharp[0], strong, weak]), sparsity=True, despike=True
    )[:, -2]
    assert column[1] != SPARSITY_CLEAN
    assert column[1] == pytest.approx(column[0], abs=0.2)
    assert column[2] == pytest.approx(column[0], abs=0.1)
    # Without despiking, a slice that may hold a spike (the strong one: the
    # weak one does not open the candidates' gate) reads a clean slice's
    # value.
    plain = sharpness_features_stack(strong[None], sparsity=True)[:, -2]
    np.testing.assert_array_equal(plain, SPARSITY_CLEAN)

"""Tests of the degradations (blurkit.degrade) and augmentation."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from blurkit.degrade import (
    DEGRADATIONS,
    Degradation,
    add_noise,
    adjust_gamma,
    defocus_blur,
    degrade,
    dihedral,
    disk_kernel,
    gaussian_blur,
    jpeg_compress,
    motion_blur,
    motion_kernel,
    reduce_resolution,
    resize_canvas,
    scale_intensity,
    stretch_contrast,
)
from blurkit.models import AugmentedClassifier, DegradationAugmenter


def blocky_image(seed=0, shape=(64, 64), block=4):
    """Random grey blocks: plenty of edges in every direction but diagonals."""
    rng = np.random.default_rng(seed)
    n_rows, n_cols = shape[0] // block, shape[1] // block
    levels = rng.random((n_rows, n_cols))
    return np.kron(levels, np.ones((block, block))).astype(np.float32)


def texture_image(seed=0, shape=(64, 64)):
    """Mildly smoothed white noise: isotropic high-frequency content."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.random(shape), 0.5)
    return stretch_contrast(image)


def laplacian_variance(image):
    return float(ndimage.laplace(np.asarray(image, dtype=np.float64)).var())


def log_laplacian_variance(images):
    return np.array([[np.log(laplacian_variance(image) + 1e-12)] for image in images])


@pytest.fixture(scope="module")
def image():
    return blocky_image()


def check_image(output, shape):
    assert output.dtype == np.float32
    assert output.shape == shape
    assert output.min() >= 0.0
    assert output.max() <= 1.0


# --------------------------------------------------------------------------
# Blurs


@pytest.mark.parametrize(
    "blur, strengths",
    [
        (lambda x, s: gaussian_blur(x, sigma=s), [0.5, 1, 2, 3, 4]),
        (lambda x, s: motion_blur(x, length=s, angle=0), [3, 7, 11, 15]),
        (lambda x, s: motion_blur(x, length=s, angle=30), [3, 7, 11, 15]),
        (lambda x, s: motion_blur(x, length=s, angle=90), [3, 7, 11, 15]),
        (lambda x, s: motion_blur(x, length=s, angle=135), [3, 7, 11, 15]),
        (lambda x, s: defocus_blur(x, radius=s), [1, 2, 3, 5]),
        (lambda x, s: reduce_resolution(x, factor=s), [1.5, 2, 3, 4]),
    ],
    ids=["gaussian", "motion0", "motion30", "motion90", "motion135", "disk", "res"],
)
@pytest.mark.parametrize("make_image", [blocky_image, texture_image])
def test_blur_removes_high_frequencies_monotonically(blur, strengths, make_image):
    image = make_image()
    energies = [laplacian_variance(image)]
    for strength in strengths:
        blurred = blur(image, strength)
        check_image(blurred, image.shape)
        energies.append(laplacian_variance(blurred))
    assert np.all(np.diff(energies) < 0), energies


@pytest.mark.parametrize(
    "blur, no_op",
    [
        (gaussian_blur, {"sigma": 0}),
        (motion_blur, {"length": 1, "angle": 40}),
        (defocus_blur, {"radius": 0.5}),
        (reduce_resolution, {"factor": 1}),
    ],
)
def test_zero_strength_blur_is_identity(image, blur, no_op):
    np.testing.assert_array_equal(blur(image, **no_op), image)


def test_blurs_keep_the_mean_away_from_borders():
    image = np.zeros((64, 64), dtype=np.float32)
    image[24:40, 24:40] = 0.8  # zero background, as in brain slices
    for blurred in (
        gaussian_blur(image, 2),
        motion_blur(image, 9, 20),
        defocus_blur(image, 3),
        reduce_resolution(image, 2),
    ):
        assert blurred.sum() == pytest.approx(image.sum(), rel=1e-3)


@pytest.mark.parametrize("length", [2.5, 7, 12.3])
@pytest.mark.parametrize("angle", [0, 33, 90, 145])
def test_motion_kernel_is_a_normalised_line(length, angle):
    kernel = motion_kernel(length, angle)
    assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
    assert kernel.min() >= 0
    assert kernel.sum() == pytest.approx(1.0)
    # Centred, and elongated along the angle.
    rows, cols = np.indices(kernel.shape) - kernel.shape[0] // 2
    assert (kernel * rows).sum() == pytest.approx(0, abs=1e-9)
    assert (kernel * cols).sum() == pytest.approx(0, abs=1e-9)
    theta = np.deg2rad(angle)
    along = cols * np.cos(theta) - rows * np.sin(theta)
    across = cols * np.sin(theta) + rows * np.cos(theta)
    spread_along = (kernel * along**2).sum()
    spread_across = (kernel * across**2).sum()
    assert spread_along > 4 * spread_across
    # The variance of a uniform segment of this length, up to anti-aliasing.
    assert spread_along == pytest.approx(length**2 / 12, abs=0.5)


def test_motion_kernel_direction():
    horizontal = motion_kernel(7, 0)
    centre = horizontal.shape[0] // 2
    assert horizontal[centre].sum() == pytest.approx(1.0)
    vertical = motion_kernel(7, 90)
    assert vertical[:, centre].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(motion_kernel(9, 20), motion_kernel(9, 200), atol=1e-12)


def test_disk_kernel_grows_with_radius():
    areas = []
    for radius in (1, 2, 2.5, 3, 5):
        kernel = disk_kernel(radius)
        assert kernel.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(kernel, kernel.T)
        np.testing.assert_allclose(kernel, kernel[::-1])
        areas.append(1 / kernel.max())  # equivalent area of a flat disk
    assert np.all(np.diff(areas) > 0)
    assert areas[-1] == pytest.approx(np.pi * 25, rel=0.05)


# --------------------------------------------------------------------------
# Photometric and geometric changes


def test_add_noise_is_reproducible_and_has_the_requested_std():
    grey = np.full((128, 128), 0.5, dtype=np.float32)  # no clipping at 5 %
    first = add_noise(grey, 0.05, random_state=3)
    np.testing.assert_array_equal(first, add_noise(grey, 0.05, random_state=3))
    assert not np.array_equal(first, add_noise(grey, 0.05, random_state=4))
    check_image(first, grey.shape)
    assert (first - grey).std() == pytest.approx(0.05, rel=0.05)
    assert (first - grey).mean() == pytest.approx(0.0, abs=0.005)
    np.testing.assert_array_equal(add_noise(grey, 0.0, random_state=0), grey)


def test_add_noise_stays_in_range(image):
    check_image(add_noise(image, 0.3, random_state=0), image.shape)


def test_add_noise_clipped_rectifies_it_on_a_zero_background():
    image = np.zeros((128, 128), dtype=np.float32)
    image[32:96, 32:96] = 0.5
    noisy = add_noise(image, 0.05, random_state=0)
    background = noisy[:16]
    assert background.min() == 0.0
    assert np.mean(background == 0.0) == pytest.approx(0.5, abs=0.05)


def test_add_noise_unclipped_keeps_it_whole_and_rescales():
    image = np.zeros((128, 128), dtype=np.float32)
    image[32:96, 32:96] = 0.5
    noisy = add_noise(image, 0.05, clip=False, random_state=0)
    check_image(noisy, image.shape)
    assert (noisy.min(), noisy.max()) == (0.0, 1.0)
    # The same noise as the clipped call, whole: where clipping changed
    # nothing, one affine map (the rescaling) takes one to the other.
    clipped = add_noise(image, 0.05, random_state=0)
    inside = (clipped > 0) & (clipped < 1)
    slope, offset = np.polyfit(clipped[inside], noisy[inside], 1)
    np.testing.assert_allclose(
        noisy[inside], slope * clipped[inside] + offset, atol=1e-5
    )
    # On the background both halves of the noise are kept.
    background = (noisy[:16] - offset) / slope
    assert background.std() == pytest.approx(0.05, rel=0.05)
    assert np.mean(background < 0) == pytest.approx(0.5, abs=0.05)
    np.testing.assert_array_equal(
        add_noise(image, 0.0, clip=False, random_state=0), image
    )


@pytest.mark.parametrize("clip", ["False", 0, None])
def test_add_noise_refuses_a_clip_that_is_not_a_bool(clip):
    with pytest.raises(TypeError, match="clip"):
        add_noise(np.zeros((8, 8)), 0.1, clip=clip, random_state=0)


def test_scale_intensity_and_gamma(image):
    np.testing.assert_allclose(scale_intensity(image, 0.5), image * 0.5, atol=1e-7)
    brighter = scale_intensity(image, 2.0)
    check_image(brighter, image.shape)
    np.testing.assert_allclose(brighter, np.minimum(image * 2, 1), atol=1e-7)
    np.testing.assert_allclose(adjust_gamma(image, 2.0), image**2, atol=1e-6)
    assert np.all(adjust_gamma(image, 0.5) >= image - 1e-7)
    with pytest.raises(ValueError, match="gamma"):
        adjust_gamma(image, 0)
    with pytest.raises(ValueError, match="factor"):
        scale_intensity(image, -1)


def test_stretch_contrast():
    dim = np.linspace(0.2, 0.6, 100, dtype=np.float32).reshape(10, 10)
    stretched = stretch_contrast(dim)
    assert stretched.min() == 0.0 and stretched.max() == 1.0
    np.testing.assert_allclose(stretched, (dim - 0.2) / 0.4, atol=1e-6)
    constant = np.full((5, 5), 0.3, dtype=np.float32)
    np.testing.assert_array_equal(stretch_contrast(constant), constant)


def test_jpeg_high_quality_is_close_to_input():
    image = gaussian_blur(texture_image(), 1)  # photographic, not pixel noise
    compressed = jpeg_compress(image, 95)
    check_image(compressed, image.shape)
    assert np.abs(compressed - image).mean() < 0.01
    assert (
        np.abs(jpeg_compress(image, 10) - image).mean()
        > np.abs(compressed - image).mean()
    )
    with pytest.raises(ValueError, match="quality"):
        jpeg_compress(image, 0)


def test_dihedral_gives_eight_distinct_invertible_images():
    image = blocky_image(shape=(32, 48))
    outputs = []
    for k in range(8):
        out = dihedral(image, k)
        expected_shape = image.shape if k % 2 == 0 else image.shape[::-1]
        check_image(out, expected_shape)
        inverse = (4 - k) % 4 if k < 4 else k
        np.testing.assert_array_equal(dihedral(out, inverse), image)
        outputs.append(out)
    square = blocky_image(shape=(32, 32))
    squares = {dihedral(square, k).tobytes() for k in range(8)}
    assert len(squares) == 8
    np.testing.assert_array_equal(outputs[0], image)
    with pytest.raises(ValueError, match="k"):
        dihedral(image, 8)


def test_resize_canvas_pads_and_crops_around_the_centre():
    image = blocky_image(shape=(20, 30), block=2) * 0.5 + 0.5  # no zeros
    padded = resize_canvas(image, (26, 31))
    check_image(padded, (26, 31))
    np.testing.assert_array_equal(padded[3:23, 0:30], image)
    assert padded.sum() == pytest.approx(image.sum())
    np.testing.assert_array_equal(resize_canvas(padded, (20, 30)), image)
    cropped = resize_canvas(image, 10)
    np.testing.assert_array_equal(cropped, image[5:15, 10:20])
    mixed = resize_canvas(image, (24, 16))
    np.testing.assert_array_equal(mixed[2:22], image[:, 7:23])
    with pytest.raises(ValueError, match="shape"):
        resize_canvas(image, (0, 5))


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="2-D"):
        gaussian_blur(np.zeros((2, 3, 3)), 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gaussian_blur(np.full((4, 4), 255.0), 1)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(np.zeros((4, 4)), -1)
    eight_bit = np.full((4, 4), 255, dtype=np.uint8)
    np.testing.assert_allclose(scale_intensity(eight_bit, 0.5), 0.5)


# --------------------------------------------------------------------------
# Registry


@pytest.mark.parametrize("name", sorted(DEGRADATIONS))
def test_degrade_every_case(image, name):
    degraded, label, params = degrade(image, name, random_state=7)
    degradation = DEGRADATIONS[name]
    assert label == degradation.label
    assert label in (0, 1, None)
    expected_shape = params["shape"] if name == "resize_canvas" else image.shape
    check_image(degraded, tuple(expected_shape))
    assert degradation.changes_shape == (name == "resize_canvas")
    # Reproducible from the seed, and from the parameters alone.
    again, _, again_params = degrade(image, name, random_state=7)
    assert again_params == params
    np.testing.assert_array_equal(again, degraded)
    np.testing.assert_array_equal(degradation.func(image, **params), degraded)
    # Every blur removes detail; label-keeping cases don't need to.
    if label == 0:
        assert laplacian_variance(degraded) < laplacian_variance(image)
    if name == "gaussian_blur" or params.get("blur") == "gaussian_blur":
        assert params["sigma"] > 0


def test_degrade_rejects_unknown_names(image):
    with pytest.raises(ValueError, match="blur"):
        degrade(image, "blurr")


@pytest.mark.parametrize(
    "name, key, low, high",
    [
        # Draws must span [low, high]: the contract's range, and for blurs a
        # little below its minimum (sigma 1, length 7, radius 2, factor 2).
        ("gaussian_blur", "sigma", 0.95, 3.5),
        ("motion_blur", "length", 6.5, 14.0),
        ("defocus_blur", "radius", 1.9, 4.5),
        ("reduce_resolution", "factor", 1.9, 2.8),
        ("noise", "std", 0.01, 0.05),
        ("scale_intensity", "factor", 0.52, 1.95),
        ("gamma", "gamma", 0.52, 1.95),
        ("jpeg", "quality", 90, 100),
    ],
)
def test_drawn_ranges_cover_the_contract(name, key, low, high):
    rng = np.random.default_rng(0)
    draws = [DEGRADATIONS[name].draw_params(rng)[key] for _ in range(2000)]
    assert min(draws) <= low
    assert max(draws) >= high


def test_label_keeping_noise_is_clipped_in_half_of_the_draws():
    # Half of the noisy copies keep the noise whole (rescaled by their
    # minimum and maximum), as an unclipped float image's export shows it;
    # the coin is the noise seed's parity, so no other draw moves.
    rng = np.random.default_rng(0)
    draws = [DEGRADATIONS["noise"].draw_params(rng) for _ in range(2000)]
    assert all(d["clip"] == (d["random_state"] % 2 == 0) for d in draws)
    assert 0.45 < np.mean([d["clip"] for d in draws]) < 0.55
    # The compound blur+noise case keeps clipping its noise (add_noise's
    # default).
    draws = [DEGRADATIONS["blur+noise"].draw_params(rng) for _ in range(200)]
    assert all("clip" not in d for d in draws)


def test_registry_labels():
    blurs = {name for name, d in DEGRADATIONS.items() if d.label == 0}
    assert blurs >= {
        "gaussian_blur",
        "motion_blur",
        "defocus_blur",
        "reduce_resolution",
        "blur+noise",
        "blur+stretch",
        "blur+scale",
        "blur+gamma",
    }
    keeping = {name for name, d in DEGRADATIONS.items() if d.label is None}
    assert keeping >= {
        "noise",
        "scale_intensity",
        "gamma",
        "stretch_contrast",
        "jpeg",
        "dihedral",
        "resize_canvas",
    }
    assert DEGRADATIONS["dim_sharp"].label == 1
    assert DEGRADATIONS["brighten_blurred"].label is None
    for name, degradation in DEGRADATIONS.items():
        if degradation.label is not None:
            # Blurs and sharp-keeping changes start from sharp images.
            assert degradation.applies_to == {1}, name
        elif name == "brighten_blurred":
            assert degradation.applies_to == {0}
        else:
            assert degradation.applies_to == {0, 1}, name


def test_degradation_validates_its_fields():
    with pytest.raises(ValueError, match="label"):
        Degradation(scale_intensity, 2, lambda rng: {})
    with pytest.raises(ValueError, match="blurred inputs"):
        Degradation(scale_intensity, 1, lambda rng: {}, applies_to={0, 1})
    with pytest.raises(ValueError, match="weight"):
        Degradation(scale_intensity, None, lambda rng: {}, weight=0)


def test_directed_intensity_cases(image):
    rng = np.random.default_rng(0)
    for _ in range(50):
        dimming = DEGRADATIONS["dim_sharp"].draw_params(rng)["factor"]
        brightening = DEGRADATIONS["brighten_blurred"].draw_params(rng)["factor"]
        assert 0.5 <= dimming < 1 < brightening <= 2
    dimmed, label, _ = degrade(image, "dim_sharp", random_state=0)
    assert label == 1 and dimmed.max() < 0.96 * image.max()


# --------------------------------------------------------------------------
# Augmenter


@pytest.fixture(scope="module")
def small_set():
    sharp = [blocky_image(seed, shape=(32, 32)) for seed in range(6)]
    blurred = [
        gaussian_blur(blocky_image(seed, shape=(32, 32)), 3) for seed in range(6, 12)
    ]
    X = np.stack(sharp + blurred)
    y = np.array([1] * 6 + [0] * 6)
    return X, y


def test_augmenter_is_reproducible(small_set):
    X, y = small_set
    first = DegradationAugmenter(random_state=0)
    X1, y1 = first.fit_resample(X, y)
    X2, y2 = DegradationAugmenter(random_state=0).fit_resample(X, y)
    assert len(X1) == len(X2)
    for a, b in zip(X1, X2, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = DegradationAugmenter(random_state=1).fit_resample(X, y)
    different = [
        a.shape != b.shape or not np.array_equal(a, b)
        for a, b in zip(X1, X3, strict=True)
    ]
    assert any(different)


def test_augmenter_record_survives_pickling_and_model_files(small_set):
    import pickle

    import skops.io

    X, y = small_set
    # k-space motion's parameters nest lists in lists: drawn for sure.
    augmenter = DegradationAugmenter(
        n_copies=5, degradations=["kspace_motion", "noise"], random_state=0
    )
    augmenter.fit_resample(X, y)
    record = augmenter.degradations_applied_
    assert any(name == "kspace_motion" for name, _ in record)
    state = augmenter.__getstate__()
    # Stored as one string; the live object keeps its list.
    assert isinstance(state["_degradations_applied_json"], str)
    assert "degradations_applied_" not in state
    assert augmenter.degradations_applied_ is record

    def as_lists(value):
        if isinstance(value, dict):
            return {key: as_lists(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [as_lists(item) for item in value]
        return value

    expected = [(name, as_lists(params)) for name, params in record]
    trusted = ["blurkit.models._augment.DegradationAugmenter"]
    pickled = pickle.loads(pickle.dumps(augmenter))
    saved = skops.io.loads(skops.io.dumps(augmenter), trusted=trusted)
    for copy in (pickled, saved):
        assert copy.degradations_applied_ == expected
        np.testing.assert_array_equal(copy.sample_indices_, augmenter.sample_indices_)
        assert copy.get_params() == augmenter.get_params()
    # clone keeps the parameters only, as for any estimator.
    assert not hasattr(clone(augmenter), "degradations_applied_")


@pytest.mark.parametrize("keep_original", [True, False])
def test_augmenter_labels_follow_the_contract(small_set, keep_original):
    X, y = small_set
    augmenter = DegradationAugmenter(
        n_copies=5, keep_original=keep_original, random_state=0
    )
    X_aug, y_aug = augmenter.fit_resample(X, y)
    n_out = len(X) * (5 + keep_original)
    assert isinstance(X_aug, list)  # resize_canvas may change sizes
    assert len(X_aug) == len(y_aug) == n_out
    assert len(augmenter.degradations_applied_) == n_out
    assert len(augmenter.sample_indices_) == n_out
    assert set(np.unique(y_aug)) == {0, 1}
    assert set(augmenter.sample_indices_) == set(range(len(X)))
    names_seen = set()
    for out, label, (name, params), source in zip(
        X_aug,
        y_aug,
        augmenter.degradations_applied_,
        augmenter.sample_indices_,
        strict=True,
    ):
        assert out.dtype == np.float32
        names_seen.add(name)
        if name is None:
            assert params == {}
            np.testing.assert_array_equal(out, X[source])
            assert label == y[source]
            continue
        degradation = DEGRADATIONS[name]
        if y[source] == 0:
            assert label == 0  # blurred inputs never become sharp
            assert degradation.label is None  # and are not blurred again
        if degradation.label == 0:
            assert y[source] == 1 and label == 0
        if label == 1:
            assert degradation.label != 0
        # The metadata reproduces the copy.
        np.testing.assert_array_equal(degradation.func(X[source], **params), out)
    assert (None in names_seen) == keep_original
    assert len(names_seen - {None}) >= 10  # draws spread over the registry


def test_augmenter_returns_an_array_when_shapes_cannot_change(small_set):
    X, y = small_set
    augmenter = DegradationAugmenter(
        n_copies=2, degradations=["gaussian_blur", "noise", "dihedral"], random_state=0
    )
    X_aug, y_aug = augmenter.fit_resample(X, y)
    assert isinstance(X_aug, np.ndarray)
    assert X_aug.shape == (36, 32, 32) and X_aug.dtype == np.float32
    # Sharp inputs only can be blurred; the sigmas are known for training a
    # sigma regressor.
    for label, (name, params) in zip(
        y_aug, augmenter.degradations_applied_, strict=True
    ):
        if name == "gaussian_blur":
            assert label == 0 and 0.9 <= params["sigma"] <= 4
    # Lists in, list out.
    X_list, _ = augmenter.fit_resample(list(X), y)
    assert isinstance(X_list, list)
    np.testing.assert_array_equal(np.stack(X_list), X_aug)


def test_augmenter_skips_inputs_no_degradation_applies_to(small_set):
    X, y = small_set
    augmenter = DegradationAugmenter(
        n_copies=3, degradations=["gaussian_blur"], random_state=0
    )
    X_aug, y_aug = augmenter.fit_resample(X, y)
    # Blurred inputs: the original only. Sharp inputs: original + 3 blurs.
    assert len(X_aug) == 6 * 1 + 6 * 4
    assert (y_aug == 1).sum() == 6
    counts = np.bincount(augmenter.sample_indices_)
    np.testing.assert_array_equal(counts, np.where(y == 1, 4, 1))


def test_augmenter_breaks_the_brightness_shortcut(small_set):
    # As in the challenge data: sharp slices reach full white, blurred ones
    # stay dimmer. After augmentation, both classes hold both kinds.
    X, y = small_set
    X = np.stack(
        [x / x.max() * (1.0 if label else 0.8) for x, label in zip(X, y, strict=True)]
    )
    augmenter = DegradationAugmenter(n_copies=120, keep_original=False, random_state=0)
    X_aug, y_aug = augmenter.fit_resample(X, y)
    peaks = np.array([x.max() for x in X_aug])
    # A twentieth at least: the noisy copies (Gaussian noise weighted 12) of
    # the sharp images reach full white, so the dimmed ones are 7-10% of
    # the sharp copies here (augmentation seeds 0-3, about 430 sharp copies
    # each; 10-14% with noise weighted 8, 20% before).
    for label in (0, 1):
        assert np.mean(peaks[y_aug == label] < 0.95) > 0.05
        assert np.mean(peaks[y_aug == label] >= 0.99) > 0.1
    # The directed cases are drawn more often than the others (weights 5 and 3).
    sources = y[augmenter.sample_indices_]
    names = np.array([name for name, _ in augmenter.degradations_applied_])
    from_sharp, from_blurred = list(names[sources == 1]), list(names[sources == 0])
    # Against the mean count of the cases of weight 1 that apply to each
    # class: one of them alone is drawn too few times to compare with.
    for names_drawn, directed, label in (
        (from_sharp, "dim_sharp", 1),
        (from_blurred, "brighten_blurred", 0),
    ):
        ones = [
            name
            for name, case in DEGRADATIONS.items()
            if case.weight == 1 and label in case.applies_to
        ]
        mean_one = np.mean([names_drawn.count(name) for name in ones])
        assert names_drawn.count(directed) > 2 * mean_one
    assert "brighten_blurred" not in from_sharp and "dim_sharp" not in from_blurred


def test_augmenter_validates_its_inputs(small_set):
    X, y = small_set
    with pytest.raises(ValueError, match="labels"):
        DegradationAugmenter().fit_resample(X, y + 1)
    with pytest.raises(ValueError, match="one label per image"):
        DegradationAugmenter().fit_resample(X, y[:-1])
    with pytest.raises(ValueError, match="degradations"):
        DegradationAugmenter(degradations=["sharpen"]).fit_resample(X, y)
    with pytest.raises(ValueError, match="n_copies"):
        DegradationAugmenter(n_copies=-1).fit_resample(X, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DegradationAugmenter().fit_resample(X * 255, y)


def test_augmenter_weights_replace_the_registrys(small_set):
    X, y = small_set
    names = ["gaussian_blur", "noise"]
    # noise (weight 16) against one Gaussian blur (weight 1), for sharp inputs.
    assert DEGRADATIONS["noise"].weight > DEGRADATIONS["gaussian_blur"].weight

    def share_of_blurs(weights):
        augmenter = DegradationAugmenter(
            n_copies=50, degradations=names, weights=weights, random_state=0
        )
        augmenter.fit_resample(X[y == 1], y[y == 1])
        drawn = [name for name, _ in augmenter.degradations_applied_ if name]
        return drawn.count("gaussian_blur") / len(drawn)

    registry = DEGRADATIONS["gaussian_blur"].weight / sum(
        DEGRADATIONS[name].weight for name in names
    )
    assert abs(share_of_blurs(None) - registry) < 0.06
    # The blur given the noise's weight: half of the draws, about.
    assert (
        abs(share_of_blurs({"gaussian_blur": DEGRADATIONS["noise"].weight}) - 0.5)
        < 0.08
    )
    # An empty dict is the registry's weights: the same draws.
    a, _ = DegradationAugmenter(weights={}, random_state=0).fit_resample(X, y)
    b, _ = DegradationAugmenter(random_state=0).fit_resample(X, y)
    for first, second in zip(a, b, strict=True):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"sharpen": 2}, "degradations among"),
        ({"ghosting": 0}, "positive weight for 'ghosting'"),
        ({"ghosting": -1.0}, "positive weight"),
        ({"ghosting": float("inf")}, "positive weight"),
        ({"ghosting": True}, "positive weight"),
        ({"ghosting": "2"}, "positive weight"),
    ],
)
def test_augmenter_rejects_bad_weights(small_set, weights, message):
    X, y = small_set
    with pytest.raises(ValueError, match=message):
        DegradationAugmenter(weights=weights).fit_resample(X, y)


def test_augmenter_saved_before_weights_reads_the_registrys(small_set):
    X, y = small_set
    old = DegradationAugmenter(n_copies=2, random_state=0)
    # As an augmenter restored from a file written before the parameter.
    del old.__dict__["weights"]
    assert old.get_params()["weights"] is None
    X1, _ = old.fit_resample(X, y)
    X2, _ = DegradationAugmenter(n_copies=2, random_state=0).fit_resample(X, y)
    for first, second in zip(X1, X2, strict=True):
        np.testing.assert_array_equal(first, second)


# --------------------------------------------------------------------------
# AugmentedClassifier


class CountingClassifier(DummyClassifier):
    """Remembers how many images it was fitted on."""

    def fit(self, X, y, sample_weight=None):
        self.n_fitted_ = len(X)
        return super().fit(X, y, sample_weight)


def feature_pipeline(C=1.0):
    return make_pipeline(
        FunctionTransformer(log_laplacian_variance), LogisticRegression(C=C)
    )


@pytest.fixture(scope="module")
def blur_set():
    rng = np.random.default_rng(0)
    sharp = [blocky_image(seed, shape=(32, 32), block=2) for seed in range(12)]
    blurred = [
        gaussian_blur(blocky_image(seed, shape=(32, 32), block=2), rng.uniform(2, 4))
        for seed in range(12, 24)
    ]
    return np.stack(sharp + blurred), np.array([1] * 12 + [0] * 12)


def test_augmented_classifier_in_grid_search(blur_set):
    X, y = blur_set
    model = AugmentedClassifier(
        feature_pipeline(),
        augmenter=DegradationAugmenter(n_copies=1, random_state=0),
    )
    params = model.get_params()
    assert "augmenter__n_copies" in params
    assert "estimator__logisticregression__C" in params
    search = GridSearchCV(
        model,
        {
            "estimator__logisticregression__C": [0.1, 10.0],
            "augmenter__n_copies": [1, 2],
        },
        cv=3,
    )
    search.fit(list(X), y)
    assert search.best_score_ >= 0.9
    best = search.best_estimator_
    np.testing.assert_array_equal(best.classes_, [0, 1])
    n_copies = best.augmenter_.n_copies
    assert len(best.augmenter_.sample_indices_) == len(X) * (1 + n_copies)
    proba = best.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert best.decision_function(X).shape == (len(X),)
    assert best.score(X, y) >= 0.9


def test_augmented_classifier_augments_training_folds_only(blur_set):
    X, y = blur_set
    model = AugmentedClassifier(
        CountingClassifier(),
        augmenter=DegradationAugmenter(n_copies=3, random_state=0),
    )
    results = cross_validate(model, X, y, cv=4, return_estimator=True)
    for fitted in results["estimator"]:
        assert fitted.estimator_.n_fitted_ == (len(X) * 3 // 4) * 4
        assert fitted.predict(X[:5]).shape == (5,)
    assert not hasattr(model, "estimator_")  # cross_validate fitted clones


def test_augmented_classifier_defaults_and_reproducibility(blur_set):
    X, y = blur_set
    model = AugmentedClassifier(feature_pipeline(), random_state=3)
    with pytest.raises(NotFittedError):
        model.predict(X)
    first = model.fit(X, y).predict_proba(X)
    assert isinstance(model.augmenter_, DegradationAugmenter)
    assert model.augmenter_.random_state == 3
    assert model.augmenter is None
    second = clone(model).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    # decision_function only exists when the wrapped estimator has one.
    assert not hasattr(AugmentedClassifier(DummyClassifier()), "decision_function")
    with pytest.raises(ValueError):
        model.fit(X, np.linspace(0, 1, len(X)))


def test_augmenter_record_of_numpy_values_or_objects_pickles():
    import pickle

    augmenter = DegradationAugmenter()
    augmenter.degradations_applied_ = [("noise", {"std": np.float32(0.5)})]
    again = pickle.loads(pickle.dumps(augmenter))
    assert again.degradations_applied_ == [("noise", {"std": 0.5})]
    # What JSON cannot hold is kept as it is.
    augmenter.degradations_applied_ = [("noise", {"rng": {1, 2}})]
    assert "degradations_applied_" in augmenter.__getstate__()
    again = pickle.loads(pickle.dumps(augmenter))
    assert again.degradations_applied_ == [("noise", {"rng": {1, 2}})]

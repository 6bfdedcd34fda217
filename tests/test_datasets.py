"""Tests of blurkit.datasets: the embedded demo set and its generator."""

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from blurkit.datasets import main, make_demo_images, write_demo_data
from blurkit.io import load_dataset, read_image, read_subjects_tsv

DATA = Path(__file__).parents[1] / "data"
SPLITS = ("train", "validation")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder)
    return folder


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("split", SPLITS)
def test_regenerated_data_is_byte_identical(regenerated, split):
    committed = _files(DATA / split)
    assert committed, f"no committed demo data in {DATA / split}"
    assert _files(regenerated / split) == committed
    for name in committed:
        new, old = regenerated / split / name, DATA / split / name
        if name.suffix == ".png":
            # Pixels first: a failure here is a content change, one only on the
            # bytes below is a different PNG encoder (zlib) build.
            np.testing.assert_array_equal(read_image(new), read_image(old))
        assert new.read_bytes() == old.read_bytes(), f"{name} differs"


@pytest.mark.parametrize("split, n", [("train", 80), ("validation", 16)])
def test_committed_data_layout_and_balance(split, n):
    table = read_subjects_tsv(DATA / split / "subjects.tsv")
    assert len(table) == n
    assert (table["Label"] == 1).sum() == n // 2
    assert (table["Label"] == 0).sum() == n // 2
    data = load_dataset(DATA / split)
    assert data.images.shape == (n, 121, 121)
    assert all(s.startswith("sub-DEMO") for s in data.subjects)


def test_train_and_validation_subjects_are_disjoint():
    train = set(read_subjects_tsv(DATA / "train" / "subjects.tsv")["Subject"])
    validation = set(read_subjects_tsv(DATA / "validation" / "subjects.tsv")["Subject"])
    assert train.isdisjoint(validation)


@pytest.mark.parametrize("split", SPLITS)
def test_blurred_images_have_lower_laplacian_variance(split):
    images, labels, _ = load_dataset(DATA / split)
    variance = np.array([ndimage.laplace(im.astype(np.float64)).var() for im in images])
    # Every blurred image is below every sharp one, by a wide margin.
    assert variance[labels == 0].max() * 10 < variance[labels == 1].min()


@pytest.mark.parametrize("split", SPLITS)
def test_classes_differ_little_in_brightness(split):
    # Blur is the only systematic difference: mean intensity is preserved.
    images, labels, _ = load_dataset(DATA / split)
    means = images.mean(axis=(1, 2))
    assert abs(means[labels == 0].mean() - means[labels == 1].mean()) < 0.02


def test_images_look_like_challenge_slices():
    images, labels, _ = load_dataset(DATA / "train")
    # Zero background around the brain, the brain roughly filling the frame.
    border = np.concatenate([images[:, :3].ravel(), images[:, -3:].ravel()])
    assert border.max() < 0.02
    brain_fraction = (images > 0.1).mean(axis=(1, 2))
    assert brain_fraction.min() > 0.15 and brain_fraction.max() < 0.6
    # Sharp images are saturated like the challenge's.
    assert all((im == 1).mean() > 0.02 for im in images[labels == 1])


def test_make_demo_images_matches_written_files(regenerated):
    images, labels, subjects = make_demo_images(
        80, random_state=np.random.SeedSequence(0).spawn(2)[0]
    )
    data = load_dataset(regenerated / "train")
    assert data.subjects == subjects
    np.testing.assert_array_equal(data.labels, labels)
    np.testing.assert_array_equal(data.images, images)


def test_make_demo_images_is_seeded():
    a = make_demo_images(4, random_state=3)
    b = make_demo_images(4, random_state=3)
    c = make_demo_images(4, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_make_demo_images_output():
    images, labels, subjects = make_demo_images(5, random_state=0, first_subject=7)
    assert images.shape == (5, 121, 121) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(np.rint(images * 255) / 255, images)
    assert labels.dtype == np.int64 and sorted(labels.tolist()) == [0, 0, 0, 1, 1]
    assert subjects == [f"sub-DEMO{i:04d}" for i in range(7, 12)]


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_make_demo_images_rejects_bad_counts(n):
    with pytest.raises(ValueError, match="n_images"):
        make_demo_images(n)


def test_write_demo_data_requires_integer_seed(tmp_path):
    with pytest.raises(ValueError, match="random_state"):
        write_demo_data(tmp_path, random_state=None)


def test_command_line_writes_small_set(tmp_path):
    main(
        [str(tmp_path / "out"), "--seed", "5", "--n-train", "4", "--n-validation", "2"]
    )
    train = read_subjects_tsv(tmp_path / "out" / "train" / "subjects.tsv")
    validation = read_subjects_tsv(tmp_path / "out" / "validation" / "subjects.tsv")
    assert train["Subject"].tolist() == [f"sub-DEMO{i:04d}" for i in range(1, 5)]
    assert validation["Subject"].tolist() == ["sub-DEMO0005", "sub-DEMO0006"]
    assert len(list((tmp_path / "out" / "train").glob("*.png"))) == 4


def test_module_level_imports_are_cheap():
    # nilearn and scipy are imported inside the functions that need them, so
    # that importing blurkit.datasets stays cheap.
    import blurkit.datasets

    tree = ast.parse(Path(blurkit.datasets.__file__).read_text())
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module.split(".")[0])
    assert "numpy" in top_level
    assert top_level.isdisjoint({"nilearn", "nibabel", "scipy"})

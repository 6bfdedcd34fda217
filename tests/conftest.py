from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "data"
CHALLENGE_DATA = ROOT.parent / "shared" / "data"


def phantom(size=64, seed=0):
    """A sharp piecewise-constant test image in [0, 1]: random blocks and a disk."""
    rng = np.random.default_rng(seed)
    blocks = rng.random((size // 8, size // 8)).repeat(8, 0).repeat(8, 1)
    yy, xx = np.mgrid[:size, :size]
    disk = (yy - size / 2) ** 2 + (xx - size / 3) ** 2 < (size / 4) ** 2
    return np.clip(0.6 * blocks + 0.4 * disk, 0, 1)


@pytest.fixture(scope="session")
def sharp_image():
    return phantom()


@pytest.fixture(scope="session")
def demo_train():
    import blurkit

    return blurkit.load_dataset(DEMO_DATA / "train")


@pytest.fixture(scope="session")
def sharp(demo_train):
    """The first 8 sharp slices of the demo training set (float64, read-only:
    shared by every test that asks for them)."""
    images = demo_train.images[demo_train.labels == 1][:8].astype(np.float64)
    images.setflags(write=False)
    return images


def translated_late(image, axis=0):
    """``image`` with its last 30% of k-space lines along ``axis`` acquired
    after a translation of (3, 2) px (blurkit's ``kspace_motion``, linear
    ordering: the outer lines of one side)."""
    from blurkit.degrade import kspace_motion

    return kspace_motion(
        image,
        rotations=[0.0],
        translations=[(3.0, 2.0)],
        times=[0.7],
        axis=axis,
        reference="first",
    )


def blur(image, sigma):
    return ndimage.gaussian_filter(image, sigma)


def challenge_data_or_skip():
    if not (CHALLENGE_DATA / "train" / "subjects.tsv").is_file():
        pytest.skip(f"challenge data not found at {CHALLENGE_DATA}")
    return CHALLENGE_DATA


@pytest.fixture(scope="session")
def small_model_file(tmp_path_factory):
    """A features model with a blur estimate, trained once on the demo set
    (2-fold search, a small sigma regressor), saved as a model file."""
    import blurkit

    train = blurkit.load_dataset(DEMO_DATA / "train")
    detector = blurkit.BlurDetector(
        classifier=blurkit.make_model_search("features", cv=2),
        sigma_estimator=blurkit.BlurSigmaRegressor(max_iter=50, random_state=0),
        random_state=0,
    ).fit(train.images, train.labels)
    path = tmp_path_factory.mktemp("model") / "model.blurkit"
    blurkit.save_model(detector, path)
    return path

"""The built-in model: shipped in the package, rebuilt by its recipe."""

import numpy as np
import pytest
from conftest import DEMO_DATA

import blurkit
from blurkit.cli import main
from blurkit.datasets import BUILTIN_TRAIN_IMAGES, make_builtin_model
from blurkit.degrade import degrade
from blurkit.io import BUILTIN_FAMILY, builtin_model_path


@pytest.fixture(scope="module")
def builtin():
    return blurkit.load_model()


@pytest.fixture(scope="module")
def validation():
    return blurkit.load_dataset(DEMO_DATA / "validation")


def test_builtin_model_ships_inside_the_package(builtin):
    path = builtin_model_path()
    assert path.is_file()
    assert path.parent.parent.name == "io"
    model, info = builtin
    assert isinstance(model, blurkit.BlurDetector)
    # Trained on the recipe's demo set (BUILTIN_TRAIN_IMAGES), not data/train.
    assert info["training_summary"]["n_images"] == BUILTIN_TRAIN_IMAGES
    half = BUILTIN_TRAIN_IMAGES // 2
    assert info["training_summary"]["classes"] == {0: half, 1: half}
    # The lightweight predictor is read from the same file.
    predictor = blurkit.load_predictor()
    assert predictor is not None
    assert blurkit.load_predictor(path).classes_.tolist() == [0, 1]


def test_shipped_file_predicts_exactly_what_its_recipe_does(builtin, validation):
    model, _ = builtin
    rebuilt = make_builtin_model()
    assert (
        type(rebuilt.classifier_.best_estimator_.estimator_).__name__
        == type(model.classifier_.best_estimator_.estimator_).__name__
    )
    assert rebuilt.classifier_.best_params_.keys() == (
        model.classifier_.best_params_.keys()
    )
    # The demo validation images, and degraded copies of them (blurs and
    # label-keeping changes), which probe the model beyond the clean images.
    rng = np.random.default_rng(0)
    images = list(validation.images)
    for image in validation.images[:8]:
        for name in ("gaussian_blur", "motion_blur", "noise", "gamma"):
            images.append(degrade(image, name, random_state=rng)[0])
    images = np.stack(images)
    c = "estimator__classify__C"
    assert rebuilt.classifier_.best_params_[c] == model.classifier_.best_params_[c]
    np.testing.assert_array_equal(model.predict(images), rebuilt.predict(images))
    # Not bit for bit: another processor's vector kernels round the float32
    # features and the augmentation's filters differently, and training
    # carries that into the coefficients. Rebuilt on a machine other than
    # the one that built the file (with AVX-512), it differed by up to 3e-4
    # in probability and 0.013 px in sigma; the tolerances leave room.
    np.testing.assert_allclose(
        model.predict_proba(images), rebuilt.predict_proba(images), rtol=0, atol=5e-3
    )
    np.testing.assert_allclose(
        model.predict_sigma(images), rebuilt.predict_sigma(images), rtol=0, atol=0.05
    )


def test_builtin_family_is_the_default_of_blurkit_train():
    from blurkit.cli._parser import build_parser

    args = build_parser().parse_args(["train", "d", "-o", "m"])
    assert args.model == BUILTIN_FAMILY


def test_predict_without_a_model_reproduces_the_demo_labels(tmp_path):
    out = tmp_path / "out.tsv"
    assert main(["predict", str(DEMO_DATA / "validation"), "-o", str(out), "-q"]) == 0
    assert out.read_bytes() == (DEMO_DATA / "validation" / "subjects.tsv").read_bytes()


def test_predict_with_a_model_file_still_takes_it_first(tmp_path):
    model_file = tmp_path / "copy.blurkit"
    model_file.write_bytes(builtin_model_path().read_bytes())
    out = tmp_path / "out.tsv"
    args = ["predict", str(model_file), str(DEMO_DATA / "validation"), "-o", str(out)]
    assert main([*args, "-q"]) == 0
    assert out.read_bytes() == (DEMO_DATA / "validation" / "subjects.tsv").read_bytes()


def test_a_model_file_without_inputs_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "out.tsv"
    assert main(["predict", str(builtin_model_path()), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("blurkit: error: ")
    assert "no input after it" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_evaluate_without_a_model_uses_the_builtin(capsys):
    assert main(["evaluate", str(DEMO_DATA / "validation")]) == 0
    assert "Accuracy:           1.000" in capsys.readouterr().out

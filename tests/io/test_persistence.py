"""Model files: saved without pickle, loaded without running code from the file."""

import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib

import joblib
import numpy as np
import pytest
import skops.io as sio
import torch
from conftest import DEMO_DATA
from scipy.ndimage import gaussian_filter
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import blurkit
from blurkit.cli import main
from blurkit.exceptions import BlurkitInputError
from blurkit.io import TRUSTED_TYPES, load_model, load_predictor, save_model
from blurkit.models import (
    AugmentedClassifier,
    BlurDetector,
    BlurNetClassifier,
    DegradationAugmenter,
    make_classifier,
    make_feature_pipeline,
    make_hybrid,
)
from blurkit.models._predictor import FeaturesPredictor, NetPredictor

HEADER = "blurkit-model.json"
MODEL = "model.skops"
ARRAYS = "arrays.npz"

# Set by the hostile objects below if a loader ever runs their code.
CALLS = []


def _record_call(*args):
    CALLS.append(args)
    return "ran"


class Sneaky:
    """Runs code when rebuilt by pickle (__reduce__) or by a trusting loader."""

    def __init__(self):
        self.payload = 1

    def __reduce__(self):
        return (_record_call, ("pickle",))

    def __setstate__(self, state):
        _record_call("setstate")


def one_line(exc_info, *parts):
    message = str(exc_info.value)
    assert "\n" not in message
    for part in parts:
        assert str(part) in message, (part, message)
    return message


# --------------------------------------------------------------------------- #
# Round trips
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def features_detector():
    train = blurkit.load_dataset(DEMO_DATA / "train")
    return BlurDetector(
        classifier=blurkit.make_model_search("features", cv=2, random_state=0),
        random_state=0,
    ).fit(train.images, train.labels)


@pytest.fixture(scope="module")
def features_file(features_detector, tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "model.blurkit"
    save_model(features_detector, path)
    return path


def test_features_model_round_trip(features_detector, features_file):
    model, info = load_model(features_file)
    validation = blurkit.load_dataset(DEMO_DATA / "validation")
    np.testing.assert_array_equal(
        model.predict_proba(validation.images),
        features_detector.predict_proba(validation.images),
    )
    np.testing.assert_array_equal(
        model.predict_sigma(validation.images),
        features_detector.predict_sigma(validation.images),
    )
    assert info["format_version"] == 4
    assert info["versions"]["blurkit"] == blurkit.__version__
    assert set(info["versions"]) == {"blurkit", "scikit-learn", "torch"}
    # The summary keeps its types: integer class labels.
    assert info["training_summary"] == features_detector.training_summary_
    assert info["training_summary"]["classes"] == {0: 40, 1: 40}


def test_file_is_a_zip_of_a_json_header_and_a_skops_model(features_file):
    with zipfile.ZipFile(features_file) as archive:
        assert archive.namelist() == [HEADER, MODEL, ARRAYS]
        header = json.loads(archive.read(HEADER))
        data = archive.read(MODEL)
    assert header["format"] == "blurkit-model"
    assert header["format_version"] == 4
    assert header["model_class"] == "blurkit.models._detector.BlurDetector"
    assert header["training_summary"]["n_images"] == 80
    # No pickle anywhere: skops itself reads it, trusting only our list.
    assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
    assert isinstance(sio.loads(data, trusted=list(TRUSTED_TYPES)), dict)


# --------------------------------------------------------------------------- #
# Lightweight predictors: what `blurkit predict` uses without scikit-learn
# --------------------------------------------------------------------------- #


def _degraded_validation():
    """Demo validation images, plain and degraded: a spread of probabilities."""
    from blurkit.degrade import add_noise, gaussian_blur

    images = blurkit.load_dataset(DEMO_DATA / "validation").images
    rng = np.random.default_rng(0)
    degraded = [gaussian_blur(image, 0.8) for image in images]
    degraded += [add_noise(image, 0.03, random_state=rng) for image in images]
    return np.concatenate([images, np.stack(degraded)]).astype(np.float32)


def test_features_predictor_gives_the_full_models_probabilities(
    features_detector, features_file
):
    predictor = load_predictor(features_file)
    assert isinstance(predictor, FeaturesPredictor)
    images = _degraded_validation()
    expected = features_detector.predict_proba(images)
    proba = predictor.predict_proba(images)
    # Same features, same operations; only the logistic may differ by an ulp.
    np.testing.assert_allclose(proba, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(
        predictor.predict(images), features_detector.predict(images)
    )
    assert 0.05 < proba[:, 1].mean() < 0.95  # both classes are predicted
    np.testing.assert_array_equal(predictor.classes_, features_detector.classes_)
    assert predictor.pixel_spacing == features_detector.pixel_spacing
    # Lists of images of several sizes are grouped by size, as by the model.
    mixed = [images[0], images[1][8:-8, 8:-8], images[2]]
    np.testing.assert_allclose(
        predictor.predict_proba(mixed),
        features_detector.predict_proba(mixed),
        rtol=1e-12,
        atol=1e-15,
    )


@pytest.mark.parametrize("resampling", [True, "each", False])
def test_features_predictor_of_older_resampling_settings(resampling, tmp_path):
    # Models saved before the one "strongest" resampling feature hold one
    # per period (True); their predictor computes the same features.
    train = blurkit.load_dataset(DEMO_DATA / "train")
    X = _degraded_validation()
    model = make_pipeline(
        blurkit.SharpnessFeatures(resampling=resampling),
        StandardScaler(),
        LogisticRegression(),
    ).fit(train.images, train.labels)
    save_model(model, tmp_path / "model.blurkit")
    predictor = load_predictor(tmp_path / "model.blurkit")
    assert isinstance(predictor, FeaturesPredictor)
    np.testing.assert_allclose(
        predictor.predict_proba(X), model.predict_proba(X), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(
    ("fringe", "detail_shift"), [(False, False), (True, False), (True, True)]
)
def test_features_predictor_with_the_outer_features(tmp_path, fringe, detail_shift):
    # SharpnessFeatures(outer=True[, fringe=True[, detail_shift=True]]) in
    # the default pipeline: the predictor computes the same 18 (19, 20)
    # features and their pairs.
    train = blurkit.load_dataset(DEMO_DATA / "train")
    X = _degraded_validation()
    features = blurkit.SharpnessFeatures(
        outer=True, fringe=fringe, detail_shift=detail_shift
    )
    model = make_feature_pipeline(features=features).fit(train.images, train.labels)
    save_model(model, tmp_path / "model.blurkit")
    predictor = load_predictor(tmp_path / "model.blurkit")
    assert isinstance(predictor, FeaturesPredictor)
    assert predictor.features["outer"] is True
    assert predictor.features["fringe"] is fringe
    assert predictor.features["detail_shift"] is detail_shift
    assert model.named_steps["scale"].n_features_in_ == 18 + fringe + detail_shift
    np.testing.assert_allclose(
        predictor.predict_proba(X), model.predict_proba(X), rtol=1e-12, atol=1e-15
    )


def test_features_predictor_is_described_in_the_header(features_file):
    with zipfile.ZipFile(features_file) as archive:
        header = json.loads(archive.read(HEADER))
        with np.load(io.BytesIO(archive.read(ARRAYS)), allow_pickle=False) as npz:
            stored = set(npz.files)
    spec = header["predictor"]
    names = sorted(spec["arrays"])
    assert set(spec["arrays"].values()) <= stored
    assert spec["kind"] == "features-logistic"
    assert spec["classes"] == [0, 1]
    assert spec["features"]["n_orientations"] == 4
    # The default pipeline's pairwise expansion has a second scaler.
    assert names == [
        "coef",
        "expanded_mean",
        "expanded_scale",
        "intercept",
        "mean",
        "scale",
    ]


@pytest.mark.parametrize("degree", [1, 2])
def test_features_predictor_of_either_degree(degree, tmp_path):
    # degree=1, the linear model (and every features model saved before the
    # pairwise expansion), has no second scaler; both get a predictor.
    train = blurkit.load_dataset(DEMO_DATA / "train")
    X = _degraded_validation()
    model = make_feature_pipeline(degree=degree).fit(train.images, train.labels)
    save_model(model, tmp_path / "model.blurkit")
    predictor = load_predictor(tmp_path / "model.blurkit")
    assert isinstance(predictor, FeaturesPredictor)
    assert predictor.expanded == (degree == 2)
    n_features = model.named_steps["scale"].n_features_in_
    n_terms = n_features + n_features * (n_features + 1) // 2
    assert predictor.coef.shape == (1, n_features if degree == 1 else n_terms)
    np.testing.assert_allclose(
        predictor.predict_proba(X), model.predict_proba(X), rtol=1e-12, atol=1e-15
    )


def test_features_predictor_checks_its_arrays():
    n = 16
    common = dict(
        classes=[0, 1],
        features={
            "band_edges": [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.8, 1.0],
            "n_orientations": 4,
            "subtract_noise": True,
            "resampling": "strongest",
        },
        mean=np.zeros(n),
        scale=np.ones(n),
        intercept=np.zeros(1),
    )
    n_terms = n + n * (n + 1) // 2
    FeaturesPredictor(**common, coef=np.zeros((1, n)))
    FeaturesPredictor(
        **common,
        coef=np.zeros((1, n_terms)),
        expanded_mean=np.zeros(n_terms),
        expanded_scale=np.ones(n_terms),
    )
    with pytest.raises(ValueError, match="both expanded_mean and expanded_scale"):
        FeaturesPredictor(
            **common, coef=np.zeros((1, n_terms)), expanded_mean=np.zeros(n_terms)
        )
    with pytest.raises(
        ValueError, match=r"coef has shape \(1, 152\); expected \(1, 16\)"
    ):
        FeaturesPredictor(**common, coef=np.zeros((1, n_terms)))
    with pytest.raises(ValueError, match="expanded_scale has shape"):
        FeaturesPredictor(
            **common,
            coef=np.zeros((1, n_terms)),
            expanded_mean=np.zeros(n_terms),
            expanded_scale=np.ones(n),
        )
    # The flags are booleans: despike adds no column for the shapes to check.
    flags = {**common["features"], "despike": "false"}
    with pytest.raises(ValueError, match=r"features\['despike'\] must be true or"):
        FeaturesPredictor(**{**common, "features": flags}, coef=np.zeros((1, n)))


def test_other_expansions_have_no_lightweight_predictor(tmp_path):
    from sklearn.preprocessing import PolynomialFeatures

    train = blurkit.load_dataset(DEMO_DATA / "train")
    for expand in (
        PolynomialFeatures(3, include_bias=False),
        PolynomialFeatures(2, interaction_only=True, include_bias=False),
        PolynomialFeatures(2),
    ):
        model = make_pipeline(
            blurkit.SharpnessFeatures(band_edges=(0.05, 0.2, 0.5, 1.0)),
            StandardScaler(),
            expand,
            StandardScaler(),
            LogisticRegression(),
        ).fit(train.images, train.labels)
        save_model(model, tmp_path / "model.blurkit")
        assert load_predictor(tmp_path / "model.blurkit") is None, expand
        # The full model still loads and predicts as saved.
        loaded, _ = load_model(tmp_path / "model.blurkit")
        np.testing.assert_array_equal(
            loaded.predict_proba(train.images[:4]),
            model.predict_proba(train.images[:4]),
        )


def test_network_predictor_gives_the_full_models_probabilities(small_images, tmp_path):
    X, y = small_images
    model = CNN_MODELS["cnn"]().fit(X, y)
    path = tmp_path / "cnn.blurkit"
    save_model(model, path)
    predictor = load_predictor(path)
    assert isinstance(predictor, NetPredictor)
    np.testing.assert_allclose(
        predictor.predict_proba(X), model.predict_proba(X), rtol=1e-6, atol=1e-7
    )
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))


def test_network_predictor_reads_8_bit_files_of_two_sizes(small_images, tmp_path):
    # A chunk of 8-bit PNGs of two sizes reaches the predictor as a list:
    # each image must still be read as level / 255, like read_image does.
    from blurkit.io import read_image, write_image
    from blurkit.workflow import predict_files

    X, y = small_images
    model = CNN_MODELS["cnn"]().fit(X, y)
    save_model(model, tmp_path / "cnn.blurkit")
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(X[::4]):
        image = image if i % 2 else np.pad(image, 4)
        write_image(folder / f"img{i}.png", image)
    files = sorted(folder.glob("*.png"))
    expected = [model.predict_proba([read_image(f)])[0, 1] for f in files]
    out = tmp_path / "out.tsv"
    predictor = load_predictor(tmp_path / "cnn.blurkit")
    predict_files(predictor, [folder], out, probability=True, log=None)
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert [row[0] for row in rows] == [f.stem for f in files]
    # Written with six decimals.
    np.testing.assert_allclose([float(row[2]) for row in rows], expected, atol=6e-7)


def test_other_models_have_no_lightweight_predictor(small_images, tmp_path):
    X, y = small_images
    models = {
        "hybrid": CNN_MODELS["hybrid"]().fit(X, y),
        "laplacian": blurkit.LaplacianVariance().fit(X),
        "no scaler": make_pipeline(
            blurkit.SharpnessFeatures(), LogisticRegression()
        ).fit(X, y),
    }
    for name, model in models.items():
        path = tmp_path / f"{name}.blurkit"
        save_model(model, path)
        assert load_predictor(path) is None, name
        with zipfile.ZipFile(path) as archive:
            header = json.loads(archive.read(HEADER))
            assert "predictor" not in header
            # Only the hybrid holds arrays: its CNN's weights.
            assert (ARRAYS in archive.namelist()) == (name == "hybrid")


def test_cnn_weights_are_stored_once(small_images, tmp_path):
    X, y = small_images
    net = BlurNetClassifier(max_epochs=1, module__n_filters=4, random_state=0)
    path = tmp_path / "cnn.blurkit"
    save_model(net.fit(X, y), path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read(HEADER))
        with np.load(io.BytesIO(archive.read(ARRAYS)), allow_pickle=False) as npz:
            stored = set(npz.files)
    n_weights = len(net.module_.state_dict())
    # The predictor's weights are the network's: one array each, not two.
    assert set(header["predictor"]["arrays"].values()) <= stored
    assert len(stored) <= n_weights + len(net.criterion_.state_dict())
    loaded, _ = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_damaged_predictor_is_reported(features_file, tmp_path):
    damaged = tmp_path / "damaged.blurkit"
    with (
        zipfile.ZipFile(features_file) as source,
        zipfile.ZipFile(damaged, "w") as target,
    ):
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[: len(data) // 2] if name == ARRAYS else data)
    with pytest.raises(BlurkitInputError) as exc_info:
        load_predictor(damaged)
    one_line(exc_info, damaged, "damaged", ARRAYS)


def test_predictor_of_a_file_that_is_not_a_model_is_none(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    assert load_predictor(text) is None
    assert load_predictor(tmp_path / "missing.blurkit") is None


@pytest.fixture(scope="module")
def small_images():
    rng = np.random.default_rng(0)
    sharp = rng.random((12, 24, 24)).astype(np.float32)
    blurred = np.stack([gaussian_filter(image, 2) for image in sharp])
    return np.concatenate([blurred, sharp]), np.repeat([0, 1], 12)


def _cnn():
    return BlurNetClassifier(max_epochs=2, random_state=0)


CNN_MODELS = {
    "cnn": lambda: BlurDetector(classifier=_cnn(), sigma_estimator=None),
    "hybrid": lambda: BlurDetector(
        classifier=make_hybrid(random_state=0, cnn_params={"max_epochs": 1}),
        sigma_estimator=None,
    ),
    # Networks inside a search: in param_grid, cv_results_ (object arrays)
    # and best_params_, unfitted, and fitted in best_estimator_.
    "search": lambda: GridSearchCV(
        AugmentedClassifier(
            make_feature_pipeline(),
            augmenter=DegradationAugmenter(
                n_copies=1, degradations=["noise"], random_state=0
            ),
        ),
        {"estimator": [make_feature_pipeline(), _cnn()]},
        cv=2,
        scoring="accuracy",
    ),
}


@pytest.mark.parametrize("name", CNN_MODELS)
def test_models_with_networks_round_trip(name, small_images, tmp_path):
    X, y = small_images
    model = CNN_MODELS[name]().fit(X, y)
    path = tmp_path / "model.blurkit"
    save_model(model, path)
    rng_state = torch.random.get_rng_state()
    loaded, _ = load_model(path)
    # Loading rebuilds networks without touching torch's global generator.
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # The saved model was not changed by saving.
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))


def test_saving_leaves_the_model_untouched(small_images, tmp_path):
    X, y = small_images
    model = CNN_MODELS["hybrid"]().fit(X, y)
    stacking = model.classifier_
    before = stacking.estimators_[1]
    save_model(model, tmp_path / "model.blurkit")
    assert model.classifier_ is stacking and stacking.estimators_[1] is before
    assert isinstance(before, BlurNetClassifier) and before.initialized_


def test_loaded_hybrid_keeps_shared_references(small_images, tmp_path):
    X, y = small_images
    model = CNN_MODELS["hybrid"]().fit(X, y)
    save_model(model, tmp_path / "model.blurkit")
    loaded, _ = load_model(tmp_path / "model.blurkit")
    stacking = loaded.classifier_
    assert stacking.named_estimators_["cnn"] is stacking.estimators_[1]
    assert isinstance(stacking.estimators_[1], BlurNetClassifier)


def test_equal_models_give_identical_files(small_images, tmp_path):
    # Two fits with the same random_state: other objects, the same bytes.
    # (A model search's cv_results_ and a network's history hold timings,
    # which differ from fit to fit.)
    X, y = small_images
    paths = tmp_path / "first.blurkit", tmp_path / "second.blurkit"
    for path in paths:
        model = make_classifier("features", random_state=0)
        save_model(BlurDetector(classifier=model, random_state=0).fit(X, y), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with zipfile.ZipFile(paths[0]) as archive, archive.open(MODEL) as inner:
        with zipfile.ZipFile(io.BytesIO(inner.read())) as skops_file:
            dates = {info.date_time for info in skops_file.infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}


def test_loaded_network_keeps_history_and_can_be_refitted(small_images, tmp_path):
    X, y = small_images
    net = _cnn().fit(X, y)
    save_model(net, tmp_path / "net.blurkit")
    loaded, _ = load_model(tmp_path / "net.blurkit")
    assert len(loaded.history_) == len(net.history_)
    assert loaded.history_[-1, "train_loss"] == net.history_[-1, "train_loss"]
    assert loaded.seed_ == net.seed_
    np.testing.assert_array_equal(loaded.classes_, net.classes_)
    # Refitting from the saved parameters gives the same network again.
    refitted = loaded.fit(X, y)
    np.testing.assert_allclose(refitted.predict_proba(X), net.predict_proba(X))


def test_unfitted_network_round_trip(tmp_path):
    net = BlurNetClassifier(max_epochs=3, module__n_filters=4, random_state=1)
    save_model(net, tmp_path / "net.blurkit")
    loaded, _ = load_model(tmp_path / "net.blurkit")
    assert isinstance(loaded, BlurNetClassifier)
    assert not hasattr(loaded, "module_")
    assert loaded.max_epochs == 3 and loaded.module__n_filters == 4


# --------------------------------------------------------------------------- #
# What is refused, with one line naming the file
# --------------------------------------------------------------------------- #


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _header(**changes):
    header = {
        "format": "blurkit-model",
        "format_version": 4,
        "versions": {"blurkit": blurkit.__version__},
        "training_summary": None,
    }
    header.update(changes)
    return json.dumps(header)


NOT_MODELS = {
    "text": lambda p: p.write_text("hello\n"),
    "empty": lambda p: p.write_bytes(b""),
    "random bytes": lambda p: p.write_bytes(np.random.default_rng(0).bytes(500)),
    "png": lambda p: p.write_bytes(
        (DEMO_DATA / "train" / "sub-DEMO0001.png").read_bytes()
    ),
    "zip without header": lambda p: _zip(p, {"a.txt": "a"}),
    "skops file": lambda p: sio.dump(LogisticRegression(), p),
    "pickle": lambda p: joblib.dump({"weights": [1, 2]}, p),
    "other format": lambda p: _zip(p, {HEADER: json.dumps({"format": "x"})}),
    "header not json": lambda p: _zip(p, {HEADER: "{not json", MODEL: b""}),
    "no model member": lambda p: _zip(p, {HEADER: _header()}),
    "model member not skops": lambda p: _zip(p, {HEADER: _header(), MODEL: b"xx"}),
}


@pytest.mark.parametrize("kind", NOT_MODELS)
def test_not_a_model_file(tmp_path, kind, capsys):
    path = tmp_path / "model.blurkit"
    NOT_MODELS[kind](path)
    with pytest.raises(BlurkitInputError) as exc_info:
        load_model(path)
    message = one_line(exc_info, path)
    assert "blurkit model file" in message
    image = DEMO_DATA / "validation" / "sub-DEMO0081.png"
    out = tmp_path / "out.tsv"
    assert main(["predict", str(path), str(image), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"blurkit: error: {path}: ")
    assert not out.exists()


def test_truncated_model_file(features_file, tmp_path):
    path = tmp_path / "cut.blurkit"
    data = features_file.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BlurkitInputError) as exc_info:
        load_model(path)
    one_line(exc_info, path, "not a blurkit model file")


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_missing_model_file(tmp_path, kind):
    path = tmp_path / "model.blurkit"
    if kind == "folder":
        path.mkdir()
    with pytest.raises(BlurkitInputError) as exc_info:
        load_model(path)
    one_line(exc_info, path, "no such file" if kind == "missing" else "regular file")


def _format_1_file(path, model, extra=None):
    """A model file as blurkit 0.1.0 wrote it: a joblib pickle."""
    payload = {
        "format": "blurkit-model",
        "format_version": 1,
        "versions": {"blurkit": "0.1.0", "scikit-learn": "1.9.0", "torch": None},
        "training_summary": {"n_images": 3},
        "model": model,
    }
    if extra is not None:
        payload["extra"] = extra
    joblib.dump(payload, path)
    return path


def test_format_1_pickle_is_refused_without_being_unpickled(tmp_path, capsys):
    CALLS.clear()
    path = _format_1_file(tmp_path / "old.joblib", LogisticRegression(), Sneaky())
    with pytest.raises(BlurkitInputError) as exc_info:
        load_model(path)
    one_line(
        exc_info,
        path,
        "made by blurkit 0.1.0 in model format 1",
        "reads model format 4 only",
        "retrain it with `blurkit train`",
        "trust_pickle=True",
    )
    assert CALLS == []
    image = DEMO_DATA / "validation" / "sub-DEMO0081.png"
    args = ["predict", str(path), str(image), "-o", str(tmp_path / "o.tsv")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made by blurkit 0.1.0" in err
    assert CALLS == []


def test_format_1_pickle_loads_when_trusted_and_converts(tmp_path, small_images):
    X, y = small_images
    model = make_feature_pipeline().fit(X, y)
    old = _format_1_file(tmp_path / "old.joblib", model)
    loaded, info = load_model(old, trust_pickle=True)
    assert info["format_version"] == 1 and info["versions"]["blurkit"] == "0.1.0"
    save_model(loaded, tmp_path / "new.blurkit")
    converted, _ = load_model(tmp_path / "new.blurkit")
    np.testing.assert_array_equal(converted.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    ("version", "advice"),
    [
        (5, "upgrade blurkit"),
        (3, "retrain it with `blurkit train`"),
        (2, "retrain it with `blurkit train`"),
        (1, "retrain it with `blurkit train`"),
    ],
)
def test_other_format_versions(tmp_path, version, advice):
    path = _zip(
        tmp_path / "model.blurkit",
        {
            HEADER: _header(format_version=version, versions={"blurkit": "9.1"}),
            MODEL: sio.dumps({"model": LogisticRegression()}),
        },
    )
    with pytest.raises(BlurkitInputError) as exc_info:
        load_model(path)
    one_line(exc_info, path, f"made by blurkit 9.1 in model format {version}", advice)


def test_untrusted_types_are_refused_and_named(tmp_path, capsys):
    CALLS.clear()
    data = sio.dumps({"model": LogisticRegression(), "training_summary": Sneaky()})
    path = _zip(tmp_path / "model.blurkit", {HEADER: _header(), MODEL: data})
    with pytest.raises(BlurkitInputError) as exc_info:
        load_model(path)
    message = one_line(exc_info, path, "does not trust", f"{__name__}.Sneaky")
    assert "refusing to load" in message
    assert CALLS == []
    image = DEMO_DATA / "validation" / "sub-DEMO0081.png"
    assert main(["predict", str(path), str(image), "-o", str(tmp_path / "o")]) == 1
    assert "Sneaky" in capsys.readouterr().err
    assert CALLS == []


def test_saving_an_untrusted_type_is_refused_and_writes_nothing(tmp_path):
    path = tmp_path / "model.blurkit"
    path.write_bytes(b"previous model")
    model = make_feature_pipeline()
    model.steps.append(("odd", Sneaky()))
    with pytest.raises(ValueError, match=f"{__name__}.Sneaky"):
        save_model(model, path)
    assert path.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.blurkit"]


def test_only_blurkit_networks_are_saved(tmp_path):
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="only networks blurkit saves"):
        save_model(net, tmp_path / "net.blurkit")


def test_a_skops_payload_cannot_smuggle_a_pickle(tmp_path):
    """A file naming a trusted network stand-in still goes through skops's checks."""
    CALLS.clear()
    buffer = io.BytesIO()
    joblib.dump(Sneaky(), buffer)
    data = sio.dumps({"model": {"weights": buffer.getvalue()}})
    path = _zip(tmp_path / "model.blurkit", {HEADER: _header(), MODEL: data})
    model, _ = load_model(path)
    # The bytes stay bytes: nothing unpickles them.
    assert isinstance(model["weights"], bytes) and CALLS == []


# --------------------------------------------------------------------------- #
# Hostile archives: zip bombs, lying sizes, unexpected names
# --------------------------------------------------------------------------- #


def _deflated_zeros(mib):
    """A raw deflate stream of ``mib`` MiB of zeros, as a list of chunks.

    A full flush resets the compressor, so every MiB compresses to the same
    block: a 2 GB bomb costs 2 MB and no time to make.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return [block] * mib + [compressor.flush()]


def _raw_zip(members):
    """A zip archive written by hand, from ``(name, chunks, size, crc)``.

    ``chunks`` is a raw deflate stream; ``size`` and ``crc`` are what the
    headers declare, true or not (zipfile cannot write a lying member).
    """
    out = io.BytesIO()
    directory = []
    for name, chunks, size, crc in members:
        offset, raw = out.tell(), name.encode()
        packed = sum(map(len, chunks))
        fields = (8, 0, 0x21, crc, packed, size, len(raw), 0)  # deflate, 1980-01-01
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, *fields) + raw)
        out.writelines(chunks)
        directory.append(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, *fields, 0, 0, 0, 0, offset
            )
            + raw
        )
    start, listing = out.tell(), b"".join(directory)
    n = len(members)
    out.write(listing)
    out.write(
        struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(listing), start, 0)
    )
    return out.getvalue()


def _honest(name, data, level=9):
    """A member of ``_raw_zip`` that tells the truth."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return (
        name,
        [compressor.compress(data) + compressor.flush()],
        len(data),
        zlib.crc32(data),
    )


def _bomb(name, mib, declared=None):
    """``mib`` MiB of zeros, declared as such, or as ``declared`` bytes (a lie)."""
    if declared is None:
        return name, _deflated_zeros(mib), mib << 20, 0
    return name, _deflated_zeros(mib), declared, zlib.crc32(bytes(declared))


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _model_file(path, *members):
    """A model file whose header and skops part are sound, plus ``members``."""
    header = _header(predictor={"kind": "features", "arrays": {"w": "a"}})
    sound = [_honest(HEADER, header.encode()), _honest(MODEL, sio.dumps({"model": 1}))]
    names = {member[0] for member in members}
    path.write_bytes(_raw_zip([m for m in sound if m[0] not in names] + list(members)))
    return path


def _npz(*members):
    return _raw_zip(list(members))


# Each is refused, by load_model and load_predictor, before it costs memory.
HOSTILE = {
    "2 GB header": lambda p: _model_file(p, _bomb(HEADER, 2048)),
    "header lying about its 2 GB": lambda p: _model_file(p, _bomb(HEADER, 2048, 300)),
    "2 GB model.skops": lambda p: _model_file(p, _bomb(MODEL, 2048)),
    "model.skops at 1000:1": lambda p: _model_file(p, _bomb(MODEL, 60)),
    "2 GB arrays.npz": lambda p: _model_file(p, _bomb(ARRAYS, 2048)),
    "arrays.npz lying about its 2 GB": lambda p: _model_file(
        p, _bomb(ARRAYS, 2048, 1000)
    ),
    "2 GB array in arrays.npz": lambda p: _model_file(
        p, _honest(ARRAYS, _npz(_bomb("a.npy", 2048)), 0)
    ),
    "array lying about its 2 GB": lambda p: _model_file(
        p, _honest(ARRAYS, _npz(_bomb("a.npy", 2048, 500)), 0)
    ),
    "array header claiming 8 TB": lambda p: _model_file(
        p, _honest(ARRAYS, _npz(_honest("a.npy", _npy_claiming((10**12,)))))
    ),
    "2 GB schema in model.skops": lambda p: _model_file(
        p, _honest(MODEL, _raw_zip([_bomb("schema.json", 2048)]), 0)
    ),
    "100 MB of 1 MB arrays in model.skops": lambda p: _model_file(
        p, _honest(MODEL, _raw_zip([_bomb(f"{i}.npy", 1) for i in range(100)]))
    ),
}
# Refused by load_predictor at once, and by load_model only by skops, on a
# copy holding the 100 bytes it declares.
LYING_SCHEMA = {
    "schema lying about its 2 GB": lambda p: _model_file(
        p, _honest(MODEL, _raw_zip([_bomb("schema.json", 2048, 100)]), 0)
    ),
}

_LOAD_HOSTILE = """
import json, resource, sys
from blurkit.exceptions import BlurkitInputError
from blurkit.io import load_model, load_predictor

def peak_mb():
    # VmHWM: ru_maxrss would start from the parent's peak (Linux keeps it
    # across fork and exec).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def refusal(load, path):
    try:
        load(path)
    except BlurkitInputError as exc:
        return str(exc)
    return "loaded"

hostile, lying = json.loads(sys.argv[1])
messages = [refusal(load, p) for p in hostile for load in (load_model, load_predictor)]
messages += [refusal(load_predictor, p) for p in lying]
before_skops = peak_mb()
import skops.io
baseline = peak_mb()
messages += [refusal(load_model, p) for p in lying]
print(json.dumps([messages, before_skops, peak_mb() - baseline]))
"""


def _npy_claiming(shape):
    """A .npy file whose header claims ``shape`` of float64, with 8 bytes of data."""
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + bytes(8)


def test_hostile_model_files_are_refused_within_300_mb(tmp_path):
    paths = {}
    for kind, make in {**HOSTILE, **LYING_SCHEMA}.items():
        paths[kind] = make(tmp_path / f"{len(paths)}.blurkit")
        assert paths[kind].stat().st_size < 4 << 20  # the test stays small
    hostile = [str(paths[kind]) for kind in HOSTILE]
    lying = [str(paths[kind]) for kind in LYING_SCHEMA]
    # In a child process: its peak memory is its own, and a regression
    # costs the child, not the test run.
    child = subprocess.run(
        [sys.executable, "-c", _LOAD_HOSTILE, json.dumps([hostile, lying])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    messages, peak_mb, growth_in_skops_mb = json.loads(child.stdout)
    expected = [p for p in hostile for _ in range(2)] + lying + lying
    assert len(messages) == len(expected)
    for path, message in zip(expected, messages, strict=True):
        assert message.startswith(f"{path}: damaged blurkit model file"), message
        assert "\n" not in message
    assert peak_mb < 300, peak_mb
    # skops alone takes 300 MB to import (it imports torch); the file adds
    # nothing to it.
    assert growth_in_skops_mb < 50, growth_in_skops_mb


def test_bombs_are_refused_before_being_read(tmp_path):
    # The messages say why; and for the honest bombs, no byte was inflated.
    messages = {}
    for kind in ("2 GB header", "model.skops at 1000:1", "2 GB array in arrays.npz"):
        path = HOSTILE[kind](tmp_path / "model.blurkit")
        with pytest.raises(BlurkitInputError) as exc_info:
            load_predictor(path)
        messages[kind] = one_line(exc_info, path)
    assert (
        "unpacks to 2147483648 bytes; expected at most 1048576"
        in messages["2 GB header"]
    )
    assert "(a zip bomb?)" in messages["model.skops at 1000:1"]
    assert (
        "(arrays.npz): a.npy unpacks to 2147483648 bytes"
        in messages["2 GB array in arrays.npz"]
    )


@pytest.mark.parametrize(
    "name", ["../model.skops", "/etc/passwd", "extra.txt", "model.skops/x", HEADER]
)
def test_unexpected_member_names_are_refused_as_damaged(tmp_path, name):
    path = tmp_path / "model.blurkit"
    # HEADER again: a second member of the same name.
    _model_file(path, _honest(ARRAYS, _npz(_honest("a.npy", _npy(np.ones(2))))))
    data = path.read_bytes()
    members = [_honest(n, d) for n, d in _members(data)] + [_honest(name, b"{}")]
    path.write_bytes(_raw_zip(members))
    for load in (load_model, load_predictor):
        with pytest.raises(BlurkitInputError) as exc_info:
            load(path)
        message = one_line(exc_info, path, "damaged blurkit model file", name)
        assert "unexpected member" in message or "appears twice" in message


@pytest.mark.parametrize(
    "where, name", [(MODEL, "../schema.json"), (MODEL, "sub/x.npy"), (ARRAYS, "x.txt")]
)
def test_unexpected_names_inside_the_inner_archives(tmp_path, where, name):
    path = tmp_path / "model.blurkit"
    inner = {MODEL: sio.dumps({"model": 1}), ARRAYS: _npz(_honest("a.npy", _npy(1.0)))}
    members = [_honest(n, d) for n, d in _members(inner[where])] + [_honest(name, b"")]
    _model_file(path, _honest(where, _raw_zip(members)))
    with pytest.raises(BlurkitInputError) as exc_info:
        (load_model if where == MODEL else load_predictor)(path)
    one_line(exc_info, path, f"({where}): unexpected member {name!r}")


def test_hostile_array_headers_name_the_array(tmp_path):
    path = _model_file(
        tmp_path / "model.blurkit",
        _honest(ARRAYS, _npz(_honest("a.npy", _npy_claiming((10**12,))))),
    )
    with pytest.raises(BlurkitInputError) as exc_info:
        load_predictor(path)
    one_line(exc_info, path, "a.npy: 8 bytes of data for shape (1000000000000,)")


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]

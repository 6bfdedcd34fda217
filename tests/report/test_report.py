"""Evaluation, the HTML report, ``blurkit evaluate`` and a Chromium screenshot."""

import base64
import io
import subprocess
import sys

import numpy as np
import pytest
from conftest import DEMO_DATA
from html_page import parse as _parse
from html_page import run_chromium
from PIL import Image
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

import blurkit
from blurkit.cli import main
from blurkit.exceptions import BlurkitInputError
from blurkit.report import (
    evaluate,
    format_metrics,
    model_details,
    render_report,
    write_report,
)

SECTIONS = (
    "metrics",
    "confusion-matrix",
    "roc-curve",
    "reliability",
    "feature-distributions",
    "misclassified",
    "least-confident",
    "per-image",
)
FLIPPED = (0, 3, 10)  # validation images whose label the tests flip


@pytest.fixture(scope="module")
def detector(small_model_file):
    return blurkit.load_model(small_model_file)[0]


@pytest.fixture(scope="module")
def validation():
    return blurkit.load_dataset(DEMO_DATA / "validation")


@pytest.fixture(scope="module")
def flipped_labels(validation):
    """Labels with three errors planted: the model gets those three wrong."""
    labels = validation.labels.copy()
    labels[list(FLIPPED)] = 1 - labels[list(FLIPPED)]
    return labels


@pytest.fixture(scope="module")
def report(tmp_path_factory, detector, validation, flipped_labels):
    results = evaluate(detector, validation.images, flipped_labels, validation.subjects)
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(
        path,
        results,
        validation.images,
        details={"Data": "demo <validation>", **model_details(detector)},
        n_least_confident=4,
    )
    return path, results


# --------------------------------------------------------------------------- #
# evaluate
# --------------------------------------------------------------------------- #


def test_evaluate_on_true_labels(detector, validation):
    results = evaluate(
        detector, validation.images, validation.labels, validation.subjects
    )
    assert results["accuracy"] == 1.0
    assert results["balanced_accuracy"] == 1.0
    assert results["roc_auc"] == 1.0
    n_sharp = int(validation.labels.sum())
    np.testing.assert_array_equal(
        results["confusion_matrix"], [[16 - n_sharp, 0], [0, n_sharp]]
    )
    table = results["per_image"]
    assert list(table.columns) == [
        "Subject", "Label", "Predicted", "Probability", "Sigma_px", "Sigma_mm",
    ]  # fmt: skip
    assert table.Subject.tolist() == validation.subjects
    np.testing.assert_allclose(table.Sigma_mm, 1.5 * table.Sigma_px)


def test_evaluate_agrees_with_scikit_learn(detector, validation, flipped_labels):
    results = evaluate(detector, validation.images, flipped_labels)
    table = results["per_image"]
    assert results["accuracy"] == pytest.approx(13 / 16)
    assert results["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(flipped_labels, table.Predicted)
    )
    assert results["roc_auc"] == pytest.approx(
        roc_auc_score(flipped_labels, table.Probability)
    )
    assert results["confusion_matrix"].sum() == 16
    assert np.trace(results["confusion_matrix"]) == 13
    assert table.Subject[0] == "image-0"
    np.testing.assert_array_equal(table.Predicted, detector.predict(validation.images))


def test_evaluate_single_class_and_model_without_sigma(detector, validation):
    sharp = validation.labels == 1
    images = validation.images[sharp]
    # The fitted search alone: a classifier with no blur estimate.
    results = evaluate(detector.classifier_, images, validation.labels[sharp])
    assert np.isnan(results["roc_auc"])
    assert results["balanced_accuracy"] == results["accuracy"] == 1.0
    assert "Sigma_px" not in results["per_image"]
    assert "n/a" in render_report(results, images)  # the AUC
    assert "ROC AUC:            nan" in format_metrics(results)


@pytest.mark.parametrize(
    ("labels", "match"), [([2] * 16, "0 or 1"), ([0, 1], "16 images but 2 labels")]
)
def test_evaluate_rejects_bad_labels(detector, validation, labels, match):
    with pytest.raises(ValueError, match=match):
        evaluate(detector, validation.images, labels)


def test_format_metrics(report):
    text = format_metrics(report[1])
    assert "Accuracy:           0.812" in text
    lines = text.splitlines()
    cm = report[1]["confusion_matrix"]
    assert lines[-2].split() == ["blurred", *map(str, cm[0])]
    assert lines[-1].split() == ["sharp", *map(str, cm[1])]


# --------------------------------------------------------------------------- #
# The HTML report
# --------------------------------------------------------------------------- #


def test_report_parses_and_has_every_section(report):
    path, results = report
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = _parse(text)
    assert page.errors == [] and page.stack == []
    assert set(SECTIONS) <= set(page.sections)
    assert "0.812" in page.sections["metrics"]  # accuracy 13/16
    assert "demo <validation>" in text.replace("&lt;", "<").replace("&gt;", ">")


def test_every_image_is_embedded_and_nothing_is_external(report):
    page = _parse(report[0].read_text(encoding="utf-8"))
    images = [attrs for tag, attrs, _ in page.tags if tag == "img"]
    assert len(images) >= 5 + len(FLIPPED)
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix)
        assert attrs.get("alt")
        with Image.open(
            io.BytesIO(base64.b64decode(attrs["src"][len(prefix) :]))
        ) as im:
            im.verify()
    for tag, attrs, _ in page.tags:
        assert tag not in ("script", "link", "iframe", "object")
        for name in ("src", "href"):
            assert not str(attrs.get(name, "")).startswith(("http:", "https:", "//"))


def test_report_shows_the_misclassified_and_least_confident(report, validation):
    path, results = report
    page = _parse(path.read_text(encoding="utf-8"))

    def thumbnails(section):
        return [a for tag, a, s in page.tags if tag == "img" and s == section]

    assert len(thumbnails("misclassified")) == len(FLIPPED)
    for i in FLIPPED:
        assert validation.subjects[i] in page.sections["misclassified"]
    assert "blur σ ≈" in page.sections["misclassified"]
    assert "P(sharp) =" in page.sections["misclassified"]
    assert len(thumbnails("least-confident")) == 4
    table = results["per_image"]
    correct = table[table.Label == table.Predicted]
    least = correct.iloc[np.argsort(np.abs(correct.Probability - 0.5), kind="stable")]
    for subject in least.Subject[:4]:
        assert subject in page.sections["least-confident"]
    for subject in validation.subjects:
        assert subject in page.sections["per-image"]


def test_report_with_no_error_says_so(detector, validation):
    results = evaluate(detector, validation.images, validation.labels)
    page = _parse(render_report(results, validation.images, max_misclassified=0))
    assert "every image is classified correctly" in page.sections["misclassified"]
    assert not [t for t, _, s in page.tags if t == "img" and s == "misclassified"]


def test_report_leaves_matplotlib_alone(detector, validation):
    import matplotlib
    import matplotlib.pyplot as plt

    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    results = evaluate(detector, validation.images[:4], validation.labels[:4])
    render_report(results, validation.images[:4])
    assert plt.get_fignums() == figures  # no pyplot figure made or left open
    assert matplotlib.get_backend() == backend


def test_importing_blurkit_imports_neither_matplotlib_nor_nibabel():
    code = (
        "import sys, blurkit, blurkit.cli, blurkit.report._html, blurkit.plot, "
        "blurkit.io._nifti; "
        "print(sorted(m for m in ('matplotlib', 'nibabel') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_write_report_is_atomic(tmp_path, report, validation):
    results = report[1]
    path = tmp_path / "report.html"
    path.write_text("old")
    with pytest.raises(ValueError, match="images"):
        write_report(path, results, validation.images[:3])
    assert path.read_text() == "old"
    with pytest.raises(BlurkitInputError, match="nope"):
        write_report(tmp_path / "nope" / "r.html", results, validation.images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


# --------------------------------------------------------------------------- #
# blurkit evaluate
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, detector):
    from blurkit.io import save_model

    path = tmp_path_factory.mktemp("model") / "model.joblib"
    save_model(detector, path)
    return path


def test_cli_evaluate_prints_metrics_and_writes_the_report(
    model_file, tmp_path, capsys
):
    out = tmp_path / "report.html"
    args = ["evaluate", str(model_file), str(DEMO_DATA / "validation")]
    assert main([*args, "--report", str(out)]) == 0
    captured = capsys.readouterr()
    for line in ("Accuracy:           1.000", "ROC AUC:            1.000"):
        assert line in captured.out
    assert "Confusion matrix" in captured.out
    assert str(out) in captured.err
    page = _parse(out.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= set(page.sections)
    assert "model.joblib" in out.read_text(encoding="utf-8")


def test_cli_evaluate_errors(model_file, tmp_path, capsys):
    args = ["evaluate", str(model_file), str(DEMO_DATA / "validation")]
    assert main([*args, "--report", str(tmp_path / "missing" / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("blurkit: error:") and "missing" in err
    assert main(["evaluate", str(model_file), str(tmp_path)]) == 1
    assert "subjects.tsv" in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# Headless Chromium
# --------------------------------------------------------------------------- #


def test_report_renders_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "shot.png"
    run_chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        url=report[0].resolve().as_uri(),
    )
    assert shot.is_file()
    with Image.open(shot) as im:
        assert im.size == (1200, 2000)
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    # Not blank: text, plots and thumbnails give contrast all over the page.
    assert pixels.std() > 20
    for band in np.array_split(pixels, 4):  # each quarter of the page
        assert np.mean(band < 128) > 0.01

import subprocess
import sys

import pytest
from conftest import DEMO_DATA

import blurkit
from blurkit.cli import main
from blurkit.models._families import OUTER_FEATURES_OPTION


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    assert (
        main(["train", str(DEMO_DATA / "train"), "-o", str(path), "-q", "--cv", "2"])
        == 0
    )
    return path


def test_train_progress_goes_to_stderr_only(tmp_path, capsys):
    path = tmp_path / "model.blurkit"
    assert main(["train", str(DEMO_DATA / "train"), "-o", str(path), "--cv", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Fitting 3 folds for each of 1 candidates" in captured.err
    # One progress line per fit (1 candidate x 3 folds), with what is left.
    progress = [line for line in captured.err.splitlines() if "fits done" in line]
    assert len(progress) == 3
    assert progress[0].startswith("Cross-validation: 1/3 fits done, 2 left, about")
    assert progress[-1].startswith("Cross-validation: 3/3 fits done, 0 left")
    # sklearn's own per-fit records (the parameters' repr) are not shown.
    assert "LogisticRegression(" not in captured.err
    assert "Saved the model" in captured.err


def test_train_progress_with_parallel_fits(tmp_path, capsys):
    path = tmp_path / "model.blurkit"
    args = ["train", str(DEMO_DATA / "train"), "-o", str(path), "--cv", "3"]
    assert main([*args, "--n-jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Done   3 out of   3" in captured.err
    assert "remaining:" in captured.err


def test_train_then_predict_round_trip(model_file, tmp_path):
    out = tmp_path / "out.tsv"
    assert (
        main(
            ["predict", str(model_file), str(DEMO_DATA / "validation"), "-o", str(out)]
        )
        == 0
    )
    expected = (DEMO_DATA / "validation" / "subjects.tsv").read_bytes()
    assert out.read_bytes() == expected


def test_train_without_the_outer_features(tmp_path, capsys):
    path, out = tmp_path / "model.blurkit", tmp_path / "out.tsv"
    args = ["train", str(DEMO_DATA / "train"), "-o", str(path), "-q", "--cv", "2"]
    assert main([*args, "--model", "features", "--no-outer-features"]) == 0
    detector, _ = blurkit.load_model(path)
    params = detector.classifier_.best_estimator_.get_params()
    for name in OUTER_FEATURES_OPTION:
        assert params[f"estimator__features__{name}"] is False
    validation = DEMO_DATA / "validation"
    assert main(["predict", str(path), str(validation), "-o", str(out)]) == 0
    assert out.read_bytes() == (validation / "subjects.tsv").read_bytes()
    # The CNN has no engineered features: refused before training, one line.
    cnn = ["train", str(DEMO_DATA / "train"), "-o", str(tmp_path / "cnn.blurkit")]
    cnn += ["--model", "cnn"]
    for flag in ("--outer-features", "--no-outer-features"):
        capsys.readouterr()
        assert main([*cnn, flag]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"blurkit: error: {flag}: the CNN reads pixels")
        assert len(err.strip().splitlines()) == 1
        assert not (tmp_path / "cnn.blurkit").exists()


def test_predict_with_probability_and_sigma(model_file, tmp_path):
    out = tmp_path / "out.tsv"
    args = ["predict", str(model_file), str(DEMO_DATA / "validation"), "-o", str(out)]
    assert main([*args, "--proba", "--sigma", "--pixel-spacing", "2"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "Subject\tLabel\tProbability\tSigma_px\tSigma_mm"
    for line in lines[1:]:
        _, label, proba, px, mm = line.split("\t")
        assert (float(proba) > 0.5) == (label == "1")
        # Six decimals in both columns.
        assert float(mm) == pytest.approx(2 * float(px), abs=2e-6)
        # Demo blur is sigma 2.5-3.5 px.
        assert (float(px) > 1.5) == (label == "0")


def test_predict_single_files_sorted_by_name(model_file, tmp_path):
    files = sorted((DEMO_DATA / "validation").glob("*.png"))[:3]
    out = tmp_path / "out.tsv"
    assert (
        main(["predict", str(model_file), *map(str, reversed(files)), "-o", str(out)])
        == 0
    )
    subjects = [line.split("\t")[0] for line in out.read_text().splitlines()[1:]]
    assert subjects == [f.stem for f in reversed(files)]


def test_errors_are_one_line_and_keep_existing_output(model_file, tmp_path, capsys):
    out = tmp_path / "out.tsv"
    out.write_text("keep me\n")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert main(["predict", str(model_file), str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("blurkit: error:") and "bad.png" in err
    assert len(err.splitlines()) == 1
    assert out.read_text() == "keep me\n"


def test_not_a_model_file(tmp_path, capsys):
    fake = tmp_path / "model.joblib"
    fake.write_text("hello")
    assert (
        main(
            [
                "predict",
                str(fake),
                str(DEMO_DATA / "validation"),
                "-o",
                str(tmp_path / "o.tsv"),
            ]
        )
        == 1
    )
    assert "not a blurkit model" in capsys.readouterr().err


def test_missing_data_folder(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope"), "-o", str(tmp_path / "m")]) == 1
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["blurkit", "blurkit.cli"])
def test_python_dash_m_runs(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == f"blurkit {blurkit.__version__}\n"


def test_predict_with_a_features_model_imports_neither_sklearn_nor_torch(
    model_file, tmp_path
):
    # What makes a short `blurkit predict` start fast: the lightweight
    # predictor stored in the file needs numpy and scipy.fft only.
    out = tmp_path / "out.tsv"
    code = (
        "import sys\n"
        "from blurkit.cli import main\n"
        f"status = main(['predict', {str(model_file)!r}, "
        f"{str(DEMO_DATA / 'validation')!r}, '-o', {str(out)!r}, '-q', '--proba'])\n"
        "heavy = sorted(m for m in ('sklearn', 'torch', 'skops', 'skorch', 'pandas')"
        " if m in sys.modules)\n"
        "print(status, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "0 []"
    # And it predicts what the full model predicts.
    full = tmp_path / "full.tsv"
    args = ["predict", str(model_file), str(DEMO_DATA / "validation"), "-q"]
    assert main([*args, "-o", str(full), "--proba", "--sigma"]) == 0
    fast_rows = [line.split("\t") for line in out.read_text().splitlines()]
    full_rows = [line.split("\t")[:3] for line in full.read_text().splitlines()]
    assert fast_rows[0] == full_rows[0] == ["Subject", "Label", "Probability"]
    for fast, slow in zip(fast_rows[1:], full_rows[1:], strict=True):
        assert fast[:2] == slow[:2]
        # Printed to 6 decimals: values a rounding apart can straddle a
        # boundary, one unit of the last decimal apart.
        assert float(fast[2]) == pytest.approx(float(slow[2]), rel=1e-6, abs=1.01e-6)

"""What users feed blurkit, and what each input gets (the table of issue 6).

Every row is checked through the command line (``blurkit.cli.main`` returns
the exit status; an error must be ONE line on stderr naming the file, or the
file and line, and what was expected) and through the Python API.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO_DATA
from PIL import Image

from blurkit._validation import MIN_IMAGE_SIZE
from blurkit.cli import main
from blurkit.exceptions import BlurkitInputError
from blurkit.io import (
    list_images,
    load_dataset,
    read_image,
    save_model,
    write_image,
    write_predictions,
)
from blurkit.models import BlurDetector, BlurSigmaRegressor, make_feature_pipeline
from blurkit.workflow import predict_files

VALIDATION = DEMO_DATA / "validation"


@pytest.fixture(scope="module")
def detector():
    """A small but complete BlurDetector (classifier and sigma estimate)."""
    train = load_dataset(DEMO_DATA / "train")
    # 24 images, both classes, a short sigma regressor: fast, and enough to
    # judge the demo images.
    X, y = train.images[:24], train.labels[:24]
    assert set(y) == {0, 1}
    return BlurDetector(
        classifier=make_feature_pipeline(),
        sigma_estimator=BlurSigmaRegressor(max_iter=30, random_state=0),
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def model_file(detector, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.blurkit"
    save_model(detector, path)
    return path


@pytest.fixture(scope="module")
def sharp_and_blurred():
    """One sharp and one blurred demo image (float32 in [0, 1])."""
    data = load_dataset(VALIDATION)
    return (
        data.images[list(data.labels).index(1)],
        data.images[list(data.labels).index(0)],
    )


def run(args, capsys):
    """Run the CLI; return (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err, *parts):
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("blurkit: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert str(part) in lines[0], (part, lines[0])


def read_tsv(path):
    lines = Path(path).read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


# --------------------------------------------------------------------------- #
# Image formats: read and converted to grey float in [0, 1]
# --------------------------------------------------------------------------- #


def _save_formats(folder, image):
    """The same picture as every format of the table; returns {name: path}."""
    grey8 = np.rint(image * 255).astype(np.uint8)
    grey16 = (grey8.astype(np.uint16) * 257).astype(np.uint16)
    rgb = np.stack([grey8] * 3, axis=-1)
    rgba = np.dstack([rgb, np.full(grey8.shape, 200, np.uint8)])
    files = {
        "grey8": ("grey8.png", Image.fromarray(grey8)),
        "grey16": ("grey16.png", Image.fromarray(grey16)),
        "rgb": ("rgb.png", Image.fromarray(rgb)),
        "rgba": ("rgba.png", Image.fromarray(rgba)),
        "palette": ("palette.png", Image.fromarray(grey8).convert("P")),
        "jpeg": ("jpeg.jpg", Image.fromarray(grey8)),
        "tiff": ("tiff.tif", Image.fromarray(grey8)),
        "tiff16": ("tiff16.tiff", Image.fromarray(grey16)),
    }
    paths = {}
    for name, (file_name, picture) in files.items():
        paths[name] = folder / file_name
        options = {"quality": 95} if file_name.endswith(".jpg") else {}
        picture.save(paths[name], **options)
    return paths


def test_every_format_is_read_as_grey_in_unit_range(tmp_path, sharp_and_blurred):
    sharp, _ = sharp_and_blurred
    paths = _save_formats(tmp_path, sharp)
    reference = read_image(paths["grey8"])
    for name, path in paths.items():
        image = read_image(path)
        assert image.ndim == 2 and image.dtype == np.float32, name
        assert 0 <= image.min() and image.max() <= 1, name
        # JPEG is lossy; the palette of a grey picture is exact.
        tolerance = 0.05 if name == "jpeg" else 1e-6
        np.testing.assert_allclose(image, reference, atol=tolerance, err_msg=name)


def test_every_format_is_predicted_through_the_cli(tmp_path, sharp_and_blurred, capsys):
    # With the built-in model, trained with the degradation augmentation:
    # the module's small model never saw a JPEG, whose blocks ring at the
    # head's edge as motion does (it calls the JPEG of the sharp slice
    # blurred; the augmented models see JPEG copies).
    for label, image in zip((1, 0), sharp_and_blurred, strict=True):
        folder = tmp_path / f"label{label}"
        folder.mkdir()
        paths = _save_formats(folder, image)
        out = tmp_path / f"out{label}.tsv"
        code, _, err = run(["predict", folder, "-o", out, "-q"], capsys)
        assert code == 0, err
        rows = read_tsv(out)
        assert sorted(row["Subject"] for row in rows) == sorted(
            p.stem for p in paths.values()
        )
        assert {row["Label"] for row in rows} == {str(label)}


# --------------------------------------------------------------------------- #
# Bad files: an error naming the file and the problem
# --------------------------------------------------------------------------- #


def _make_bad_file(folder, kind, good_png):
    path = folder / f"bad_{kind}.png"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good_png[: len(good_png) // 2])
    elif kind == "corrupt":
        data = bytearray(good_png)
        start = data.index(b"IDAT") + 20
        data[start : start + 60] = bytes(60)
        path.write_bytes(bytes(data))
    elif kind == "text":
        path.write_text("this is not an image\n")
    return path


BAD_FILES = {
    # kind: words the message must hold (the problem)
    "zero-byte": "empty file",
    "truncated": "cannot decode",
    "corrupt": "cannot decode",
    "text": "not a recognised image format",
}


@pytest.fixture(scope="module")
def good_png():
    return (VALIDATION / "sub-DEMO0081.png").read_bytes()


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_python(tmp_path, kind, good_png, detector):
    path = _make_bad_file(tmp_path, kind, good_png)
    with pytest.raises(BlurkitInputError, match=BAD_FILES[kind]) as exc_info:
        read_image(path)
    assert str(path) in str(exc_info.value) and "\n" not in str(exc_info.value)
    with pytest.raises(BlurkitInputError, match=BAD_FILES[kind]):
        predict_files(detector, [path], tmp_path / "out.tsv", log=None)
    assert not (tmp_path / "out.tsv").exists()


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_cli(tmp_path, kind, good_png, model_file, capsys):
    path = _make_bad_file(tmp_path, kind, good_png)
    out = tmp_path / "out.tsv"
    code, _, err = run(["predict", model_file, path, "-o", out], capsys)
    assert code == 1
    assert_one_line_error(err, path, BAD_FILES[kind])
    assert not out.exists()


def _folder_with_bad_files(tmp_path, good_png):
    folder = tmp_path / "scans"
    folder.mkdir()
    good = sorted(VALIDATION.glob("*.png"))[:4]
    for path in good:
        (folder / path.name).write_bytes(path.read_bytes())
    bad = [_make_bad_file(folder, kind, good_png) for kind in ("truncated", "text")]
    return folder, [p.stem for p in good], sorted(bad)


@pytest.mark.parametrize("on_error", [None, "fail"])
def test_folder_with_bad_file_fail_mode_writes_nothing(
    tmp_path, good_png, model_file, capsys, on_error
):
    folder, _, bad = _folder_with_bad_files(tmp_path, good_png)
    out = tmp_path / "out.tsv"
    out.write_text("previous results\n")
    args = ["predict", model_file, folder, "-o", out, "-q"]
    if on_error:
        args += ["--on-error", on_error]
    code, _, err = run(args, capsys)
    assert code == 1
    # The first bad file in input order (sorted by name) is named.
    assert_one_line_error(err, bad[0])
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_folder_with_bad_file_skip_mode(tmp_path, good_png, model_file, capsys):
    folder, good, bad = _folder_with_bad_files(tmp_path, good_png)
    out = tmp_path / "out.tsv"
    args = ["predict", model_file, folder, "-o", out, "-q", "--on-error", "skip"]
    code, _, err = run(args, capsys)
    assert code == 3
    assert [row["Subject"] for row in read_tsv(out)] == good
    lines = err.strip().split("\n")
    assert len(lines) == len(bad)
    for line, path in zip(lines, bad, strict=True):
        assert line.startswith("blurkit: skipped ") and str(path) in line


def test_folder_with_bad_file_python(tmp_path, good_png, detector):
    folder, good, bad = _folder_with_bad_files(tmp_path, good_png)
    out = tmp_path / "out.tsv"
    skipped = predict_files(detector, [folder], out, on_error="skip", log=None)
    assert [path for path, _ in skipped] == [str(p) for p in bad]
    assert [row["Subject"] for row in read_tsv(out)] == good
    out.unlink()
    with pytest.raises(BlurkitInputError, match=bad[0].name):
        predict_files(detector, [folder], out, log=None)
    assert not out.exists()


def test_only_bad_files_in_skip_mode_is_an_error(
    tmp_path, good_png, model_file, capsys
):
    path = _make_bad_file(tmp_path, "text", good_png)
    out = tmp_path / "out.tsv"
    code, _, err = run(
        ["predict", model_file, path, "-o", out, "--on-error", "skip"], capsys
    )
    assert code == 1
    assert_one_line_error(err, "none of the 1 images", path)
    assert not out.exists()


@pytest.mark.parametrize("kind", ["truncated", "text"])
def test_train_on_a_folder_with_a_bad_image(tmp_path, kind, good_png, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    files = sorted(VALIDATION.glob("*.png"))[:4]
    for path in files:
        (folder / path.name).write_bytes(path.read_bytes())
    bad = _make_bad_file(folder, kind, good_png)
    (folder / files[2].name).unlink()
    bad = bad.rename(folder / files[2].name)
    rows = [f"{p.stem}\t{label}" for p, label in zip(files, [0, 0, 1, 1], strict=True)]
    (folder / "subjects.tsv").write_text("Subject\tLabel\n" + "\n".join(rows) + "\n")
    model = tmp_path / "model.blurkit"
    code, _, err = run(["train", folder, "-o", model, "-q", "--cv", "2"], capsys)
    assert code == 1
    assert_one_line_error(err, bad, BAD_FILES[kind])
    with pytest.raises(BlurkitInputError, match=BAD_FILES[kind]):
        load_dataset(folder)
    assert not model.exists()


def test_out_of_memory_is_one_line(tmp_path, model_file, monkeypatch, capsys):
    import blurkit.workflow

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(blurkit.workflow, "predict_files", exhausted)
    image = VALIDATION / "sub-DEMO0081.png"
    code, _, err = run(["predict", model_file, image, "-o", tmp_path / "o"], capsys)
    assert code == 1
    assert_one_line_error(err, "out of memory")


def test_cli_error_reaches_a_real_process_as_one_line(tmp_path, good_png, model_file):
    """No traceback nor warning reaches the terminal of a real ``blurkit`` run."""
    folder, _, bad = _folder_with_bad_files(tmp_path, good_png)
    out = tmp_path / "out.tsv"
    result = subprocess.run(
        [sys.executable, "-m", "blurkit.cli", "predict", model_file, folder]
        + ["-o", out, "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert_one_line_error(result.stderr, bad[0])


# --------------------------------------------------------------------------- #
# Empty folders, no images
# --------------------------------------------------------------------------- #


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _no_images(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("no images here\n")
    (folder / ".hidden.png").write_bytes(b"")
    return folder


@pytest.mark.parametrize("make", [_empty, _no_images])
def test_folder_without_images(tmp_path, make, model_file, detector, capsys):
    folder = make(tmp_path)
    out = tmp_path / "out.tsv"
    code, _, err = run(["predict", model_file, folder, "-o", out], capsys)
    assert code == 1
    assert_one_line_error(err, folder, "no image file")
    with pytest.raises(BlurkitInputError, match="no image file"):
        list_images([folder])
    with pytest.raises(BlurkitInputError, match="no image file"):
        predict_files(detector, [folder], out, log=None)
    assert not out.exists()


@pytest.mark.parametrize("what", ["missing", "empty", "no-tsv"])
def test_train_on_missing_or_empty_folder(tmp_path, what, capsys):
    folder = tmp_path / "data"
    if what != "missing":
        folder.mkdir()
    if what == "no-tsv":
        write_image(folder / "sub-01.png", np.zeros((32, 32)))
    model = tmp_path / "model.blurkit"
    code, _, err = run(["train", folder, "-o", model, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, folder)
    assert ("no such folder" if what == "missing" else "no subjects.tsv") in err
    with pytest.raises(BlurkitInputError):
        load_dataset(folder)
    assert not model.exists()


@pytest.mark.parametrize("labels", [[1, 1, 1, 1], [0, 1, 1, 1]])
def test_train_with_too_few_images_of_a_class(tmp_path, labels, capsys):
    files = sorted(VALIDATION.glob("*.png"))[:4]
    rows = [f"{p.stem}\t{y}" for p, y in zip(files, labels, strict=True)]
    folder = _challenge_folder(tmp_path, "Subject\tLabel\n" + "\n".join(rows) + "\n")
    model = tmp_path / "model.blurkit"
    code, _, err = run(["train", folder, "-o", model, "-q", "--cv", "2"], capsys)
    assert code == 1
    n_blurred = labels.count(0)
    assert_one_line_error(
        err,
        folder / "subjects.tsv",
        f"{4 - n_blurred} sharp and {n_blurred} blurred images",
        "needs at least 2 of each",
    )
    assert not model.exists()


# --------------------------------------------------------------------------- #
# subjects.tsv problems: the error names the line and what was expected
# --------------------------------------------------------------------------- #

# name: (subjects.tsv text, line named, words of the message)
TSV_PROBLEMS = {
    "missing column": (
        "Subject\tLabel\nsub-DEMO0081\t1\nsub-DEMO0082\n",
        3,
        "expected 2 tab-separated field(s)",
    ),
    "wrong header": ("Name\tClass\nsub-DEMO0081\t1\n", 1, "expected exactly"),
    "header with spaces": ("Subject Label\nsub-DEMO0081 1\n", 1, "expected exactly"),
    "duplicate subject": (
        "Subject\tLabel\nsub-DEMO0081\t1\nsub-DEMO0082\t1\nsub-DEMO0081\t1\n",
        4,
        "duplicate Subject 'sub-DEMO0081' (first listed on line 2)",
    ),
    "listed file missing": (
        "Subject\tLabel\nsub-DEMO0081\t1\nsub-NOPE\t0\n",
        3,
        "no image file for Subject 'sub-NOPE'",
    ),
    "label 2": ("Subject\tLabel\nsub-DEMO0081\t2\n", 2, "expected 0 (blurred) or 1"),
    "label text": (
        "Subject\tLabel\nsub-DEMO0081\tsharp\n",
        2,
        "expected 0 (blurred) or 1",
    ),
    "no rows": ("Subject\tLabel\n", None, "no subjects listed"),
}


def _challenge_folder(tmp_path, tsv_text):
    folder = tmp_path / "data"
    folder.mkdir()
    for path in sorted(VALIDATION.glob("*.png"))[:4]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "subjects.tsv").write_text(tsv_text)
    return folder


def _where(folder, line):
    tsv = folder / "subjects.tsv"
    return f"{tsv}:{line}:" if line else f"{tsv}:"


@pytest.mark.parametrize("problem", TSV_PROBLEMS)
def test_subjects_tsv_problems_python(tmp_path, problem, detector):
    text, line, words = TSV_PROBLEMS[problem]
    folder = _challenge_folder(tmp_path, text)
    for call in (
        lambda: load_dataset(folder),
        lambda: list_images([folder]),
        lambda: predict_files(detector, [folder], tmp_path / "o.tsv", log=None),
    ):
        with pytest.raises(BlurkitInputError) as exc_info:
            call()
        message = str(exc_info.value)
        assert message.startswith(_where(folder, line)) and words in message
        assert "\n" not in message


@pytest.mark.parametrize("command", ["predict", "train"])
@pytest.mark.parametrize("problem", TSV_PROBLEMS)
def test_subjects_tsv_problems_cli(tmp_path, problem, command, model_file, capsys):
    text, line, words = TSV_PROBLEMS[problem]
    folder = _challenge_folder(tmp_path, text)
    out = tmp_path / "out"
    if command == "predict":
        args = ["predict", model_file, folder, "-o", out]
    else:
        args = ["train", folder, "-o", out, "--cv", "2"]
    code, _, err = run([*args, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, _where(folder, line), words)
    assert not out.exists()


# --------------------------------------------------------------------------- #
# Constant, tiny and huge images
# --------------------------------------------------------------------------- #


def _large_image(sharp, size=4096):
    # The demo slice repeated on a size x size canvas: large, still a brain.
    tiles = np.tile(sharp, (size // sharp.shape[0] + 1, size // sharp.shape[1] + 1))
    return np.ascontiguousarray(tiles[:size, :size])


def test_constant_and_large_images_get_finite_predictions_python(
    detector, sharp_and_blurred
):
    sharp, _ = sharp_and_blurred
    # 2048x2048 here, where the whole model holds its features in memory
    # (600 MB at 4096x4096); the command line below predicts a 4096x4096 one,
    # with the same model and --sigma.
    images = [np.zeros((121, 121)), np.ones((64, 64)), _large_image(sharp, 2048)]
    proba = detector.predict_proba(images)
    sigma = detector.predict_sigma(images)
    assert np.isfinite(proba).all() and np.isfinite(sigma).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    # A constant image holds no detail: blurred.
    assert list(detector.predict(images[:2])) == [0, 0]
    # The tiled slice keeps its sharp edges.
    assert detector.predict(images[2:]) == [1]


def test_constant_and_large_images_cli(tmp_path, model_file, sharp_and_blurred, capsys):
    sharp, _ = sharp_and_blurred
    write_image(tmp_path / "zeros.png", np.zeros((121, 121)))
    write_image(tmp_path / "large.png", _large_image(sharp))
    out = tmp_path / "out.tsv"
    args = ["predict", model_file, tmp_path, "-o", out, "--proba", "--sigma", "-q"]
    code, _, err = run(args, capsys)
    assert code == 0, err
    rows = {row["Subject"]: row for row in read_tsv(out)}
    assert rows["zeros"]["Label"] == "0" and rows["large"]["Label"] == "1"
    for row in rows.values():
        for column in ("Probability", "Sigma_px", "Sigma_mm"):
            assert np.isfinite(float(row[column])), row


TINY = [(1, 1), (5, 5), (MIN_IMAGE_SIZE - 1, 64), (64, 1)]


@pytest.mark.parametrize("shape", TINY)
def test_tiny_images_get_a_clear_error_python(detector, shape):
    image = np.random.default_rng(0).random(shape)
    expected = f"at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels"
    for method in (detector.predict, detector.predict_proba, detector.predict_sigma):
        with pytest.raises(ValueError, match=expected):
            method([np.zeros((32, 32)), image])
    with pytest.raises(ValueError, match=expected):
        BlurDetector(classifier=make_feature_pipeline()).fit(
            [np.zeros((32, 32)), image], [0, 1]
        )


def test_smallest_judged_size_gets_a_prediction(detector):
    image = np.random.default_rng(0).random((MIN_IMAGE_SIZE, MIN_IMAGE_SIZE))
    assert np.isfinite(detector.predict_proba([image])).all()


@pytest.mark.parametrize("shape", [(1, 1), (5, 5)])
def test_tiny_images_cli(tmp_path, model_file, shape, capsys):
    tiny = tmp_path / f"tiny_{shape[0]}.png"
    write_image(tiny, np.full(shape, 0.5))
    good = tmp_path / "sub-DEMO0081.png"
    good.write_bytes((VALIDATION / good.name).read_bytes())
    out = tmp_path / "out.tsv"
    code, _, err = run(["predict", model_file, good, tiny, "-o", out, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, tiny, f"{shape[0]}x{shape[1]} pixels", "at least 16x16")
    assert not out.exists()
    args = ["predict", model_file, good, tiny, "-o", out, "-q", "--on-error", "skip"]
    code, _, err = run(args, capsys)
    assert code == 3
    assert [row["Subject"] for row in read_tsv(out)] == ["sub-DEMO0081"]
    assert str(tiny) in err and "at least 16x16" in err


# --------------------------------------------------------------------------- #
# NaN and inf from Python: scikit-learn's ValueError
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("as_list", [False, True])
def test_non_finite_arrays_raise_sklearn_value_error(detector, bad, as_list):
    images = np.random.default_rng(0).random((2, 32, 32))
    images[1, 3, 4] = bad
    X = list(images) if as_list else images
    expected = "NaN" if np.isnan(bad) else "infinity"
    for method in (detector.predict, detector.predict_proba, detector.predict_sigma):
        with pytest.raises(ValueError, match=f"Input .*contains {expected}"):
            method(X)
    with pytest.raises(ValueError, match=f"Input .*contains {expected}"):
        BlurDetector(classifier=make_feature_pipeline()).fit(X, [0, 1])


def test_non_finite_float_tiff_is_refused_by_name(tmp_path, model_file, capsys):
    values = np.full((32, 32), 0.5, dtype=np.float32)
    values[0, 0] = np.nan
    path = tmp_path / "nan.tif"
    Image.fromarray(values).save(path)
    code, _, err = run(["predict", model_file, path, "-o", tmp_path / "o.tsv"], capsys)
    assert code == 1
    assert_one_line_error(err, path, "NaN")


# --------------------------------------------------------------------------- #
# Output paths: missing folder, unwritable; existing output left intact
# --------------------------------------------------------------------------- #


def _bad_destination(tmp_path, kind):
    if kind == "missing folder":
        return tmp_path / "no" / "such" / "out.tsv", "does not exist"
    if kind == "parent is a file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file" / "out.tsv", "is a file, not a folder"
    if kind == "is a folder":
        (tmp_path / "folder").mkdir()
        return tmp_path / "folder", "is a folder"
    raise AssertionError(kind)


DESTINATIONS = ["missing folder", "parent is a file", "is a folder"]


@pytest.mark.parametrize("kind", DESTINATIONS)
def test_bad_output_path_predict(tmp_path, kind, model_file, detector, capsys):
    out, words = _bad_destination(tmp_path, kind)
    image = VALIDATION / "sub-DEMO0081.png"
    code, _, err = run(["predict", model_file, image, "-o", out], capsys)
    assert code == 1
    assert_one_line_error(err, out, words)
    with pytest.raises(BlurkitInputError, match=words):
        predict_files(detector, [image], out, log=None)
    with pytest.raises(BlurkitInputError, match=words):
        write_predictions(out, ["a"], [1])


@pytest.mark.parametrize("kind", DESTINATIONS)
def test_bad_output_path_train_fails_before_training(
    tmp_path, kind, detector, monkeypatch, capsys
):
    import blurkit.workflow

    def no_training(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("trained before checking the output path")

    monkeypatch.setattr(blurkit.workflow, "train_detector", no_training)
    out, words = _bad_destination(tmp_path, kind)
    code, _, err = run(["train", DEMO_DATA / "train", "-o", out, "-q"], capsys)
    assert code == 1
    assert_one_line_error(err, out, words)
    with pytest.raises(BlurkitInputError, match=words):
        save_model(detector, out)


def test_unwritable_output_is_reported_and_old_file_kept(
    tmp_path, model_file, detector, monkeypatch, capsys
):
    # As root, permission bits do not stop writes: make the rename fail.
    import os

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    out = tmp_path / "out.tsv"
    out.write_text("previous results\n")
    model_copy = tmp_path / "model.blurkit"
    model_copy.write_bytes(b"previous model")
    monkeypatch.setattr(os, "replace", refuse)
    image = VALIDATION / "sub-DEMO0081.png"
    code, _, err = run(["predict", model_file, image, "-o", out], capsys)
    assert code == 1
    assert_one_line_error(err, out, "cannot write", "Permission denied")
    assert out.read_text() == "previous results\n"
    with pytest.raises(BlurkitInputError, match="Permission denied"):
        save_model(detector, model_copy)
    assert model_copy.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.blurkit", "out.tsv"]


def test_streaming_prediction_reads_mixed_formats_like_read_image(detector, tmp_path):
    # 8-bit grey PNGs take a fast decoding path and are converted a batch at
    # a time; other formats and sizes in the same batch must not change what
    # each image reads as.
    folder = tmp_path / "mixed"
    folder.mkdir()
    validation = sorted((DEMO_DATA / "validation").glob("*.png"))
    levels = np.asarray(Image.open(validation[0]))
    Image.fromarray(levels).save(folder / "a_grey8.png")
    Image.fromarray(levels.astype(np.uint16) * 257).save(folder / "b_grey16.png")
    Image.fromarray(np.stack([levels] * 3, axis=-1)).save(folder / "c_rgb.png")
    Image.fromarray(levels).save(folder / "d_interlaced.png", interlace=1)
    Image.fromarray(levels[10:-10, 5:-5]).save(folder / "e_smaller.png")
    for path in validation[1:4]:
        (folder / f"f_{path.name}").write_bytes(path.read_bytes())
    files = sorted(folder.glob("*.png"))
    images = [read_image(path) for path in files]
    expected = np.concatenate([detector.predict_proba([image]) for image in images])[
        :, 1
    ]
    out = tmp_path / "out.tsv"
    for batch_size in (2, 256):
        predict_files(
            detector, [folder], out, probability=True, batch_size=batch_size, log=None
        )
        rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
        assert [row[0] for row in rows] == [path.stem for path in files]
        # Written with six decimals.
        probabilities = [float(row[2]) for row in rows]
        np.testing.assert_allclose(probabilities, expected, rtol=0, atol=6e-7)

"""Tests of blurkit.io: image decoding, TSV validation, listing, atomic writes."""

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from blurkit.exceptions import BlurkitInputError
from blurkit.io import (
    IMAGE_SUFFIXES,
    Dataset,
    atomic_path,
    check_writable,
    list_images,
    load_dataset,
    read_image,
    read_subjects_tsv,
    subject_id,
    write_image,
    write_predictions,
)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _grey8(shape=(9, 11), seed=0):
    return _rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _write_tsv(path, text):
    path.write_bytes(text.encode("utf-8"))
    return path


def _png_chunk_types(data):
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8].decode("ascii"))
        pos += 12 + length
    return types


def _assert_one_line_naming(exc_info, *parts):
    message = str(exc_info.value)
    assert "\n" not in message
    for part in parts:
        assert str(part) in message


# --------------------------------------------------------------------------- #
# write_image / read_image
# --------------------------------------------------------------------------- #


def test_write_image_read_image_round_trip(tmp_path):
    image = _rng().random((13, 17))
    path = tmp_path / "x.png"
    write_image(path, image)
    back = read_image(path)
    assert back.dtype == np.float32
    assert back.shape == (13, 17)
    expected = (np.rint(image * 255) / 255).astype(np.float32)
    np.testing.assert_array_equal(back, expected)
    # A second round trip is lossless: the values are already 8-bit levels.
    write_image(tmp_path / "y.png", back)
    np.testing.assert_array_equal(read_image(tmp_path / "y.png"), back)


def test_write_image_is_deterministic_and_metadata_free(tmp_path):
    image = _rng(1).random((20, 20)).astype(np.float32)
    write_image(tmp_path / "a.png", image)
    write_image(tmp_path / "b.png", image)
    data = (tmp_path / "a.png").read_bytes()
    assert data == (tmp_path / "b.png").read_bytes()
    assert _png_chunk_types(data) == ["IHDR", "IDAT", "IEND"]
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == "L"


@pytest.mark.parametrize(
    "image, match",
    [
        (np.full((4, 4), 1.5), r"expected values in \[0, 1\]"),
        (np.full((4, 4), -0.1), r"expected values in \[0, 1\]"),
        (np.array([[0.5, np.nan]]), "NaN"),
        (np.zeros((2, 3, 3)), "2-D"),
    ],
)
def test_write_image_rejects_bad_arrays(tmp_path, image, match):
    with pytest.raises(ValueError, match=match):
        write_image(tmp_path / "x.png", image)
    assert list(tmp_path.iterdir()) == []


def test_write_image_requires_png_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        write_image(tmp_path / "x.jpg", np.zeros((3, 3)))


def test_read_8bit_grey(tmp_path):
    pixels = _grey8()
    Image.fromarray(pixels).save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, pixels.astype(np.float32) / np.float32(255))
    assert image.min() >= 0 and image.max() <= 1


def test_read_every_8bit_level_as_the_nearest_float32(tmp_path):
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(levels).save(tmp_path / "levels.png")
    image = read_image(tmp_path / "levels.png")
    # What float64 division then rounding to float32 gives, bit for bit.
    expected = (levels.astype(np.float64) / 255).astype(np.float32)
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_read_16bit_grey(tmp_path, suffix):
    pixels = _rng().integers(0, 65536, size=(8, 10), dtype=np.uint16)
    pixels[0, 0], pixels[0, 1] = 0, 65535
    path = tmp_path / f"g16{suffix}"
    Image.fromarray(pixels).save(path)
    image = read_image(path)
    np.testing.assert_allclose(image, pixels / 65535, rtol=0, atol=1e-7)
    assert image[0, 0] == 0 and image[0, 1] == 1


def test_read_32bit_integer_tiff(tmp_path):
    pixels = np.array([[0, 1000], [40000, 65535]], dtype=np.int32)
    Image.fromarray(pixels).save(tmp_path / "i.tif")
    np.testing.assert_allclose(read_image(tmp_path / "i.tif"), pixels / 65535)
    Image.fromarray(pixels * 2).save(tmp_path / "big.tif")
    with pytest.raises(BlurkitInputError, match="0..65535") as exc_info:
        read_image(tmp_path / "big.tif")
    _assert_one_line_naming(exc_info, tmp_path / "big.tif")


def test_read_rgb_grey_equals_grey(tmp_path):
    pixels = _grey8()
    Image.fromarray(pixels).save(tmp_path / "l.png")
    Image.fromarray(np.dstack([pixels] * 3)).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(
        read_image(tmp_path / "rgb.png"), read_image(tmp_path / "l.png")
    )


def test_read_rgb_uses_luminance_and_ignores_alpha(tmp_path):
    rgb = _rng(2).integers(0, 256, size=(6, 7, 3), dtype=np.uint8)
    alpha = _rng(3).integers(0, 256, size=(6, 7, 1), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.concatenate([rgb, alpha], axis=2)).save(tmp_path / "rgba.png")
    expected = (rgb @ np.array([0.299, 0.587, 0.114])) / 255
    image = read_image(tmp_path / "rgb.png")
    np.testing.assert_allclose(image, expected, atol=1e-6)
    # Float luminance, not Pillow's 8-bit-rounded convert("L").
    assert not np.array_equal(image * 255, np.round(image * 255))
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), image)


def test_read_la_keeps_grey_band(tmp_path):
    grey = _grey8(seed=4)
    alpha = _grey8(seed=5)
    Image.fromarray(np.dstack([grey, alpha])).save(tmp_path / "la.png")
    np.testing.assert_array_equal(
        read_image(tmp_path / "la.png"), grey.astype(np.float32) / np.float32(255)
    )


def test_read_palette(tmp_path):
    rgb = _rng(6).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    palette_image = Image.fromarray(rgb).quantize(colors=16)
    palette_image.save(tmp_path / "p.png")
    expected = np.asarray(palette_image.convert("RGB"), float) @ [0.299, 0.587, 0.114]
    np.testing.assert_allclose(
        read_image(tmp_path / "p.png"), expected / 255, atol=1e-6
    )
    # Palette with a transparent entry: alpha ignored, no warning.
    palette_image.save(tmp_path / "pt.png", transparency=0)
    np.testing.assert_allclose(
        read_image(tmp_path / "pt.png"), expected / 255, atol=1e-6
    )


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_read_jpeg(tmp_path, mode):
    # A smooth image survives JPEG compression closely.
    ramp = np.add.outer(np.arange(32), np.arange(32)).astype(np.uint8) * 4
    pixels = ramp if mode == "L" else np.dstack([ramp] * 3)
    Image.fromarray(pixels).save(tmp_path / "x.jpeg", quality=95)
    image = read_image(tmp_path / "x.jpeg")
    assert image.shape == (32, 32) and image.dtype == np.float32
    np.testing.assert_allclose(image, ramp / 255, atol=0.03)


def test_read_float_tiff_in_unit_range_kept(tmp_path):
    values = _rng(7).random((5, 6)).astype(np.float32)
    Image.fromarray(values).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif"), values)


def test_read_float_tiff_out_of_range_is_rescaled(tmp_path):
    values = np.array([[-2.0, 0.0], [3.0, 8.0]], dtype=np.float32)
    Image.fromarray(values).save(tmp_path / "f.tif")
    np.testing.assert_allclose(read_image(tmp_path / "f.tif"), [[0, 0.2], [0.5, 1]])


def test_read_float_tiff_non_finite(tmp_path):
    values = np.array([[0.5, np.nan]], dtype=np.float32)
    Image.fromarray(values).save(tmp_path / "nan.tif")
    with pytest.raises(BlurkitInputError, match="NaN") as exc_info:
        read_image(tmp_path / "nan.tif")
    _assert_one_line_naming(exc_info, tmp_path / "nan.tif")


def _good_png_bytes(tmp_path):
    Image.fromarray(_grey8((64, 64))).save(tmp_path / "good.png")
    return (tmp_path / "good.png").read_bytes()


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "corrupt", "missing"])
def test_read_image_bad_files_name_the_file(tmp_path, kind):
    good = _good_png_bytes(tmp_path)
    path = tmp_path / f"bad_{kind}.png"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("Subject\tLabel\nsub-01\t1\n")
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "corrupt":
        data = bytearray(good)
        idat = data.index(b"IDAT")
        data[idat + 20 : idat + 80] = bytes(60)
        path.write_bytes(bytes(data))
    with pytest.raises(BlurkitInputError) as exc_info:
        read_image(path)
    _assert_one_line_naming(exc_info, path)
    assert isinstance(exc_info.value, ValueError)


def test_read_image_detects_missing_end(tmp_path):
    good = _good_png_bytes(tmp_path)
    (tmp_path / "t.png").write_bytes(good[:-40])
    with pytest.raises(BlurkitInputError, match="t.png"):
        read_image(tmp_path / "t.png")


# --------------------------------------------------------------------------- #
# subjects.tsv
# --------------------------------------------------------------------------- #


def test_read_subjects_tsv(tmp_path):
    path = _write_tsv(tmp_path / "s.tsv", "Subject\tLabel\nsub-b\t1\nsub-a\t0\n")
    table = read_subjects_tsv(path)
    assert list(table.columns) == ["Subject", "Label"]
    assert table["Subject"].tolist() == ["sub-b", "sub-a"]
    assert table["Label"].dtype == np.int64
    assert table["Label"].tolist() == [1, 0]
    assert pd.api.types.is_string_dtype(table["Subject"])


def test_read_subjects_tsv_tolerates_crlf_and_missing_final_newline(tmp_path):
    crlf = _write_tsv(tmp_path / "a.tsv", "Subject\tLabel\r\ns1\t1\r\ns2\t0\r\n")
    bare = _write_tsv(tmp_path / "b.tsv", "Subject\tLabel\ns1\t1\ns2\t0")
    pd.testing.assert_frame_equal(read_subjects_tsv(crlf), read_subjects_tsv(bare))


@pytest.mark.parametrize(
    "text, line, match",
    [
        ("Subject,Label\ns1,1\n", 1, "header"),
        ("subject\tlabel\ns1\t1\n", 1, "header"),
        ("Subject\tLabel\tExtra\ns1\t1\t2\n", 1, "header"),
        ("Subject\tLabel\ns1\t1\ns2\n", 3, "2 tab-separated"),
        ("Subject\tLabel\ns1\t1\ns2\t0\t5\n", 3, "2 tab-separated"),
        ("Subject\tLabel\ns1\t1\n\ns2\t0\n", 3, "2 tab-separated"),
        ("Subject\tLabel\ns1\t1\ns2\t0\ns1\t0\n", 4, "duplicate Subject 's1'"),
        ("Subject\tLabel\ns1\t1\ns2\t2\n", 3, "0 .blurred. or 1"),
        ("Subject\tLabel\ns1\tyes\n", 2, "0 .blurred. or 1"),
        ("Subject\tLabel\ns1\t1.0\n", 2, "0 .blurred. or 1"),
        ("Subject\tLabel\n\t1\n", 2, "empty"),
        ("Subject\tLabel\n../s1\t1\n", 2, "path"),
    ],
)
def test_read_subjects_tsv_errors_name_the_line(tmp_path, text, line, match):
    path = _write_tsv(tmp_path / "subjects.tsv", text)
    with pytest.raises(BlurkitInputError, match=match) as exc_info:
        read_subjects_tsv(path)
    _assert_one_line_naming(exc_info, f"{path}:{line}:")


def test_read_subjects_tsv_duplicate_mentions_first_line(tmp_path):
    path = _write_tsv(tmp_path / "s.tsv", "Subject\tLabel\ns1\t1\ns2\t0\ns1\t0\n")
    with pytest.raises(BlurkitInputError, match="first listed on line 2"):
        read_subjects_tsv(path)


@pytest.mark.parametrize(
    "content, match",
    [(b"", "empty file"), (b"Subject\tLabel\n", "no subjects"), (b"\xff\xfe", "UTF-8")],
)
def test_read_subjects_tsv_file_level_errors(tmp_path, content, match):
    path = tmp_path / "s.tsv"
    path.write_bytes(content)
    with pytest.raises(BlurkitInputError, match=match) as exc_info:
        read_subjects_tsv(path)
    _assert_one_line_naming(exc_info, path)


def test_read_subjects_tsv_missing_file(tmp_path):
    with pytest.raises(BlurkitInputError, match="no such file"):
        read_subjects_tsv(tmp_path / "nope.tsv")


# --------------------------------------------------------------------------- #
# write_predictions
# --------------------------------------------------------------------------- #


def test_write_predictions_exact_bytes(tmp_path):
    path = tmp_path / "output.tsv"
    write_predictions(path, ["sub-b", "sub-a", "sub-c"], np.array([1, 0, 1]))
    assert path.read_bytes() == b"Subject\tLabel\nsub-b\t1\nsub-a\t0\nsub-c\t1\n"


def test_write_predictions_extra_columns_format(tmp_path):
    path = tmp_path / "output.tsv"
    write_predictions(
        path,
        ["s1", "s2"],
        [True, False],
        extra_columns={
            "Probability": np.array([0.123456789, 3.7936e-11]),
            "Sigma_px": [3.0, np.nan],
            "Count": np.array([3, 12], dtype=np.int32),
            "Note": ["ok", "low contrast"],
        },
    )
    assert path.read_bytes() == (
        b"Subject\tLabel\tProbability\tSigma_px\tCount\tNote\n"
        b"s1\t1\t0.123457\t3.000000\t3\tok\n"
        b"s2\t0\t0.000000\tnan\t12\tlow contrast\n"
    )


def test_write_predictions_round_trip(tmp_path):
    subjects = [f"sub-{i:03d}" for i in range(50)]
    labels = _rng().integers(0, 2, size=50)
    write_predictions(tmp_path / "subjects.tsv", subjects, labels)
    table = read_subjects_tsv(tmp_path / "subjects.tsv")
    assert table["Subject"].tolist() == subjects
    np.testing.assert_array_equal(table["Label"].to_numpy(), labels)


@pytest.mark.parametrize(
    "subjects, labels, extra, match",
    [
        (["a", "b"], [1], None, "shape"),
        (["a", "b"], [1, 2], None, "0 or 1"),
        (["a", "b"], [1, 0.5], None, "0 or 1"),
        (["a", "a"], [1, 0], None, "duplicate"),
        (["a\tb", "c"], [1, 0], None, "tab"),
        (["", "c"], [1, 0], None, "empty"),
        ("ab", [1, 0], None, "one string"),
        (["a", "b"], [1, 0], {"Label": [1, 2]}, "clashes"),
        (["a", "b"], [1, 0], {"P": [0.5]}, "expected 2 values"),
        (["a", "b"], [1, 0], {"P\tQ": [0.5, 0.1]}, "tab"),
    ],
)
def test_write_predictions_rejects_bad_arguments(
    tmp_path, subjects, labels, extra, match
):
    with pytest.raises(ValueError, match=match):
        write_predictions(tmp_path / "o.tsv", subjects, labels, extra_columns=extra)
    assert list(tmp_path.iterdir()) == []


def test_write_predictions_float_labels_written_as_ints(tmp_path):
    write_predictions(tmp_path / "o.tsv", ["a", "b"], np.array([1.0, 0.0]))
    assert (tmp_path / "o.tsv").read_text() == "Subject\tLabel\na\t1\nb\t0\n"


# --------------------------------------------------------------------------- #
# Atomic writes
# --------------------------------------------------------------------------- #

OLD = b"Subject\tLabel\nold\t1\n"


def test_failed_write_keeps_existing_file(tmp_path):
    path = tmp_path / "output.tsv"
    path.write_bytes(OLD)
    with pytest.raises(ValueError, match="expected 2 values"):
        write_predictions(path, ["a", "b"], [1, 0], extra_columns={"P": [0.1, 0.2, 3]})
    assert path.read_bytes() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["output.tsv"]


def test_failure_during_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "output.tsv"
    path.write_bytes(OLD)
    written = []

    def failing_write_bytes(self, data):
        # Write part of the data, then fail like a full disk would.
        with open(self, "wb") as f:
            f.write(data[:5])
        written.append(self)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", failing_write_bytes)
    with pytest.raises(BlurkitInputError, match="No space left") as exc_info:
        write_predictions(path, ["a", "b"], [1, 0])
    monkeypatch.undo()
    _assert_one_line_naming(exc_info, path)
    assert written and written[0].parent == tmp_path and written[0] != path
    assert path.read_bytes() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["output.tsv"]


def test_atomic_path_cleans_up_on_any_exception(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyError), atomic_path(path) as tmp:
        tmp.write_bytes(b"new, half")
        raise KeyError("boom")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_write_replaces_existing_file(tmp_path):
    path = tmp_path / "output.tsv"
    path.write_bytes(OLD)
    write_predictions(path, ["new"], [0])
    assert path.read_bytes() == b"Subject\tLabel\nnew\t0\n"
    assert [p.name for p in tmp_path.iterdir()] == ["output.tsv"]


def test_written_file_gets_normal_permissions(tmp_path):
    old_umask = os.umask(0o022)
    try:
        write_predictions(tmp_path / "o.tsv", ["a"], [1])
        write_image(tmp_path / "o.png", np.zeros((2, 2)))
    finally:
        os.umask(old_umask)
    assert (tmp_path / "o.tsv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "o.png").stat().st_mode & 0o777 == 0o644


def test_missing_parent_folder_is_not_created(tmp_path):
    path = tmp_path / "missing" / "output.tsv"
    with pytest.raises(BlurkitInputError, match="does not exist") as exc_info:
        write_predictions(path, ["a"], [1])
    _assert_one_line_naming(exc_info, path)
    assert not path.parent.exists()
    with pytest.raises(BlurkitInputError, match="does not exist"):
        write_image(path.with_suffix(".png"), np.zeros((2, 2)))


def test_destination_is_a_folder(tmp_path):
    with pytest.raises(BlurkitInputError, match="is a folder"):
        write_predictions(tmp_path, ["a"], [1])


def test_permission_error_is_reported(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(BlurkitInputError, match="cannot write.*Permission denied"):
        write_predictions(tmp_path / "o.tsv", ["a"], [1])
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="needs a non-root POSIX user for file permissions to apply",
)
def test_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(BlurkitInputError, match="cannot write") as exc_info:
            write_predictions(folder / "o.tsv", ["a"], [1])
    finally:
        folder.chmod(0o700)
    _assert_one_line_naming(exc_info, folder / "o.tsv")


# --------------------------------------------------------------------------- #
# load_dataset
# --------------------------------------------------------------------------- #


def _make_folder(folder, subjects, labels, shapes=None, suffixes=None):
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for i, subject in enumerate(subjects):
        shape = shapes[i] if shapes else (7, 9)
        suffix = suffixes[i] if suffixes else ".png"
        pixels = _grey8(shape, seed=i)
        Image.fromarray(pixels).save(folder / f"{subject}{suffix}")
        images[subject] = pixels.astype(np.float32) / np.float32(255)
    write_predictions(folder / "subjects.tsv", subjects, labels)
    return images


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_load_dataset_order_and_shapes(tmp_path, n_jobs):
    subjects = ["sub-c", "sub-a", "sub-b", "sub-d"]
    images = _make_folder(tmp_path, subjects, [1, 0, 0, 1])
    data = load_dataset(tmp_path, n_jobs=n_jobs)
    assert isinstance(data, Dataset)
    assert data.subjects == subjects
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.labels, [1, 0, 0, 1])
    assert isinstance(data.images, np.ndarray)
    assert data.images.shape == (4, 7, 9) and data.images.dtype == np.float32
    for i, subject in enumerate(subjects):
        np.testing.assert_array_equal(data.images[i], images[subject])


def test_load_dataset_mixed_shapes_gives_list(tmp_path):
    _make_folder(tmp_path, ["a", "b"], [1, 0], shapes=[(5, 5), (6, 4)])
    images, labels, subjects = load_dataset(tmp_path)
    assert isinstance(images, list)
    assert [im.shape for im in images] == [(5, 5), (6, 4)]
    assert subjects == ["a", "b"]


def test_load_dataset_accepts_other_suffixes(tmp_path):
    _make_folder(
        tmp_path, ["a", "b", "c"], [1, 0, 1], suffixes=[".png", ".TIF", ".jpg"]
    )
    data = load_dataset(tmp_path)
    assert data.images.shape == (3, 7, 9)


def test_load_dataset_prefers_png(tmp_path):
    _make_folder(tmp_path, ["a"], [1])
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "a.tif")
    assert load_dataset(tmp_path).images.shape == (1, 7, 9)


def test_load_dataset_missing_image_names_tsv_line(tmp_path):
    _make_folder(tmp_path, ["a", "b", "c"], [1, 0, 1])
    (tmp_path / "b.png").unlink()
    with pytest.raises(BlurkitInputError, match="'b'") as exc_info:
        load_dataset(tmp_path)
    _assert_one_line_naming(exc_info, f"{tmp_path / 'subjects.tsv'}:3:", "b.png")


def test_load_dataset_missing_folder_or_tsv(tmp_path):
    with pytest.raises(BlurkitInputError, match="no such folder"):
        load_dataset(tmp_path / "nope")
    Image.fromarray(_grey8()).save(tmp_path / "a.png")
    with pytest.raises(BlurkitInputError, match="no subjects.tsv") as exc_info:
        load_dataset(tmp_path)
    _assert_one_line_naming(exc_info, tmp_path)


def test_load_dataset_bad_image_names_image(tmp_path):
    _make_folder(tmp_path, ["a", "b"], [1, 0])
    (tmp_path / "b.png").write_bytes(b"")
    with pytest.raises(BlurkitInputError, match="empty") as exc_info:
        load_dataset(tmp_path, n_jobs=2)
    _assert_one_line_naming(exc_info, tmp_path / "b.png")


# --------------------------------------------------------------------------- #
# list_images
# --------------------------------------------------------------------------- #


def _touch_images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"not decoded by list_images")


def test_list_images_folder_sorted_by_name(tmp_path):
    _touch_images(tmp_path, ["b.png", "a.PNG", "c.tiff", "d.jpg", "e.JPEG", "f.tif"])
    _touch_images(tmp_path, ["notes.txt", ".hidden.png", "g.nii.gz"])
    (tmp_path / "sub.png").mkdir()
    pairs = list_images([tmp_path])
    # NIfTI volumes are images too (one slice each, see blurkit.io._nifti).
    assert [s for s, _ in pairs] == ["a", "b", "c", "d", "e", "f", "g"]
    assert pairs[0][1] == tmp_path / "a.PNG"
    assert all(isinstance(p, Path) for _, p in pairs)


def test_list_images_folder_with_tsv_uses_its_order(tmp_path):
    _touch_images(tmp_path, ["a.png", "b.png", "c.jpg", "extra.png"])
    write_predictions(tmp_path / "subjects.tsv", ["c", "a", "b"], [0, 1, 1])
    pairs = list_images(tmp_path)
    assert pairs == [("c", tmp_path / "c.jpg"), ("a", tmp_path / "a.png"),
                     ("b", tmp_path / "b.png")]  # fmt: skip


def test_list_images_tsv_without_labels(tmp_path):
    _touch_images(tmp_path, ["a.png", "b.png"])
    _write_tsv(tmp_path / "subjects.tsv", "Subject\nb\na\n")
    assert [s for s, _ in list_images([tmp_path])] == ["b", "a"]


def test_list_images_tsv_errors(tmp_path):
    _touch_images(tmp_path, ["a.png"])
    _write_tsv(tmp_path / "subjects.tsv", "Subject\tLabel\na\t1\nb\t0\n")
    with pytest.raises(BlurkitInputError) as exc_info:
        list_images([tmp_path])
    _assert_one_line_naming(exc_info, f"{tmp_path / 'subjects.tsv'}:3:")
    _write_tsv(tmp_path / "subjects.tsv", "Subject\tLabel\na\t7\n")
    with pytest.raises(BlurkitInputError, match=":2:"):
        list_images([tmp_path])


def test_list_images_mixed_inputs_keep_order(tmp_path):
    _touch_images(tmp_path / "dir", ["y.png", "x.png"])
    _touch_images(tmp_path, ["single.tif"])
    pairs = list_images([tmp_path / "single.tif", str(tmp_path / "dir")])
    assert [s for s, _ in pairs] == ["single", "x", "y"]


def test_list_images_duplicate_subjects(tmp_path):
    _touch_images(tmp_path / "one", ["s1.png"])
    _touch_images(tmp_path / "two", ["s1.jpg"])
    with pytest.raises(BlurkitInputError, match="'s1'") as exc_info:
        list_images([tmp_path / "one", tmp_path / "two"])
    _assert_one_line_naming(exc_info, tmp_path / "one" / "s1.png")


@pytest.mark.parametrize("case", ["missing", "empty_folder", "not_image"])
def test_list_images_errors(tmp_path, case):
    if case == "missing":
        target = tmp_path / "nope"
    elif case == "empty_folder":
        target = tmp_path / "empty"
        _touch_images(target, ["readme.txt"])
    else:
        target = tmp_path / "x.txt"
        target.write_text("hi")
    with pytest.raises(BlurkitInputError) as exc_info:
        list_images([target])
    _assert_one_line_naming(exc_info, target)


def test_subject_id_strips_one_extension():
    assert subject_id(Path("a/sub-01.png")) == "sub-01"
    assert subject_id(Path("sub-01.nii.gz")) == "sub-01"
    assert subject_id(Path("sub-01.NII.GZ")) == "sub-01"
    assert subject_id(Path("sub.01.tif")) == "sub.01"
    assert IMAGE_SUFFIXES == (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def test_png_helper_sanity():
    # _png_chunk_types is used above to check for metadata: make sure it parses.
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    assert _png_chunk_types(b"\x89PNG\r\n\x1a\n" + chunk) == ["IHDR"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_pipe_or_device_destination_is_written_in_place(tmp_path):
    import stat
    import threading

    # Renaming a temporary file onto a FIFO, or onto /dev/null, would replace
    # it with a plain file: such destinations are written directly.
    fifo = tmp_path / "out.tsv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    check_writable(fifo)
    write_predictions(fifo, ["sub-01"], [1])
    reader.join(timeout=10)
    assert received == [b"Subject\tLabel\nsub-01\t1\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


needs_links = pytest.mark.skipif(
    not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks"
)
NEW = b"Subject\tLabel\nnew\t0\n"


def _visible(folder):
    """Names in ``folder``, temporary files included, sorted."""
    return sorted(p.name for p in folder.iterdir())


@needs_links
@pytest.mark.parametrize("chain", [1, 2], ids=["link", "link-to-link"])
def test_writing_through_a_link_replaces_its_target_and_keeps_the_link(
    tmp_path, chain, monkeypatch
):
    # The target lives in another folder: the temporary file must be made
    # beside the target (a rename cannot cross file systems), not the link.
    data, links = tmp_path / "data", tmp_path / "links"
    data.mkdir()
    links.mkdir()
    target = data / "real.tsv"
    target.write_bytes(OLD)
    link = links / "out.tsv"
    if chain == 2:
        (links / "middle.tsv").symlink_to("../data/real.tsv")  # relative
        link.symlink_to(links / "middle.tsv")
    else:
        link.symlink_to(target)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(
        os, "replace", lambda a, b: (replaced.append((a, b)), real_replace(a, b))
    )
    check_writable(link)
    write_predictions(link, ["new"], [0])
    monkeypatch.undo()
    assert link.is_symlink() and target.read_bytes() == NEW
    assert [(Path(a).parent, Path(b)) for a, b in replaced] == [(data, target)]
    assert _visible(data) == ["real.tsv"]
    assert _visible(links) == sorted(["out.tsv", "middle.tsv"][:chain])


@needs_links
def test_failed_write_through_a_link_keeps_target_and_link(tmp_path):
    target = tmp_path / "real.tsv"
    target.write_bytes(OLD)
    link = tmp_path / "out.tsv"
    link.symlink_to(target.name)
    with pytest.raises(KeyError), atomic_path(link) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".real.tsv.")
        tmp.write_bytes(b"half")
        raise KeyError("boom")
    assert link.is_symlink() and target.read_bytes() == OLD
    assert _visible(tmp_path) == ["out.tsv", "real.tsv"]


@needs_links
def test_a_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "out.tsv"
    link.symlink_to("made.tsv")
    check_writable(link)
    write_predictions(link, ["new"], [0])
    assert link.is_symlink() and (tmp_path / "made.tsv").read_bytes() == NEW
    # ... but not the target's folder: the error names the link and the folder.
    lost = tmp_path / "lost.tsv"
    lost.symlink_to(tmp_path / "gone" / "x.tsv")
    for write in (check_writable, lambda p: write_predictions(p, ["a"], [1])):
        with pytest.raises(BlurkitInputError, match="does not exist") as exc_info:
            write(lost)
        _assert_one_line_naming(exc_info, lost, tmp_path / "gone")
    assert lost.is_symlink() and not (tmp_path / "gone").exists()


@needs_links
def test_a_loop_of_links_is_one_error_line(tmp_path):
    (tmp_path / "a.tsv").symlink_to("b.tsv")
    (tmp_path / "b.tsv").symlink_to("a.tsv")
    with pytest.raises(BlurkitInputError, match="symbolic links") as exc_info:
        write_predictions(tmp_path / "a.tsv", ["a"], [1])
    _assert_one_line_naming(exc_info, tmp_path / "a.tsv")
    assert (tmp_path / "a.tsv").is_symlink() and (tmp_path / "b.tsv").is_symlink()


@needs_links
def test_a_link_to_a_folder_is_refused(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "out.tsv").symlink_to("folder")
    with pytest.raises(BlurkitInputError, match="is a folder"):
        write_predictions(tmp_path / "out.tsv", ["a"], [1])
    assert (tmp_path / "out.tsv").is_symlink()


@needs_links
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_pipe_reached_through_links_is_written_in_place(tmp_path):
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "middle").symlink_to("pipe")
    link = tmp_path / "out.tsv"
    link.symlink_to(tmp_path / "middle")
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    check_writable(link)
    write_predictions(link, ["sub-01"], [1])
    reader.join(timeout=10)
    assert received == [b"Subject\tLabel\nsub-01\t1\n"]
    assert stat.S_ISFIFO(os.stat(fifo, follow_symlinks=False).st_mode)
    assert link.is_symlink() and (tmp_path / "middle").is_symlink()
    assert _visible(tmp_path) == ["middle", "out.tsv", "pipe"]


@pytest.mark.skipif(
    not os.path.isdir(f"/proc/{os.getpid()}/fd"), reason="needs Linux's /proc"
)
def test_a_descriptor_name_is_written_in_place(tmp_path):
    # /dev/stdout is /proc/self/fd/1: a name for an open descriptor, whatever
    # it is open on. A private descriptor on a private file stands in for it
    # (a test must never write to the real /dev/stdout).
    path = tmp_path / "shell-redirect.txt"
    path.write_bytes(OLD)
    inode = path.stat().st_ino
    with open(path, "r+b") as held:
        name = f"/proc/{os.getpid()}/fd/{held.fileno()}"
        link = tmp_path / "stdout"
        link.symlink_to(name)  # like /dev/stdout -> /proc/self/fd/1
        for destination in (name, link):
            check_writable(destination)
            write_predictions(destination, ["new"], [0])
            # The same file, rewritten in place: not replaced by a new one.
            assert path.stat().st_ino == inode and path.read_bytes() == NEW
            path.write_bytes(OLD)
    assert link.is_symlink()
    assert _visible(tmp_path) == ["shell-redirect.txt", "stdout"]


def test_read_pixels_turns_any_os_error_into_an_input_error(tmp_path, monkeypatch):
    # A folder that cannot be searched (root ignores permission bits, so the
    # error is simulated): one line naming the file, which --on-error skip
    # can skip.
    import errno

    from blurkit.io import read_pixels

    path = tmp_path / "a.png"
    real_stat = os.stat

    def denied(target, *args, **kwargs):
        if str(target) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", denied)
    with pytest.raises(BlurkitInputError, match=r"a\.png: cannot read .*Permission"):
        read_pixels(path)

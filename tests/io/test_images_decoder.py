"""PNG decoding: damaged files fail with an error naming them, never half-read."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from blurkit import BlurkitInputError
from blurkit.io import _images, read_image, read_pixels

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, payload: bytes, *, crc_delta: int = 0) -> bytes:
    crc = (zlib.crc32(kind + payload) ^ crc_delta) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _grey8(shape=(40, 50), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _png(levels: np.ndarray, *, rows=None, idat=None, ihdr_crc_delta=0) -> bytes:
    """An 8-bit grey PNG; ``rows`` keeps only the first rows of image data."""
    height, width = levels.shape
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    kept = levels if rows is None else levels[:rows]
    raw = b"".join(b"\x00" + row.tobytes() for row in kept)
    data = zlib.compress(raw) if idat is None else idat(raw)
    return (
        SIGNATURE
        + _chunk(b"IHDR", ihdr, crc_delta=ihdr_crc_delta)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_fails_naming(path, *words):
    with pytest.raises(BlurkitInputError) as exc_info:
        read_pixels(path)
    message = str(exc_info.value)
    assert str(path) in message
    assert "\n" not in message
    for word in words:
        assert word in message


def test_intact_grey8_png_reads_its_levels(tmp_path):
    levels = _grey8()
    path = _write(tmp_path, "ok.png", _png(levels))
    pixels = read_pixels(path)
    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels, levels)
    np.testing.assert_array_equal(read_image(path), levels.astype(np.float32) / 255)


def test_image_data_that_stops_early_is_an_error(tmp_path):
    # A complete zlib stream holding 10 rows of 40: the former chunk walker
    # read such a file without complaint, with the missing rows lost.
    path = _write(tmp_path, "short.png", _png(_grey8(), rows=10))
    _assert_fails_naming(path, "cannot decode")


def test_unterminated_image_data_is_an_error(tmp_path):
    def unterminated(raw):
        stream = zlib.compressobj()
        return stream.compress(raw) + stream.flush(zlib.Z_SYNC_FLUSH)

    path = _write(tmp_path, "open.png", _png(_grey8(), rows=20, idat=unterminated))
    _assert_fails_naming(path, "cannot decode")


@pytest.mark.parametrize("cut", [14, 20, 100])
def test_truncated_file_is_an_error(tmp_path, cut):
    data = _png(_grey8())
    path = _write(tmp_path, "cut.png", data[:-cut])
    _assert_fails_naming(path, "cannot decode")


def test_bad_chunk_crc_is_an_error(tmp_path):
    path = _write(tmp_path, "crc.png", _png(_grey8(), ihdr_crc_delta=1))
    _assert_fails_naming(path, "cannot decode", "CRC")


def test_flipped_pixel_data_is_an_error(tmp_path):
    # A flipped byte of compressed data, under a recomputed chunk CRC: the
    # zlib stream's own checksum (adler32) still catches it.
    def flipped(raw):
        data = bytearray(zlib.compress(raw))
        data[len(data) // 2] ^= 0xFF
        return bytes(data)

    path = _write(tmp_path, "flip.png", _png(_grey8(), idat=flipped))
    _assert_fails_naming(path, "cannot decode")


def test_bad_adler32_is_an_error(tmp_path):
    def bad_checksum(raw):
        data = bytearray(zlib.compress(raw))
        data[-1] ^= 0x01
        return bytes(data)

    path = _write(tmp_path, "adler.png", _png(_grey8(), idat=bad_checksum))
    _assert_fails_naming(path, "cannot decode")


def test_too_many_pixels_is_refused_before_decoding(tmp_path, monkeypatch):
    path = _write(tmp_path, "big.png", _png(_grey8((40, 50))))

    def must_not_decode(data):
        raise AssertionError("decoded an image above the pixel limit")

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1999)
    monkeypatch.setattr(_images, "png_decode", must_not_decode)
    _assert_fails_naming(path, "40", "50", "1999")


def test_damaged_colour_png_is_an_error_too(tmp_path):
    # Other kinds of PNG are converted by Pillow, but checked by the same
    # decoder first: Pillow alone reads some damaged files without error.
    rgb = np.random.default_rng(1).integers(0, 256, (30, 30, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    path = _write(tmp_path, "rgb.png", buffer.getvalue()[:-30])
    _assert_fails_naming(path, "cannot decode")


@pytest.mark.parametrize("mode", ["I;16", "RGB", "RGBA", "LA", "P", "1"])
def test_other_png_kinds_read_as_pillow_converts_them(tmp_path, mode):
    rng = np.random.default_rng(2)
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65536, (20, 30), dtype=np.uint16))
    elif mode == "1":
        im = Image.fromarray(rng.random((20, 30)) > 0.5)
    else:
        rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
        im = Image.fromarray(rgba, "RGBA").convert(mode)
    path = tmp_path / "x.png"
    im.save(path)
    with Image.open(path) as reference:
        reference.load()
        expected = _images._to_grey_float(reference, path)
    image = read_image(path)
    assert image.dtype == np.float32 and image.shape == (20, 30)
    np.testing.assert_array_equal(image, expected)

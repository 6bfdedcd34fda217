"""Image files: decoding to grey floats in [0, 1], and writing 8-bit PNGs.

Everything read comes back in the package conventions: an image is a 2-D
``float32`` array with values in [0, 1]. Every problem with a file raises
:class:`~blurkit.BlurkitInputError`, whose one-line message names the file
and what was expected.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
from pathlib import Path

import numpy as np
from imagecodecs import PngError, png_decode
from PIL import Image, UnidentifiedImageError

from .._validation import from_uint8, to_uint8
from ..exceptions import BlurkitInputError, one_line
from ._atomic import atomic_path
from ._nifti import is_nifti_name, read_nifti_slice

__all__ = ["IMAGE_SUFFIXES", "read_image", "read_pixels", "write_image"]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
"""File name suffixes recognised as images (compared case-insensitively)."""

# ITU-R 601-2 luma weights, the ones Pillow's ``convert("L")`` uses, kept as
# integers so that a grey image stored as RGB reads exactly like its "L" twin.
_LUMA_WEIGHTS = np.array([299, 587, 114], dtype=np.float64)

# errno values for which pathlib's Path.exists() says the file is not there.
_MISSING_FILE_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a 2-D ``float32`` array in [0, 1].

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG or TIFF file (any format Pillow decodes is accepted), or a
        NIfTI volume (``.nii``, ``.nii.gz``), read as its challenge coronal
        slice with intensities scaled to [0, 1] by the volume's 99.5th
        percentile (see :func:`blurkit.io.read_nifti_slices`).

    Returns
    -------
    image : ndarray of shape (height, width), dtype float32
        Values in [0, 1]:

        - 8-bit grey (and 1-bit) images are divided by 255 (by 1);
        - 16-bit grey images (Pillow modes ``I;16*`` and ``I`` holding values in
          0..65535) are divided by 65535;
        - colour images (RGB, RGBA, palette, CMYK, ...) are converted to grey
          luminance ``(299 R + 587 G + 114 B) / 1000`` computed in floating
          point, so no precision is lost to an 8-bit round trip; alpha is
          ignored; ``LA`` keeps its ``L`` band;
        - floating-point images (mode ``F``, e.g. float TIFF) are kept as they
          are when all values lie in [0, 1], and otherwise min-max rescaled to
          [0, 1] (a constant image then reads as zeros).

        Only the first frame of a multi-frame file is read. EXIF orientation
        tags are not applied: the pixels are returned as stored.

    Raises
    ------
    BlurkitInputError
        If the file does not exist, is empty, is not a decodable image (text
        named ``.png``, truncated or corrupt data), holds non-finite values or
        32-bit integers outside 0..65535, or has more pixels than Pillow's
        ``Image.MAX_IMAGE_PIXELS`` (about 89 million). The message names the
        file.

    Notes
    -----
    PNG files are decoded by libpng (through ``imagecodecs``), which checks
    every chunk's CRC and the compressed data's checksum and refuses image
    data that stops early; the other formats by Pillow.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from blurkit.io import read_image, write_image
    >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> write_image(path, np.full((4, 5), 0.5))
    >>> image = read_image(path)
    >>> image.shape, image.dtype, float(image[0, 0])
    ((4, 5), dtype('float32'), 0.501960813999176)
    """
    return from_uint8(read_pixels(path))


def read_pixels(path: str | os.PathLike) -> np.ndarray:
    """`read_image`, except that 8-bit grey PNGs stay uint8 grey levels.

    Streaming prediction converts a whole batch of them at once (see
    `levels_to_float`).
    """
    data = _read_regular_file(path)
    if data is None:
        return _read_pixels_checked(Path(path))
    try:
        return _decode_image(data, path)
    except BlurkitInputError:
        # Raised again with the file named as every other error names it
        # (a Path), without reading it again.
        return _decode_image(data, Path(path))


# A FIFO opens at once, without a writer, and is then refused as not a
# regular file (POSIX; Windows has neither the flag nor FIFOs among files).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _read_regular_file(path) -> bytes | None:
    """The bytes of a non-empty regular file not named as NIfTI, or None.

    The common case of a large run, in four system calls (open, fstat,
    read, close). None for anything else (a missing file, a folder, a device, an
    empty file, an OS error, a NIfTI name), which `_read_pixels_checked`
    then examines and reports.
    """
    if is_nifti_name(os.fspath(path)):
        return None
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size == 0:
            return None
        # One read of the size fstat gave; a short one (a file shrinking, or
        # larger than one read returns) reads on to the end.
        data = os.read(fd, status.st_size)
        if len(data) == status.st_size:
            return data
        with open(fd, "rb", buffering=0, closefd=False) as file:
            return data + file.readall()
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_pixels_checked(path: Path) -> np.ndarray:
    """`read_pixels`, with each problem of the file reported."""
    # One stat for the three checks.
    try:
        status = os.stat(path)
    except OSError as exc:
        if exc.errno not in _MISSING_FILE_ERRNOS:
            # Permission denied on a folder, an I/O error: an input error
            # like any other, so that --on-error skip can skip the file.
            raise BlurkitInputError(
                f"{path}: cannot read ({one_line(exc)}); expected a readable image file"
            ) from exc
        raise BlurkitInputError(
            f"{path}: no such file; expected an image file"
        ) from None
    if not stat.S_ISREG(status.st_mode):
        raise BlurkitInputError(f"{path}: not a regular file; expected an image file")
    if status.st_size == 0:
        raise BlurkitInputError(f"{path}: empty file (0 bytes); expected an image")
    if is_nifti_name(path.name):
        return read_nifti_slice(path)
    try:
        # One read, rather than Pillow's many small ones.
        with open(path, "rb", buffering=0) as file:
            data = file.readall()
    except OSError as exc:
        raise BlurkitInputError(
            f"{path}: cannot decode image ({one_line(exc)}); "
            "the file is truncated, corrupt or unreadable"
        ) from exc
    return _decode_image(data, path)


def _decode_image(data: bytes, path) -> np.ndarray:
    """The pixels of an image file's bytes (see `read_pixels`)."""
    try:
        if data.startswith(_PNG_SIGNATURE):
            levels = _decode_png(data, path)
            if levels is not None:
                return levels
        with Image.open(io.BytesIO(data)) as im:
            # load() decodes all data now, so truncation is detected here.
            im.load()
            image = _to_grey_float(im, path)
    except BlurkitInputError:
        raise
    except UnidentifiedImageError as exc:
        raise BlurkitInputError(
            f"{path}: not a recognised image format; expected PNG, JPEG or TIFF"
        ) from exc
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
    ) as exc:
        # Pillow reports truncated or corrupt data with all of these types.
        raise BlurkitInputError(
            f"{path}: cannot decode image ({one_line(exc)}); "
            "the file is truncated, corrupt or unreadable"
        ) from exc
    if image.ndim != 2:
        raise BlurkitInputError(
            f"{path}: decoded to an array of shape {image.shape}; expected a 2-D image"
        )
    # Only floating-point modes can hold NaN or inf: _to_grey_float checked.
    return np.ascontiguousarray(image, dtype=np.float32)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """Width, height, bit depth and colour type of a PNG, or None if not one.

    Read from the fixed place of the IHDR chunk, which the PNG standard puts
    first; the decoder checks the rest (CRCs included).
    """
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE):
        return None
    if data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack_from(">IIBB", data, 16)
    return width, height, depth, colour


def _decode_png(data: bytes, path: Path) -> np.ndarray | None:
    """Grey levels (uint8) of an 8-bit grey PNG; None for any other PNG.

    Every PNG is decoded here, by libpng (``imagecodecs``), which checks each
    chunk's CRC and the zlib stream's checksum, refuses a file whose image
    data stops early, and releases the GIL. 8-bit grey files (the
    challenge's kind) are returned as decoded; the other kinds (16-bit,
    colour, palette, alpha) return None after this check, and `read_pixels`
    converts them with Pillow, whose modes define their grey values.

    Raises
    ------
    BlurkitInputError
        For a file the decoder refuses, naming the file and libpng's reason,
        or one of more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS``.
    """
    header = _png_header(data)
    if header is None:
        raise BlurkitInputError(
            f"{path}: cannot decode image (no PNG header); the file is "
            "truncated, corrupt or unreadable"
        )
    width, height, depth, colour = header
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        # Checked before decoding: libpng itself would allocate any size.
        raise BlurkitInputError(
            f"{path}: image of {width}x{height} pixels, more than the "
            f"{limit} pixels allowed (PIL.Image.MAX_IMAGE_PIXELS)"
        )
    try:
        levels = png_decode(data)
    except PngError as exc:
        raise BlurkitInputError(
            f"{path}: cannot decode image ({one_line(exc)}); "
            "the file is truncated, corrupt or unreadable"
        ) from exc
    if (depth, colour) == (8, 0) and levels.ndim == 2 and levels.dtype == np.uint8:
        return levels
    return None


def _to_grey_float(im: Image.Image, path: Path) -> np.ndarray:
    """Convert a loaded Pillow image to a float array in [0, 1] (see read_image)."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.float32)
    if mode == "L":
        return from_uint8(np.asarray(im))
    if mode == "LA":
        grey = np.asarray(im.getchannel("L"), dtype=np.float64)
        return (grey / 255).astype(np.float32)
    if mode.startswith("I;16"):
        return (np.asarray(im).astype(np.float64) / 65535).astype(np.float32)
    if mode == "I":
        data = np.asarray(im)
        if data.size and (data.min() < 0 or data.max() > 65535):
            raise BlurkitInputError(
                f"{path}: 32-bit integer pixels span {data.min()}..{data.max()}; "
                "expected 16-bit values in 0..65535"
            )
        return (data.astype(np.float64) / 65535).astype(np.float32)
    if mode == "F":
        data = np.asarray(im, dtype=np.float64)
        if not np.isfinite(data).all():
            raise BlurkitInputError(f"{path}: holds NaN or infinite pixel values")
        low, high = (data.min(), data.max()) if data.size else (0.0, 0.0)
        if low >= 0 and high <= 1:
            return data.astype(np.float32)
        if high == low:
            return np.zeros(data.shape, dtype=np.float32)
        return ((data - low) / (high - low)).astype(np.float32)
    if mode not in ("RGB", "RGBA", "RGBX"):
        # Palette, CMYK, YCbCr, LAB, ...: let Pillow map to RGB(A) first. A
        # palette with transparency goes through RGBA to avoid Pillow's warning.
        target = "RGBA" if "transparency" in im.info else "RGB"
        im = im.convert(target)
    rgb = np.asarray(im, dtype=np.float64)[..., :3]
    return (rgb @ _LUMA_WEIGHTS / (1000 * 255)).astype(np.float32)


def _check_image_to_write(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, got an array of shape {image.shape}")
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise ValueError(f"image must hold numbers, got dtype {image.dtype}")
    image = image.astype(np.float64)
    if not np.isfinite(image).all():
        raise ValueError("image holds NaN or infinite values; expected [0, 1]")
    if image.size and (image.min() < 0 or image.max() > 1):
        raise ValueError(
            f"image values span [{image.min():.6g}, {image.max():.6g}]; "
            "expected values in [0, 1]"
        )
    return image


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Save a 2-D image with values in [0, 1] as an 8-bit grey PNG, atomically.

    Values are scaled by 255 and rounded to the nearest integer (halves to
    even). The PNG holds no metadata (no time stamp), so the same array always
    gives the same bytes with the same Pillow/zlib build.

    Parameters
    ----------
    path : str or path-like
        Destination; its suffix must be ``.png``. The parent folder must exist:
        it is not created.
    image : array-like of shape (height, width)
        Values in [0, 1].

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, holds non-finite values or values outside
        [0, 1], or ``path`` does not end in ``.png``.
    BlurkitInputError
        If the parent folder is missing or the location is not writable.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: write_image writes PNG files; expected a .png path")
    image = _check_image_to_write(image)
    pixels = to_uint8(image)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")

"""Reading and writing challenge files: images, ``subjects.tsv``, predictions.

This is the only module of blurkit that touches the file system. Everything it
reads comes back in the package conventions: an image is a 2-D ``float32``
array with values in [0, 1]; a batch is an ``(n, H, W)`` array when all images
share a shape and a list of 2-D arrays otherwise.

Every problem with an input file raises :class:`BlurkitInputError`, whose
one-line message names the file (and the line, for TSV files) and what was
expected. Every writer is atomic: it writes a temporary file in the destination
folder and renames it over the destination, so a failed write never leaves a
partial file behind nor damages an existing one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat
import struct
import tempfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "IMAGE_SUFFIXES",
    "NIFTI_SUFFIXES",
    "BlurkitInputError",
    "Dataset",
    "check_writable",
    "list_images",
    "load_dataset",
    "read_image",
    "read_subjects_tsv",
    "write_image",
    "write_predictions",
    "write_subjects_tsv",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
"""File name suffixes recognised as images (compared case-insensitively)."""
NIFTI_SUFFIXES = (".nii", ".nii.gz")
"""File name suffixes of NIfTI volumes, read as their challenge coronal slice."""
_READABLE_SUFFIXES = IMAGE_SUFFIXES + NIFTI_SUFFIXES

SUBJECTS_FILE = "subjects.tsv"
_HEADER = ("Subject", "Label")
_FLOAT_FORMAT = ".6g"
# ITU-R 601-2 luma weights, the ones Pillow's ``convert("L")`` uses, kept as
# integers so that a grey image stored as RGB reads exactly like its "L" twin.
_LUMA_WEIGHTS = np.array([299, 587, 114], dtype=np.float64)
# errno values for which pathlib's Path.exists() says the file is not there.
_MISSING_FILE_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


class BlurkitInputError(ValueError):
    """A file given to blurkit cannot be used: missing, unreadable or malformed.

    The message is a single line naming the file (``path:line`` for TSV files)
    and what was expected.
    """


class Dataset(NamedTuple):
    """Images, labels and subject ids of a challenge folder, in TSV order.

    It unpacks like a tuple: ``images, labels, subjects = load_dataset(folder)``.

    Attributes
    ----------
    images : ndarray of shape (n_images, height, width) or list of ndarray
        Images as ``float32`` in [0, 1]; a list of 2-D arrays when the images do
        not all share one shape.
    labels : ndarray of shape (n_images,)
        ``int64`` labels, 1 for sharp and 0 for blurred.
    subjects : list of str
        Subject ids, the image file names without their extension.
    """

    images: np.ndarray | list[np.ndarray]
    labels: np.ndarray
    subjects: list[str]


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------- #
# Images
# --------------------------------------------------------------------------- #


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a 2-D ``float32`` array in [0, 1].

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG or TIFF file (any format Pillow decodes is accepted), or a
        NIfTI volume (``.nii``, ``.nii.gz``), read as its challenge coronal
        slice with intensities scaled to [0, 1] by the volume's 99.5th
        percentile (see :func:`blurkit._nifti.read_nifti_slices`).

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
        32-bit integers outside 0..65535. The message names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from blurkit._io import read_image, write_image
    >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> write_image(path, np.full((4, 5), 0.5))
    >>> image = read_image(path)
    >>> image.shape, image.dtype, float(image[0, 0])
    ((4, 5), dtype('float32'), 0.501960813999176)
    """
    return levels_to_float(_read_pixels(path))


def levels_to_float(pixels: np.ndarray) -> np.ndarray:
    """8-bit grey levels (uint8, any shape) as float32 in [0, 1]; else as is.

    float32 division is correctly rounded: each level becomes the float32
    nearest to ``level / 255``, as the float64 route of the other modes.
    """
    if pixels.dtype != np.uint8:
        return pixels
    grey = pixels.astype(np.float32)
    grey /= np.float32(255)
    return grey


def _read_pixels(path: str | os.PathLike) -> np.ndarray:
    """`read_image`, except that 8-bit grey PNGs stay uint8 grey levels.

    Streaming prediction converts a whole batch of them at once (see
    `levels_to_float`).
    """
    path = Path(path)
    # One stat for the three checks: this runs once per image of a large run.
    try:
        status = os.stat(path)
    except OSError as exc:
        if exc.errno not in _MISSING_FILE_ERRNOS:
            raise
        raise BlurkitInputError(
            f"{path}: no such file; expected an image file"
        ) from None
    if not stat.S_ISREG(status.st_mode):
        raise BlurkitInputError(f"{path}: not a regular file; expected an image file")
    if status.st_size == 0:
        raise BlurkitInputError(f"{path}: empty file (0 bytes); expected an image")
    if _is_nifti_name(path.name):
        from ._nifti import read_nifti_slice

        return read_nifti_slice(path)
    try:
        # One read, rather than Pillow's many small ones.
        with open(path, "rb", buffering=0) as file:
            data = file.readall()
        levels = _read_grey8_png(data)
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
            f"{path}: cannot decode image ({_one_line(exc)}); "
            "the file is truncated, corrupt or unreadable"
        ) from exc
    if image.ndim != 2:
        raise BlurkitInputError(
            f"{path}: decoded to an array of shape {image.shape}; expected a 2-D image"
        )
    # Only floating-point modes can hold NaN or inf: _to_grey_float checked.
    return np.ascontiguousarray(image, dtype=np.float32)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_grey8_png(data: bytes) -> np.ndarray | None:
    """Grey levels (uint8) of an intact, non-interlaced 8-bit grey PNG.

    None for any other file.

    The challenge's own kind of file, and the common case of a large run:
    the chunks are walked here (checking their CRCs) and Pillow's C decoder
    inflates and unfilters the pixels, without the Python-level work of
    ``Image.open`` (about a fifth of the time per file). Any other file, and
    any anomaly (truncation, a bad CRC, undecodable data), returns None, and
    `read_image` takes the general path, which reports errors.
    """
    if not data.startswith(_PNG_SIGNATURE):
        return None
    position, header, pixels = len(_PNG_SIGNATURE), None, []
    while True:
        if position + 12 > len(data):
            return None
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 8 + length
        if end + 4 > len(data):
            return None
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(data[position + 4 : end]) != crc:
            return None
        if kind == b"IHDR" and length == 13:
            header = struct.unpack_from(">IIBBBBB", data, position + 8)
        elif kind == b"IDAT":
            pixels.append(data[position + 8 : end])
        elif kind == b"IEND":
            break
        position = end + 4
    if header is None:
        return None
    width, height, depth, colour, _, _, interlace = header
    if (depth, colour, interlace) != (8, 0, 0) or not 0 < width * height <= (
        Image.MAX_IMAGE_PIXELS or np.inf
    ):
        return None
    try:
        im = Image.frombytes("L", (width, height), b"".join(pixels), "zip", "L")
    except (ValueError, OSError):
        return None
    return np.asarray(im)


def _to_grey_float(im: Image.Image, path: Path) -> np.ndarray:
    """Convert a loaded Pillow image to a float array in [0, 1] (see read_image)."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.float32)
    if mode == "L":
        return levels_to_float(np.asarray(im))
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
    pixels = np.rint(image * 255).astype(np.uint8)
    with _atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


# --------------------------------------------------------------------------- #
# subjects.tsv
# --------------------------------------------------------------------------- #


def _read_tsv_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, without line ends or trailing blank lines."""
    if not path.exists():
        raise BlurkitInputError(f"{path}: no such file; expected a {SUBJECTS_FILE}")
    if not path.is_file():
        raise BlurkitInputError(f"{path}: not a regular file; expected a TSV file")
    try:
        # utf-8-sig tolerates the byte-order mark some spreadsheet tools add.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BlurkitInputError(
            f"{path}: not UTF-8 text ({_one_line(exc)}); expected a TSV file"
        ) from exc
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot read ({_one_line(exc)})") from exc
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _parse_subjects(
    path: Path, lines: list[str], *, with_label: bool
) -> tuple[list[str], list[int]]:
    """Validate the data rows of a subjects TSV (line 1 is the header).

    Data row ``i`` (0-based) is on line ``i + 2`` of the file; blank lines are
    rejected, so this holds for every row returned.
    """
    n_fields = 2 if with_label else 1
    expected = "<TAB>".join(_HEADER[:n_fields])
    subjects: list[str] = []
    labels: list[int] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        where = f"{path}:{lineno}"
        fields = line.split("\t")
        if len(fields) != n_fields:
            raise BlurkitInputError(
                f"{where}: expected {n_fields} tab-separated field(s) ({expected}), "
                f"got {len(fields)}: {line!r}"
            )
        subject = fields[0]
        if not subject or subject != subject.strip():
            raise BlurkitInputError(
                f"{where}: Subject {subject!r} is empty or has surrounding spaces; "
                "expected a file name without extension"
            )
        if "/" in subject or "\\" in subject or subject in (".", ".."):
            raise BlurkitInputError(
                f"{where}: Subject {subject!r} is a path; "
                "expected a file name without extension"
            )
        if subject in first_line:
            raise BlurkitInputError(
                f"{where}: duplicate Subject {subject!r} "
                f"(first listed on line {first_line[subject]})"
            )
        first_line[subject] = lineno
        subjects.append(subject)
        if with_label:
            label = fields[1].strip()
            if label not in ("0", "1"):
                raise BlurkitInputError(
                    f"{where}: Label {fields[1]!r} for Subject {subject!r}; "
                    "expected 0 (blurred) or 1 (sharp)"
                )
            labels.append(int(label))
    if not subjects:
        raise BlurkitInputError(f"{path}: no subjects listed after the header")
    return subjects, labels


def _check_header(path: Path, lines: list[str], allowed: Sequence[str]) -> str:
    shown = " or ".join(repr(h.replace("\t", "<TAB>")) for h in allowed)
    if not lines:
        raise BlurkitInputError(f"{path}: empty file; expected the header {shown}")
    if lines[0] not in allowed:
        raise BlurkitInputError(
            f"{path}:1: header {lines[0]!r}; expected exactly {shown}"
        )
    return lines[0]


def read_subjects_tsv(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a challenge ``subjects.tsv``.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 tab-separated file whose first line is exactly
        ``Subject<TAB>Label``, followed by one row per subject. ``\\r\\n`` line
        ends and trailing blank lines are tolerated.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``Subject`` (str) and ``Label`` (int64), rows in file order.

    Raises
    ------
    BlurkitInputError
        Naming ``path:line`` for a wrong header, a row without exactly two
        fields (or a blank line), an empty subject, a subject containing a path
        separator, a duplicate subject, or a label other than ``0`` or ``1``;
        and naming the file if it is missing, not UTF-8 or lists no subject.
    """
    path = Path(path)
    lines = _read_tsv_lines(path)
    _check_header(path, lines, ["\t".join(_HEADER)])
    subjects, labels = _parse_subjects(path, lines, with_label=True)
    import pandas as pd

    return pd.DataFrame(
        {"Subject": pd.Series(subjects, dtype=str), "Label": np.array(labels, np.int64)}
    )


def _read_subject_ids(path: Path) -> list[str]:
    """Subject column of a subjects.tsv that may or may not have a Label column.

    With a ``Label`` column the file is validated in full by
    :func:`read_subjects_tsv`; a one-column ``Subject`` file (unlabelled data to
    predict on) is accepted too.
    """
    lines = _read_tsv_lines(path)
    header = _check_header(path, lines, ["\t".join(_HEADER), _HEADER[0]])
    subjects, _ = _parse_subjects(path, lines, with_label=header != _HEADER[0])
    return subjects


def write_subjects_tsv(
    path: str | os.PathLike, subjects: Sequence[str], labels: Sequence[int]
) -> None:
    """Write a challenge ``subjects.tsv``; same as :func:`write_predictions`."""
    write_predictions(path, subjects, labels)


# --------------------------------------------------------------------------- #
# Folders and lists of images
# --------------------------------------------------------------------------- #


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(_READABLE_SUFFIXES)


def _is_nifti_name(name: str) -> bool:
    return name.lower().endswith(NIFTI_SUFFIXES)


def _suffix(name: str) -> str:
    """The readable suffix of ``name``, lower case (``.nii.gz`` is one suffix)."""
    lower = name.lower()
    return next(s for s in _READABLE_SUFFIXES[::-1] if lower.endswith(s))


def _subject_id(path: Path) -> str:
    """File name without its extension; ``.nii.gz`` counts as one extension.

    For NIfTI files, the BIDS ``sub-``/``ses-`` entities when the name has
    them (``sub-01_T1w.nii.gz`` gives ``sub-01``).
    """
    name = path.name
    if _is_nifti_name(name):
        from ._nifti import nifti_subject_id

        return nifti_subject_id(path)
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """Map each stem to its image file in ``folder``, preferring ``.png``.

    When several files share a stem, the first suffix in ``IMAGE_SUFFIXES``
    then ``NIFTI_SUFFIXES`` wins (suffixes compared case-insensitively).
    """
    rank = {suffix: i for i, suffix in enumerate(_READABLE_SUFFIXES)}
    found: dict[str, Path] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.is_file() or not _is_image_name(entry.name):
            continue
        path = Path(entry.path)
        stem = _subject_id(path)
        old = found.get(stem)
        if old is None or rank[_suffix(path.name)] < rank[_suffix(old.name)]:
            found[stem] = path
    return found


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise BlurkitInputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise BlurkitInputError(f"{folder}: not a folder; expected a data folder")


def _listed_images(folder: Path, subjects: Sequence[str]) -> list[Path]:
    """Image file of each subject listed in ``folder/subjects.tsv``."""
    tsv = folder / SUBJECTS_FILE
    by_stem = _images_by_stem(folder)
    paths = []
    for row, subject in enumerate(subjects):
        if subject not in by_stem:
            raise BlurkitInputError(
                f"{tsv}:{row + 2}: no image file for Subject {subject!r}; "
                f"expected {folder / (subject + '.png')}"
            )
        paths.append(by_stem[subject])
    return paths


def list_images(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
) -> list[tuple[str, Path]]:
    """Subject ids and image paths of the given files and folders, in order.

    Parameters
    ----------
    inputs : path or sequence of paths
        Image files and/or folders (a single path is accepted too).

        - An image file (suffix in ``IMAGE_SUFFIXES`` or ``NIFTI_SUFFIXES``,
          any case) gives one subject.
        - A folder holding ``subjects.tsv`` gives its subjects in the file's
          order. The file may be a labelled challenge file (fully validated as
          by :func:`read_subjects_tsv`) or a one-column ``Subject`` file; only
          the subjects are used. Each subject's image is ``<Subject>.png``, or
          else a file with that stem and another image suffix.
        - Any other folder gives its image files (not sub-folders; hidden
          files starting with ``.`` skipped) sorted by file name.

    Returns
    -------
    images : list of (str, pathlib.Path)
        ``(subject, path)`` pairs; the subject is the file name without its
        extension (``.nii.gz`` counts as one extension), or for a NIfTI file
        with BIDS entities its ``sub-<label>`` (and ``_ses-<label>``).

    Raises
    ------
    BlurkitInputError
        If a path does not exist, a file does not have an image suffix, a
        folder holds no image, a listed subject has no image file, or the same
        subject id comes from two places.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    result: list[tuple[str, Path]] = []
    origin: dict[str, Path] = {}
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            if (item / SUBJECTS_FILE).is_file():
                subjects = _read_subject_ids(item / SUBJECTS_FILE)
                pairs = list(zip(subjects, _listed_images(item, subjects), strict=True))
            else:
                # Names, not paths, until sorted: folders may hold many files.
                with os.scandir(item) as entries:
                    names = sorted(
                        e.name
                        for e in entries
                        if not e.name.startswith(".")
                        and _is_image_name(e.name)
                        and e.is_file()
                    )
                if not names:
                    raise BlurkitInputError(
                        f"{item}: folder holds no {SUBJECTS_FILE} and no image file "
                        f"({', '.join(_READABLE_SUFFIXES)})"
                    )
                paths = [item / name for name in names]
                pairs = [(_subject_id(path), path) for path in paths]
        elif item.is_file():
            if not _is_image_name(item.name):
                raise BlurkitInputError(
                    f"{item}: not an image file name; expected a folder or a file "
                    f"ending in one of {', '.join(_READABLE_SUFFIXES)}"
                )
            pairs = [(_subject_id(item), item)]
        else:
            raise BlurkitInputError(f"{item}: no such file or folder")
        for subject, path in pairs:
            if subject in origin:
                raise BlurkitInputError(
                    f"{path}: subject id {subject!r} already given by "
                    f"{origin[subject]}; subject ids must be unique"
                )
            origin[subject] = path
            result.append((subject, path))
    return result


def _stack_if_same_shape(images: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    if images and all(im.shape == images[0].shape for im in images):
        return np.stack(images).astype(np.float32, copy=False)
    return images


def load_dataset(folder: str | os.PathLike, *, n_jobs: int | None = None) -> Dataset:
    """Load a labelled challenge folder: ``subjects.tsv`` and one image each.

    Parameters
    ----------
    folder : str or path-like
        A folder holding ``subjects.tsv`` (header ``Subject<TAB>Label``) and
        ``<Subject>.png`` for each row (another suffix of ``IMAGE_SUFFIXES``
        with the same stem is accepted when there is no ``.png``).
    n_jobs : int, default=None
        Number of threads decoding images; ``None`` means 1 and ``-1`` all
        processors (joblib conventions). The order of the result does not
        depend on it.

    Returns
    -------
    dataset : Dataset
        ``(images, labels, subjects)`` in the order of ``subjects.tsv``.

    Raises
    ------
    BlurkitInputError
        If the folder or its ``subjects.tsv`` is missing, the TSV is malformed
        (see :func:`read_subjects_tsv`), a listed image is missing (the message
        names the TSV line) or an image cannot be decoded (the message names
        the image).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from blurkit._io import load_dataset, write_image, write_subjects_tsv
    >>> folder = tempfile.mkdtemp()
    >>> write_image(f"{folder}/sub-02.png", np.zeros((8, 8)))
    >>> write_image(f"{folder}/sub-01.png", np.ones((8, 8)))
    >>> write_subjects_tsv(f"{folder}/subjects.tsv", ["sub-02", "sub-01"], [0, 1])
    >>> images, labels, subjects = load_dataset(folder)
    >>> images.shape, images.dtype, labels, subjects
    ((2, 8, 8), dtype('float32'), array([0, 1]), ['sub-02', 'sub-01'])
    """
    folder = Path(folder)
    _check_folder(folder)
    tsv = folder / SUBJECTS_FILE
    if not tsv.is_file():
        raise BlurkitInputError(
            f"{folder}: no {SUBJECTS_FILE}; expected a challenge folder with "
            f"{SUBJECTS_FILE} (Subject<TAB>Label) and <Subject>.png files"
        )
    table = read_subjects_tsv(tsv)
    subjects = table["Subject"].tolist()
    paths = _listed_images(folder, subjects)
    n_workers = min(_effective_n_jobs(n_jobs), len(paths))
    if n_workers <= 1:
        images = [read_image(p) for p in paths]
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            images = list(pool.map(read_image, paths))
    return Dataset(
        images=_stack_if_same_shape(images),
        labels=table["Label"].to_numpy(dtype=np.int64),
        subjects=subjects,
    )


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def _check_destination(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        if parent.exists():
            raise BlurkitInputError(
                f"{path}: {parent} is a file, not a folder; expected a path "
                "in an existing folder"
            )
        raise BlurkitInputError(
            f"{path}: folder {parent} does not exist; create it first"
        )
    if path.is_dir():
        raise BlurkitInputError(f"{path}: is a folder; expected a file path")


def _is_special_file(path: Path) -> bool:
    """Whether ``path`` is a device, pipe or socket (``/dev/null``, a FIFO).

    Such a destination is written in place: renaming a file onto it would
    replace it (turn ``/dev/null`` into a plain file), and nothing on it can
    be half-overwritten anyway.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(path: str | os.PathLike) -> None:
    """Check that a file can be written at ``path``, before long work.

    Creates and removes an empty temporary file in the destination folder,
    which also catches read-only file systems and full quotas that
    permission bits do not show. ``path`` itself is not touched.

    Parameters
    ----------
    path : str or path-like
        Where an output will be written (atomically, see
        :func:`write_predictions`).

    Raises
    ------
    BlurkitInputError
        If the folder is missing, is a file, ``path`` is a folder, or the
        folder cannot be written; the message names the path.
    """
    path = Path(path)
    _check_destination(path)
    if _is_special_file(path):
        if not os.access(path, os.W_OK):
            raise BlurkitInputError(f"{path}: cannot write (permission denied)")
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot write ({_one_line(exc)})") from exc


@contextlib.contextmanager
def _atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    The temporary file is created (empty, with the permissions a new file gets
    from the umask) in the destination folder, so the final ``os.replace`` is
    an atomic rename: readers see either the old file or the complete new one.
    If the body or the rename fails, the temporary file is removed and an
    existing ``path`` is left untouched. OS errors are re-raised as
    :class:`BlurkitInputError`. Missing parent folders are not created. A
    device, pipe or socket (``/dev/null``, ``/dev/stdout``, a FIFO) is
    yielded itself and written in place: it cannot be replaced.
    """
    path = Path(path)
    parent = path.parent
    _check_destination(path)
    if _is_special_file(path):
        try:
            yield path
        except OSError as exc:
            raise BlurkitInputError(f"{path}: cannot write ({_one_line(exc)})") from exc
        return
    tmp = None
    try:
        for _ in range(100):
            candidate = parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            os.close(fd)
            tmp = candidate
            break
        else:  # pragma: no cover - 100 random name clashes in a row
            raise FileExistsError(f"no free temporary name in {parent}")
        yield tmp
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot write ({_one_line(exc)})") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _format_column(name: str, values: object, n_rows: int) -> list[str]:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n_rows:
        raise ValueError(
            f"extra column {name!r} has shape {array.shape}; "
            f"expected {n_rows} values, one per subject"
        )
    kind = array.dtype.kind
    if kind in "biu":
        return [str(int(v)) for v in array]
    if kind == "f":
        return [format(float(v), _FLOAT_FORMAT) for v in array]
    if kind in "OUS" and all(isinstance(v, str) for v in array.tolist()):
        cells = array.tolist()
        for cell in cells:
            _check_cell(cell, f"extra column {name!r}")
        return cells
    raise ValueError(
        f"extra column {name!r} has dtype {array.dtype}; "
        "expected integers, floats or strings"
    )


def _check_cell(text: str, what: str) -> None:
    if not text or any(c in text for c in "\t\r\n"):
        raise ValueError(
            f"{what}: {text!r} is empty or holds a tab or line break; "
            "expected a non-empty single-line value"
        )


def write_predictions(
    path: str | os.PathLike,
    subjects: Sequence[str],
    labels: Sequence[int],
    *,
    extra_columns: Mapping[str, Sequence] | None = None,
) -> None:
    """Write a challenge TSV of subjects and labels, atomically.

    The file is UTF-8 with ``\\n`` line ends: a header ``Subject<TAB>Label``
    (followed by the names of ``extra_columns``), then one row per subject in
    the given order. Labels are written as integers, integer columns as
    integers, float columns with the format ``"%.6g"`` (``nan``/``inf`` as
    such) and string columns as they are.

    Parameters
    ----------
    path : str or path-like
        Destination file. Its folder must exist: missing folders are not
        created. An existing file is replaced only once the new one is
        complete.
    subjects : sequence of str
        Unique, non-empty subject ids without tabs or line breaks.
    labels : sequence of int
        0 (blurred) or 1 (sharp) per subject; integer-valued floats accepted.
    extra_columns : mapping of str to sequence, default=None
        More columns, e.g. ``{"Probability": proba, "Sigma_px": sigma}``, each
        with one value per subject.

    Raises
    ------
    ValueError
        If the arguments are inconsistent (lengths, duplicate subjects, labels
        other than 0/1, bad column names or values). Nothing is written.
    BlurkitInputError
        If the folder is missing or the location cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> from blurkit._io import write_predictions
    >>> path = os.path.join(tempfile.mkdtemp(), "output.tsv")
    >>> write_predictions(path, ["sub-01", "sub-02"], [1, 0],
    ...                   extra_columns={"Probability": [0.91234567, 0.1]})
    >>> with open(path, newline="") as f:
    ...     for line in f:
    ...         print(repr(line))
    'Subject\\tLabel\\tProbability\\n'
    'sub-01\\t1\\t0.912346\\n'
    'sub-02\\t0\\t0.1\\n'
    """
    text = _format_predictions(subjects, labels, extra_columns)
    with _atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))


def _format_predictions(
    subjects: Sequence[str],
    labels: Sequence[int],
    extra_columns: Mapping[str, Sequence] | None,
) -> str:
    if isinstance(subjects, str):
        raise ValueError("subjects must be a sequence of strings, got one string")
    subjects = list(subjects)
    seen: set[str] = set()
    for subject in subjects:
        if not isinstance(subject, str):
            raise ValueError(f"subjects must be strings, got {subject!r}")
        _check_cell(subject, "subject")
        if subject in seen:
            raise ValueError(f"duplicate subject {subject!r}; expected unique ids")
        seen.add(subject)
    n_rows = len(subjects)
    label_array = np.asarray(labels)
    if label_array.shape != (n_rows,):
        raise ValueError(
            f"labels has shape {label_array.shape}; expected ({n_rows},), "
            "one per subject"
        )
    if label_array.dtype.kind not in "biuf":
        raise ValueError(f"labels must be 0 or 1, got dtype {label_array.dtype}")
    bad = np.flatnonzero(~np.isin(label_array, (0, 1)))
    if bad.size:
        raise ValueError(
            f"labels must be 0 or 1, got {label_array[bad[0]].item()!r} "
            f"for subject {subjects[bad[0]]!r}"
        )
    header = list(_HEADER)
    cells = [subjects, [str(int(v)) for v in label_array]]
    for name, values in (extra_columns or {}).items():
        if not isinstance(name, str):
            raise ValueError(f"extra column names must be strings, got {name!r}")
        _check_cell(name, "extra column name")
        if name in header:
            raise ValueError(f"extra column {name!r} clashes with another column")
        header.append(name)
        cells.append(_format_column(name, values, n_rows))
    rows = ["\t".join(header)]
    rows.extend("\t".join(row) for row in zip(*cells, strict=True))
    return "\n".join(rows) + "\n"


def write_prediction_results(
    output,
    subjects,
    labels,
    done,
    skipped,
    *,
    what="images",
    probability=None,
    sigma=None,
    pixel_spacing=1.5,
):
    """Write the predictions of the inputs marked ``done``, atomically.

    Shared end of streaming prediction over images and volumes.

    Parameters
    ----------
    output : str or path-like
        TSV to write.
    subjects : sequence of str
        Subject of every input, predicted or not.
    labels : ndarray of int
        Label of every input (ignored where not ``done``).
    done : ndarray of bool
        Which inputs were predicted.
    skipped : list of (str, str)
        Inputs that could not be read, with their messages.
    what : str, default="images"
        What the inputs are, for the error message.
    probability : ndarray or None, default=None
        Probability of sharp per input; written as ``Probability`` if given.
    sigma : ndarray or None, default=None
        Blur sigma in pixels per input; written as ``Sigma_px`` and
        ``Sigma_mm`` (times ``pixel_spacing``) if given.
    pixel_spacing : float, default=1.5
        Pixel size in mm.

    Raises
    ------
    BlurkitInputError
        If no input at all could be predicted.
    """
    keep = np.flatnonzero(done)
    if not len(keep) and skipped:
        raise BlurkitInputError(
            f"none of the {len(done)} {what} could be used; the first: {skipped[0][1]}"
        )
    extra = {}
    if probability is not None:
        extra["Probability"] = probability[keep]
    if sigma is not None:
        extra["Sigma_px"] = sigma[keep]
        extra["Sigma_mm"] = sigma[keep] * pixel_spacing
    write_predictions(
        output,
        [subjects[i] for i in keep],
        labels[keep],
        extra_columns=extra or None,
    )


def _effective_n_jobs(n_jobs) -> int:
    """Number of threads for ``n_jobs``, as joblib counts them.

    None means 1, a negative value ``n`` means ``cpu_count + 1 + n`` (so -1 is
    one per processor), at least 1. Written out so that prediction does not
    import joblib.
    """
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, int(n_jobs))

"""Folders and lists of inputs: subject ids, challenge folders, datasets.

A batch comes back as an ``(n, H, W)`` array when all images share a shape
and as a list of 2-D arrays otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._threads import effective_n_jobs
from .._validation import stack_if_same_shape
from ..exceptions import BlurkitInputError
from ._bids import find_bids_t1w, is_bids_root
from ._images import IMAGE_SUFFIXES, read_image
from ._nifti import NIFTI_SUFFIXES, is_nifti_name, nifti_subject_id
from ._tables import SUBJECTS_FILE, read_subject_ids, read_subjects_tsv

__all__ = [
    "Dataset",
    "is_image_name",
    "list_image_paths",
    "list_images",
    "load_dataset",
    "subject_id",
]


_READABLE_SUFFIXES = IMAGE_SUFFIXES + NIFTI_SUFFIXES


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


def is_image_name(name: str) -> bool:
    """Whether a file name ends in a suffix blurkit reads (an image or a
    NIfTI volume), compared case-insensitively."""
    return name.lower().endswith(_READABLE_SUFFIXES)


def _suffix(name: str) -> str:
    """The readable suffix of ``name``, lower case (``.nii.gz`` is one suffix)."""
    lower = name.lower()
    return next(s for s in _READABLE_SUFFIXES[::-1] if lower.endswith(s))


def subject_id(path: Path) -> str:
    """File name without its extension; ``.nii.gz`` counts as one extension.

    For NIfTI files, the BIDS ``sub-``/``ses-`` entities when the name has
    them (``sub-01_T1w.nii.gz`` gives ``sub-01``).
    """
    return _subject_of(Path(path).name, path)


def _subject_of(name: str, path) -> str:
    """`subject_id` from a file's name (``path`` is read for NIfTI only)."""
    if is_nifti_name(name):
        return nifti_subject_id(path)
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def _images_by_stem(folder: Path) -> dict[str, str]:
    """Map each stem to its image file's path in ``folder``, preferring ``.png``.

    When several files share a stem, the first suffix in ``IMAGE_SUFFIXES``
    then ``NIFTI_SUFFIXES`` wins (suffixes compared case-insensitively).
    """
    rank = {suffix: i for i, suffix in enumerate(_READABLE_SUFFIXES)}
    found: dict[str, os.DirEntry] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.is_file() or not is_image_name(entry.name):
            continue
        stem = _subject_of(entry.name, entry.path)
        old = found.get(stem)
        if old is None or rank[_suffix(entry.name)] < rank[_suffix(old.name)]:
            found[stem] = entry
    return {stem: entry.path for stem, entry in found.items()}


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise BlurkitInputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise BlurkitInputError(f"{folder}: not a folder; expected a data folder")


def _listed_images(folder: Path, subjects: Sequence[str]) -> list[str]:
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
        - A BIDS dataset (a folder holding ``dataset_description.json``)
          gives its T1w volumes, ``sub-*/[ses-*/]anat/*_T1w.nii[.gz]``,
          sorted by subject id (``sub-X`` or ``sub-X_ses-Y``; see
          :func:`blurkit.io.find_bids_t1w`).
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
    return [(subject, Path(path)) for subject, path in list_image_paths(inputs)]


def list_image_paths(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
) -> list[tuple[str, str]]:
    """`list_images`, with each path as a string.

    What streaming prediction uses: a folder of many thousand images is
    listed without making a `pathlib.Path` of each file (3.0 instead of
    6.6 µs per file, measured on 20,000 files).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    result: list[tuple[str, str]] = []
    origin: dict[str, str] = {}
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            if is_bids_root(item):
                pairs = [
                    (subject, str(path))
                    for subject, path in find_bids_t1w(item, error=BlurkitInputError)
                ]
            elif (item / SUBJECTS_FILE).is_file():
                subjects = read_subject_ids(item / SUBJECTS_FILE)
                pairs = list(zip(subjects, _listed_images(item, subjects), strict=True))
            else:
                # Names, not paths, until sorted: folders may hold many files.
                with os.scandir(item) as entries:
                    names = sorted(
                        e.name
                        for e in entries
                        if not e.name.startswith(".")
                        and is_image_name(e.name)
                        and e.is_file()
                    )
                if not names:
                    raise BlurkitInputError(
                        f"{item}: folder holds no {SUBJECTS_FILE} and no image file "
                        f"({', '.join(_READABLE_SUFFIXES)})"
                    )
                folder = str(item)
                pairs = []
                for name in names:
                    path = os.path.join(folder, name)
                    pairs.append((_subject_of(name, path), path))
        elif item.is_file():
            if not is_image_name(item.name):
                raise BlurkitInputError(
                    f"{item}: not an image file name; expected a folder or a file "
                    f"ending in one of {', '.join(_READABLE_SUFFIXES)}"
                )
            pairs = [(subject_id(item), str(item))]
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
    >>> from blurkit.io import load_dataset, write_image, write_predictions
    >>> folder = tempfile.mkdtemp()
    >>> write_image(f"{folder}/sub-02.png", np.zeros((8, 8)))
    >>> write_image(f"{folder}/sub-01.png", np.ones((8, 8)))
    >>> write_predictions(f"{folder}/subjects.tsv", ["sub-02", "sub-01"], [0, 1])
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
    n_workers = min(effective_n_jobs(n_jobs), len(paths))
    if n_workers <= 1:
        images = [read_image(p) for p in paths]
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            images = list(pool.map(read_image, paths))
    return Dataset(
        images=stack_if_same_shape(images, dtype=np.float32),
        labels=table["Label"].to_numpy(dtype=np.int64),
        subjects=subjects,
    )

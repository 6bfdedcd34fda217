"""Discovery of the T1-weighted images of a BIDS dataset.

A BIDS dataset (https://bids-specification.readthedocs.io) keeps each
subject's anatomical images in ``sub-<label>/anat/`` or, with sessions, in
``sub-<label>/ses-<label>/anat/``. :func:`is_bids_root` tells such a dataset
folder by its ``dataset_description.json``; :func:`find_bids_t1w` lists its
``*_T1w.nii[.gz]`` files with one unique subject id each. Only names are
looked at: no file is opened.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

from ._nifti import is_nifti_name, strip_nifti_suffix

__all__ = ["find_bids_t1w", "is_bids_root"]

_EXPECTED = "sub-*/[ses-*/]anat/*_T1w.nii[.gz]"
_LABEL = "[A-Za-z0-9]+"
_SUBJECT_DIR = re.compile(rf"sub-{_LABEL}")
_SESSION_DIR = re.compile(rf"ses-{_LABEL}")
_ENTITY = re.compile(rf"(?P<key>[A-Za-z]+)-(?P<label>{_LABEL})")


def is_bids_root(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the root folder of a BIDS dataset.

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    bool
        True when ``path`` is a folder holding a ``dataset_description.json``
        file (the one file BIDS requires at a dataset's root); its content is
        not read.

    Examples
    --------
    >>> is_bids_root("/nonexistent")
    False
    """
    return (Path(path) / "dataset_description.json").is_file()


def _is_visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _t1w_stem(name: str) -> str | None:
    """The name without ``_T1w.nii[.gz]``, or None for any other file.

    The NIfTI suffixes are :mod:`blurkit.io._nifti`'s, in any case, as
    blurkit's NIfTI reader accepts them.
    """
    if not is_nifti_name(name):
        return None
    stem = strip_nifti_suffix(name)
    if len(stem) <= 4 or stem[-4:].lower() != "_t1w":
        return None
    return stem[:-4]


def _entities(stem: str) -> list[str]:
    """The ``key-label`` entities of a file name stem, in their order."""
    return [part for part in stem.split("_") if _ENTITY.fullmatch(part)]


def _t1w_files(anat: Path) -> list[Path]:
    # A symlink counts even when dangling (a git-annex file not fetched):
    # reading it later fails with a message naming it, where skipping it
    # would silently drop a subject.
    return [
        entry
        for entry in sorted(anat.iterdir())
        if _is_visible(entry)
        and _t1w_stem(entry.name) is not None
        and (entry.is_file() or entry.is_symlink())
    ]


def _anat_folders(subject: Path) -> list[tuple[str, Path]]:
    """``(folder id, anat folder)`` of a subject: its own and its sessions'."""
    folders = [(subject.name, subject / "anat")]
    for session in sorted(subject.iterdir()):
        if session.is_dir() and _SESSION_DIR.fullmatch(session.name):
            folders.append((f"{subject.name}_{session.name}", session / "anat"))
    return [(key, anat) for key, anat in folders if anat.is_dir()]


def find_bids_t1w(
    root: str | os.PathLike, *, error: type[Exception] = ValueError
) -> list[tuple[str, Path]]:
    """The T1-weighted images of a BIDS dataset, each with a unique id.

    Parameters
    ----------
    root : str or path-like
        The dataset's root folder. Its ``dataset_description.json`` is not
        required here; use :func:`is_bids_root` to decide whether a folder is
        a BIDS dataset.
    error : type of Exception, default=ValueError
        Class of the exception raised on a bad dataset, called with a
        one-line message; e.g. ``blurkit.BlurkitInputError``.

    Returns
    -------
    list of (str, pathlib.Path)
        ``(subject id, file)`` rows sorted by subject id (plain string
        order), for every ``sub-*/anat/*_T1w.nii[.gz]`` and
        ``sub-*/ses-*/anat/*_T1w.nii[.gz]`` file. Paths start with ``root``
        as given; symbolic links are kept as they are, not resolved.

    Raises
    ------
    error
        If ``root`` is not a folder, holds no T1w image, a file's ``sub-``
        or ``ses-`` entity differs from its folders', or two files hold the
        same image (e.g. ``sub-01_T1w.nii`` and ``sub-01_T1w.nii.gz``).

    Notes
    -----
    The subject id is ``sub-<label>``, or ``sub-<label>_ses-<label>`` for a
    file in a session folder, taken from the folder names; the file name must
    start with the same entities, as BIDS requires. When one subject (or
    session) has several T1w images, e.g. ``run-1`` and ``run-2`` or two
    ``acq-`` variants, each of them gets as id its file name without
    ``_T1w.nii[.gz]`` and without non-entity parts, e.g.
    ``sub-01_ses-2_acq-mprage_run-2``, so ids stay unique; a single T1w
    image keeps the short id, whatever its other entities.

    Only folders named ``sub-<label>`` at the root are scanned, so
    ``derivatives/``, ``sourcedata/``, ``code/`` and the like are skipped;
    files and folders whose name starts with a dot are skipped too.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["sub-01/anat/sub-01_T1w.nii.gz",
    ...              "sub-02/ses-1/anat/sub-02_ses-1_T1w.nii"]:
    ...     (root / name).parent.mkdir(parents=True)
    ...     (root / name).touch()
    >>> [(key, path.name) for key, path in find_bids_t1w(root)]
    [('sub-01', 'sub-01_T1w.nii.gz'), ('sub-02_ses-1', 'sub-02_ses-1_T1w.nii')]
    """
    root = Path(root)
    if not root.is_dir():
        raise error(f"{root}: not a folder; expected a BIDS dataset with {_EXPECTED}")
    groups: dict[str, list[Path]] = defaultdict(list)
    for subject in sorted(root.iterdir()):
        if not (subject.is_dir() and _SUBJECT_DIR.fullmatch(subject.name)):
            continue
        for key, anat in _anat_folders(subject):
            for path in _t1w_files(anat):
                entities = _entities(_t1w_stem(path.name))
                expected = key.split("_")
                if entities[: len(expected)] != expected:
                    raise error(
                        f"{path}: file name entities do not match its folders; "
                        f"expected a name starting with {key}_"
                    )
                groups[key].append(path)
    rows: dict[str, Path] = {}
    for key, paths in groups.items():
        for path in paths:
            name = key if len(paths) == 1 else "_".join(_entities(_t1w_stem(path.name)))
            if name in rows:
                raise error(
                    f"{path}: same image as {rows[name]}; expected one T1w file "
                    "per subject, session and entities"
                )
            rows[name] = path
    if not rows:
        raise error(f"{root}: no T1w image found; expected BIDS files {_EXPECTED}")
    return sorted(rows.items())

"""NIfTI volumes (``.nii``, ``.nii.gz``) as challenge-like coronal slices.

The challenge images are coronal slices of volumes on the 1.5 mm MNI grid
(shape 121 x 145 x 121, see :mod:`blurkit._geometry`), shown with superior at
the top and the x axis along the columns. This module reads a volume with
nibabel, turns it to the closest RAS+ orientation, normalises its intensities
to [0, 1] and cuts the same slices, so that a volume in the challenge geometry
gives exactly the images the challenge PNGs would hold.

It belongs to the I/O layer: :func:`blurkit.read_image` delegates NIfTI
files here, and streaming prediction (:mod:`blurkit.workflow`) predicts
several slices per volume with :func:`read_nifti_slices`.
"""

from __future__ import annotations

import math
import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._geometry import DEFAULT_CORONAL_INDEX, GRID_ORIGIN_MM, GRID_STEP_MM
from ..exceptions import BlurkitInputError

__all__ = [
    "MAX_VOLUME_VOXELS",
    "NIFTI_SUFFIXES",
    "coronal_slice",
    "default_coronal_index",
    "is_nifti_name",
    "nifti_subject_id",
    "normalize_intensity",
    "parse_slices",
    "read_nifti_slice",
    "read_nifti_slices",
    "strip_nifti_suffix",
]

NIFTI_SUFFIXES = (".nii", ".nii.gz")
"""File name suffixes of NIfTI volumes, read as their challenge coronal slice."""
DEFAULT_CORONAL_Y_MM = GRID_ORIGIN_MM[1] + GRID_STEP_MM * DEFAULT_CORONAL_INDEX
ROBUST_MAX_PERCENTILE = 99.5
MAX_VOLUME_VOXELS = 512**3
"""Largest volume read, in voxels (a 0.5 mm whole-head T1w image is about a
quarter of it). A header declaring more is refused before any data is read,
so a small file cannot make blurkit reserve gigabytes."""

_BIDS_ENTITY = re.compile(r"(?:^|_)((?:sub|ses)-[A-Za-z0-9]+)")


def is_nifti_name(name: str) -> bool:
    """Whether a file name ends in a NIfTI suffix (any case)."""
    return name.lower().endswith(NIFTI_SUFFIXES)


def strip_nifti_suffix(name: str) -> str:
    """``name`` without its NIfTI suffix (``.nii`` or ``.nii.gz``, any case)."""
    lower = name.lower()
    for suffix in sorted(NIFTI_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def nifti_subject_id(path: str | os.PathLike) -> str:
    """Subject id of a NIfTI file: its BIDS ``sub-`` (and ``ses-``) entities.

    Parameters
    ----------
    path : str or path-like
        A file name such as ``sub-01_T1w.nii.gz``.

    Returns
    -------
    str
        ``sub-<label>`` when the name has that BIDS entity, followed by
        ``_ses-<label>`` when it has a session (so two sessions of one subject
        stay apart); otherwise the file name without ``.nii``/``.nii.gz``.

    Examples
    --------
    >>> from blurkit.io import nifti_subject_id
    >>> nifti_subject_id("data/sub-01_T1w.nii.gz")
    'sub-01'
    >>> nifti_subject_id("sub-01_ses-2_acq-mprage_T1w.nii")
    'sub-01_ses-2'
    >>> nifti_subject_id("brain.nii.gz")
    'brain'
    """
    stem = strip_nifti_suffix(Path(path).name)
    entities = dict(
        (match.split("-", 1)[0], match) for match in _BIDS_ENTITY.findall(stem)
    )
    if "sub" not in entities:
        return stem
    return "_".join(entities[key] for key in ("sub", "ses") if key in entities)


# --------------------------------------------------------------------------- #
# Pure functions of volumes
# --------------------------------------------------------------------------- #


def normalize_intensity(
    volume: np.ndarray, *, percentile: float = ROBUST_MAX_PERCENTILE
) -> np.ndarray:
    """Scale a volume to [0, 1] by a robust maximum, as the challenge PNGs are.

    The challenge images are saturated 8-bit maps: the brightest tissue is
    clipped at white. This divides by the ``percentile``-th percentile of the
    positive voxels and clips to [0, 1], which saturates the brightest
    0.5 % of the brain the same way, whatever the scanner's intensity unit.
    A probability map already in [0, 1] with saturated tissue is left nearly
    unchanged.

    Parameters
    ----------
    volume : ndarray
        Intensities of any range. NaN and infinite voxels (masked-out
        background in some pipelines) count as 0; negative values are clipped
        to 0.
    percentile : float, default=99.5
        Percentile of the positive voxels mapped to 1.

    Returns
    -------
    ndarray of the same shape, dtype float32
        Values in [0, 1]; all zeros when no voxel is positive.
    """
    # float32, like the volume nibabel reads: a float64 copy of a large
    # volume would double the memory for no gain in an 8-bit-like output.
    with np.errstate(over="ignore", invalid="ignore"):
        data = np.nan_to_num(
            np.asarray(volume, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0
        )
    positive = data[data > 0]
    if positive.size == 0:
        return np.zeros(data.shape, dtype=np.float32)
    scale = np.float32(np.percentile(positive, percentile))
    del positive
    data /= scale
    return np.clip(data, 0.0, 1.0, out=data)


def coronal_slice(volume: np.ndarray, index: int) -> np.ndarray:
    """The coronal slice ``index`` of a RAS+ volume, oriented like the PNGs.

    Parameters
    ----------
    volume : ndarray of shape (nx, ny, nz)
        A volume whose axes run left-right, posterior-anterior,
        inferior-superior (RAS+, nibabel's canonical orientation).
    index : int
        Index along the second (y, coronal) axis.

    Returns
    -------
    ndarray of shape (nz, nx)
        Rows from superior (top) to inferior, columns along x: the layout of
        the challenge images and of :mod:`blurkit.datasets`.
    """
    return np.ascontiguousarray(volume[:, index, :].T[::-1, :])


def default_coronal_index(affine: np.ndarray, shape: Sequence[int]) -> int:
    """Coronal index of the challenge slice (y = -18 mm) in a RAS+ volume.

    Parameters
    ----------
    affine : ndarray of shape (4, 4)
        Voxel-to-world (mm) affine of the volume, in RAS+ orientation.
    shape : sequence of int
        Shape of the volume.

    Returns
    -------
    int
        :data:`DEFAULT_CORONAL_INDEX` (72) for a volume on the challenge grid;
        for another grid in MNI space, the index whose world y is nearest to
        -18 mm, taken at the centre of the volume.

    Raises
    ------
    ValueError
        If y = -18 mm lies outside the volume.
    """
    centre = (np.asarray(shape[:3], dtype=np.float64) - 1) / 2
    world_centre = affine[:3, :3] @ centre + affine[:3, 3]
    target = np.array([world_centre[0], DEFAULT_CORONAL_Y_MM, world_centre[2], 1.0])
    index = int(np.rint((np.linalg.inv(affine) @ target)[1]))
    if not 0 <= index < shape[1]:
        raise ValueError(
            f"the challenge slice (y = {DEFAULT_CORONAL_Y_MM:g} mm) lies outside "
            f"the volume (coronal index {index}, expected 0..{shape[1] - 1}); "
            "is the volume in MNI space? Choose a slice with --slice"
        )
    return index


def parse_slices(text: str) -> int | slice:
    """Parse a slice choice: ``"72"`` (one index) or ``"60:80"`` (a range).

    Parameters
    ----------
    text : str
        An integer, or ``START:STOP`` or ``START:STOP:STEP`` as in Python
        (``STOP`` excluded; negative indices count from the end).

    Returns
    -------
    int or slice

    Raises
    ------
    ValueError
        If ``text`` is neither.

    Examples
    --------
    >>> from blurkit.io import parse_slices
    >>> parse_slices("72"), parse_slices("60:80:2")
    (72, slice(60, 80, 2))
    """
    parts = text.strip().split(":")
    try:
        numbers = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        numbers = None
    if numbers is None or len(parts) > 3 or (len(parts) == 1 and numbers[0] is None):
        raise ValueError(
            f"slice {text!r}: expected an index such as 72 or a range such as 60:80"
        )
    if len(parts) == 1:
        return numbers[0]
    if len(parts) == 3 and numbers[2] == 0:
        raise ValueError(f"slice {text!r}: the step must not be 0")
    return slice(*numbers)


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def _read_canonical(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a 3-D volume in RAS+ orientation; its data and affine."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    try:
        image = nib.load(path)
        # Drop trailing singleton dimensions (a 4-D file with one volume).
        shape = image.shape
        while len(shape) > 3 and shape[-1] == 1:
            shape = shape[:-1]
        if len(shape) != 3:
            raise BlurkitInputError(
                f"{path}: NIfTI image of shape {image.shape}; expected a 3-D volume"
            )
        n_voxels = math.prod(shape)
        if n_voxels > MAX_VOLUME_VOXELS:
            raise BlurkitInputError(
                f"{path}: NIfTI volume of shape {tuple(shape)} ({n_voxels} voxels); "
                f"expected at most {MAX_VOLUME_VOXELS} voxels"
            )
        if shape != image.shape:
            image = nib.Nifti1Image(
                np.asanyarray(image.dataobj).reshape(shape), image.affine
            )
        image = nib.as_closest_canonical(image)
        data = image.get_fdata(dtype=np.float32)
    except BlurkitInputError:
        raise
    except (ImageFileError, OSError, EOFError, ValueError, zlib.error) as exc:
        # zlib.error: a damaged .nii.gz.
        message = " ".join(str(exc).split())
        raise BlurkitInputError(
            f"{path}: cannot read NIfTI volume ({message}); expected a .nii or "
            ".nii.gz file"
        ) from exc
    return data, image.affine


def _slice_indices(selection: int | slice | None, volume_shape, affine, path):
    n = volume_shape[1]
    if selection is None:
        try:
            return [default_coronal_index(affine, volume_shape)]
        except ValueError as exc:
            raise BlurkitInputError(f"{path}: {exc}") from None
    if isinstance(selection, slice):
        indices = list(range(n))[selection]
        if not indices:
            raise BlurkitInputError(
                f"{path}: slice range {selection.start}:{selection.stop} selects no "
                f"coronal slice; the volume has {n} (indices 0..{n - 1})"
            )
        return indices
    index = int(selection)
    if not -n <= index < n:
        raise BlurkitInputError(
            f"{path}: coronal slice {index} out of range; the volume has {n} "
            f"(indices 0..{n - 1})"
        )
    return [index % n]


def read_nifti_slices(
    path: str | os.PathLike, slices: int | slice | None = None
) -> np.ndarray:
    """Read coronal slices of a NIfTI volume as challenge-like images.

    Parameters
    ----------
    path : str or path-like
        A ``.nii`` or ``.nii.gz`` file holding a 3-D volume (a 4-D file with
        a single volume is accepted).
    slices : int, slice or None, default=None
        Coronal indices (second axis, after reorientation to RAS+): one index,
        a range, or None for the challenge slice (see
        :func:`default_coronal_index`).

    Returns
    -------
    ndarray of shape (n_slices, nz, nx), dtype float32
        Slices oriented as :func:`coronal_slice` does, intensities normalised
        over the whole volume by :func:`normalize_intensity`. For a volume on
        the challenge grid the images are 121 x 121.

    Raises
    ------
    BlurkitInputError
        If the file cannot be read as a 3-D NIfTI volume or a slice is out of
        range; the message names the file.

    Notes
    -----
    Volumes are expected in the challenge geometry (1.5 mm MNI grid,
    121 x 145 x 121); others are read as they are, so their slices have
    other sizes and pixel spacings.
    """
    path = Path(path)
    data, affine = _read_canonical(path)
    indices = _slice_indices(slices, data.shape, affine, path)
    volume = normalize_intensity(data)
    return np.stack([coronal_slice(volume, i) for i in indices])


def read_nifti_slice(path: str | os.PathLike, index: int | None = None) -> np.ndarray:
    """One coronal slice of a NIfTI volume; see :func:`read_nifti_slices`.

    Returns
    -------
    ndarray of shape (nz, nx), dtype float32
    """
    return read_nifti_slices(path, index)[0]


# --------------------------------------------------------------------------- #
# Prediction per volume
# --------------------------------------------------------------------------- #

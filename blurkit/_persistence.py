"""Saving and loading fitted blurkit models (I/O layer)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import joblib

from ._io import BlurkitInputError

__all__ = ["load_model", "save_model"]

_FORMAT = "blurkit-model"
# Bump when a saved model can no longer be read by this code.
_FORMAT_VERSION = 1


def _versions():
    import sklearn

    from . import __version__

    versions = {"blurkit": __version__, "scikit-learn": sklearn.__version__}
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    versions["torch"] = None if torch is None else torch.__version__
    return versions


def save_model(model, path, *, training_summary=None):
    """Save a fitted model with the versions that made it, atomically.

    Parameters
    ----------
    model : fitted estimator
    path : str or Path
        Destination file; its folder must exist.
    training_summary : dict, default=None
        What the model was trained on (images, classes, image sizes);
        defaults to ``model.training_summary_`` when the model has one.

    Notes
    -----
    The file is a joblib pickle. Loading a pickle can run code: load only
    model files you trust (yours, or your team's).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise BlurkitInputError(f"{path}: folder {path.parent} does not exist.")
    if training_summary is None:
        training_summary = getattr(model, "training_summary_", None)
    payload = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "versions": _versions(),
        "training_summary": training_summary,
        "model": model,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        joblib.dump(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(path):
    """Load a model saved by :func:`save_model`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    model : fitted estimator
    info : dict
        ``versions`` (of blurkit, scikit-learn and torch that saved it) and
        ``training_summary``.

    Raises
    ------
    BlurkitInputError
        If the file is missing, is not a blurkit model, or was saved in a
        format this version cannot read.
    """
    path = Path(path)
    if not path.is_file():
        raise BlurkitInputError(f"{path}: model file not found.")
    try:
        payload = joblib.load(path)
    except Exception as exc:
        raise BlurkitInputError(
            f"{path}: not a blurkit model file ({type(exc).__name__})."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise BlurkitInputError(f"{path}: not a blurkit model file.")
    if payload.get("format_version") != _FORMAT_VERSION:
        saved_by = payload.get("versions", {}).get("blurkit", "an unknown version")
        raise BlurkitInputError(
            f"{path}: model saved by blurkit {saved_by} in format "
            f"{payload.get('format_version')}; this blurkit reads format "
            f"{_FORMAT_VERSION}. Retrain it with `blurkit train`."
        )
    info = {k: payload.get(k) for k in ("versions", "training_summary")}
    return payload["model"], info

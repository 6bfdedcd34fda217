"""Saving and loading fitted blurkit models, without running code on load.

A model file is a zip archive holding two or three members:

- ``blurkit-model.json``: the header, readable by any JSON tool. It says
  ``format`` (``"blurkit-model"``), ``format_version``, the versions of
  blurkit, scikit-learn and torch that saved the model and the summary of its
  training data.
- ``model.skops``: the estimator in the `skops <https://skops.readthedocs.io>`_
  format, which stores objects as their attributes (numbers, strings, numpy
  arrays, nested estimators) rather than as pickle instructions.
- ``arrays.npz``, for a model holding a CNN or a lightweight predictor: the
  networks' weights (see :mod:`blurkit.io._nets`) and the arrays of the
  lightweight predictor (see :mod:`blurkit.models._predictor`), whose settings
  are under ``predictor`` in the header. An array is stored once even when
  two of them use it (a CNN's weights are its predictor's). ``blurkit
  predict`` reads the predictor's arrays alone, without importing
  scikit-learn, skops or skorch, unless asked for the blur sigma. Each
  is read as a ``.npy`` whose header must match its data, never unpickled
  (see below).

A model file from a stranger may also be built to exhaust memory (a zip
bomb, or an archive that lies about its sizes). Before anything is read, each
member's name must be one of the three above, and its declared size within
:data:`MAX_MEMBER_BYTES` (1 MB for the header, 64 MB for ``model.skops`` and
for ``arrays.npz``) at a compression ratio of at most
:data:`blurkit.io._zip_limits.MAX_COMPRESSION_RATIO` (200, for members over
1 MB); members are read
in bounded steps that never go past the declared size, whatever the
compressed stream holds. The archives inside (``model.skops`` and
``arrays.npz`` are zip files themselves) are held to the same limits, their
members together to their member's, and each ``.npy`` array's header must
agree with the bytes it comes with; ``model.skops`` is handed to skops only as
a copy rebuilt from those checked members. Anything else is refused as a
damaged file, before scikit-learn or skops is even imported.

Loading a pickle (joblib files included) can run any code that the file's
author chose, so a model file from a stranger would be an attack vector.
skops only rebuilds objects of the types it is told to trust; blurkit trusts
scikit-learn's estimators (skops's defaults) and exactly the types listed in
:data:`TRUSTED_TYPES`, and refuses any file holding other types, naming them.

The file names classes by their qualified path, and these moved when blurkit
0.3.0 laid its modules out in subpackages: files of format 3 (blurkit 0.2.0)
and format 2 (skops, before 0.2.0) are refused with the version that made them
and the advice to retrain, rather than read through shims at the old paths.
Files of format 1 (blurkit 0.1.0 and earlier) were joblib pickles. They are
recognised without unpickling them, and refused with a message saying which
blurkit made them; ``load_model(path, trust_pickle=True)`` loads one that you
trust, so that you can save it again in the safe format.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickletools
import re
import zipfile
import zlib
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import BlurkitInputError, one_line
from ._atomic import atomic_path
from ._builtin import builtin_model_path
from ._nets import nets_to_stand_ins, stand_ins_to_nets
from ._skops import canonical_skops, import_skops_io
from ._zip_limits import (
    check_directory,
    checked_members,
    open_inner,
    read_member,
    read_npy,
)

__all__ = ["TRUSTED_TYPES", "load_model", "load_predictor", "save_model"]

_FORMAT = "blurkit-model"
# Bump when a saved model can no longer be read by this code.
# 1: joblib pickle (blurkit 0.1.0); 2: zip of a JSON header and a skops file
# (0.1.x); 3: the same, plus the lightweight predictor (0.2.0); 4: classes at
# their subpackage paths, and every array (weights, predictor) stored once in
# arrays.npz (0.3.0).
_FORMAT_VERSION = 4
_HEADER_MEMBER = "blurkit-model.json"
_MODEL_MEMBER = "model.skops"
_ARRAYS_MEMBER = "arrays.npz"
# A fixed time stamp, here and in model.skops (see `canonical_skops`), keeps
# the bytes of a model file reproducible: two fits of the same model give
# the same file, up to the timings some models record (a model search's
# cv_results_ and refit_time_, a network's epoch durations in its history).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Limits against hostile files. blurkit's own are far below them: the default
# model has a 1 KB header, a 4 MB model.skops of about 1,000 members (deflated
# 12 to 1) and a 2 KB arrays.npz.
_MB = 1 << 20
MAX_MEMBER_BYTES = {
    _HEADER_MEMBER: 1 * _MB,
    _MODEL_MEMBER: 64 * _MB,
    _ARRAYS_MEMBER: 64 * _MB,
}
"""Largest unpacked size of each member of a model file, in bytes.

The members of the archives inside ``model.skops`` and ``arrays.npz`` may not
together exceed the limit of the member that holds them."""
# What skops writes (schema.json, then one file per array, sparse matrix or
# bytes object, named by an id or a uuid), and what numpy.savez writes.
_SKOPS_NAME = re.compile(r"[A-Za-z0-9_-]+\.(?:json|npy|npz|bin)")
_NPY_NAME = re.compile(r"[A-Za-z0-9_-]+\.npy")


TRUSTED_TYPES = (
    # blurkit's estimators and the scorer its model search uses.
    "blurkit.models._augment.AugmentedClassifier",
    "blurkit.models._augment.DegradationAugmenter",
    "blurkit.models._detector.BlurDetector",
    "blurkit.models._selection.degraded_accuracy",
    "blurkit.models._selection.simplest_family_within_one_se",
    "blurkit.models._families.log_odds",
    "blurkit.models._sigma.BlurSigmaRegressor",
    "blurkit.features._transformers.FFTSharpness",
    "blurkit.features._transformers.LaplacianVariance",
    "blurkit.features._transformers.SharpnessFeatures",
    # Stand-in for a CNN: parameters and keys of its weights (see SavedNet).
    "blurkit.io._nets.SavedNet",
    # scikit-learn types that are not estimators (estimators are trusted by
    # skops already): the trees of HistGradientBoostingRegressor and the
    # folds of the model search and of the hybrid's stacking.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    # The hybrid's named_estimators_, the scorers of a search scored by the
    # estimator's own score or by a metric's name.
    "sklearn.utils._bunch.Bunch",
    "sklearn.metrics._scorer._PassthroughScorer",
    "sklearn.metrics._scorer._Scorer",
    "sklearn.metrics._classification.accuracy_score",
    "sklearn.metrics._classification.balanced_accuracy_score",
    "sklearn.metrics._ranking.roc_auc_score",
    # Classes named by a BlurNetClassifier's parameters (only referred to:
    # nothing of them is called on load but the network's constructor) and
    # its default validation split.
    "blurkit.models._blurnet.BlurNet",
    "torch.nn.modules.loss.CrossEntropyLoss",
    "torch.optim.adamw.AdamW",
    "torch.utils.data.dataloader.DataLoader",
    "skorch.dataset.Dataset",
    "skorch.dataset.ValidSplit",
)
"""Types, beyond skops's defaults, that a blurkit model file may hold."""


def _versions() -> dict[str, str | None]:
    import sklearn

    from .. import __version__

    # torch's version from its metadata: importing torch takes 2 s, and a
    # features model needs no torch.
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        torch_version = None
    return {
        "blurkit": __version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch_version,
    }


# --------------------------------------------------------------------------- #
# Saving
# --------------------------------------------------------------------------- #


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays made JSON-serialisable."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _zip_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def save_model(
    model: Any, path: str | os.PathLike, *, training_summary: dict | None = None
) -> None:
    """Save a fitted model with the versions that made it, atomically.

    The file is a zip archive of a JSON header and the model in the skops
    format (see the module docstring): loading it runs no code from the file.

    Parameters
    ----------
    model : fitted estimator
        A :class:`~blurkit.BlurDetector` or any estimator built from
        scikit-learn's and blurkit's estimators, including
        :class:`~blurkit.BlurNetClassifier` and the hybrid.
    path : str or path-like
        Destination file; its folder must exist. An existing file is replaced
        only once the new one is complete.
    training_summary : dict, default=None
        What the model was trained on (images, classes, image sizes), stored
        with the model and, in JSON types, in the header; defaults to
        ``model.training_summary_`` when the model has one.

    Raises
    ------
    ValueError
        If the model holds an object that the safe format cannot store or
        that :func:`load_model` would not trust (a custom scorer or
        estimator, a torch module outside a BlurNetClassifier); the message
        names its type. Nothing is written.
    BlurkitInputError
        If the folder is missing or the file cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from blurkit import LaplacianVariance, load_model, save_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.blurkit")
    >>> save_model(LaplacianVariance().fit(np.zeros((2, 16, 16))), path)
    >>> model, info = load_model(path)
    >>> type(model).__name__, info["format_version"]
    ('LaplacianVariance', 4)
    """
    sio = import_skops_io()

    path = Path(path)
    if training_summary is None:
        training_summary = getattr(model, "training_summary_", None)
    arrays = _ArrayStore()
    from ..models import export_predictor

    exported = export_predictor(model)
    if exported is not None:
        spec, predictor_arrays = exported
        spec["arrays"] = {
            name: arrays.add(array) for name, array in predictor_arrays.items()
        }
    # The summary goes in the skops part too, where its types survive (JSON
    # would turn the integer class labels into strings).
    try:
        stored = {
            "model": nets_to_stand_ins(model, arrays.add),
            "training_summary": training_summary,
        }
        data = canonical_skops(sio.dumps(stored), _ZIP_DATE)
    except Exception as exc:
        raise ValueError(
            f"{path}: cannot save this model in blurkit's safe format "
            f"({type(exc).__name__}: {one_line(exc)})"
        ) from exc
    _check_trusted(
        sio.get_untrusted_types(data=data),
        what=f"{path}: cannot save",
        error=ValueError,
    )
    header = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "versions": _versions(),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "training_summary": _jsonable(training_summary),
    }
    if exported is not None:
        header["predictor"] = spec
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _zip_member(
            archive,
            _HEADER_MEMBER,
            (json.dumps(header, indent=2, sort_keys=True) + "\n").encode("utf-8"),
        )
        _zip_member(archive, _MODEL_MEMBER, data)
        if arrays:
            _zip_member(archive, _ARRAYS_MEMBER, arrays.to_npz())
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


class _ArrayStore(dict):
    """Arrays by key, each distinct array once: equal arrays share a key."""

    def add(self, array: np.ndarray) -> str:
        array = np.ascontiguousarray(array)
        digest = hashlib.sha256(
            f"{array.dtype.str}{array.shape}".encode() + array.tobytes()
        ).hexdigest()[:16]
        self.setdefault(digest, array)
        return digest

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, **self)
        return buffer.getvalue()


# --------------------------------------------------------------------------- #
# Reading archives within limits
# --------------------------------------------------------------------------- #


def _rebuild_skops(data: bytes, damaged: str) -> bytes:
    """``model.skops`` rebuilt from its members, each checked and read in steps.

    skops reads its members whole (see :func:`read_member`): it is given a
    copy holding exactly the checked bytes, stored uncompressed.
    """
    damaged = f"{damaged} ({_MODEL_MEMBER})"
    limit = MAX_MEMBER_BYTES[_MODEL_MEMBER]
    rebuilt = io.BytesIO()
    with (
        open_inner(data, damaged) as inner,
        zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_STORED) as out,
    ):
        members = checked_members(
            inner,
            damaged,
            allowed=_SKOPS_NAME.fullmatch,
            expected="schema.json and .npy, .npz or .bin files",
            limit=lambda _: limit,
        )
        for info in members:
            out.writestr(info.filename, read_member(inner, info))
    return rebuilt.getvalue()


def _read_npz(data: bytes, damaged: str, names=None) -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` (only ``names`` when given), checked, without pickles.

    Raises BlurkitInputError for an archive beyond the limits, KeyError for
    a missing array and ValueError (or zipfile's errors) for a damaged one.
    """
    damaged = f"{damaged} ({_ARRAYS_MEMBER})"
    limit = MAX_MEMBER_BYTES[_ARRAYS_MEMBER]
    with open_inner(data, damaged) as npz:
        members = {
            info.filename[: -len(".npy")]: info
            for info in checked_members(
                npz,
                damaged,
                allowed=_NPY_NAME.fullmatch,
                expected=".npy files",
                limit=lambda _: limit,
            )
        }
        arrays = {}
        for name in members if names is None else names:
            try:
                arrays[name] = read_npy(read_member(npz, members[name]))
            except ValueError as exc:
                raise ValueError(f"{name}.npy: {exc}") from exc
        return arrays


def _check_trusted(untrusted: list[str], *, what: str, error=BlurkitInputError):
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise error(
            f"{what}: the model holds types that blurkit does not trust: "
            f"{', '.join(unknown)}; a blurkit model holds only scikit-learn's "
            "and blurkit's estimators"
        )


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


# Pickle opcodes that push a string or an integer (not memo or frame sizes).
_PICKLE_VALUE_OPS = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "BININT",
    "BININT1",
    "BININT2",
    "INT",
    "LONG1",
}


def _pickle_header(path: Path) -> dict | None:
    """The header of a format-1 model (a joblib pickle), read without unpickling.

    ``pickletools`` only parses the opcodes; nothing is built or run. Returns
    None when the file is not a pickle starting with blurkit's header.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if not head.startswith(b"\x80"):
        return None
    values: list[Any] = []
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(head)):
            if opcode.name in _PICKLE_VALUE_OPS:
                values.append(arg)
            if len(values) > 64:
                break
    except Exception:  # noqa: S110 - a cut-off or odd stream ends the scan
        pass
    if values[:2] != ["format", _FORMAT]:
        return {}
    header: dict[str, Any] = {}
    for key, offset in (("format_version", 1), ("blurkit", 1)):
        if key in values[:-1]:
            header[key] = values[values.index(key) + offset]
    return header


def _load_pickle(path: Path) -> tuple[Any, dict]:
    import joblib

    try:
        payload = joblib.load(path)
    except Exception as exc:
        raise BlurkitInputError(
            f"{path}: cannot read this pickle ({type(exc).__name__}: {one_line(exc)})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise BlurkitInputError(f"{path}: a pickle, but not a blurkit model file")
    info = {
        "format_version": payload.get("format_version"),
        "versions": payload.get("versions"),
        "training_summary": payload.get("training_summary"),
    }
    return payload["model"], info


# What reading a damaged archive raises: zipfile's errors; ValueError for
# JSON and UTF-8 decoding errors; EOFError and zlib.error for a cut or
# damaged compressed stream; RuntimeError for an encrypted member, an unknown
# compression method (NotImplementedError) and a JSON nested too deep
# (RecursionError).
_DAMAGED_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ValueError,
    EOFError,
    RuntimeError,
    zlib.error,
)


def _damaged(path: Path) -> str:
    return f"{path}: damaged blurkit model file"


def _damaged_error(path: Path, exc: BaseException) -> BlurkitInputError:
    return BlurkitInputError(
        f"{_damaged(path)} ({type(exc).__name__}: {one_line(exc)})"
    )


def _read_archive(
    path: Path, members: dict[str, bool]
) -> tuple[dict, dict[str, bytes | None]]:
    """Header and the bytes of some members of a model file, within limits.

    ``members`` maps each member to read to whether it is required. Only
    those are read, each in bounded steps after its declared size and
    compression ratio are checked (see :data:`MAX_MEMBER_BYTES`). A missing
    member that is not required is None; any other problem, an unexpected
    member name included, is a BlurkitInputError.
    """
    not_ours = (
        f"{path}: not a blurkit model file; expected a file written by "
        "`blurkit train` or blurkit.save_model"
    )
    damaged = _damaged(path)
    try:
        with open(path, "rb") as f:
            check_directory(f, damaged)
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _HEADER_MEMBER not in names:
                if "schema.json" in names:
                    raise BlurkitInputError(
                        f"{path}: a skops file, not a blurkit model file; "
                        "blurkit reads files written by blurkit.save_model"
                    )
                raise BlurkitInputError(
                    f"{not_ours} (a zip archive without {_HEADER_MEMBER})"
                )
            infos = {
                info.filename: info
                for info in checked_members(
                    archive,
                    damaged,
                    allowed=MAX_MEMBER_BYTES.__contains__,
                    expected=", ".join(MAX_MEMBER_BYTES),
                    limit=lambda name: MAX_MEMBER_BYTES.get(
                        name, sum(MAX_MEMBER_BYTES.values())
                    ),
                )
            }
            header = json.loads(
                read_member(archive, infos[_HEADER_MEMBER]).decode("utf-8")
            )
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise BlurkitInputError(
                    f"{not_ours} ({_HEADER_MEMBER} does not say format {_FORMAT!r})"
                )
            _check_format_version(path, header)
            data = {}
            for member, required in members.items():
                if member in infos:
                    data[member] = read_member(archive, infos[member])
                elif required:
                    raise BlurkitInputError(f"{damaged}: {member} is missing")
                else:
                    data[member] = None
    except BlurkitInputError:
        raise
    except _DAMAGED_ERRORS as exc:
        raise _damaged_error(path, exc) from exc
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot read ({one_line(exc)})") from exc
    return header, data


def _check_format_version(path: Path, header: dict) -> None:
    version = header.get("format_version")
    if version == _FORMAT_VERSION:
        return
    versions = header.get("versions")
    saved_by = versions.get("blurkit") if isinstance(versions, dict) else None
    from .. import __version__

    made = (
        f"made by blurkit {saved_by or '(unknown version)'} in model format {version}"
    )
    if isinstance(version, int) and version > _FORMAT_VERSION:
        advice = "upgrade blurkit to load it"
    else:
        advice = "retrain it with `blurkit train`"
    raise BlurkitInputError(
        f"{path}: {made}; this blurkit ({__version__}) reads model format "
        f"{_FORMAT_VERSION} only: {advice}"
    )


def load_model(
    path: str | os.PathLike | None = None, *, trust_pickle: bool = False
) -> tuple[Any, dict]:
    """Load a model saved by :func:`save_model`, running no code from the file.

    Parameters
    ----------
    path : str, path-like or None, default=None
        A model file written by :func:`save_model` or ``blurkit train``;
        None loads the built-in model, trained on demo slices (see
        :func:`blurkit.io.builtin_model_path`).
    trust_pickle : bool, default=False
        Also load a model of format 1 (a joblib pickle, written by blurkit
        0.1.0). **Loading a pickle runs code chosen by whoever wrote the
        file**: only do it for a file you made, then save the model again
        with :func:`save_model` to get a safe file.

    Returns
    -------
    model : fitted estimator
    info : dict
        ``format_version``, ``versions`` (of blurkit, scikit-learn and torch
        that saved the model) and ``training_summary``.

    Raises
    ------
    BlurkitInputError
        With a one-line message naming the file, if it is missing, is not a
        blurkit model, is damaged, was saved in another format version (the
        message says which blurkit made it and what to do), or holds types
        that blurkit does not trust (the message names them).

    See Also
    --------
    TRUSTED_TYPES : the types, beyond scikit-learn's, that a file may hold.
    """
    path = builtin_model_path() if path is None else Path(path)
    if not path.exists():
        raise BlurkitInputError(f"{path}: no such file; expected a blurkit model file")
    if not path.is_file():
        raise BlurkitInputError(f"{path}: not a regular file; expected a model file")
    try:
        is_zip = zipfile.is_zipfile(path)
        old = None if is_zip else _pickle_header(path)
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot read ({one_line(exc)})") from exc
    if old is not None:
        if trust_pickle:
            return _load_pickle(path)
        if not old:
            raise BlurkitInputError(
                f"{path}: a pickle file, not a blurkit model file; blurkit does not "
                "load pickles, since loading one can run code"
            )
        raise BlurkitInputError(
            f"{path}: made by blurkit {old.get('blurkit', '0.1.0 or earlier')} in "
            f"model format {old.get('format_version', 1)} (a pickle, which can run "
            f"code when loaded); this blurkit reads model format {_FORMAT_VERSION} "
            "only: retrain it with `blurkit train`, or if you made the file "
            "yourself, convert it with blurkit.load_model(path, trust_pickle=True) "
            "then blurkit.save_model"
        )
    if not is_zip:
        raise BlurkitInputError(
            f"{path}: not a blurkit model file; expected a file written by "
            "`blurkit train` or blurkit.save_model"
        )
    header, members = _read_archive(path, {_MODEL_MEMBER: True, _ARRAYS_MEMBER: False})
    damaged = _damaged(path)
    # Every archive is checked before skops is imported (and with it
    # scikit-learn and torch: 300 MB).
    try:
        data = _rebuild_skops(members[_MODEL_MEMBER], damaged)
        arrays = (
            {}
            if members[_ARRAYS_MEMBER] is None
            else _read_npz(members[_ARRAYS_MEMBER], damaged)
        )
    except BlurkitInputError:
        raise
    except _DAMAGED_ERRORS as exc:
        raise _damaged_error(path, exc) from exc
    del members
    sio = import_skops_io()

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise _damaged_error(path, exc) from exc
    _check_trusted(untrusted, what=f"{path}: refusing to load")
    try:
        stored = sio.loads(data, trusted=list(TRUSTED_TYPES))
        model = stand_ins_to_nets(stored["model"], arrays)
        training_summary = stored.get("training_summary")
    except Exception as exc:
        raise _damaged_error(path, exc) from exc
    info = {
        "format_version": header["format_version"],
        "versions": header.get("versions"),
        "training_summary": training_summary,
    }
    return model, info


def load_predictor(path: str | os.PathLike | None = None):
    """The lightweight predictor stored in a model file, or None.

    Reads the header and the predictor's arrays only: neither scikit-learn nor
    skops is imported, and no object is unpickled. The predictor gives the
    same probabilities as the model :func:`load_model` returns (see
    :mod:`blurkit.models._predictor`); it has ``predict_proba``, ``predict``,
    ``classes_`` and ``pixel_spacing``, but no blur-sigma estimate.

    Parameters
    ----------
    path : str, path-like or None, default=None
        A model file written by :func:`save_model` or ``blurkit train``;
        None reads the built-in model's.

    Returns
    -------
    predictor or None
        None when the file holds no lightweight predictor (a hybrid or
        another model; a file that is not a blurkit zip archive, which
        :func:`load_model` then explains).

    Raises
    ------
    BlurkitInputError
        If the file is a blurkit model file of another format version, or is
        damaged.
    """
    from ..models import make_predictor

    path = builtin_model_path() if path is None else Path(path)
    try:
        if not path.is_file() or not zipfile.is_zipfile(path):
            return None
    except OSError:
        return None
    # The header and arrays.npz only: the skops model is not even read.
    header, members = _read_archive(path, {_ARRAYS_MEMBER: False})
    spec = header.get("predictor")
    if spec is None:
        return None
    try:
        data = members[_ARRAYS_MEMBER]
        if data is None:
            raise KeyError(f"{_ARRAYS_MEMBER} is missing")
        keys = spec["arrays"]
        stored = _read_npz(data, _damaged(path), sorted(set(keys.values())))
        return make_predictor(spec, {name: stored[key] for name, key in keys.items()})
    except BlurkitInputError:
        raise
    except (*_DAMAGED_ERRORS, KeyError, TypeError, OSError) as exc:
        raise BlurkitInputError(
            f"{_damaged(path)} ({_ARRAYS_MEMBER}: {one_line(exc)})"
        ) from exc

"""skops, imported without torch, and its files made reproducible.

:func:`import_skops_io` imports ``skops.io`` without importing torch on the
way. skops lists the types it trusts at import time with scikit-learn's
``all_estimators``, which imports every subpackage of scikit-learn to look
for estimators: among them ``sklearn.externals.array_api_compat.torch``,
scikit-learn's vendored array-API wrapper for torch, and so torch itself.
That took 1.8 s of a 2.6 s import here, more than a tenth of ``blurkit
train`` with a features model, which needs no torch. No estimator lives in
that package (``all_estimators`` skips ``externals``), and ``pkgutil`` skips
a package that fails to import; so, while skops.io is first imported, torch
is hidden from the importing thread, when nothing has loaded it yet. The
list of trusted types is the same (a test compares it).

:func:`canonical_skops` makes the bytes of a skops file depend on the model
only: skops names each object and array file by the object's ``id()``, and
stamps its members with the time of writing.
"""

from __future__ import annotations

import importlib.abc
import io
import json
import sys
import threading
import zipfile
from pathlib import PurePosixPath

__all__ = ["canonical_skops", "import_skops_io"]

_SCHEMA = "schema.json"


class _HiddenModule(importlib.abc.MetaPathFinder):
    """Fail imports of ``name`` and its submodules, from one thread only."""

    def __init__(self, name: str):
        self.name = name
        self.thread = threading.get_ident()

    def find_spec(self, fullname, path=None, target=None):
        if threading.get_ident() == self.thread and (
            fullname == self.name or fullname.startswith(self.name + ".")
        ):
            raise ModuleNotFoundError(
                f"{fullname} is hidden while skops.io is imported", name=fullname
            )
        return None


def import_skops_io():
    """Return ``skops.io``, imported without torch unless torch is loaded."""
    if "skops.io" in sys.modules or "torch" in sys.modules:
        import skops.io

        return skops.io
    hidden = _HiddenModule("torch")
    sys.meta_path.insert(0, hidden)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(hidden)
    return skops.io


def canonical_skops(data: bytes, date_time=(1980, 1, 1, 0, 0, 0)) -> bytes:
    """The skops file ``data`` with its ids, file names and times made reproducible.

    skops gives every node of its schema an ``__id__``, the ``id()`` of the
    object it stores, which tells objects stored once and referred to twice,
    and names every array file after such an id. Both are renumbered 0, 1,
    2... in the order the schema first meets them, which keeps every shared
    reference; every member is stamped ``date_time``. Saving the same model
    twice, in two processes, then gives the same bytes, and skops loads the
    result as it loads ``data``.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read(_SCHEMA))
        ids: dict = {}
        files: dict[str, str] = {}

        def renumber(node):
            if isinstance(node, dict):
                # A node names its __loader__; a stored dict's keys sit in
                # its node's "content", each holding a node (a dict), so
                # "file" or "__id__" keys of user data are never taken for
                # skops's.
                if isinstance(node.get("__loader__"), str):
                    if isinstance(node.get("__id__"), int):
                        node["__id__"] = ids.setdefault(node["__id__"], len(ids))
                    name = node.get("file")
                    if isinstance(name, str):
                        suffix = PurePosixPath(name).suffix
                        node["file"] = files.setdefault(name, f"{len(files)}{suffix}")
                for value in node.values():
                    renumber(value)
            elif isinstance(node, list):
                for value in node:
                    renumber(value)

        renumber(schema)
        members = {_SCHEMA: json.dumps(schema).encode("utf-8")}
        for info in archive.infolist():
            if info.filename != _SCHEMA:
                # A file the schema does not name keeps its own name.
                name = files.get(info.filename, info.filename)
                members[name] = archive.read(info)
        compression = archive.infolist()[0].compress_type
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name in [_SCHEMA, *sorted(set(members) - {_SCHEMA})]:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            out.writestr(info, members[name])
    return buffer.getvalue()

"""Import ``skops.io`` without importing torch on the way.

skops lists the types it trusts at import time with scikit-learn's
``all_estimators``, which imports every subpackage of scikit-learn to look
for estimators: among them ``sklearn.externals.array_api_compat.torch``,
scikit-learn's vendored array-API wrapper for torch, and so torch itself.
That took 1.8 s of a 2.6 s import here, more than a tenth of ``blurkit
train`` with a features model, which needs no torch. No estimator lives in
that package (``all_estimators`` skips ``externals``), and ``pkgutil`` skips
a package that fails to import; so, while skops.io is first imported, torch
is hidden from the importing thread, when nothing has loaded it yet. The
list of trusted types is the same (a test compares it).
"""

from __future__ import annotations

import importlib.abc
import sys
import threading

__all__ = ["import_skops_io"]


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

"""The built-in model: a model file shipped inside the package.

It is trained on demo slices alone (640 of them, made as ``data/train``'s
80 are, from nilearn's MNI152 template, by ``blurkit.datasets``) and their
augmentation, so anyone can rebuild it:
``python -m blurkit.datasets --builtin-model PATH`` runs the recipe
(:func:`blurkit.datasets.make_builtin_model`), and a test checks that the
shipped file predicts what the recipe does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["BUILTIN_FAMILY", "builtin_model_path"]

BUILTIN_FAMILY = "features"
"""Model family of the built-in model: the default of ``blurkit train``."""


def builtin_model_path() -> Path:
    """Where the built-in model file lies in the installed package.

    Returns
    -------
    Path
        ``blurkit/io/data/builtin.blurkit``, a regular model file (what
        :func:`blurkit.load_model` reads when given no path).
    """
    return Path(str(resources.files("blurkit.io").joinpath("data", "builtin.blurkit")))

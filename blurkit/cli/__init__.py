"""The ``blurkit`` command: argument parsing (``_parser``) and commands.

Thin: each command parses its arguments and calls :mod:`blurkit.workflow`,
:mod:`blurkit.io` or :mod:`blurkit.report`. May import anything below it.
"""

from ._commands import main, run

__all__ = ["main", "run"]

"""The ``blurkit`` command: argument parsing (``_parser``) and commands.

Thin: each command parses its arguments and calls :mod:`blurkit.workflow`,
:mod:`blurkit.io` or :mod:`blurkit.report`. May import anything below it.
"""

# Before anything imports numpy: native thread pools and the allocator.
from .._process import configure_command_process

configure_command_process()

from ._commands import main, run  # noqa: E402

__all__ = ["main", "run"]

"""``python -m blurkit.cli``: the ``blurkit`` command, as ``python -m blurkit``."""

import sys

from ._commands import main

if __name__ == "__main__":
    sys.exit(main())

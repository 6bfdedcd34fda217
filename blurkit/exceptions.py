"""Exceptions that blurkit raises on purpose."""

__all__ = ["BlurkitInputError"]


class BlurkitInputError(ValueError):
    """A file given to blurkit cannot be used: missing, unreadable or malformed.

    The message is a single line naming the file (``path:line`` for TSV files)
    and what was expected.
    """


def one_line(text: object) -> str:
    """``text`` on one line: runs of white space, line breaks included, as one."""
    return " ".join(str(text).split())

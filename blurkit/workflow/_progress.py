"""Progress messages of long work: on stderr (or a given stream), never stdout."""

from __future__ import annotations

__all__ = ["say"]


def say(message: str, stream) -> None:
    """Print one line of progress to ``stream``, unless it is None."""
    if stream is not None:
        print(message, file=stream, flush=True)

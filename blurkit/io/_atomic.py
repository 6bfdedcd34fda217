"""Atomic writes: a failed run never damages what the user points at.

Every blurkit writer goes through :func:`atomic_path`: it writes a temporary
file in the destination folder and renames it over the destination, so a
failed write never leaves a partial file behind nor damages an existing one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..exceptions import BlurkitInputError, one_line

__all__ = ["atomic_path", "check_writable"]


def _check_destination(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        if parent.exists():
            raise BlurkitInputError(
                f"{path}: {parent} is a file, not a folder; expected a path "
                "in an existing folder"
            )
        raise BlurkitInputError(
            f"{path}: folder {parent} does not exist; create it first"
        )
    if path.is_dir():
        raise BlurkitInputError(f"{path}: is a folder; expected a file path")


def _is_special_file(path: Path) -> bool:
    """Whether ``path`` is a device, pipe or socket (``/dev/null``, a FIFO).

    Such a destination is written in place: renaming a file onto it would
    replace it (turn ``/dev/null`` into a plain file), and nothing on it can
    be half-overwritten anyway.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(path: str | os.PathLike) -> None:
    """Check that a file can be written at ``path``, before long work.

    Creates and removes an empty temporary file in the destination folder,
    which also catches read-only file systems and full quotas that
    permission bits do not show. ``path`` itself is not touched.

    Parameters
    ----------
    path : str or path-like
        Where an output will be written (atomically, see
        :func:`write_predictions`).

    Raises
    ------
    BlurkitInputError
        If the folder is missing, is a file, ``path`` is a folder, or the
        folder cannot be written; the message names the path.
    """
    path = Path(path)
    _check_destination(path)
    if _is_special_file(path):
        if not os.access(path, os.W_OK):
            raise BlurkitInputError(f"{path}: cannot write (permission denied)")
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot write ({one_line(exc)})") from exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    The temporary file is created (empty, with the permissions a new file gets
    from the umask) in the destination folder, so the final ``os.replace`` is
    an atomic rename: readers see either the old file or the complete new one.
    If the body or the rename fails, the temporary file is removed and an
    existing ``path`` is left untouched. OS errors are re-raised as
    :class:`BlurkitInputError`. Missing parent folders are not created. A
    device, pipe or socket (``/dev/null``, ``/dev/stdout``, a FIFO) is
    yielded itself and written in place: it cannot be replaced.
    """
    path = Path(path)
    parent = path.parent
    _check_destination(path)
    if _is_special_file(path):
        try:
            yield path
        except OSError as exc:
            raise BlurkitInputError(f"{path}: cannot write ({one_line(exc)})") from exc
        return
    tmp = None
    try:
        for _ in range(100):
            candidate = parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            os.close(fd)
            tmp = candidate
            break
        else:  # pragma: no cover - 100 random name clashes in a row
            raise FileExistsError(f"no free temporary name in {parent}")
        yield tmp
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot write ({one_line(exc)})") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()

"""Atomic writes: a failed run never damages what the user points at.

Every blurkit writer goes through :func:`atomic_path`: it writes a temporary
file in the destination folder and renames it over the destination, so a
failed write never leaves a partial file behind nor damages an existing one.

Links are followed, never replaced:

- a symbolic link (or a chain of them) to a file: the file it finally points
  at is written, atomically, through a temporary file in *that file's*
  folder; the link stays as it was;
- a dangling link: its target is created, as ``echo > link`` would do,
  provided the target's folder exists;
- a device, pipe or socket, reached directly or through links (a FIFO,
  ``/dev/null``): written in place, since renaming onto it would replace it;
- a file descriptor's name (``/dev/stdout``, ``/dev/fd/N``, anything under
  ``/proc``): written in place, whatever it is open on, since it names an
  open descriptor rather than a place in a folder.
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

# As Linux: more links than this in a chain is a loop.
_MAX_LINKS = 40


def _describe(path: Path, target: Path) -> str:
    """``path``, with the file it points at when it is a link."""
    return f"{path} (link to {target})" if path.is_symlink() else str(path)


def _check_destination(path: Path, target: Path) -> None:
    parent = target.parent
    if not parent.is_dir():
        if parent.exists():
            raise BlurkitInputError(
                f"{_describe(path, target)}: {parent} is a file, not a folder; "
                "expected a path in an existing folder"
            )
        raise BlurkitInputError(
            f"{_describe(path, target)}: folder {parent} does not exist; "
            "create it first"
        )
    if target.is_dir():
        raise BlurkitInputError(
            f"{_describe(path, target)}: is a folder; expected a file path"
        )


def _is_special_file(path: Path) -> bool:
    """Whether ``path`` is, or links to, a device, pipe or socket.

    Such a destination is written in place: renaming a file onto it would
    replace it (turn ``/dev/null`` into a plain file), and nothing on it can
    be half-overwritten anyway. ``os.stat`` follows links, so a link to a
    FIFO counts.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _resolve(path: Path) -> Path | None:
    """The file that ``path`` finally names, following every link; or None.

    None means "write ``path`` in place": it is (or goes through) a name
    under ``/proc`` (``/dev/stdout`` -> ``/proc/self/fd/1``), a file
    descriptor whose target cannot be renamed onto. A dangling link resolves
    to the missing file it points at.

    Raises
    ------
    BlurkitInputError
        For a loop of links, naming ``path``.
    """
    current = Path(os.path.abspath(path))
    for _ in range(_MAX_LINKS):
        # The folders on the way may be links too (/dev/fd -> /proc/self/fd).
        current = Path(os.path.realpath(current.parent)) / current.name
        if current.parts[1:2] == ("proc",):
            return None
        if not current.is_symlink():
            return current
        current = current.parent / os.readlink(current)
    raise BlurkitInputError(
        f"{path}: cannot write (more than {_MAX_LINKS} symbolic links in a row: "
        "a loop?); expected a file or a link to one"
    )


def check_writable(path: str | os.PathLike) -> None:
    """Check that a file can be written at ``path``, before long work.

    Creates and removes an empty temporary file in the destination folder
    (the folder of the file ``path`` links to, for a link), which also
    catches read-only file systems and full quotas that permission bits do
    not show. ``path`` itself is not touched.

    Parameters
    ----------
    path : str or path-like
        Where an output will be written (atomically, see
        :func:`atomic_path`).

    Raises
    ------
    BlurkitInputError
        If the folder is missing, is a file, ``path`` is a folder, a loop of
        links, or the folder cannot be written; the message names the path.
    """
    path = Path(path)
    target = None if _is_special_file(path) else _resolve(path)
    if target is None:
        if not os.access(path, os.W_OK):
            reason = "permission denied" if os.path.exists(path) else "no such file"
            raise BlurkitInputError(f"{path}: cannot write ({reason})")
        return
    _check_destination(path, target)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise BlurkitInputError(
            f"{_describe(path, target)}: cannot write ({one_line(exc)})"
        ) from exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    The temporary file is created (empty, with the permissions a new file gets
    from the umask) in the destination folder, so the final ``os.replace`` is
    an atomic rename: readers see either the old file or the complete new one.
    If the body or the rename fails, the temporary file is removed and an
    existing ``path`` is left untouched. OS errors are re-raised as
    :class:`BlurkitInputError`. Missing parent folders are not created.

    When ``path`` is a symbolic link (or a chain of them), the file it finally
    points at is the destination: the temporary file is made beside it and
    renamed onto it, and the link stays. A dangling link's target is created.
    A device, pipe or socket (``/dev/null``, a FIFO), directly or through
    links, and a descriptor's name (``/dev/stdout``, anything under
    ``/proc``) are yielded themselves and written in place: they cannot be
    replaced.
    """
    path = Path(path)
    target = None if _is_special_file(path) else _resolve(path)
    if target is None:
        try:
            yield path
        except OSError as exc:
            raise BlurkitInputError(f"{path}: cannot write ({one_line(exc)})") from exc
        return
    _check_destination(path, target)
    parent = target.parent
    tmp = None
    try:
        for _ in range(100):
            candidate = parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
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
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise BlurkitInputError(
            f"{_describe(path, target)}: cannot write ({one_line(exc)})"
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()

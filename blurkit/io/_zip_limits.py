"""Reading zip archives from strangers, within limits.

A zip archive can be built to exhaust memory: a zip bomb (a member that
inflates a thousandfold), a member that lies about its size, a central
directory of millions of entries, an ``.npy`` header declaring terabytes.
These functions check what can be checked before anything is inflated
(the directory's size, each member's name, declared size and compression
ratio), then read members in bounded steps that stop at the declared size.
Model files (:mod:`blurkit.io._model_files`) are read through them.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zipfile

import numpy as np

from ..exceptions import BlurkitInputError

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "check_directory",
    "checked_members",
    "open_inner",
    "read_member",
    "read_npy",
]

_MB = 1 << 20
MAX_COMPRESSION_RATIO = 200
"""Largest ratio of unpacked to packed size of a member over 1 MB (deflate
reaches about 1,000 on zeros; blurkit's files stay under 20)."""
_RATIO_FLOOR = 1 * _MB
# Members of an inner archive (skops writes one per array), and the bytes
# per member allowed in a central directory, which zipfile parses whole.
_MAX_INNER_MEMBERS = 20_000
_MAX_DIRECTORY_ENTRY = 512
_READ_STEP = 1 * _MB
# End of central directory record: signature, 4 counts, size, offset, comment.
_END_RECORD = struct.Struct("<4s4H2LH")
# The end record, and the comment of up to 64 KB that may follow it.
_TAIL_BYTES = (1 << 16) + _END_RECORD.size


def check_directory(stream, damaged: str) -> None:
    """Refuse a zip whose central directory is too large to parse cheaply.

    ``zipfile`` builds one object per member as it opens an archive, before
    any of them can be looked at: a directory of millions of tiny entries
    would cost gigabytes. Its size is read from the end record first, in
    the last 64 KB of ``stream`` (a seekable binary file); a ZIP64
    directory, which blurkit never writes, is refused with it.
    """
    stream.seek(max(0, stream.seek(0, os.SEEK_END) - _TAIL_BYTES))
    tail = stream.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END_RECORD.size:
        raise zipfile.BadZipFile("File is not a zip file")
    entries, size = _END_RECORD.unpack_from(tail, at)[4:6]
    if entries > _MAX_INNER_MEMBERS or size > _MAX_INNER_MEMBERS * _MAX_DIRECTORY_ENTRY:
        raise BlurkitInputError(
            f"{damaged}: {entries} members in a {size}-byte directory; expected "
            f"at most {_MAX_INNER_MEMBERS}"
        )


def checked_members(
    archive: zipfile.ZipFile, damaged: str, *, allowed, expected: str, limit
) -> list[zipfile.ZipInfo]:
    """The members of ``archive``, once each is known to be safe to read.

    ``allowed(name)`` says whether a member name is ``expected`` (which
    the message for an unexpected one states), ``limit(name)``
    its largest unpacked size; ``limit(None)`` is the cap on all members
    together. Declared sizes only: :func:`read_member` holds the archive to
    them.
    """
    infos = archive.infolist()
    if len(infos) > _MAX_INNER_MEMBERS:
        raise BlurkitInputError(
            f"{damaged}: {len(infos)} members; expected at most {_MAX_INNER_MEMBERS}"
        )
    seen, total = set(), 0
    for info in infos:
        name, size = info.filename, info.file_size
        if not allowed(name):
            raise BlurkitInputError(
                f"{damaged}: unexpected member {name!r}; expected only {expected}"
            )
        if name in seen:
            raise BlurkitInputError(f"{damaged}: member {name!r} appears twice")
        seen.add(name)
        if size > limit(name):
            raise BlurkitInputError(
                f"{damaged}: {name} unpacks to {size} bytes; expected at most "
                f"{limit(name)}"
            )
        total += size
        if total > limit(None):
            raise BlurkitInputError(
                f"{damaged}: its members unpack to more than {limit(None)} bytes"
            )
        if size > _RATIO_FLOOR and size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise BlurkitInputError(
                f"{damaged}: {name} unpacks {size} bytes from "
                f"{info.compress_size} (a zip bomb?); expected a ratio of at most "
                f"{MAX_COMPRESSION_RATIO}"
            )
    return infos


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, in bounded steps: never more than its declared size.

    ``archive.read`` inflates a whole compressed stream at once before
    cutting it to the declared size, so a member that lies about its size
    could still take gigabytes; step by step, ``zipfile`` stops at the
    declared size, and checks the CRC.
    """
    chunks = []
    with archive.open(info) as stream:
        while chunk := stream.read(_READ_STEP):
            chunks.append(chunk)
    return b"".join(chunks)


def open_inner(data: bytes, damaged: str) -> zipfile.ZipFile:
    """The zip archive held in ``data`` (a member of another), once its
    directory is known to be small enough to open."""
    stream = io.BytesIO(data)
    check_directory(stream, damaged)
    return zipfile.ZipFile(stream)


def read_npy(data: bytes) -> np.ndarray:
    """One ``.npy`` array, without pickles, once its header agrees with its data.

    A header may declare any shape: numpy would reserve it before finding the
    data short.
    """
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f".npy format version {version}; expected 1.0 or 2.0")
    if dtype.hasobject:
        raise ValueError("an array of Python objects; expected numbers")
    expected = math.prod(shape) * dtype.itemsize
    if expected != len(data) - stream.tell():
        raise ValueError(
            f"{len(data) - stream.tell()} bytes of data for shape {shape} of "
            f"{dtype}; expected {expected}"
        )
    stream.seek(0)
    return np.lib.format.read_array(stream, allow_pickle=False)

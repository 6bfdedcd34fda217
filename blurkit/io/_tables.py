"""Tables: reading ``subjects.tsv`` and writing prediction TSVs.

Errors name the line (``subjects.tsv:3: ...``) and what was expected. The
writer is atomic (see :func:`~blurkit.io.atomic_path`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import BlurkitInputError, one_line
from ._atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SUBJECTS_FILE",
    "read_subject_ids",
    "read_subjects_tsv",
    "write_predictions",
]


SUBJECTS_FILE = "subjects.tsv"

_HEADER = ("Subject", "Label")

# Fixed notation, six decimals, for every float column: probabilities read
# alike whatever their size (0.000000, not 3.79e-11).
_FLOAT_FORMAT = ".6f"


def _read_tsv_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, without line ends or trailing blank lines."""
    if not path.exists():
        raise BlurkitInputError(f"{path}: no such file; expected a {SUBJECTS_FILE}")
    if not path.is_file():
        raise BlurkitInputError(f"{path}: not a regular file; expected a TSV file")
    try:
        # utf-8-sig tolerates the byte-order mark some spreadsheet tools add.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BlurkitInputError(
            f"{path}: not UTF-8 text ({one_line(exc)}); expected a TSV file"
        ) from exc
    except OSError as exc:
        raise BlurkitInputError(f"{path}: cannot read ({one_line(exc)})") from exc
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _parse_subjects(
    path: Path, lines: list[str], *, with_label: bool
) -> tuple[list[str], list[int]]:
    """Validate the data rows of a subjects TSV (line 1 is the header).

    Data row ``i`` (0-based) is on line ``i + 2`` of the file; blank lines are
    rejected, so this holds for every row returned.
    """
    n_fields = 2 if with_label else 1
    expected = "<TAB>".join(_HEADER[:n_fields])
    subjects: list[str] = []
    labels: list[int] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        where = f"{path}:{lineno}"
        fields = line.split("\t")
        if len(fields) != n_fields:
            raise BlurkitInputError(
                f"{where}: expected {n_fields} tab-separated field(s) ({expected}), "
                f"got {len(fields)}: {line!r}"
            )
        subject = fields[0]
        if not subject or subject != subject.strip():
            raise BlurkitInputError(
                f"{where}: Subject {subject!r} is empty or has surrounding spaces; "
                "expected a file name without extension"
            )
        if "/" in subject or "\\" in subject or subject in (".", ".."):
            raise BlurkitInputError(
                f"{where}: Subject {subject!r} is a path; "
                "expected a file name without extension"
            )
        if subject in first_line:
            raise BlurkitInputError(
                f"{where}: duplicate Subject {subject!r} "
                f"(first listed on line {first_line[subject]})"
            )
        first_line[subject] = lineno
        subjects.append(subject)
        if with_label:
            label = fields[1].strip()
            if label not in ("0", "1"):
                raise BlurkitInputError(
                    f"{where}: Label {fields[1]!r} for Subject {subject!r}; "
                    "expected 0 (blurred) or 1 (sharp)"
                )
            labels.append(int(label))
    if not subjects:
        raise BlurkitInputError(f"{path}: no subjects listed after the header")
    return subjects, labels


def _check_header(path: Path, lines: list[str], allowed: Sequence[str]) -> str:
    shown = " or ".join(repr(h.replace("\t", "<TAB>")) for h in allowed)
    if not lines:
        raise BlurkitInputError(f"{path}: empty file; expected the header {shown}")
    if lines[0] not in allowed:
        raise BlurkitInputError(
            f"{path}:1: header {lines[0]!r}; expected exactly {shown}"
        )
    return lines[0]


def read_subjects_tsv(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a challenge ``subjects.tsv``.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 tab-separated file whose first line is exactly
        ``Subject<TAB>Label``, followed by one row per subject. ``\\r\\n`` line
        ends and trailing blank lines are tolerated.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``Subject`` (str) and ``Label`` (int64), rows in file order.

    Raises
    ------
    BlurkitInputError
        Naming ``path:line`` for a wrong header, a row without exactly two
        fields (or a blank line), an empty subject, a subject containing a path
        separator, a duplicate subject, or a label other than ``0`` or ``1``;
        and naming the file if it is missing, not UTF-8 or lists no subject.
    """
    path = Path(path)
    lines = _read_tsv_lines(path)
    _check_header(path, lines, ["\t".join(_HEADER)])
    subjects, labels = _parse_subjects(path, lines, with_label=True)
    import pandas as pd

    return pd.DataFrame(
        {"Subject": pd.Series(subjects, dtype=str), "Label": np.array(labels, np.int64)}
    )


def read_subject_ids(path: Path) -> list[str]:
    """Subject column of a subjects.tsv that may or may not have a Label column.

    With a ``Label`` column the file is validated in full by
    :func:`read_subjects_tsv`; a one-column ``Subject`` file (unlabelled data to
    predict on) is accepted too.
    """
    lines = _read_tsv_lines(path)
    header = _check_header(path, lines, ["\t".join(_HEADER), _HEADER[0]])
    subjects, _ = _parse_subjects(path, lines, with_label=header != _HEADER[0])
    return subjects


def _format_column(name: str, values: object, n_rows: int) -> list[str]:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n_rows:
        raise ValueError(
            f"extra column {name!r} has shape {array.shape}; "
            f"expected {n_rows} values, one per subject"
        )
    kind = array.dtype.kind
    if kind in "biu":
        return [str(int(v)) for v in array]
    if kind == "f":
        return [format(float(v), _FLOAT_FORMAT) for v in array]
    if kind in "OUS" and all(isinstance(v, str) for v in array.tolist()):
        cells = array.tolist()
        for cell in cells:
            _check_cell(cell, f"extra column {name!r}")
        return cells
    raise ValueError(
        f"extra column {name!r} has dtype {array.dtype}; "
        "expected integers, floats or strings"
    )


def _check_cell(text: str, what: str) -> None:
    if not text or any(c in text for c in "\t\r\n"):
        raise ValueError(
            f"{what}: {text!r} is empty or holds a tab or line break; "
            "expected a non-empty single-line value"
        )


def write_predictions(
    path: str | os.PathLike,
    subjects: Sequence[str],
    labels: Sequence[int],
    *,
    extra_columns: Mapping[str, Sequence] | None = None,
) -> None:
    """Write a challenge TSV of subjects and labels, atomically.

    The file is UTF-8 with ``\\n`` line ends: a header ``Subject<TAB>Label``
    (followed by the names of ``extra_columns``), then one row per subject in
    the given order. Labels are written as integers, integer columns as
    integers, float columns in fixed notation with six decimals (``"%.6f"``,
    so 3.8e-11 is ``0.000000``; ``nan``/``inf`` as such) and string columns
    as they are.

    Parameters
    ----------
    path : str or path-like
        Destination file. Its folder must exist: missing folders are not
        created. An existing file is replaced only once the new one is
        complete.
    subjects : sequence of str
        Unique, non-empty subject ids without tabs or line breaks.
    labels : sequence of int
        0 (blurred) or 1 (sharp) per subject; integer-valued floats accepted.
    extra_columns : mapping of str to sequence, default=None
        More columns, e.g. ``{"Probability": proba, "Sigma_px": sigma}``, each
        with one value per subject.

    Raises
    ------
    ValueError
        If the arguments are inconsistent (lengths, duplicate subjects, labels
        other than 0/1, bad column names or values). Nothing is written.
    BlurkitInputError
        If the folder is missing or the location cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> from blurkit.io import write_predictions
    >>> path = os.path.join(tempfile.mkdtemp(), "output.tsv")
    >>> write_predictions(path, ["sub-01", "sub-02"], [1, 0],
    ...                   extra_columns={"Probability": [0.91234567, 3.8e-11]})
    >>> with open(path, newline="") as f:
    ...     for line in f:
    ...         print(repr(line))
    'Subject\\tLabel\\tProbability\\n'
    'sub-01\\t1\\t0.912346\\n'
    'sub-02\\t0\\t0.000000\\n'
    """
    text = _format_predictions(subjects, labels, extra_columns)
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))


def _format_predictions(
    subjects: Sequence[str],
    labels: Sequence[int],
    extra_columns: Mapping[str, Sequence] | None,
) -> str:
    if isinstance(subjects, str):
        raise ValueError("subjects must be a sequence of strings, got one string")
    subjects = list(subjects)
    seen: set[str] = set()
    for subject in subjects:
        if not isinstance(subject, str):
            raise ValueError(f"subjects must be strings, got {subject!r}")
        _check_cell(subject, "subject")
        if subject in seen:
            raise ValueError(f"duplicate subject {subject!r}; expected unique ids")
        seen.add(subject)
    n_rows = len(subjects)
    label_array = np.asarray(labels)
    if label_array.shape != (n_rows,):
        raise ValueError(
            f"labels has shape {label_array.shape}; expected ({n_rows},), "
            "one per subject"
        )
    if label_array.dtype.kind not in "biuf":
        raise ValueError(f"labels must be 0 or 1, got dtype {label_array.dtype}")
    bad = np.flatnonzero(~np.isin(label_array, (0, 1)))
    if bad.size:
        raise ValueError(
            f"labels must be 0 or 1, got {label_array[bad[0]].item()!r} "
            f"for subject {subjects[bad[0]]!r}"
        )
    header = list(_HEADER)
    cells = [subjects, [str(int(v)) for v in label_array]]
    for name, values in (extra_columns or {}).items():
        if not isinstance(name, str):
            raise ValueError(f"extra column names must be strings, got {name!r}")
        _check_cell(name, "extra column name")
        if name in header:
            raise ValueError(f"extra column {name!r} clashes with another column")
        header.append(name)
        cells.append(_format_column(name, values, n_rows))
    rows = ["\t".join(header)]
    rows.extend("\t".join(row) for row in zip(*cells, strict=True))
    return "\n".join(rows) + "\n"

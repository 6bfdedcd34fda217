"""Progress messages of long work: on stderr (or a given stream), never stdout."""

from __future__ import annotations

import io
import time

__all__ = ["CVProgress", "say"]


def say(message: str, stream) -> None:
    """Print one line of progress to ``stream``, unless it is None."""
    if stream is not None:
        print(message, file=stream, flush=True)


class CVProgress(io.TextIOBase):
    """A text stream that turns GridSearchCV's messages into progress lines.

    Redirect a search's standard output here (``contextlib.redirect_stdout``)
    with ``verbose=2``: its "Fitting ..." line is passed on as is, and each
    ``[CV] END ...; total time=...`` record it prints after a fit (over one
    line or several) becomes one line on ``log``
    with the fits done, the fits left and an estimate of the time left (the
    mean time per fit so far, times the fits left: the CNN candidates, which
    come last, make it an underestimate early on). Any other text is passed
    on unchanged. This works when the fits run in this process (``n_jobs``
    None or 1); worker processes print to their own standard output.

    Parameters
    ----------
    n_fits : int
        Fits the search will make (candidates x folds), before the refit.
    log : file-like
        Where the lines go (stderr for the command line).
    """

    def __init__(self, n_fits: int, log):
        self.n_fits = int(n_fits)
        self.log = log
        self.done = 0
        self._start = time.perf_counter()
        self._pending = ""
        self._in_record = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = ""
        self.log.flush()

    def _line(self, line: str) -> None:
        # A record "[CV ...] END <parameters>; total time= 1.2s" may span
        # several lines (the parameters' repr).
        if line.startswith("[CV") and " END " in line:
            self._in_record = True
        if not self._in_record:
            if line.strip():
                say(line, self.log)
            return
        if "total time=" not in line:
            return
        self._in_record = False
        self.done += 1
        left = max(self.n_fits - self.done, 0)
        elapsed = time.perf_counter() - self._start
        eta = elapsed / self.done * left
        say(
            f"Cross-validation: {self.done}/{self.n_fits} fits done, {left} left, "
            f"about {_duration(eta)} left ({_duration(elapsed)} so far)",
            self.log,
        )


def _duration(seconds: float) -> str:
    """``'42 s'`` or ``'3 min 05 s'``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"

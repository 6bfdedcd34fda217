"""How many threads blurkit runs, counted from the processors it may use.

One rule for every layer: ``n_jobs`` as joblib counts it, against the
processors this process may run on (``os.sched_getaffinity``, which a
container, ``taskset`` or a batch scheduler may restrict), not every
processor of the machine.
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["available_cpus", "effective_n_jobs", "inner_thread_limits"]


def available_cpus() -> int:
    """Processors this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def effective_n_jobs(n_jobs) -> int:
    """Number of threads for ``n_jobs``, as joblib counts them.

    None means 1, a negative value ``n`` means ``available_cpus() + 1 + n``
    (so -1 is one per usable processor), at least 1. Written out so that
    prediction does not import joblib.
    """
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, available_cpus() + 1 + n_jobs)
    return max(1, int(n_jobs))


@contextlib.contextmanager
def inner_thread_limits(n_threads: int):
    """Limit BLAS to one thread, and torch (if loaded) to ``n_threads``.

    For the duration of work that runs in ``n_jobs`` threads of its own:
    otherwise each library would start one thread per processor, and idle
    BLAS threads spin, taking a core for nothing.
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    previous = None if torch is None else torch.get_num_threads()
    with threadpool_limits(limits=1, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(n_threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)

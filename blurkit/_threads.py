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

from ._process import MEMORY_VARIABLES

__all__ = [
    "available_cpus",
    "can_fork_workers",
    "effective_n_jobs",
    "inner_thread_limits",
    "one_openmp_thread",
    "worker_thread_limits",
]


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


def can_fork_workers() -> bool:
    """Whether worker processes may be forked from this process, safely.

    Forked workers start in a millisecond with everything this process has
    imported, where a fresh interpreter would import numpy and scipy again
    (about 0.5 s of CPU each). Forking is safe only where nothing but the
    forking thread runs, so this asks for all of:

    - Linux (macOS frameworks are not fork-safe; Windows cannot fork);
    - one thread in this process, counted by the system
      (``/proc/self/task``): threads of Python, of BLAS or of anything else
      could hold a lock the child would wait on forever;
    - no OpenMP runtime loaded (GNU OpenMP hangs in a forked child once its
      parent has run a parallel region) and no torch, which brings its own.
    """
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return False
    try:
        if len(os.listdir("/proc/self/task")) != 1:
            return False
    except OSError:
        return False
    from threadpoolctl import threadpool_info

    return all(info["user_api"] != "openmp" for info in threadpool_info())


@contextlib.contextmanager
def inner_thread_limits(n_threads: int):
    """Run BLAS, OpenMP and torch (if loaded) on ``n_threads`` threads each.

    For the duration of work that runs in workers of its own (``n_jobs``
    threads or processes, each with ``n_threads`` inner threads): otherwise
    each library would start one thread per processor in every worker, and
    their idle threads spin, taking cores from the work and from any other
    job on the machine. The previous settings are restored afterwards.
    """
    from threadpoolctl import threadpool_limits

    n_threads = max(1, int(n_threads))
    torch = sys.modules.get("torch")
    previous = None if torch is None else torch.get_num_threads()
    # user_api=None: every BLAS and OpenMP runtime loaded (torch's included).
    with threadpool_limits(limits=n_threads):
        if torch is not None:
            torch.set_num_threads(n_threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


def one_openmp_thread():
    """Limit OpenMP to one thread in the calling thread.

    OpenMP's thread count is a per-thread setting, which a thread started
    by Python does not inherit: called as a thread pool's initializer, the
    limit holds for the thread's lifetime; used as a context manager (the
    returned limiter), until the block ends.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


@contextlib.contextmanager
def worker_thread_limits(n_jobs):
    """``n_jobs`` workers of one inner thread each, here and in joblib's.

    The one rule of training: ``n_jobs`` (as joblib counts it, see
    `effective_n_jobs`) processors in all. Fits run in this process with
    BLAS, OpenMP and torch on one thread each, or, for ``n_jobs`` above 1,
    in that many joblib worker processes (loky's), each also limited to one
    thread (joblib's ``inner_max_num_threads``). joblib calls that leave
    their ``n_jobs`` unset (None) get ``n_jobs`` too: a search's refit, which
    runs here, fits the hybrid's stacking folds and base models in parallel
    (a ``StackingClassifier``'s ``n_jobs`` is None), the one fit that would
    otherwise leave all processors but one idle. Workers started here also
    get the ``blurkit`` command's memory settings
    (`blurkit._process.MEMORY_VARIABLES`, where not set): glibc keeps their
    freed memory, and numpy does not ask for huge pages (workers that joblib
    reuses from an earlier call keep the environment they started with).
    """
    with contextlib.ExitStack() as stack:
        if effective_n_jobs(n_jobs) > 1:
            import joblib

            stack.enter_context(
                joblib.parallel_config(
                    backend="loky",
                    n_jobs=effective_n_jobs(n_jobs),
                    inner_max_num_threads=1,
                )
            )
            stack.enter_context(_environment_defaults(MEMORY_VARIABLES))
        stack.enter_context(inner_thread_limits(1))
        yield


@contextlib.contextmanager
def _environment_defaults(variables):
    """Set the environment variables not already set, for child processes."""
    added = [name for name in variables if name not in os.environ]
    os.environ.update({name: variables[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)

"""Settings of the ``blurkit`` command's own process, made before numpy loads.

Importing :mod:`blurkit.cli` (what the command does first) calls
:func:`configure_command_process`; importing blurkit's library modules
changes nothing of the kind.

- **Native thread pools start with one thread.** OpenBLAS, MKL, BLIS and
  OpenMP read their thread counts from the environment when they load; an
  OpenBLAS started with one thread per processor spins them up for nothing
  (0.2 s of CPU at every start of the command). blurkit then sets the counts
  it wants, on purpose, from ``--n-jobs`` (see :mod:`blurkit._threads`).
  OpenMP threads wait passively (``OMP_WAIT_POLICY=PASSIVE``) rather than
  spin, so that they leave the processors to another job. Variables you set
  yourself are kept, and child processes (Dask workers) inherit them.
- **Freed memory is kept for reuse** (glibc only). Streaming prediction
  allocates the same few arrays of a few MB for every block of images; with
  glibc's default thresholds each one is returned to the system when freed
  and faulted in again, page by page, at the next block, which cost about a
  third of the features' CPU time.
- **numpy does not ask for transparent huge pages**
  (``NUMPY_MADVISE_HUGEPAGE=0``). numpy advises them for arrays of 4 MB and
  more; where the kernel then compacts memory to find huge pages on a fault
  (``/sys/kernel/mm/transparent_hugepage/defrag`` at ``madvise``, the
  default of many distributions), a fresh array can stall: stacking 1,000
  augmented images for a CNN fit (62 MB) took 0.8-1.5 s the first times
  against 0.17-0.23 s without the advice, measured on a 2-core VM (see
  numpy issue 31590).

The settings are environment variables, set only where you have not set
them, so that child processes (Dask or joblib workers) inherit them.
"""

from __future__ import annotations

import os
import sys

__all__ = ["MEMORY_VARIABLES", "THREAD_VARIABLES", "configure_command_process"]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""Environment variables that set native thread pools' sizes when they load."""

# mallopt parameters of glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Allocations up to this size (glibc's largest threshold on 64-bit systems)
# come from the heap, and freed memory up to twice that stays mapped for
# reuse: the working set of a block of images.
_KEPT_BYTES = 32 * 1024 * 1024

MEMORY_VARIABLES = {
    "MALLOC_MMAP_THRESHOLD_": str(_KEPT_BYTES),
    "MALLOC_TRIM_THRESHOLD_": str(2 * _KEPT_BYTES),
    "NUMPY_MADVISE_HUGEPAGE": "0",
}
"""Memory settings that a process reads from the environment when it starts:
glibc keeps freed memory (as `_keep_freed_memory` does in a running process),
numpy does not ask for transparent huge pages. Set by the command for its
children, and for training's worker processes (see
`blurkit._threads.worker_thread_limits`)."""


def configure_command_process() -> None:
    """Thread pools of one thread, passive OpenMP waits, memory settings.

    To be called before numpy, scipy or torch are imported; a no-op for what
    is not supported on this system.
    """
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for name, value in MEMORY_VARIABLES.items():
        os.environ.setdefault(name, value)
    # glibc read its variables when this process started: set them directly.
    _keep_freed_memory()


def _keep_freed_memory() -> None:
    if not sys.platform.startswith("linux"):
        return
    # Imported here: training's workers read MEMORY_VARIABLES from this
    # module, and only the command calls mallopt.
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, _KEPT_BYTES)
    mallopt(_M_TRIM_THRESHOLD, 2 * _KEPT_BYTES)

"""Running blurkit's work on a Dask cluster (dask.distributed).

Two uses, one cluster:

- streaming prediction over many files (``blurkit predict --scheduler``):
  :func:`map_on_cluster` sends the model to every worker once, then maps
  chunks of file paths to the workers, which read and predict them; results
  come back in input order;
- model selection: with a client connected, scikit-learn's ``GridSearchCV``
  runs its fits on the cluster through joblib's Dask backend::

      with dask_client("local"), joblib.parallel_backend("dask"):
          search.fit(images, labels)

Dask is an optional dependency (``pip install "blurkit[dask]"``); it is
imported only here, and only when called.
"""

from __future__ import annotations

import contextlib
from collections import deque

from ..exceptions import BlurkitInputError

__all__ = ["dask_client", "map_on_cluster"]

LOCAL = "local"
"""Scheduler name that starts a cluster on this machine."""


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed; install it with "
            '`pip install "blurkit[dask]"`'
        ) from exc
    return distributed


@contextlib.contextmanager
def dask_client(scheduler="local", *, n_workers=2):
    """Connect to a Dask cluster, or start one on this machine.

    Parameters
    ----------
    scheduler : "local", str or distributed.Client, default="local"
        ``"local"`` starts a ``LocalCluster`` of ``n_workers`` single-thread
        worker processes listening on 127.0.0.1 only, without dashboard, and
        closes it on exit. Any other string is the address of a running
        scheduler (``tcp://host:8786``). A client is used as it is and left
        open.
    n_workers : int, default=2
        Workers of a local cluster.

    Yields
    ------
    distributed.Client
        Also the default client inside the block, so joblib's ``"dask"``
        backend uses it.

    Raises
    ------
    ImportError
        If dask.distributed is not installed.
    OSError
        If no scheduler answers at the address.
    """
    distributed = _import_distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(
            f"scheduler must be 'local', a scheduler address or a "
            f"distributed.Client; got {scheduler!r}."
        )
    if scheduler == LOCAL:
        with (
            distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
    else:
        with distributed.Client(scheduler) as client:
            yield client


def map_on_cluster(scheduler, function, chunks, **shared):
    """Yield ``function(chunk, **shared)`` for each chunk, in order, from Dask.

    Parameters
    ----------
    scheduler : "local", str or distributed.Client
        See :func:`dask_client`.
    function : callable
        A picklable function (defined at module level, or a
        ``functools.partial`` of one); the workers must be able to import it.
    chunks : sequence
        Its first argument, one task per item.
    **shared
        Keyword arguments common to all tasks (the model): sent to each
        worker once, not once per task.

    Yields
    ------
    object
        The result of each task, in the order of ``chunks``. A task that
        raises re-raises its exception here, when its turn comes.

    Raises
    ------
    BlurkitInputError
        If the workers kept dying while running one chunk (more often than
        the scheduler's ``distributed.scheduler.allowed-failures``, 3 by
        default): the message names the chunk's first and last items (the
        files, for :func:`~blurkit.workflow.predict_files`), one of which
        crashes the worker or exhausts its memory.

    Notes
    -----
    A worker lost in the middle of a run (killed, out of memory, its machine
    gone) costs time, not results: the scheduler runs its tasks again on the
    others, recomputing results it held that were not yet collected, and the
    model is still on every other worker. Tasks that raise are not retried:
    an unreadable file stays unreadable.
    """
    distributed = _import_distributed()
    with dask_client(scheduler) as client:
        # hash=False: a fresh key per call. With content hashing, two calls
        # with the same model share one key, and the first call's release can
        # drop the data under the second's tasks ("lost dependencies").
        shared = {
            name: client.scatter(value, broadcast=True, hash=False)
            for name, value in shared.items()
        }
        futures = deque(client.map(function, chunks, pure=False, **shared))
        try:
            for index, chunk in enumerate(chunks):
                future = futures.popleft()
                try:
                    result = future.result()
                except distributed.KilledWorker:
                    raise BlurkitInputError(
                        f"{_describe(chunk)}: the Dask workers died each time "
                        f"they ran chunk {index + 1} of {len(chunks)}; one of "
                        "its files crashes the reader or exhausts memory (run "
                        "with --batch-size 1 to find which)"
                    ) from None
                yield result
                # Free the result on the worker as soon as it is consumed.
                future.release()
        finally:
            client.cancel(list(futures))


def _describe(chunk) -> str:
    """A chunk in a message: its item, or its first and last items."""
    try:
        items = list(chunk)
    except TypeError:
        return repr(chunk)
    if len(items) == 1:
        return str(items[0])
    return f"{len(items)} items from {items[0]} to {items[-1]}" if items else "[]"

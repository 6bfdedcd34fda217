"""Streaming prediction: one engine for image files and NIfTI volumes.

The inputs are cut into chunks; each chunk is read and predicted as one task,
by worker processes forked from this one (where that is safe), by threads of
this process, or by the workers of a Dask cluster. Only a few
chunks are in memory at a time, whatever the number of files, and the rows
come out in input order either way.

Every input gives one row. An image is one slice; a volume gives one slice or
several (``slices``). An input's probability of being sharp is the mean over
its slices, and its label is 1 (sharp) when that mean is above 0.5: with one
slice, the slice's own prediction.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .._geometry import PIXEL_SPACING_MM
from .._threads import (
    can_fork_workers,
    effective_n_jobs,
    inner_thread_limits,
    one_openmp_thread,
)
from .._validation import check_image_size, from_uint8
from ..exceptions import BlurkitInputError
from ..io import (
    check_writable,
    is_nifti_name,
    list_image_paths,
    read_nifti_slices,
    read_pixels,
    write_predictions,
)
from ._progress import say

__all__ = ["CHUNK_PIXELS", "predict_chunk", "predict_files"]

CHUNK_PIXELS = 2**22
"""Pixels a task reads and predicts together, at most (one larger input alone).

256 slices of 121x121 fit; a 4096x4096 image is predicted on its own.
"""


def predict_files(
    model,
    inputs,
    output,
    *,
    slices=None,
    probability=False,
    sigma=False,
    pixel_spacing=None,
    batch_size=256,
    n_jobs=2,
    scheduler=None,
    on_error="raise",
    report=None,
    report_details=None,
    log=sys.stderr,
):
    """Predict image files and volumes and write the challenge TSV, streaming.

    Parameters
    ----------
    model : fitted classifier
        A :class:`~blurkit.BlurDetector` (needed for ``sigma``), a
        lightweight predictor (:func:`blurkit.load_predictor`) or any
        classifier of images with ``predict_proba`` and ``classes_`` 0 and 1.
    inputs : sequence of str or Path
        Image files, NIfTI files and/or folders (see
        :func:`blurkit.list_images`).
    output : str or Path
        TSV to write; written atomically, only when every step succeeded.
    slices : int, slice or None, default=None
        Coronal slices of each volume (see :func:`blurkit.io.read_nifti_slices`);
        None reads each volume's challenge slice. When given, every input
        must be a NIfTI volume.
    probability : bool, default=False
        Add a ``Probability`` column: the probability of being sharp.
    sigma : bool, default=False
        Add ``Sigma_px`` and ``Sigma_mm``, the estimated equivalent Gaussian
        blur (the mean over a volume's slices).
    pixel_spacing : float, default=None
        Pixel size in mm for ``Sigma_mm``; None uses the model's.
    batch_size : int, default=256
        Inputs per task. A task reads and predicts them in pieces of at
        most `CHUNK_PIXELS` pixels (an input larger than that alone), so
        memory stays bounded whatever the number and the size of the images.
    n_jobs : int, default=2
        Workers that read and predict chunks, when ``scheduler`` is None
        (``-1``: one per usable processor): processes forked from this one
        where that is safe (Linux, a process running one thread, no torch or
        OpenMP loaded: ``blurkit predict`` with a features model), else
        threads.
    scheduler : None, "local", str or distributed.Client, default=None
        None runs in this process. Otherwise the chunks run on a Dask
        cluster (see :func:`blurkit.workflow.dask_client`): ``"local"``
        starts a two-worker cluster on this machine, any other string is the
        address of a running scheduler, whose workers must be able to read
        the files at the same paths. The model is sent to each worker once.
    on_error : {"raise", "skip"}, default="raise"
        Unreadable inputs stop the run, or are skipped and returned.
    report : str, Path or None, default=None
        Also write the QC report of the predicted inputs there (see
        :func:`blurkit.report.write_qc_report`), atomically, before the
        TSV. It needs the blur sigma, which is computed whether or not
        ``sigma`` is set; its thumbnails are re-read from their files
        (this process must see them), a volume shown by the middle one of
        its predicted slices.
    report_details : mapping of str to str or None, default=None
        Lines of the report's header; None describes the model
        (:func:`blurkit.report.model_details`).
    log : file-like or None, default=sys.stderr
        Where progress goes.

    Returns
    -------
    skipped : list of (str, str)
        Path and message of each unreadable input skipped.

    Raises
    ------
    BlurkitInputError
        If an input cannot be listed or (with ``on_error="raise"``) read,
        ``slices`` is given for an input that is not a volume, or no input
        at all could be used; nothing is written.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    classes = sorted(int(c) for c in np.asarray(model.classes_))
    if classes != [0, 1]:
        raise ValueError(
            f"the model's classes are {classes}; expected 0 (blurred) and 1 (sharp)"
        )
    entries = list_image_paths(inputs)
    if slices is not None:
        for _, path in entries:
            if not is_nifti_name(os.path.basename(path)):
                raise BlurkitInputError(
                    f"{path}: slice selection applies to NIfTI volumes; expected "
                    "a .nii or .nii.gz file"
                )
    # Fail now rather than after predicting every image.
    check_writable(output)
    if report is not None:
        check_writable(report)
    # The QC report ranks the inputs by their blur.
    need_sigma = sigma or report is not None
    if need_sigma and not hasattr(model, "predict_sigma"):
        needs = "the QC report needs" if report is not None else "sigma=True asks for"
        raise ValueError(
            f"{needs} the blur sigma; this model has no blur-sigma estimate"
        )
    what = "volumes" if slices is not None else "images"
    subjects = [subject for subject, _ in entries]
    paths = [path for _, path in entries]
    if scheduler is not None:
        # Workers run in their own working folder: give them absolute paths.
        paths = [os.path.abspath(path) for path in paths]
    n = len(paths)
    starts = range(0, n, batch_size)
    chunks = [paths[start : start + batch_size] for start in starts]
    task = functools.partial(
        predict_chunk, sigma=need_sigma, slices=slices, skip_errors=on_error == "skip"
    )
    proba = np.full(n, np.nan)
    sigmas = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    skipped = []
    if scheduler is None:
        runner = _map_chunks(functools.partial(task, model=model), chunks, n_jobs)
    else:
        from ._dask import map_on_cluster

        runner = map_on_cluster(scheduler, task, chunks, model=model)
    with contextlib.closing(runner) as results:
        for start, (kept, p, s, errors) in zip(starts, results, strict=True):
            skipped += [(paths[start + i], message) for i, message in errors]
            indices = start + kept
            proba[indices] = p
            if need_sigma:
                sigmas[indices] = s
            done[indices] = True
            if len(chunks) > 1:
                say(f"Predicted {int(done.sum())}/{n} {what}", log)
    keep = np.flatnonzero(done)
    if not len(keep) and skipped:
        raise BlurkitInputError(
            f"none of the {n} {what} could be used; the first: {skipped[0][1]}"
        )
    spacing = pixel_spacing
    if spacing is None:
        spacing = getattr(model, "pixel_spacing", PIXEL_SPACING_MM)
    if report is not None:
        _write_report(
            report,
            model,
            [subjects[i] for i in keep],
            [paths[i] for i in keep],
            proba[keep],
            sigmas[keep],
            spacing=spacing,
            slices=slices,
            details=report_details,
            n_skipped=len(skipped),
        )
    extra = {}
    if probability:
        extra["Probability"] = proba[keep]
    if sigma:
        extra["Sigma_px"] = sigmas[keep]
        extra["Sigma_mm"] = sigmas[keep] * spacing
    write_predictions(
        output,
        [subjects[i] for i in keep],
        (proba[keep] > 0.5).astype(np.int64),
        extra_columns=extra or None,
    )
    return skipped


def predict_chunk(
    paths,
    *,
    model,
    sigma=False,
    slices=None,
    skip_errors=False,
    max_pixels=CHUNK_PIXELS,
):
    """Read and predict one chunk of inputs.

    The unit of work of :func:`predict_files`, in a thread or on a Dask
    worker. The inputs are read and predicted in pieces of at most
    ``max_pixels`` pixels (an input larger than that alone), so that the
    memory a chunk takes is bounded by pixels, not by its number of inputs.

    Parameters
    ----------
    paths : list of str
        Image files or NIfTI volumes.
    model : fitted classifier
        As in :func:`predict_files`.
    sigma : bool, default=False
        Also estimate the blur sigma, in pixels.
    slices : int, slice or None, default=None
        Slices of each volume, as in :func:`predict_files`.
    skip_errors : bool, default=False
        Skip unreadable inputs instead of raising.
    max_pixels : int, default=CHUNK_PIXELS
        Pixels read and predicted together, at most (4 megapixels: 256
        slices of 121x121).

    Returns
    -------
    kept : ndarray of int
        Positions in ``paths`` of the inputs read.
    proba : ndarray of shape (len(kept),)
        Each input's probability of being sharp: the mean over its slices.
    sigmas : ndarray of shape (len(kept),) or None
        Their mean blur sigma in pixels, when ``sigma``.
    errors : list of (int, str)
        Position in ``paths`` and message of each input skipped.
    """
    kept, errors, results = [], [], []
    stacks, n_pixels = [], 0
    for i, path in enumerate(paths):
        try:
            stack = _read_slices(path, slices)
        except BlurkitInputError as exc:
            if not skip_errors:
                raise
            errors.append((i, str(exc)))
            continue
        if stacks and n_pixels + stack.size > max_pixels:
            results.append(_predict_stacks(stacks, model, sigma))
            stacks, n_pixels = [], 0
        kept.append(i)
        stacks.append(stack)
        n_pixels += stack.size
    if stacks:
        results.append(_predict_stacks(stacks, model, sigma))
    del stacks
    kept = np.asarray(kept, dtype=np.int64)
    if not results:
        return kept, np.zeros(0), None if not sigma else np.zeros(0), errors
    proba = np.concatenate([p for p, _ in results])
    sigmas = np.concatenate([s for _, s in results]) if sigma else None
    return kept, proba, sigmas, errors


def _predict_stacks(stacks, model, sigma):
    """Probability of being sharp (and sigma) of each input: means over slices."""
    counts = np.array([len(stack) for stack in stacks])
    # Lightweight predictors take 8-bit grey levels as they are, and convert
    # them a block at a time (see blurkit.models.FeaturesPredictor).
    convert = (
        (lambda levels: levels)
        if getattr(model, "reads_grey_levels", False)
        else from_uint8
    )
    if len({(stack.shape[1:], stack.dtype) for stack in stacks}) == 1:
        # One stack, converted at once when it holds 8-bit grey levels.
        images = convert(stacks[0] if len(stacks) == 1 else np.concatenate(stacks))
    else:
        # Images of several sizes or kinds: a list, whose arrays every model
        # reads as values (uint8 levels only pass as levels in one stack).
        images = [from_uint8(image) for stack in stacks for image in stack]
    # Mean over each input's slices.
    bounds = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sharp = list(np.asarray(model.classes_)).index(1)
    proba = np.add.reduceat(model.predict_proba(images)[:, sharp], bounds) / counts
    sigmas = None
    if sigma:
        sigmas = np.add.reduceat(model.predict_sigma(images), bounds) / counts
    return proba, sigmas


def _write_report(
    path, model, subjects, paths, proba, sigmas, *, spacing, slices, details, n_skipped
):
    """Write the QC report; only its thumbnails' files are read again."""
    from ..report import model_details, write_qc_report

    details = dict(model_details(model) if details is None else details)
    if n_skipped:
        details["Skipped"] = f"{n_skipped} unreadable inputs (listed on stderr)"

    @functools.cache
    def image(i):
        # An image, or the middle one of a volume's predicted slices; read
        # once, though it may be both among the blurriest and borderline.
        stack = _read_slices(paths[i], slices)
        return from_uint8(stack[len(stack) // 2])

    write_qc_report(
        path,
        subjects,
        proba,
        sigmas,
        images=image,
        pixel_spacing=spacing,
        details=details,
    )


def _read_slices(path, slices):
    """The slices of one input, shape (k, H, W), refusing any too small to judge.

    An image is one slice; 8-bit grey images stay uint8 grey levels (converted
    per chunk, see :func:`blurkit._validation.from_uint8`).
    """
    if is_nifti_name(path):
        stack = read_nifti_slices(path, slices)
    else:
        stack = read_pixels(path)[np.newaxis]
    try:
        check_image_size(stack[:1], names=[str(path)])
    except ValueError as exc:
        raise BlurkitInputError(str(exc)) from None
    return stack


def _map_chunks(function, chunks, n_jobs):
    """Yield ``function(chunk)`` in order, ``n_jobs`` chunks at a time.

    The chunks run in ``n_jobs`` worker processes forked from this one
    where :func:`blurkit._threads.can_fork_workers` says that is safe, else
    in ``n_jobs`` threads. Processes never wait on each other for Python's
    global lock, which costs threads about 15% more CPU time per image
    (``benchmarks/threads.py``).

    At most ``n_jobs + 1`` chunks are submitted ahead, so memory stays
    bounded. ``n_jobs`` governs every thread: torch, BLAS and OpenMP run on
    one thread in each worker meanwhile (see
    :func:`blurkit._threads.inner_thread_limits`), ``n_jobs`` processors in
    all.
    """
    n_jobs = effective_n_jobs(n_jobs)
    processes = n_jobs > 1 and len(chunks) > 1 and can_fork_workers()
    pending = deque()
    with _heap_frozen(), inner_thread_limits(1):
        # Forked workers inherit these limits; OpenMP's thread count is a
        # setting of each thread, set in each one.
        if processes:
            pool = ProcessPoolExecutor(
                max_workers=min(n_jobs, len(chunks)),
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(function,),
            )
            submit = functools.partial(pool.submit, _run_in_worker)
        else:
            pool = ThreadPoolExecutor(max_workers=n_jobs, initializer=one_openmp_thread)
            submit = functools.partial(pool.submit, function)
        try:
            for chunk in chunks:
                pending.append(submit(chunk))
                if len(pending) > n_jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool as exc:
            # From a result, or from a submission to a pool already broken.
            raise ChildProcessError(
                "a worker process stopped abruptly (killed, or out of memory?); "
                "try --n-jobs 1 or a smaller --batch-size"
            ) from exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _heap_frozen():
    """Leave the objects made so far out of garbage collection, meanwhile.

    They are the imported modules (torch's among them) and the model: most
    of the heap. The collector then no longer walks them each time the
    chunks' temporaries trigger it (3-4% of a CNN run's CPU time), and in
    forked workers it never writes to their pages, which stay shared with
    this process (see :func:`gc.freeze`). A heap already frozen by the
    caller is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# The function a forked worker runs on each chunk: set once per worker by
# `_start_worker` (inherited, not pickled), so that only the chunk's paths
# and its results cross between the processes.
_worker_function = None


def _start_worker(function):
    global _worker_function
    _worker_function = function
    # Ctrl-C reaches the whole process group: the parent alone stops the run.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(chunk):
    return _worker_function(chunk)

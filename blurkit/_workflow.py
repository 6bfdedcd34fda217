"""End-to-end jobs shared by the command line and the examples.

Training from a challenge-layout folder, and streaming prediction over image
files. The CLI and ``examples/run.py`` only parse arguments and call these.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ._io import (
    BlurkitInputError,
    _effective_n_jobs,
    _is_nifti_name,
    _read_pixels,
    check_writable,
    levels_to_float,
    list_images,
    load_dataset,
    write_prediction_results,
)
from ._validation import check_image_size

__all__ = ["predict_files", "predict_volumes", "train_detector"]


def _pixel_spacing(model, pixel_spacing):
    """The pixel size for ``Sigma_mm``: as given, else the model's (1.5 mm)."""
    if pixel_spacing is None:
        return getattr(model, "pixel_spacing", 1.5)
    return pixel_spacing


def _say(message, stream):
    if stream is not None:
        print(message, file=stream, flush=True)


def train_detector(
    data_dir,
    *,
    family="auto",
    param_grid=None,
    cv=3,
    random_state=0,
    n_jobs=None,
    log=sys.stderr,
):
    """Fit a :class:`BlurDetector` on a challenge-layout folder.

    Parameters
    ----------
    data_dir : str or Path
        Folder with ``subjects.tsv`` and the images.
    family : {"auto", "features", "cnn", "hybrid"}, default="auto"
        Model families that compete in the cross-validated search.
    param_grid : dict or list of dict, default=None
        Your own grid (see :func:`make_model_search`).
    cv : int, default=3
        Stratified folds of the search.
    random_state : int, default=0
        Seed of every random step.
    n_jobs : int, default=None
        Parallel fits of the search.
    log : file-like or None, default=sys.stderr
        Where progress and the CV table go; None is silent.

    Returns
    -------
    BlurDetector
        Fitted; its ``classifier_`` is the fitted GridSearchCV.
    """
    from ._models import (
        BlurDetector,
        _describe_candidate,
        cv_results_table,
        make_model_search,
    )

    start = time.perf_counter()
    dataset = load_dataset(data_dir)
    counts = {label: int(np.sum(dataset.labels == label)) for label in (0, 1)}
    if isinstance(cv, int) and min(counts.values()) < cv:
        raise BlurkitInputError(
            f"{Path(data_dir) / 'subjects.tsv'}: {counts[1]} sharp and "
            f"{counts[0]} blurred images; {cv}-fold cross-validation needs at "
            f"least {cv} of each"
        )
    _say(
        f"Loaded {len(dataset.labels)} images from {data_dir} "
        f"({int(np.sum(dataset.labels == 1))} sharp, "
        f"{int(np.sum(dataset.labels == 0))} blurred).",
        log,
    )
    search = make_model_search(
        family,
        param_grid=param_grid,
        cv=cv,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=1 if log is not None else 0,
    )
    detector = BlurDetector(classifier=search, random_state=random_state)
    _say(f"Selecting a model ({family}) by {cv}-fold cross-validation...", log)
    detector.fit(dataset.images, dataset.labels)
    table = cv_results_table(detector.classifier_)
    _say("Cross-validation (score: accuracy on held-out and degraded images):", log)
    _say(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), log)
    _say(
        f"Best: {_describe_candidate(detector.classifier_.best_params_)} "
        f"(trained in {time.perf_counter() - start:.1f} s)",
        log,
    )
    return detector


def predict_files(
    model,
    inputs,
    output,
    *,
    probability=False,
    sigma=False,
    pixel_spacing=None,
    batch_size=256,
    n_jobs=2,
    scheduler=None,
    on_error="raise",
    log=sys.stderr,
):
    """Predict image files and write the challenge TSV, streaming in batches.

    The files are cut into chunks of ``batch_size``; each chunk is read and
    predicted as one task, by ``n_jobs`` threads or by the workers of a Dask
    cluster. Only a few chunks are in memory at a time, whatever the number
    of files, and the rows come out in input order either way.

    Parameters
    ----------
    model : fitted classifier
        A :class:`BlurDetector` (needed for ``sigma``) or any classifier of
        images with ``predict_proba``.
    inputs : sequence of str or Path
        Image files and/or folders (see :func:`blurkit.list_images`).
    output : str or Path
        TSV to write; written atomically, only when every step succeeded.
    probability : bool, default=False
        Add a ``Probability`` column: the probability of being sharp.
    sigma : bool, default=False
        Add ``Sigma_px`` and ``Sigma_mm``, the estimated equivalent Gaussian
        blur.
    pixel_spacing : float, default=None
        Pixel size in mm for ``Sigma_mm``; None uses the model's.
    batch_size : int, default=256
        Images read and predicted per task; memory stays bounded by it.
    n_jobs : int, default=2
        Threads that read and predict chunks, when ``scheduler`` is None
        (``-1``: one per processor).
    scheduler : None, "local", str or distributed.Client, default=None
        None runs in this process. Otherwise the chunks run on a Dask
        cluster (see :func:`blurkit._dask.dask_client`): ``"local"`` starts
        a two-worker cluster on this machine, any other string is the address
        of a running scheduler, whose workers must be able to read the files
        at the same paths. The model is sent to each worker once.
    on_error : {"raise", "skip"}, default="raise"
        Unreadable files stop the run, or are skipped and returned.
    log : file-like or None, default=sys.stderr
        Where progress goes.

    Returns
    -------
    skipped : list of (str, str)
        Path and message of each unreadable file skipped.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    entries = list_images(inputs)
    # Fail now rather than after predicting every image.
    check_writable(output)
    subjects = [subject for subject, _ in entries]
    paths = [str(path) for _, path in entries]
    n = len(paths)
    starts = range(0, n, batch_size)
    chunks = [paths[start : start + batch_size] for start in starts]
    task = functools.partial(predict_chunk, sigma=sigma, skip_errors=on_error == "skip")
    labels = np.zeros(n, dtype=np.int64)
    proba = np.full(n, np.nan)
    sigmas = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    skipped = []
    classes = np.asarray(model.classes_)
    sharp = list(classes).index(1)
    show_progress = n > batch_size
    if scheduler is None:
        runner = _map_in_threads(functools.partial(task, model=model), chunks, n_jobs)
    else:
        from ._dask import map_on_cluster

        runner = map_on_cluster(scheduler, task, chunks, model=model)
    with contextlib.closing(runner) as results:
        for start, (kept, p, s, errors) in zip(starts, results, strict=True):
            skipped += [(paths[start + i], message) for i, message in errors]
            indices = start + kept
            if len(indices):
                labels[indices] = classes[np.argmax(p, axis=1)]
                proba[indices] = p[:, sharp]
                if sigma:
                    sigmas[indices] = s
                done[indices] = True
            if show_progress:
                _say(f"Predicted {int(done.sum())}/{n} images", log)
    write_prediction_results(
        output,
        subjects,
        labels,
        done,
        skipped,
        what="images",
        probability=proba if probability else None,
        sigma=sigmas if sigma else None,
        pixel_spacing=_pixel_spacing(model, pixel_spacing),
    )
    return skipped


def predict_chunk(paths, *, model, sigma=False, skip_errors=False):
    """Read and predict one chunk of image files.

    The unit of work of :func:`predict_files`, in a thread or on a Dask
    worker.

    Parameters
    ----------
    paths : list of str
        Image files.
    model : fitted classifier
        As in :func:`predict_files`.
    sigma : bool, default=False
        Also estimate the blur sigma, in pixels.
    skip_errors : bool, default=False
        Skip unreadable files instead of raising.

    Returns
    -------
    kept : ndarray of int
        Positions in ``paths`` of the files read.
    proba : ndarray of shape (len(kept), n_classes)
        ``model.predict_proba`` of those images.
    sigmas : ndarray of shape (len(kept),) or None
        Their blur sigma in pixels, when ``sigma``.
    errors : list of (int, str)
        Position in ``paths`` and message of each file skipped.
    """
    kept, images, errors = [], [], []
    for i, path in enumerate(paths):
        try:
            images.append(_read_judgeable(path))
        except BlurkitInputError as exc:
            if not skip_errors:
                raise
            errors.append((i, str(exc)))
        else:
            kept.append(i)
    if not images:
        return np.zeros(0, dtype=np.int64), None, None, errors
    if len({(image.shape, image.dtype) for image in images}) == 1:
        # One stack, converted at once when it holds 8-bit grey levels.
        images = levels_to_float(np.stack(images))
    else:
        images = [levels_to_float(image) for image in images]
        if len({image.shape for image in images}) == 1:
            images = np.stack(images)
    proba = model.predict_proba(images)
    sigmas = model.predict_sigma(images) if sigma else None
    return np.asarray(kept, dtype=np.int64), proba, sigmas, errors


def _read_judgeable(path):
    """Read an image, refusing one too small for the models to judge.

    8-bit grey PNGs come back as uint8 grey levels (see `levels_to_float`).
    """
    image = _read_pixels(path)
    try:
        check_image_size([image], names=[str(path)])
    except ValueError as exc:
        raise BlurkitInputError(str(exc)) from None
    return image


def _map_in_threads(function, chunks, n_jobs):
    """Yield ``function(chunk)`` in order, ``n_jobs`` chunks at a time.

    At most ``n_jobs + 1`` chunks are submitted ahead, so memory stays
    bounded; their heavy work (decoding, FFTs, tensors) runs without the GIL.
    The processors are shared out between the threads: torch gets
    ``cpu_count // n_jobs`` threads (at least 1) meanwhile, and BLAS one, as
    its products here are small; otherwise each would start one thread per
    processor, and idle BLAS threads spin, taking a core for nothing.
    """
    n_jobs = max(1, _effective_n_jobs(n_jobs))
    pool = ThreadPoolExecutor(max_workers=n_jobs)
    pending = deque()
    try:
        with _inner_threads(max(1, (os.cpu_count() or 1) // n_jobs)):
            for chunk in chunks:
                pending.append(pool.submit(function, chunk))
                if len(pending) > n_jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _inner_threads(n_threads):
    """Limit BLAS to one thread, and torch (if loaded) to ``n_threads``."""
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


def predict_volumes(
    model,
    inputs,
    output,
    *,
    slices: int | slice | None = None,
    probability: bool = False,
    sigma: bool = False,
    pixel_spacing: float | None = None,
    on_error: str = "raise",
    log=sys.stderr,
) -> list[tuple[str, str]]:
    """Predict NIfTI volumes from one or several coronal slices each.

    Each volume is summarised by the mean, over its slices, of the
    probability of being sharp: its label is 1 when that mean is above 0.5.
    With one slice this is the slice's own prediction.

    Parameters
    ----------
    model : fitted classifier
        A :class:`BlurDetector` (needed for ``sigma``) or any classifier of
        images with ``predict_proba`` and ``classes_`` 0 and 1.
    inputs : sequence of str or Path
        NIfTI files and/or folders of them (see :func:`blurkit.list_images`);
        subject ids come from the file names
        (:func:`blurkit._nifti.nifti_subject_id`).
    output : str or Path
        TSV to write (``Subject<TAB>Label``), atomically.
    slices : int, slice or None, default=None
        Coronal slices of each volume; see
        :func:`blurkit._nifti.read_nifti_slices`.
    probability : bool, default=False
        Add ``Probability``, the mean probability of being sharp.
    sigma : bool, default=False
        Add ``Sigma_px`` and ``Sigma_mm``, the mean estimated Gaussian blur of
        the slices.
    pixel_spacing : float, default=None
        Pixel size in mm for ``Sigma_mm``; None uses the model's.
    on_error : {"raise", "skip"}, default="raise"
        A volume that cannot be read (or lacks the slices) stops the run, or
        is left out of the TSV and returned.
    log : file-like or None, default=sys.stderr
        Where progress goes.

    Returns
    -------
    skipped : list of (str, str)
        Path and message of each volume skipped.

    Raises
    ------
    BlurkitInputError
        If an input is not a NIfTI file, or with ``on_error="raise"`` a volume
        cannot be read; nothing is written.
    """
    from ._nifti import read_nifti_slices

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    entries = list_images(inputs)
    # Fail now rather than after reading every volume.
    check_writable(output)
    for _, path in entries:
        if not _is_nifti_name(path.name):
            raise BlurkitInputError(
                f"{path}: slice selection applies to NIfTI volumes; expected a "
                ".nii or .nii.gz file"
            )
    classes = list(np.asarray(model.classes_))
    sharp = classes.index(1)
    n = len(entries)
    labels = np.zeros(n, dtype=np.int64)
    proba = np.zeros(n)
    sigmas = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    skipped = []
    # Read the next volume while the model works on this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(read_nifti_slices, entries[0][1], slices) if n else None
        for k in range(n):
            current = pending
            if k + 1 < n:
                pending = pool.submit(read_nifti_slices, entries[k + 1][1], slices)
            try:
                stack = current.result()
            except BlurkitInputError as exc:
                if on_error == "raise":
                    raise
                skipped.append((str(entries[k][1]), str(exc)))
                continue
            proba[k] = float(np.mean(model.predict_proba(stack)[:, sharp]))
            labels[k] = 1 if proba[k] > 0.5 else 0
            if sigma:
                sigmas[k] = float(np.mean(model.predict_sigma(stack)))
            done[k] = True
            if log is not None and n > 1:
                print(
                    f"Predicted {k + 1}/{n} volumes ({len(stack)} slices)",
                    file=log,
                    flush=True,
                )
    write_prediction_results(
        output,
        [subject for subject, _ in entries],
        labels,
        done,
        skipped,
        what="volumes",
        probability=proba if probability else None,
        sigma=sigmas if sigma else None,
        pixel_spacing=_pixel_spacing(model, pixel_spacing),
    )
    return skipped

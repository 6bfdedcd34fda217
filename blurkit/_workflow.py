"""End-to-end jobs shared by the command line and the examples.

Training from a challenge-layout folder, and streaming prediction over image
files. The CLI and ``examples/run.py`` only parse arguments and call these.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ._io import iter_image_batches, list_images, load_dataset, write_predictions
from ._models import BlurDetector, cv_results_table, make_model_search

__all__ = ["predict_files", "train_detector"]


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
    start = time.perf_counter()
    dataset = load_dataset(data_dir)
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
        f"Best: {table.candidate[0]} (trained in {time.perf_counter() - start:.1f} s)",
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
    on_error="raise",
    log=sys.stderr,
):
    """Predict image files and write the challenge TSV, streaming in batches.

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
        Images decoded and predicted at a time; memory stays bounded by it.
    n_jobs : int, default=2
        Decoding threads.
    on_error : {"raise", "skip"}, default="raise"
        Unreadable files stop the run, or are skipped and returned.
    log : file-like or None, default=sys.stderr
        Where progress goes.

    Returns
    -------
    skipped : list of (str, str)
        Path and message of each unreadable file skipped.
    """
    entries = list_images(inputs)
    subjects = [subject for subject, _ in entries]
    paths = [path for _, path in entries]
    n = len(paths)
    labels = np.zeros(n, dtype=np.int64)
    proba = np.full(n, np.nan)
    sigmas = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    skipped = []
    classes = np.asarray(model.classes_)
    show_progress = n > batch_size
    for indices, images, errors in iter_image_batches(
        paths, batch_size=batch_size, n_jobs=n_jobs, on_error=on_error
    ):
        skipped += [(str(paths[i]), message) for i, message in errors]
        if len(indices):
            p = model.predict_proba(images)
            labels[indices] = classes[np.argmax(p, axis=1)]
            proba[indices] = p[:, list(classes).index(1)]
            if sigma:
                sigmas[indices] = model.predict_sigma(images)
            done[indices] = True
        if show_progress:
            _say(f"Predicted {int(done.sum())}/{n} images", log)
    keep = np.flatnonzero(done)
    extra = {}
    if probability:
        extra["Probability"] = proba[keep]
    if sigma:
        spacing = model.pixel_spacing if pixel_spacing is None else pixel_spacing
        extra["Sigma_px"] = sigmas[keep]
        extra["Sigma_mm"] = sigmas[keep] * spacing
    write_predictions(
        output,
        [subjects[i] for i in keep],
        labels[keep],
        extra_columns=extra or None,
    )
    return skipped

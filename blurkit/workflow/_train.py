"""Training from a challenge-layout folder, as the command line and examples do."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import numpy as np

from .._threads import effective_n_jobs, worker_thread_limits
from ..exceptions import BlurkitInputError
from ..io import load_dataset
from ._progress import CVProgress, say

__all__ = ["train_detector"]


def train_detector(
    data_dir,
    *,
    family="auto",
    param_grid=None,
    cv=3,
    random_state=0,
    n_jobs=None,
    outer_features=None,
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
        Processors to use, as joblib counts them (None: 1, -1: every usable
        one): parallel fits of the search, each with torch, BLAS and OpenMP
        on one thread (see :func:`blurkit._threads.worker_thread_limits`).
    outer_features : bool or None, default=None
        True gives every feature pipeline of the grid (of the features and
        hybrid families, your own grid's too) the outer features, False
        takes them away (see :func:`blurkit.models.with_outer_features`);
        None leaves the grid as it is: the default grid's models have them.
        True or False with ``family="cnn"`` is an error.
    log : file-like or None, default=sys.stderr
        Where progress and the CV table go; None is silent.

    Returns
    -------
    BlurDetector
        Fitted; its ``classifier_`` is the fitted GridSearchCV.
    """
    from ..models import (
        BlurDetector,
        cv_results_table,
        describe_candidate,
        make_model_search,
    )

    if outer_features is not None:
        # Checked before the images are read: the CNN has no features.
        param_grid = _with_outer_features(
            param_grid, family, random_state, outer_features
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
    say(
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
    )
    detector = BlurDetector(classifier=search, random_state=random_state)
    say(f"Selecting a model ({family}) by {cv}-fold cross-validation...", log)
    with worker_thread_limits(n_jobs), _search_progress(search, log):
        detector.fit(dataset.images, dataset.labels)
    table = cv_results_table(detector.classifier_)
    say("Cross-validation (score: accuracy on held-out and degraded images):", log)
    say(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), log)
    chosen = describe_candidate(detector.classifier_.best_params_)
    why = _why_chosen(table, chosen)
    say(f"Chosen: {chosen} (trained in {time.perf_counter() - start:.1f} s{why})", log)
    return detector


def _with_outer_features(param_grid, family, random_state, enabled):
    """``param_grid`` (or the default one) with the outer features in its
    models (``enabled``) or without them."""
    from ..models import default_param_grid, with_outer_features
    from ..models._families import (
        OUTER_FEATURES_OPTION,
        QUADRATIC_C,
        _feature_extractors,
    )

    if family == "cnn":
        raise ValueError(
            "outer_features: the CNN reads pixels, not engineered features; "
            "expected the features, hybrid or auto family"
        )
    if param_grid is None:
        param_grid = default_param_grid(family, random_state=random_state)
    grids = [param_grid] if isinstance(param_grid, dict) else list(param_grid)
    changed = []
    for grid in grids:
        if "estimator" not in grid:
            # The search's own estimator: the features pipeline.
            flags = {
                f"estimator__features__{f}": [bool(enabled)]
                for f in OUTER_FEATURES_OPTION
            }
            # Its regularisation follows, unless the grid sets it.
            default_c = {"estimator__classify__C": [QUADRATIC_C[bool(enabled)]]}
            changed.append({**default_c, **grid, **flags})
            continue
        # The CNN's candidates have no features and stay as they are.
        models = [
            with_outer_features(model, enabled) if _feature_extractors(model) else model
            for model in grid["estimator"]
        ]
        changed.append({**grid, "estimator": models})
    return changed


def _why_chosen(table, chosen: str) -> str:
    """Why ``chosen`` was refitted rather than the first row of ``table``, if not."""
    top = table.candidate.iloc[0]
    if chosen == top:
        return ""
    if table.mean_score[table.candidate == chosen].iloc[0] == table.mean_score.iloc[0]:
        return f"; it ties with {top}, and the cheaper family wins a tie"
    return (
        f"; {top} scores higher by less than one standard error, and a "
        "cheaper family wins then"
    )


@contextlib.contextmanager
def _search_progress(search, log):
    """Show a search's progress on ``log``, never on stdout.

    GridSearchCV prints its messages to stdout; here they go to ``log``.
    When the fits run in this process, each one becomes a line with the
    fits done and left and the time left (:class:`CVProgress`); when they
    run in worker processes, which print to their own stdout, joblib
    reports them on stderr instead: "Done k out of n | elapsed ...
    remaining ...".
    """
    if log is None:
        search.set_params(verbose=0)
        yield
        return
    from sklearn.model_selection import ParameterGrid, check_cv

    if effective_n_jobs(search.n_jobs) == 1:
        n_candidates = len(ParameterGrid(search.param_grid))
        n_splits = check_cv(search.cv, classifier=True).get_n_splits()
        stream = CVProgress(n_candidates * n_splits, log)
        search.set_params(verbose=2)
        with contextlib.redirect_stdout(stream):
            try:
                yield
            finally:
                stream.flush()
    else:
        import joblib

        # All fits dispatched at once, so that joblib knows their number and
        # reports "Done k out of n | elapsed ... remaining ..." on stderr.
        search.set_params(verbose=1, pre_dispatch="all")
        with contextlib.redirect_stdout(log), joblib.parallel_config(verbose=10):
            yield

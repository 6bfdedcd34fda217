"""Model selection: the robustness score, the search and its CV table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from ._augment import DegradationAugmenter
from ._families import (
    FAMILIES,
    _feature_extractors,
    check_family,
    family_of,
    make_classifier,
    reads_outer_features,
)

__all__ = [
    "cv_results_table",
    "default_param_grid",
    "degraded_accuracy",
    "describe_candidate",
    "make_model_search",
    "simplest_family_within_one_se",
]


def default_param_grid(family="auto", *, random_state=None):
    """One candidate per family, for :func:`make_model_search`.

    The default search compares the families (features, CNN, hybrid), each
    with its default settings; it does not tune their hyperparameters, which
    made no difference beyond the folds' noise on the challenge data. With
    3 folds and the degraded-accuracy score, measured on it: ``C`` of the
    linear features model's logistic regression at 1, 10 and 100 scored
    0.983, 0.985 and 0.985 (standard deviations about 0.008); the CNN with 4
    or 8 filters 0.974 and 0.981. Each extra candidate costs a fit per fold,
    the CNN's about 12 s. Pass your own grid to tune them, e.g.
    ``{"estimator": [make_feature_pipeline()],
    "estimator__classify__C": [0.03, 0.1, 0.3]}``.

    Parameters
    ----------
    family : {"auto", "features", "cnn", "hybrid"}, default="auto"
        "auto" gives the grids of all families, for selection across them.
    random_state : int or None, default=None
        Seed of the CNN inside the candidates.

    Returns
    -------
    list of dict
        Grids over an :class:`AugmentedClassifier`'s parameters, in the
        reverse of the order of :data:`FAMILIES` (hybrid, CNN, features):
        the search hands its fits to its workers in this order, so that the
        long ones (the hybrid's and the CNN's, 9-14 s each on the challenge
        data) start first and the features' (1 s) fill the end, rather than
        one long fit running alone at the end. The order decides nothing
        else: the refit rule takes the families in the order of
        :data:`FAMILIES`.
    """
    check_family(family, allow_auto=True)
    names = tuple(reversed(FAMILIES)) if family == "auto" else (family,)
    return [FAMILIES[name].grid(random_state) for name in names]


def degraded_accuracy(estimator, X, y, *, n_copies=4, random_state=0):
    """Accuracy on images and degraded copies of them: a robustness score.

    A scorer with scikit-learn's signature, for model selection: the held-out
    images of each fold, plus ``n_copies`` degraded copies of each (seeded,
    labelled by the robustness contract, see :class:`DegradationAugmenter`).
    On the challenge data every candidate scores 100% on clean images; this
    score tells them apart by how well they resist what the data never shows.
    The copies are drawn from every case of
    :data:`blurkit.degrade.DEGRADATIONS`, the MRI acquisition artifacts
    (k-space motion, truncation, thick slices, ghosting, spikes) included.

    Parameters
    ----------
    estimator : fitted classifier
    X : ndarray of shape (n, H, W) or list of 2-D arrays
    y : array-like of shape (n,)
    n_copies : int, default=4
        Degraded copies of each image. Four halve the variance of the
        score against two, for the price of predictions only: with two,
        the features model and the hybrid scored 0.996 and 0.997 on the
        challenge data, with four 0.992 and 0.991.
    random_state : int, default=0

    Returns
    -------
    float
    """
    augmenter = DegradationAugmenter(n_copies=n_copies, random_state=random_state)
    X_aug, y_aug = augmenter.fit_resample(X, y)
    return accuracy_score(y_aug, estimator.predict(X_aug))


def make_model_search(
    family="auto",
    *,
    param_grid=None,
    cv=3,
    scoring=degraded_accuracy,
    random_state=0,
    n_jobs=None,
    verbose=0,
):
    """Cross-validated model selection across blurkit's model families.

    Parameters
    ----------
    family : {"auto", "features", "cnn", "hybrid"}, default="auto"
        Which families compete; "auto" selects among all three.
    param_grid : dict or list of dict, default=None
        Your own grid over an :class:`AugmentedClassifier`'s parameters
        (``estimator``, ``estimator__...``, ``augmenter__...``); None uses
        :func:`default_param_grid`.
    cv : int or cross-validation splitter, default=3
        An int means that many stratified, shuffled folds seeded with
        ``random_state``.
    scoring : str or callable, default=degraded_accuracy
        Model-selection score; see :func:`degraded_accuracy`.
    random_state : int, default=0
        Seed of the folds, the augmentation and the CNN.
    n_jobs : int, default=None
        Parallel fits (joblib); works with joblib's Dask backend.
    verbose : int, default=0
        GridSearchCV's verbosity.

    Returns
    -------
    GridSearchCV
        Unfitted. Its ``refit`` is :func:`simplest_family_within_one_se`:
        the best candidate of the first family (features, CNN, hybrid: the
        order of their cost) whose best mean score is within one standard
        error of the best of all, refitted on all the training data. A
        family that wins by less than the folds' noise does not displace a
        cheaper one; with one family it is simply the best candidate.
    """
    if param_grid is None:
        param_grid = default_param_grid(family, random_state=random_state)
    if isinstance(cv, int):
        cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return GridSearchCV(
        make_classifier("features", random_state=random_state),
        param_grid,
        cv=cv,
        scoring=scoring,
        n_jobs=n_jobs,
        verbose=verbose,
        refit=simplest_family_within_one_se,
        error_score="raise",
    )


def simplest_family_within_one_se(cv_results) -> int:
    """Index of the candidate to refit: the one-standard-error rule, by family.

    The standard error of a candidate's mean score is its standard deviation
    over the folds divided by the square root of their number. Families are
    taken in the order of :data:`FAMILIES` (features, CNN, hybrid: cheapest
    first; candidates without an ``estimator`` parameter count as one
    family); the first whose best mean score reaches the overall best less
    its standard error wins, with its best candidate (the first one on a
    tie, as GridSearchCV's ``best_index_``).

    Parameters
    ----------
    cv_results : dict
        A GridSearchCV's ``cv_results_``.

    Returns
    -------
    int
    """
    mean = np.asarray(cv_results["mean_test_score"], dtype=np.float64)
    std = np.asarray(cv_results["std_test_score"], dtype=np.float64)
    n_splits = sum(
        key.startswith("split") and key.endswith("_test_score") for key in cv_results
    )
    best = int(np.nanargmax(mean))
    threshold = mean[best] - std[best] / np.sqrt(max(n_splits, 1))
    order = list(FAMILIES)
    families = [
        order.index(family_of(params["estimator"])) if "estimator" in params else 0
        for params in cv_results["params"]
    ]
    for rank in sorted(set(families)):
        members = [i for i, family in enumerate(families) if family == rank]
        leader = members[int(np.nanargmax(mean[members]))]
        if mean[leader] >= threshold:
            return leader
    return best


def describe_candidate(params):
    """A short name for a candidate of the search, e.g. ``features classify__C=10``.

    A features or hybrid model whose sharpness features lack the outer ones
    (see :func:`with_outer_features`), unlike the default's, is named
    ``features (no outer)`` or ``hybrid (no outer)``.
    """
    parts = []
    for key, value in params.items():
        if key == "estimator":
            family = family_of(value)
            # Only a model that holds sharpness features can lack them.
            if _feature_extractors(value) and not reads_outer_features(value):
                family += " (no outer)"
            parts.insert(0, family)
        elif key == "augmenter":
            continue
        else:
            parts.append(f"{key.removeprefix('estimator__')}={value}")
    return " ".join(parts)


def cv_results_table(search):
    """The cross-validation table of a fitted search, best first.

    Parameters
    ----------
    search : fitted GridSearchCV

    Returns
    -------
    pandas.DataFrame
        Columns ``candidate``, ``mean_score``, ``std_score``, ``mean_fit_s``,
        ``rank``.
    """
    results = search.cv_results_
    table = pd.DataFrame(
        {
            "candidate": [describe_candidate(p) for p in results["params"]],
            "mean_score": results["mean_test_score"],
            "std_score": results["std_test_score"],
            "mean_fit_s": results["mean_fit_time"],
            "rank": results["rank_test_score"],
        }
    )
    # Ties keep the candidates' order, as GridSearchCV's best_index_ does.
    return table.sort_values("rank", kind="stable").reset_index(drop=True)

"""Plots with matplotlib: model selection, sharpness features, image galleries.

Every function draws on the ``ax`` or ``fig`` it is given, or on a new pyplot
figure when none is given, and returns the matplotlib object it drew on.
matplotlib is imported when a function is called, not when blurkit is
imported, and no function changes matplotlib's global settings (backend,
style, rcParams).

Examples
--------
>>> import numpy as np
>>> from matplotlib.figure import Figure
>>> from blurkit.plot import plot_gallery
>>> images = np.random.default_rng(0).random((3, 16, 16))
>>> fig = plot_gallery(images, [1, 0, 1], proba=[0.9, 0.2, 0.6], fig=Figure())
>>> len(fig.axes)
3
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["plot_cv_results", "plot_feature_distributions", "plot_gallery"]

CLASS_NAMES = {0: "blurred", 1: "sharp"}
# Colour-blind-safe pair (Okabe-Ito orange and blue), one per class.
CLASS_COLORS = {0: "#E69F00", 1: "#0072B2"}
_WRONG_COLOR = "#D55E00"


def _new_axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _new_figure(fig, figsize):
    if fig is not None:
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def _class_name(value) -> str:
    try:
        return CLASS_NAMES.get(int(value), str(value))
    except (TypeError, ValueError):
        return str(value)


def plot_cv_results(search, *, ax=None):
    """Cross-validation scores of each candidate of a fitted search.

    One horizontal bar per candidate (best at the top): the mean score over
    the folds, with a line for plus or minus one standard deviation and a dot
    for each fold's score. The best candidate's bar is highlighted.

    Parameters
    ----------
    search : fitted GridSearchCV or RandomizedSearchCV
        Any scikit-learn search with ``cv_results_``, e.g. the one made by
        :func:`blurkit.make_model_search`.
    ax : matplotlib Axes, default=None
        Axes to draw on; None makes a new pyplot figure.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ValueError
        If ``search`` has no ``cv_results_`` (it is not fitted).
    """
    from ..models import describe_candidate

    results = getattr(search, "cv_results_", None)
    if results is None:
        raise ValueError(
            f"{type(search).__name__} has no cv_results_; fit the search first"
        )
    ax = _new_axes(ax)
    n_candidates = len(results["params"])
    order = np.lexsort((np.arange(n_candidates), results["rank_test_score"]))
    names = [describe_candidate(results["params"][i]) or "default" for i in order]
    means = np.asarray(results["mean_test_score"])[order]
    stds = np.asarray(results["std_test_score"])[order]
    split_keys = sorted(
        (k for k in results if k.startswith("split") and k.endswith("_test_score")),
        key=lambda k: int(k[len("split") : -len("_test_score")]),
    )
    positions = np.arange(n_candidates)[::-1]  # best at the top
    best = results["rank_test_score"][order] == 1
    ax.barh(
        positions,
        means,
        xerr=stds,
        color=np.where(best, CLASS_COLORS[1], "#9DB9D3"),
        ecolor="#333333",
        capsize=3,
        height=0.6,
    )
    for key in split_keys:
        ax.plot(
            np.asarray(results[key])[order],
            positions,
            "o",
            color="#333333",
            markersize=3,
            alpha=0.7,
        )
    ax.set_yticks(positions, names)
    shown = np.concatenate(
        [means - stds, means + stds] + [np.asarray(results[k]) for k in split_keys]
    )
    shown = shown[np.isfinite(shown)]
    if shown.size:
        # Zoom on the scores: candidates often differ by a few per cent.
        margin = 0.05 * max(shown.max() - shown.min(), 0.1)
        low = shown.min() - margin
        ax.set_xlim(max(0.0, low) if shown.min() >= 0 else low, shown.max() + margin)
    ax.set_xlabel(f"CV score ({len(split_keys)} folds; bar: mean, line: ±1 std)")
    ax.set_title("Model selection")
    return ax


def plot_feature_distributions(
    X,
    y,
    *,
    feature_names: Sequence[str] | None = None,
    bins: int = 20,
    n_cols: int = 4,
    fig=None,
):
    """Histogram of each feature per class, one small panel per feature.

    Parameters
    ----------
    X : pandas DataFrame or array-like of shape (n_samples, n_features)
        Feature table, e.g. ``SharpnessFeatures().set_output(
        transform="pandas").fit_transform(images)``. Not images: compute the
        features first.
    y : array-like of shape (n_samples,)
        Class of each row; 0 and 1 are shown as "blurred" and "sharp".
    feature_names : sequence of str, default=None
        Panel titles; None uses the DataFrame's columns, or ``x0``, ``x1``...
    bins : int, default=20
        Number of bins, shared by the classes of a panel.
    n_cols : int, default=4
        Panels per row.
    fig : matplotlib Figure, default=None
        Figure to draw on (it should be empty); None makes a new pyplot figure.

    Returns
    -------
    fig : matplotlib Figure
        With one Axes per feature, in column order.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D or ``y`` or ``feature_names`` do not match it.
    """
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        values = X.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(X, dtype=np.float64)
        names = [f"x{i}" for i in range(values.shape[1])] if values.ndim == 2 else []
    if values.ndim != 2:
        raise ValueError(
            f"X must be a 2-D feature table, got an array of shape {values.shape}"
        )
    if feature_names is not None:
        names = [str(n) for n in feature_names]
        if len(names) != values.shape[1]:
            raise ValueError(
                f"got {len(names)} feature names for {values.shape[1]} features"
            )
    y = np.asarray(y).ravel()
    if len(y) != len(values):
        raise ValueError(f"X has {len(values)} rows but y has {len(y)} values")
    classes = np.unique(y)
    n_features = values.shape[1]
    n_cols = max(1, min(int(n_cols), n_features))
    n_rows = math.ceil(n_features / n_cols)
    fig = _new_figure(fig, (2.4 * n_cols, 1.9 * n_rows + 0.4))
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for j, ax in enumerate(axes):
        if j >= n_features:
            ax.remove()
            continue
        column = values[:, j]
        finite = column[np.isfinite(column)]
        edges = np.histogram_bin_edges(finite if finite.size else [0.0], bins=bins)
        for c in classes:
            ax.hist(
                column[(y == c) & np.isfinite(column)],
                bins=edges,
                histtype="stepfilled",
                alpha=0.55,
                color=CLASS_COLORS.get(int(c), None) if c in (0, 1) else None,
                label=_class_name(c),
            )
        ax.set_title(names[j], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(classes))
    return fig


def plot_gallery(
    images,
    predictions,
    *,
    labels=None,
    proba=None,
    sigma=None,
    subjects: Sequence[str] | None = None,
    n_cols: int = 6,
    fig=None,
):
    """Images in a grid, each titled with its prediction.

    Parameters
    ----------
    images : ndarray of shape (n, H, W) or list of 2-D arrays
        Images in [0, 1], shown in grey from black (0) to white (1).
    predictions : array-like of shape (n,)
        Predicted class of each image (1 sharp, 0 blurred).
    labels : array-like of shape (n,), default=None
        True classes; wrong predictions are then titled in red, with the true
        class.
    proba : array-like of shape (n,), default=None
        Probability of being sharp, shown as ``p=``.
    sigma : array-like of shape (n,), default=None
        Estimated blur in pixels, shown as ``σ=``.
    subjects : sequence of str, default=None
        Subject ids, shown above the prediction.
    n_cols : int, default=6
        Images per row.
    fig : matplotlib Figure, default=None
        Figure to draw on (it should be empty); None makes a new pyplot figure.

    Returns
    -------
    fig : matplotlib Figure
        With one Axes per image.

    Raises
    ------
    ValueError
        If there is no image or the other arguments do not have one value per
        image.
    """
    images = list(images)
    n = len(images)
    if n == 0:
        raise ValueError("plot_gallery needs at least one image")
    columns = {"predictions": predictions}
    for name, value in (("labels", labels), ("proba", proba), ("sigma", sigma)):
        if value is not None:
            columns[name] = value
    if subjects is not None:
        columns["subjects"] = list(subjects)
    for name, value in columns.items():
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} values for {n} images")
    n_cols = max(1, min(int(n_cols), n))
    n_rows = math.ceil(n / n_cols)
    fig = _new_figure(fig, (1.9 * n_cols, 2.2 * n_rows))
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(np.asarray(images[i]), cmap="gray", vmin=0.0, vmax=1.0)
        lines = [] if subjects is None else [str(subjects[i])]
        text = _class_name(predictions[i])
        wrong = labels is not None and labels[i] != predictions[i]
        if wrong:
            text += f" (true: {_class_name(labels[i])})"
        lines.append(text)
        details = []
        if proba is not None:
            details.append(f"p={float(proba[i]):.2f}")
        if sigma is not None:
            details.append(f"σ={float(sigma[i]):.1f} px")
        if details:
            lines.append(" ".join(details))
        ax.set_title(
            "\n".join(lines), fontsize=7, color=_WRONG_COLOR if wrong else "black"
        )
    return fig

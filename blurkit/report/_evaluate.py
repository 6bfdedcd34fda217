"""Evaluate a model on labelled images: metrics, and what the report shows.

:func:`evaluate` scores a fitted model; :func:`format_metrics` prints the
scores; :func:`model_details` describes the model for the report's header.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score
from sklearn.utils.validation import column_or_1d

from ..models import describe_candidate
from ._plots import CLASS_NAMES

__all__ = ["evaluate", "format_metrics", "model_details"]


def evaluate(model, images, labels, subjects: Sequence[str] | None = None) -> dict:
    """Score a fitted classifier on labelled images.

    Parameters
    ----------
    model : fitted classifier
        Any classifier of images with ``predict_proba`` and ``classes_``
        holding 0 (blurred) and 1 (sharp), e.g. a :class:`BlurDetector`.
        When it has a blur-sigma estimate (``predict_sigma``), the estimated
        blur of each image is added.
    images : ndarray of shape (n, H, W) or list of 2-D arrays
        Images in [0, 1].
    labels : array-like of shape (n,)
        True labels, 1 sharp and 0 blurred.
    subjects : sequence of str, default=None
        Subject ids; None numbers the images ``image-0``, ``image-1``...

    Returns
    -------
    results : dict
        - ``n_images``, ``n_sharp``, ``n_blurred`` : int
        - ``accuracy`` : float, the fraction of correct labels;
        - ``balanced_accuracy`` : float, the mean recall of the classes
          present in ``labels``;
        - ``roc_auc`` : float, area under the ROC curve of the probability
          of being sharp; NaN when ``labels`` hold a single class;
        - ``confusion_matrix`` : ndarray of shape (2, 2), rows the true
          class and columns the predicted class, in the order blurred, sharp;
        - ``per_image`` : pandas DataFrame with columns ``Subject``,
          ``Label``, ``Predicted``, ``Probability`` (of being sharp), and
          ``Sigma_px``/``Sigma_mm`` when the model estimates blur.

    Raises
    ------
    ValueError
        If the labels are not 0/1, their number differs from the images', or
        the model's classes are not 0 and 1.
    """
    labels = column_or_1d(labels, warn=True)
    if not np.isin(labels, (0, 1)).all():
        bad = labels[~np.isin(labels, (0, 1))][0]
        raise ValueError(f"labels must be 0 or 1, got {bad!r}")
    labels = labels.astype(np.int64)
    n = len(labels)
    if len(images) != n:
        raise ValueError(f"got {len(images)} images but {n} labels")
    subjects = [f"image-{i}" for i in range(n)] if subjects is None else list(subjects)
    if len(subjects) != n:
        raise ValueError(f"got {len(subjects)} subjects for {n} images")
    classes = [int(c) for c in np.asarray(model.classes_)]
    if sorted(classes) != [0, 1]:
        raise ValueError(
            f"the model's classes are {classes}; expected 0 (blurred) and 1 (sharp)"
        )
    scores = model.predict_proba(images)
    proba = scores[:, classes.index(1)].astype(np.float64)
    predicted = np.asarray(classes)[np.argmax(scores, axis=1)].astype(np.int64)
    per_image = pd.DataFrame(
        {
            "Subject": subjects,
            "Label": labels,
            "Predicted": predicted,
            "Probability": proba,
        }
    )
    if _has_sigma(model):
        sigma = np.asarray(model.predict_sigma(images), dtype=np.float64)
        per_image["Sigma_px"] = sigma
        per_image["Sigma_mm"] = sigma * float(getattr(model, "pixel_spacing", np.nan))
    confusion = confusion_matrix(labels, predicted, labels=[0, 1]).astype(np.int64)
    present = confusion.sum(axis=1) > 0
    with warnings.catch_warnings():
        # One class only: the mean recall of the classes present, as intended.
        warnings.simplefilter("ignore", UserWarning)
        balanced = balanced_accuracy_score(labels, predicted) if n else np.nan
    return {
        "n_images": n,
        "n_sharp": int(np.sum(labels == 1)),
        "n_blurred": int(np.sum(labels == 0)),
        "accuracy": float(np.mean(predicted == labels)) if n else float("nan"),
        "balanced_accuracy": float(balanced),
        "roc_auc": (
            float(roc_auc_score(labels, proba)) if present.all() else float("nan")
        ),
        "confusion_matrix": confusion,
        "per_image": per_image,
    }


def _has_sigma(model) -> bool:
    # A BlurDetector fitted with sigma_estimator=None has the method but no
    # estimator behind it.
    return callable(getattr(model, "predict_sigma", None)) and (
        getattr(model, "sigma_estimator_", "absent") is not None
    )


def format_metrics(results: Mapping) -> str:
    """The metrics of :func:`evaluate` as a few lines of plain text.

    Parameters
    ----------
    results : dict
        The output of :func:`evaluate`.

    Returns
    -------
    str
        Counts, accuracy, balanced accuracy, ROC AUC and the confusion
        matrix (rows: true class, columns: predicted class).
    """
    cm = results["confusion_matrix"]
    width = max(len(name) for name in CLASS_NAMES.values()) + 2
    lines = [
        f"Images:             {results['n_images']} "
        f"({results['n_sharp']} sharp, {results['n_blurred']} blurred)",
        f"Accuracy:           {results['accuracy']:.3f}",
        f"Balanced accuracy:  {results['balanced_accuracy']:.3f}",
        f"ROC AUC:            {results['roc_auc']:.3f}",
        "Confusion matrix (rows: true, columns: predicted):",
        " " * (width + 2)
        + "".join(f"{name:>{width}}" for name in CLASS_NAMES.values()),
    ]
    for i, name in CLASS_NAMES.items():
        lines.append(
            f"  {name:<{width}}" + "".join(f"{int(v):>{width}}" for v in cm[i])
        )
    return "\n".join(lines)


def model_details(model, info: Mapping | None = None) -> dict[str, str]:
    """A short description of a fitted model, for the report's header.

    Parameters
    ----------
    model : fitted estimator
    info : dict, default=None
        The second value returned by :func:`blurkit.load_model` (versions
        and training summary).

    Returns
    -------
    dict of str to str
        ``Model`` (class, and the selected candidate of a search), and
        ``Trained on`` and ``Saved by`` when known.
    """
    details = {}
    description = type(model).__name__
    search = getattr(model, "classifier_", model)
    best = getattr(search, "best_params_", None)
    if best is not None:
        description += f": {describe_candidate(best)}"
    details["Model"] = description
    summary = (info or {}).get("training_summary") or getattr(
        model, "training_summary_", None
    )
    if summary:
        classes = summary.get("classes", {})
        details["Trained on"] = (
            f"{summary.get('n_images', '?')} images "
            f"({classes.get(1, '?')} sharp, {classes.get(0, '?')} blurred)"
        )
    versions = (info or {}).get("versions")
    if versions:
        details["Saved by"] = ", ".join(
            f"{name} {version}" for name, version in versions.items() if version
        )
    return details

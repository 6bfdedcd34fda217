"""Evaluate a model on labelled images and write a self-contained HTML report.

:func:`evaluate` scores a fitted model; :func:`render_report` turns the
result into one HTML page whose pictures (plots and image thumbnails) are
embedded as base64 PNG data URIs, so the file opens offline and can be sent
as it is; :func:`write_report` writes that page atomically. The plots are
drawn with matplotlib's Agg renderer on figures that pyplot never sees, so
making a report changes no matplotlib setting.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import column_or_1d

from ._io import _atomic_path
from .plot import CLASS_COLORS, CLASS_NAMES

__all__ = [
    "evaluate",
    "format_metrics",
    "model_details",
    "render_report",
    "write_report",
]

_CLASS_NAMES = (CLASS_NAMES[0], CLASS_NAMES[1])
_SECTIONS = {
    "metrics": "Metrics",
    "confusion-matrix": "Confusion matrix",
    "roc-curve": "ROC curve",
    "reliability": "Reliability",
    "feature-distributions": "Sharpness features per class",
    "misclassified": "Misclassified images",
    "least-confident": "Least confident correct images",
    "per-image": "Every image",
}


# --------------------------------------------------------------------------- #
# Evaluation
# --------------------------------------------------------------------------- #


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
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    present = confusion.sum(axis=1) > 0
    recalls = np.diag(confusion)[present] / confusion.sum(axis=1)[present]
    return {
        "n_images": n,
        "n_sharp": int(np.sum(labels == 1)),
        "n_blurred": int(np.sum(labels == 0)),
        "accuracy": float(np.mean(predicted == labels)) if n else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if n else float("nan"),
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
    width = max(len(name) for name in _CLASS_NAMES) + 2
    lines = [
        f"Images:             {results['n_images']} "
        f"({results['n_sharp']} sharp, {results['n_blurred']} blurred)",
        f"Accuracy:           {results['accuracy']:.3f}",
        f"Balanced accuracy:  {results['balanced_accuracy']:.3f}",
        f"ROC AUC:            {results['roc_auc']:.3f}",
        "Confusion matrix (rows: true, columns: predicted):",
        " " * (width + 2) + "".join(f"{name:>{width}}" for name in _CLASS_NAMES),
    ]
    for i, name in enumerate(_CLASS_NAMES):
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
    from ._models import _describe_candidate

    details = {}
    description = type(model).__name__
    search = getattr(model, "classifier_", model)
    best = getattr(search, "best_params_", None)
    if best is not None:
        description += f": {_describe_candidate(best)}"
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


# --------------------------------------------------------------------------- #
# Pictures
# --------------------------------------------------------------------------- #


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return _data_uri(buffer.getvalue())


def _image_uri(image: np.ndarray) -> str:
    from PIL import Image

    pixels = np.rint(np.clip(np.asarray(image, dtype=np.float64), 0, 1) * 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return _data_uri(buffer.getvalue())


def _new_figure(width: float, height: float):
    # A bare Figure renders with Agg on savefig and is unknown to pyplot:
    # no backend is selected and nothing global changes.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _confusion_figure(cm: np.ndarray) -> str:
    from sklearn.metrics import ConfusionMatrixDisplay

    fig = _new_figure(3.6, 3.3)
    ax = fig.add_subplot()
    ConfusionMatrixDisplay(cm, display_labels=list(_CLASS_NAMES)).plot(
        ax=ax, colorbar=False, cmap="Blues"
    )
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    return _figure_uri(fig)


def _roc_figure(labels: np.ndarray, proba: np.ndarray) -> str:
    from sklearn.metrics import RocCurveDisplay

    fig = _new_figure(3.6, 3.3)
    ax = fig.add_subplot()
    if len(np.unique(labels)) < 2:
        ax.text(0.5, 0.5, "needs both classes", ha="center", va="center")
        ax.set_axis_off()
    else:
        RocCurveDisplay.from_predictions(
            labels, proba, pos_label=1, name="P(sharp)", ax=ax, plot_chance_level=True
        )
        ax.legend(loc="lower right", fontsize=8)
        ax.set_xlabel("False positive rate (blurred called sharp)")
        ax.set_ylabel("True positive rate (sharp called sharp)")
    return _figure_uri(fig)


def _reliability_bins(n_images: int) -> int:
    return 10 if n_images >= 100 else 5


def _reliability_figure(labels: np.ndarray, proba: np.ndarray) -> str:
    from sklearn.calibration import CalibrationDisplay

    n_bins = _reliability_bins(len(labels))
    fig = _new_figure(3.6, 3.3)
    curve_ax, hist_ax = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    CalibrationDisplay.from_predictions(
        labels, proba, n_bins=n_bins, pos_label=1, name="model", ax=curve_ax
    )
    curve_ax.set_xlabel("")
    curve_ax.set_ylabel("Fraction sharp")
    curve_ax.legend(loc="upper left", fontsize=8)
    edges = np.linspace(0, 1, 21)
    tallest = 0
    for c in (0, 1):
        counts, _, _ = hist_ax.hist(
            proba[labels == c],
            bins=edges,
            color=CLASS_COLORS[c],
            alpha=0.6,
            label=_CLASS_NAMES[c],
        )
        tallest = max(tallest, counts.max(initial=0))
    hist_ax.set_ylim(0, 1.7 * max(tallest, 1))  # room for the legend
    hist_ax.set_xlabel("Predicted probability of sharp")
    hist_ax.set_ylabel("Images")
    hist_ax.legend(fontsize=7, loc="upper center", ncols=2, frameon=False)
    return _figure_uri(fig)


def _features_figure(images, labels: np.ndarray) -> str:
    from ._transformers import SharpnessFeatures
    from .plot import plot_feature_distributions

    features = SharpnessFeatures().set_output(transform="pandas").fit_transform(images)
    n_cols = 6
    n_rows = -(-features.shape[1] // n_cols)
    fig = _new_figure(11.0, 1.75 * n_rows + 0.5)
    plot_feature_distributions(features, labels, n_cols=n_cols, fig=fig)
    return _figure_uri(fig)


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 1120px; padding: 24px 32px 48px; color: #1d232a;
  background: #fff; line-height: 1.45; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid #d9dee4; }
p.note { color: #5a6570; margin: 4px 0 10px; font-size: 0.92rem; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px;
  margin: 10px 0 0; font-size: 0.92rem; }
dl.details dt { color: #5a6570; }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #d9dee4; border-radius: 8px; padding: 10px 16px;
  min-width: 150px; }
.card .value { font-size: 1.6rem; font-weight: 600; }
.card .label { color: #5a6570; font-size: 0.85rem; }
.plots { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.plots section h2 { font-size: 1rem; border: 0; margin: 18px 0 4px; }
img.plot { width: 100%; height: auto; }
.gallery { display: flex; flex-wrap: wrap; gap: 12px; }
.gallery figure { margin: 0; width: 150px; font-size: 0.8rem; }
.gallery img { width: 150px; height: auto; display: block; border-radius: 4px;
  border: 3px solid #d9dee4; box-sizing: border-box; }
.gallery figure.wrong img { border-color: #d55e00; }
.gallery figcaption { margin-top: 3px; line-height: 1.3; }
.gallery .subject { font-weight: 600; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eceff2; }
th:first-child, td:first-child { text-align: left; }
tr.wrong td { color: #b34700; }
footer { margin-top: 40px; color: #8a949e; font-size: 0.8rem; }
"""


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def _caption(row, sigma: bool) -> str:
    predicted = _CLASS_NAMES[int(row.Predicted)]
    truth = _CLASS_NAMES[int(row.Label)]
    lines = [
        f'<span class="subject">{html.escape(str(row.Subject))}</span>',
        f"predicted {predicted}, true {truth}",
        f"P(sharp) = {row.Probability:.3f}",
    ]
    if sigma:
        mm = "" if not np.isfinite(row.Sigma_mm) else f" ({row.Sigma_mm:.2f} mm)"
        lines.append(f"blur σ ≈ {row.Sigma_px:.2f} px{mm}")
    return "<br>".join(lines)


def _gallery(rows: pd.DataFrame, images, *, wrong: bool, empty: str) -> str:
    if rows.empty:
        return f'<p class="note">{html.escape(empty)}</p>'
    sigma = "Sigma_px" in rows.columns
    css = ' class="wrong"' if wrong else ""
    items = []
    for index, row in zip(rows.index, rows.itertuples(index=False), strict=True):
        alt = html.escape(f"image of {row.Subject}", quote=True)
        items.append(
            f'<figure{css}><img src="{_image_uri(images[index])}" alt="{alt}">'
            f"<figcaption>{_caption(row, sigma)}</figcaption></figure>"
        )
    return '<div class="gallery">' + "".join(items) + "</div>"


def _per_image_table(per_image: pd.DataFrame) -> str:
    header = "".join(f"<th>{html.escape(c)}</th>" for c in per_image.columns)
    rows = []
    for row in per_image.itertuples(index=False):
        cells = []
        for name, value in zip(per_image.columns, row, strict=True):
            if name in ("Label", "Predicted"):
                text = f"{int(value)} ({_CLASS_NAMES[int(value)]})"
            elif isinstance(value, float):
                text = _fmt(value)
            else:
                text = str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        css = ' class="wrong"' if row.Label != row.Predicted else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _section(key: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{key}"><h2>{_SECTIONS[key]}</h2>{note_html}{body}</section>'


def render_report(
    results: Mapping,
    images,
    *,
    title: str = "blurkit evaluation report",
    details: Mapping[str, str] | None = None,
    n_least_confident: int = 8,
    max_misclassified: int | None = None,
) -> str:
    """The evaluation report as one self-contained HTML page.

    Parameters
    ----------
    results : dict
        The output of :func:`evaluate`.
    images : ndarray of shape (n, H, W) or list of 2-D arrays
        The evaluated images, in the order of ``results["per_image"]``; used
        for the thumbnails and the sharpness features.
    title : str, default="blurkit evaluation report"
        Page title.
    details : mapping of str to str, default=None
        Lines of the header (model, data folder, ...), shown as they are.
    n_least_confident : int, default=8
        Number of correct images shown, those whose probability is nearest
        0.5.
    max_misclassified : int or None, default=None
        Show at most this many misclassified images, the most confidently
        wrong first; None shows them all.

    Returns
    -------
    str
        An HTML5 document. Every picture is an ``<img>`` with a
        ``data:image/png;base64`` source; there is no script and no external
        resource. Sections (by ``id``): ``metrics``, ``confusion-matrix``,
        ``roc-curve``, ``reliability``, ``feature-distributions``,
        ``misclassified``, ``least-confident``, ``per-image``.
    """
    per_image = results["per_image"].reset_index(drop=True)
    if len(images) != len(per_image):
        raise ValueError(
            f"got {len(images)} images for {len(per_image)} evaluated images"
        )
    labels = per_image["Label"].to_numpy()
    proba = per_image["Probability"].to_numpy()
    confidence = np.abs(proba - 0.5)
    correct = per_image["Label"] == per_image["Predicted"]

    wrong_rows = per_image[~correct].iloc[
        np.argsort(-confidence[~correct], kind="stable")
    ]
    n_wrong = len(wrong_rows)
    shown_wrong = (
        wrong_rows if max_misclassified is None else wrong_rows[:max_misclassified]
    )
    unsure_rows = per_image[correct].iloc[
        np.argsort(confidence[correct], kind="stable")[: max(0, n_least_confident)]
    ]

    from . import __version__

    cm = results["confusion_matrix"]
    cards = [
        ("Accuracy", _fmt(results["accuracy"])),
        ("Balanced accuracy", _fmt(results["balanced_accuracy"])),
        ("ROC AUC", _fmt(results["roc_auc"])),
        (
            "Images",
            f"{results['n_images']}",
        ),
        ("Misclassified", f"{n_wrong}"),
    ]
    cards_html = (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{v}</div>'
            f'<div class="label">{html.escape(k)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )
    counts = (
        f"{results['n_sharp']} sharp and {results['n_blurred']} blurred images. "
        "Rows of the confusion matrix are the true class, columns the predicted one: "
        f"{cm[0, 0]} blurred and {cm[1, 1]} sharp images are right, "
        f"{cm[0, 1]} blurred images are called sharp and {cm[1, 0]} sharp "
        "images blurred."
    )
    details_html = ""
    if details:
        details_html = (
            '<dl class="details">'
            + "".join(
                f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
                for k, v in details.items()
            )
            + "</dl>"
        )

    def plot(key, uri, alt, note):
        body = f'<img class="plot" src="{uri}" alt="{html.escape(alt, quote=True)}">'
        return _section(key, body, note)

    plots = "".join(
        [
            plot(
                "confusion-matrix",
                _confusion_figure(cm),
                "confusion matrix",
                "True class (rows) against predicted class (columns).",
            ),
            plot(
                "roc-curve",
                _roc_figure(labels, proba),
                "ROC curve",
                f"Area under the curve: {_fmt(results['roc_auc'])}.",
            ),
            plot(
                "reliability",
                _reliability_figure(labels, proba),
                "reliability curve",
                "Fraction of sharp images against the predicted probability "
                f"({_reliability_bins(len(labels))} bins), and how many images "
                "get each probability. On the diagonal, probabilities mean what "
                "they say.",
            ),
        ]
    )
    shown_note = (
        f"{n_wrong} images, the most confidently wrong first."
        if len(shown_wrong) == n_wrong
        else f"The {len(shown_wrong)} most confidently wrong of {n_wrong} images."
    )
    body = [
        f"<header><h1>{html.escape(title)}</h1>{details_html}</header>",
        _section("metrics", cards_html, counts),
        f'<div class="plots">{plots}</div>',
        plot(
            "feature-distributions",
            _features_figure(images, labels),
            "histograms of the sharpness features per class",
            "Each blurkit.SharpnessFeatures feature, per true class: log10 power "
            "of each frequency band (fraction of Nyquist) relative to the lowest "
            "band, over all orientations (mean) and in the weakest one (min).",
        ),
        _section(
            "misclassified",
            _gallery(
                shown_wrong,
                images,
                wrong=True,
                empty="None: every image is classified correctly.",
            ),
            shown_note if n_wrong else "",
        ),
        _section(
            "least-confident",
            _gallery(
                unsure_rows,
                images,
                wrong=False,
                empty="No correctly classified image.",
            ),
            f"The {len(unsure_rows)} correct images whose probability is nearest 0.5.",
        ),
        _section(
            "per-image",
            "<details><summary>Show the table</summary>"
            f"{_per_image_table(per_image)}</details>",
        ),
        f"<footer>Made by blurkit {html.escape(__version__)}.</footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        "<body>" + "\n".join(body) + "</body></html>\n"
    )


def write_report(
    path: str | os.PathLike,
    results: Mapping,
    images,
    *,
    title: str = "blurkit evaluation report",
    details: Mapping[str, str] | None = None,
    n_least_confident: int = 8,
    max_misclassified: int | None = None,
) -> None:
    """Write the HTML report of :func:`render_report` to ``path``, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination file; its folder must exist. An existing file is replaced
        only once the new one is complete.
    results : dict
        The output of :func:`evaluate`.
    images : ndarray of shape (n, H, W) or list of 2-D arrays
        The evaluated images.
    title, details, n_least_confident, max_misclassified
        See :func:`render_report`.

    Raises
    ------
    BlurkitInputError
        If the folder is missing or the location cannot be written.
    """
    page = render_report(
        results,
        images,
        title=title,
        details=details,
        n_least_confident=n_least_confident,
        max_misclassified=max_misclassified,
    )
    with _atomic_path(path) as tmp:
        tmp.write_bytes(page.encode("utf-8"))

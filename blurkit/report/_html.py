"""The evaluation report: one self-contained HTML page.

:func:`render_report` turns the result of :func:`~blurkit.report.evaluate`
into one HTML page whose pictures (plots and image thumbnails) are embedded
as base64 PNG data URIs, so the file opens offline and can be sent as it is;
:func:`write_report` writes that page atomically. The page and its CSS are
package data (``templates/report.html`` and ``report.css``), filled in with
:class:`string.Template`.
"""

from __future__ import annotations

import functools
import html
import os
from collections.abc import Mapping
from importlib import resources
from string import Template

import numpy as np
import pandas as pd

from ..io import atomic_path
from ._figures import (
    confusion_figure,
    features_figure,
    image_uri,
    reliability_bins,
    reliability_figure,
    roc_figure,
)
from ._plots import CLASS_NAMES

__all__ = ["render_report", "template", "write_report"]


@functools.cache
def template(name: str) -> str:
    """The text of one of the report templates (``report.html``, ...)."""
    return resources.files(__package__).joinpath("templates", name).read_text("utf-8")


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


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def _caption(row, sigma: bool) -> str:
    predicted = CLASS_NAMES[int(row.Predicted)]
    truth = CLASS_NAMES[int(row.Label)]
    lines = [
        f'<span class="subject">{html.escape(str(row.Subject))}</span>',
        f"predicted {predicted}, true {truth}",
        f"P(sharp) = {row.Probability:.3f}",
    ]
    if sigma:
        mm = "" if not np.isfinite(row.Sigma_mm) else f" ({row.Sigma_mm:.2f} mm)"
        lines.append(f"blur σ ≈ {row.Sigma_px:.2f} px{mm}")
    return "<br>".join(lines)


def gallery_html(thumbnails, *, empty: str) -> str:
    """A gallery of captioned thumbnails, or a note when there is none.

    ``thumbnails`` yields ``(image, subject, caption_html, css_class)``;
    ``caption_html`` is inserted as it is, ``css_class`` may be empty.
    """
    items = []
    for image, subject, caption, css in thumbnails:
        alt = html.escape(f"image of {subject}", quote=True)
        css = f' class="{css}"' if css else ""
        items.append(
            f'<figure{css}><img src="{image_uri(image)}" alt="{alt}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    if not items:
        return f'<p class="note">{html.escape(empty)}</p>'
    return '<div class="gallery">' + "".join(items) + "</div>"


def cards_html(cards) -> str:
    """Big figures with a label under each; ``cards`` yields (label, value)."""
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{html.escape(value)}</div>'
            f'<div class="label">{html.escape(label)}</div></div>'
            for label, value in cards
        )
        + "</div>"
    )


def details_html(details: Mapping[str, str] | None) -> str:
    """The header's description list (model, data, ...), escaped."""
    if not details:
        return ""
    return (
        '<dl class="details">'
        + "".join(
            f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
            for k, v in details.items()
        )
        + "</dl>"
    )


def _gallery(rows: pd.DataFrame, images, *, wrong: bool, empty: str) -> str:
    sigma = "Sigma_px" in rows.columns
    return gallery_html(
        (
            (images[index], row.Subject, _caption(row, sigma), "wrong" if wrong else "")
            for index, row in zip(rows.index, rows.itertuples(index=False), strict=True)
        ),
        empty=empty,
    )


def _per_image_table(per_image: pd.DataFrame) -> str:
    header = "".join(f"<th>{html.escape(c)}</th>" for c in per_image.columns)
    rows = []
    for row in per_image.itertuples(index=False):
        cells = []
        for name, value in zip(per_image.columns, row, strict=True):
            if name in ("Label", "Predicted"):
                text = f"{int(value)} ({CLASS_NAMES[int(value)]})"
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

    from .. import __version__

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
    counts = (
        f"{results['n_sharp']} sharp and {results['n_blurred']} blurred images. "
        "Rows of the confusion matrix are the true class, columns the predicted one: "
        f"{cm[0, 0]} blurred and {cm[1, 1]} sharp images are right, "
        f"{cm[0, 1]} blurred images are called sharp and {cm[1, 0]} sharp "
        "images blurred."
    )

    def plot(key, uri, alt, note):
        body = f'<img class="plot" src="{uri}" alt="{html.escape(alt, quote=True)}">'
        return _section(key, body, note)

    plots = "".join(
        [
            plot(
                "confusion-matrix",
                confusion_figure(cm),
                "confusion matrix",
                "True class (rows) against predicted class (columns).",
            ),
            plot(
                "roc-curve",
                roc_figure(labels, proba),
                "ROC curve",
                f"Area under the curve: {_fmt(results['roc_auc'])}.",
            ),
            plot(
                "reliability",
                reliability_figure(labels, proba),
                "reliability curve",
                "Fraction of sharp images against the predicted probability "
                f"({reliability_bins(len(labels))} bins), and how many images "
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
        f"<header><h1>{html.escape(title)}</h1>{details_html(details)}</header>",
        _section("metrics", cards_html(cards), counts),
        f'<div class="plots">{plots}</div>',
        plot(
            "feature-distributions",
            features_figure(images, labels),
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
    return Template(template("report.html")).substitute(
        title=html.escape(title),
        css=template("report.css"),
        body="\n".join(body),
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
    with atomic_path(path) as tmp:
        tmp.write_bytes(page.encode("utf-8"))

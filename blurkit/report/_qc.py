"""The QC report: one self-contained HTML page for unlabelled images.

MRIQC's group report, for slices: the images ranked by their estimated blur
and their probability of being sharp, thumbnails of the blurriest and of the
borderline ones, the distribution of the blur over the set, and a table of
every image that sorts on a click, the images the model flags as blurred
highlighted. :func:`render_qc_report` builds the page (pictures embedded as
base64 PNG data URIs, a few lines of inline JavaScript for the sorting, no
external resource); :func:`write_qc_report` writes it atomically. The page,
its CSS and its script are package data (``templates/qc.html``, ``qc.css``
beside the evaluation report's ``report.css``, and ``qc.js``).

The images themselves are asked for only for the few thumbnails shown, so the
caller can stream a large set and re-read those few files.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from string import Template

import numpy as np

from .._geometry import PIXEL_SPACING_MM
from ..io import atomic_path
from ._figures import proba_sigma_figure, sigma_figure
from ._html import cards_html, details_html, gallery_html, template
from ._plots import CLASS_NAMES

__all__ = ["render_qc_report", "write_qc_report"]

# Probabilities of being sharp counted as borderline in the summary.
_BORDERLINE = (0.25, 0.75)
# (header, sort type) of the table's columns.
_COLUMNS = (
    ("Subject", "text"),
    ("Probability", "number"),
    ("Label", "number"),
    ("Sigma_px", "number"),
    ("Sigma_mm", "number"),
)
_INITIAL_SORT = "Sigma_px"  # descending: the blurriest first


def _check_inputs(subjects, proba, sigma_px, pixel_spacing, n_blurriest, n_borderline):
    from sklearn.utils.validation import check_consistent_length, check_scalar

    check_consistent_length(subjects, proba, sigma_px)
    check_scalar(
        pixel_spacing,
        "pixel_spacing",
        Real,
        min_val=0,
        include_boundaries="neither",
    )
    check_scalar(n_blurriest, "n_blurriest", int, min_val=0)
    check_scalar(n_borderline, "n_borderline", int, min_val=0)
    proba = np.asarray(proba, dtype=np.float64)
    sigma_px = np.asarray(sigma_px, dtype=np.float64)
    if proba.ndim != 1 or sigma_px.ndim != 1:
        raise ValueError(
            "proba and sigma_px must be 1-D, one value per image; got shapes "
            f"{proba.shape} and {sigma_px.shape}"
        )
    if not len(proba):
        raise ValueError("the QC report needs at least one image; got none")
    if not np.all((proba >= 0) & (proba <= 1)):
        raise ValueError("proba must hold probabilities in [0, 1]")
    return [str(s) for s in subjects], proba, sigma_px


def _caption(subject: str, p: float, px: float, spacing: float) -> str:
    lines = [
        f'<span class="subject">{html.escape(subject)}</span>',
        "flagged blurred" if p <= 0.5 else "sharp",
        f"P(sharp) = {p:.3f}",
        f"σ {px:.2f} px · {px * spacing:.2f} mm" if np.isfinite(px) else "σ n/a",
    ]
    return "<br>".join(lines)


def _thumbnails(order, images, subjects, proba, sigma_px, spacing):
    for i in order:
        image = images(int(i)) if callable(images) else images[int(i)]
        yield (
            image,
            subjects[i],
            _caption(subjects[i], proba[i], sigma_px[i], spacing),
            "flagged" if proba[i] <= 0.5 else "",
        )


def _number(value: float, digits: int) -> tuple[str, str]:
    """(shown text, sort key) of a number; NaN shows as n/a."""
    if not np.isfinite(value):
        return "n/a", "NaN"
    return f"{value:.{digits}f}", repr(float(value))


def _table(order, subjects, proba, sigma_px, spacing) -> str:
    header = []
    for name, kind in _COLUMNS:
        sort = "descending" if name == _INITIAL_SORT else "none"
        header.append(
            f'<th data-key="{name}" data-type="{kind}" aria-sort="{sort}">'
            f'<button type="button">{html.escape(name)}</button></th>'
        )
    rows = []
    for i in order:
        label = int(proba[i] > 0.5)
        cells = [
            (subjects[i], subjects[i]),
            _number(proba[i], 3),
            (f"{label} ({CLASS_NAMES[label]})", str(label)),
            _number(sigma_px[i], 2),
            _number(sigma_px[i] * spacing, 2),
        ]
        css = ' class="flagged"' if not label else ""
        rows.append(
            f"<tr{css}>"
            + "".join(
                f'<td data-v="{html.escape(key, quote=True)}">{html.escape(text)}</td>'
                for text, key in cells
            )
            + "</tr>"
        )
    return (
        f'<table id="qc-table" class="sortable"><thead><tr>{"".join(header)}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render_qc_report(
    subjects: Sequence[str],
    proba,
    sigma_px,
    *,
    images: Sequence[np.ndarray] | Callable[[int], np.ndarray] | None = None,
    pixel_spacing: float = PIXEL_SPACING_MM,
    title: str = "blurkit QC report",
    details: Mapping[str, str] | None = None,
    n_blurriest: int = 8,
    n_borderline: int = 8,
) -> str:
    """The QC report of a set of unlabelled images, as one HTML page.

    An image is flagged as blurred when its probability of being sharp is
    0.5 or less, as ``blurkit predict`` labels it 0.

    Parameters
    ----------
    subjects : sequence of str
        One name per image.
    proba : array-like of shape (n,)
        Each image's probability of being sharp.
    sigma_px : array-like of shape (n,)
        Each image's estimated equivalent Gaussian blur, in pixels (see
        :meth:`blurkit.BlurDetector.predict_sigma`).
    images : sequence of 2-D arrays, callable or None, default=None
        The images, for the thumbnails: the ``n`` images (indexed by
        position), or a function of the position that returns one image in
        [0, 1]; it is called only for the thumbnails shown, so a large set
        need not be in memory. None shows no thumbnail.
    pixel_spacing : float, default=1.5
        Pixel size in mm, for the blur in millimetres.
    title : str, default="blurkit QC report"
        Page title.
    details : mapping of str to str, default=None
        Lines of the header (model, inputs, ...), shown as they are.
    n_blurriest : int, default=8
        Thumbnails of the images of highest estimated blur.
    n_borderline : int, default=8
        Thumbnails of the images whose probability is nearest 0.5.

    Returns
    -------
    str
        An HTML5 document, without external resources: pictures are
        ``data:image/png;base64`` URIs and one inline script sorts the
        table. Sections (by ``id``): ``summary``, ``sigma-distribution``,
        ``blurriest``, ``borderline``, ``every-image`` (the table
        ``#qc-table``, first sorted by blur, highest first; flagged rows have
        the class ``flagged``).

    Raises
    ------
    ValueError
        If the lengths differ, there is no image, a probability is outside
        [0, 1], the pixel spacing is not positive or a count is negative.

    Examples
    --------
    >>> from blurkit.report import render_qc_report
    >>> page = render_qc_report(["a", "b"], [0.9, 0.2], [0.3, 2.8])
    >>> page.startswith("<!DOCTYPE html>")
    True
    """
    subjects, proba, sigma_px = _check_inputs(
        subjects, proba, sigma_px, pixel_spacing, n_blurriest, n_borderline
    )
    from .. import __version__

    n = len(subjects)
    flagged = proba <= 0.5
    n_flagged = int(flagged.sum())
    # Highest blur first; NaN (no estimate) last.
    by_blur = np.argsort(-np.nan_to_num(sigma_px, nan=-np.inf), kind="stable")
    borderline = np.argsort(np.abs(proba - 0.5), kind="stable")[:n_borderline]
    n_unsure = int(np.sum((proba >= _BORDERLINE[0]) & (proba <= _BORDERLINE[1])))
    median = float(np.nanmedian(sigma_px)) if np.isfinite(sigma_px).any() else np.nan

    cards = [
        ("Images", f"{n}"),
        ("Flagged blurred", f"{n_flagged} ({100 * n_flagged / n:.0f}%)"),
        ("Predicted sharp", f"{n - n_flagged}"),
        (f"Borderline (P {_BORDERLINE[0]:g}–{_BORDERLINE[1]:g})", f"{n_unsure}"),
        (
            f"Median blur σ ({median * pixel_spacing:.2f} mm)",
            f"{median:.2f} px",
        )
        if np.isfinite(median)
        else ("Median blur σ", "n/a"),
    ]
    summary_note = (
        f"{n} images, {n_flagged} flagged as blurred: their probability of being "
        "sharp is 0.5 or less. The blur σ is the estimated equivalent Gaussian "
        "blur relative to the sharp training slices, in pixels and in mm at "
        f"{pixel_spacing:g} mm per pixel."
    )

    def thumbnails(order, empty):
        if images is None:
            return '<p class="note">No thumbnails: the images were not given.</p>'
        return gallery_html(
            _thumbnails(order, images, subjects, proba, sigma_px, pixel_spacing),
            empty=empty,
        )

    blurriest = by_blur[:n_blurriest]
    plots = (
        f'<img class="plot" src="{sigma_figure(sigma_px, flagged, pixel_spacing)}" '
        'alt="histogram of the estimated blur">'
        f'<img class="plot" src="{proba_sigma_figure(proba, sigma_px, pixel_spacing)}"'
        ' alt="probability of being sharp against the estimated blur">'
    )
    return Template(template("qc.html")).substitute(
        title=html.escape(title),
        css=template("report.css") + template("qc.css"),
        details=details_html(details),
        cards=cards_html(cards),
        summary_note=html.escape(summary_note),
        plots=plots,
        n_blurriest=len(blurriest),
        blurriest=thumbnails(blurriest, "No image."),
        n_borderline=len(borderline),
        borderline=thumbnails(borderline, "No image."),
        borderline_note=(
            ""
            if n_unsure
            else f"None is borderline ({_BORDERLINE[0]:g} ≤ P ≤ {_BORDERLINE[1]:g}): "
            "the model is confident about every image."
        ),
        table=_table(by_blur, subjects, proba, sigma_px, pixel_spacing),
        version=html.escape(__version__),
        script=template("qc.js"),
    )


def write_qc_report(
    path: str | os.PathLike,
    subjects: Sequence[str],
    proba,
    sigma_px,
    *,
    images: Sequence[np.ndarray] | Callable[[int], np.ndarray] | None = None,
    pixel_spacing: float = PIXEL_SPACING_MM,
    title: str = "blurkit QC report",
    details: Mapping[str, str] | None = None,
    n_blurriest: int = 8,
    n_borderline: int = 8,
) -> None:
    """Write the QC report of :func:`render_qc_report` to ``path``, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination file; its folder must exist. An existing file is replaced
        only once the new one is complete.
    subjects, proba, sigma_px
        One name, probability of being sharp and blur sigma (px) per image.
    images, pixel_spacing, title, details, n_blurriest, n_borderline
        See :func:`render_qc_report`.

    Raises
    ------
    BlurkitInputError
        If the folder is missing or the location cannot be written.
    ValueError
        As :func:`render_qc_report`.
    """
    page = render_qc_report(
        subjects,
        proba,
        sigma_px,
        images=images,
        pixel_spacing=pixel_spacing,
        title=title,
        details=details,
        n_blurriest=n_blurriest,
        n_borderline=n_borderline,
    )
    with atomic_path(path) as tmp:
        tmp.write_bytes(page.encode("utf-8"))

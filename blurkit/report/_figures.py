"""The report's pictures: matplotlib figures and image thumbnails as data URIs.

The plots are drawn with matplotlib's Agg renderer on figures that pyplot
never sees, so making a report changes no matplotlib setting.
"""

from __future__ import annotations

import base64
import io

import numpy as np

from .._validation import to_uint8
from ._plots import CLASS_COLORS, CLASS_NAMES, plot_feature_distributions

__all__ = [
    "confusion_figure",
    "features_figure",
    "image_uri",
    "proba_sigma_figure",
    "reliability_bins",
    "reliability_figure",
    "roc_figure",
    "sigma_figure",
]


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return _data_uri(buffer.getvalue())


def image_uri(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image), mode="L").save(buffer, format="PNG")
    return _data_uri(buffer.getvalue())


def _new_figure(width: float, height: float):
    # A bare Figure renders with Agg on savefig and is unknown to pyplot:
    # no backend is selected and nothing global changes.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def confusion_figure(cm: np.ndarray) -> str:
    from sklearn.metrics import ConfusionMatrixDisplay

    fig = _new_figure(3.6, 3.3)
    ax = fig.add_subplot()
    ConfusionMatrixDisplay(cm, display_labels=list(CLASS_NAMES.values())).plot(
        ax=ax, colorbar=False, cmap="Blues"
    )
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    return _figure_uri(fig)


def roc_figure(labels: np.ndarray, proba: np.ndarray) -> str:
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


def reliability_bins(n_images: int) -> int:
    return 10 if n_images >= 100 else 5


def reliability_figure(labels: np.ndarray, proba: np.ndarray) -> str:
    from sklearn.calibration import CalibrationDisplay

    n_bins = reliability_bins(len(labels))
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
            label=CLASS_NAMES[c],
        )
        tallest = max(tallest, counts.max(initial=0))
    hist_ax.set_ylim(0, 1.7 * max(tallest, 1))  # room for the legend
    hist_ax.set_xlabel("Predicted probability of sharp")
    hist_ax.set_ylabel("Images")
    hist_ax.legend(fontsize=7, loc="upper center", ncols=2, frameon=False)
    return _figure_uri(fig)


def features_figure(images, labels: np.ndarray) -> str:
    from ..features import SharpnessFeatures

    features = SharpnessFeatures().set_output(transform="pandas").fit_transform(images)
    n_cols = 6
    n_rows = -(-features.shape[1] // n_cols)
    fig = _new_figure(11.0, 1.75 * n_rows + 0.5)
    plot_feature_distributions(features, labels, n_cols=n_cols, fig=fig)
    return _figure_uri(fig)


def _mm_axis(ax, pixel_spacing: float) -> None:
    """A second x axis on top, in millimetres."""
    top = ax.secondary_xaxis(
        "top", functions=(lambda px: px * pixel_spacing, lambda mm: mm / pixel_spacing)
    )
    top.set_xlabel("Estimated blur σ (mm)")


def sigma_figure(
    sigma_px: np.ndarray, flagged: np.ndarray, pixel_spacing: float
) -> str:
    """Histogram of the estimated blur, stacked by predicted class."""
    fig = _new_figure(5.4, 3.4)
    ax = fig.add_subplot()
    finite = np.isfinite(sigma_px)
    values = sigma_px[finite]
    low, high = (0.0, 1.0) if not len(values) else (values.min(), values.max())
    pad = max(0.05 * (high - low), 0.1)
    edges = np.linspace(low - pad, high + pad, int(np.clip(len(values) // 4, 10, 40)))
    groups = [values[~flagged[finite]], values[flagged[finite]]]
    ax.hist(
        groups,
        bins=edges,
        stacked=True,
        color=[CLASS_COLORS[1], CLASS_COLORS[0]],
        label=[f"predicted {CLASS_NAMES[1]}", f"predicted {CLASS_NAMES[0]}"],
    )
    ax.set_xlabel("Estimated blur σ (px)")
    ax.set_ylabel("Images")
    ax.legend(fontsize=8, frameon=False)
    _mm_axis(ax, pixel_spacing)
    return _figure_uri(fig)


def proba_sigma_figure(
    proba: np.ndarray, sigma_px: np.ndarray, pixel_spacing: float
) -> str:
    """Probability of being sharp against the estimated blur, one dot per image."""
    fig = _new_figure(5.4, 3.4)
    ax = fig.add_subplot()
    flagged = proba <= 0.5
    for c, mask in ((1, ~flagged), (0, flagged)):
        ax.scatter(
            sigma_px[mask],
            proba[mask],
            s=14,
            alpha=0.7,
            color=CLASS_COLORS[c],
            label=f"predicted {CLASS_NAMES[c]}",
        )
    ax.axhline(0.5, color="#8a949e", lw=0.8, ls="--")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("Estimated blur σ (px)")
    ax.set_ylabel("P(sharp)")
    ax.legend(fontsize=8, frameon=False, loc="best")
    _mm_axis(ax, pixel_spacing)
    return _figure_uri(fig)

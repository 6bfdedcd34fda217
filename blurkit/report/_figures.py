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
    "reliability_bins",
    "reliability_figure",
    "roc_figure",
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

"""Plot the sharpness features, the model selection and a gallery of predictions.

Usage::

    python examples/plot_features.py [--data DIR] [--out FOLDER]

Reads DIR/train and DIR/validation (default: the embedded demo set in
``data``) and writes three PNG files to FOLDER (default: the current folder;
created when missing):

- ``feature_distributions.png``: each ``SharpnessFeatures`` feature of the
  training images, per class;
- ``cv_results.png``: the cross-validation scores of a search over the
  features model's ``C`` (``blurkit.make_model_search`` with a grid of your
  own; its default grid holds one candidate per family);
- ``gallery.png``: the validation images with their predicted class and
  probability of being sharp;
- ``outer_features.png``: the outer features of the default models
  (``SharpnessFeatures(outer=True, fringe=True)``, as the model reads them:
  ``fringe`` is -1.2 where its gate stays closed) of the validation's sharp
  images, clean and degraded by ``blurkit.degrade``. Left, the outer
  features: motion during the acquisition and a truncated k-space put
  detail just outside the head; noise does not; ghosts can put detail and
  intensity there. Right, ``fringe`` against ``outer_detail``: a translation
  while the outer k-space lines of one side are acquired (a phase error
  only) doubles the finest detail and raises the fringe; ghosts, which the
  outer features can take for motion, keep a clean slice's fringe.

The figures are plain ``matplotlib.figure.Figure`` objects saved with the Agg
renderer: no window opens and no matplotlib setting changes.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import blurkit
from blurkit.plot import plot_cv_results, plot_feature_distributions, plot_gallery


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="data", help="folder with train/ and validation/"
    )
    parser.add_argument("--out", default=".", help="folder for the PNG files")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    args = parser.parse_args(argv)

    out = Path(args.out)
    data = Path(args.data)
    try:
        out.mkdir(parents=True, exist_ok=True)
        train = blurkit.load_dataset(data / "train")
        validation = blurkit.load_dataset(data / "validation")
    except (ValueError, OSError) as exc:
        print(f"plot_features.py: error: {exc}", file=sys.stderr)
        return 1

    features = (
        blurkit.SharpnessFeatures()
        .set_output(transform="pandas")
        .fit_transform(train.images)
    )
    fig = plot_feature_distributions(
        features,
        train.labels,
        n_cols=6,
        fig=Figure(figsize=(13, 7), layout="constrained"),
    )
    fig.savefig(out / "feature_distributions.png", dpi=100)

    grid = {
        "estimator": [blurkit.make_feature_pipeline()],
        "estimator__classify__C": [0.03, 0.1, 0.3, 1.0],
    }
    search = blurkit.make_model_search(
        "features", param_grid=grid, cv=args.cv, random_state=0
    )
    search.fit(train.images, train.labels)
    fig = Figure(figsize=(7, 2.8), layout="constrained")
    plot_cv_results(search, ax=fig.add_subplot())
    fig.savefig(out / "cv_results.png", dpi=100)

    proba = search.predict_proba(validation.images)[:, 1]
    fig = plot_gallery(
        validation.images,
        search.predict(validation.images),
        labels=validation.labels,
        proba=proba,
        subjects=validation.subjects,
        n_cols=8,
        fig=Figure(figsize=(14, 4.4), layout="constrained"),
    )
    fig.savefig(out / "gallery.png", dpi=100)

    fig = Figure(figsize=(12, 4.4), layout="constrained")
    plot_outer_features(validation.images[validation.labels == 1], fig.subplots(1, 2))
    fig.savefig(out / "outer_features.png", dpi=100)
    for name in ("feature_distributions", "cv_results", "gallery", "outer_features"):
        print(out / f"{name}.png")
    return 0


# Degradations of blurkit.degrade drawn for the outer features' figure, with
# the label each one gives a sharp image.
OUTER_CASES = {
    "k-space motion (blurred)": "kspace_motion",
    "truncated k-space (blurred)": "truncate_kspace",
    "ghosting (stays sharp)": "ghosting",
    "noise (stays sharp)": "noise",
    "k-space spike (stays sharp)": "kspace_spike",
}


def _translated_late(image, rng):
    """The outer lines of one side acquired after a translation of 2-6 px."""
    shift = rng.uniform(2, 6, 2) * rng.choice([-1, 1], 2)
    return blurkit.degrade.kspace_motion(
        image,
        rotations=[0.0],
        translations=[shift.tolist()],
        times=[rng.uniform(0.6, 0.75)],
        axis=int(rng.integers(2)),
        reference="first",
    )


def plot_outer_features(sharp, axes, *, n_draws=4, random_state=0):
    """Scatter ``outer_detail`` against ``outer_level``, then against
    ``fringe``, for degraded sharp images; ``axes`` is a pair."""
    rng = np.random.default_rng(random_state)
    features = blurkit.SharpnessFeatures(outer=True, fringe=True)
    features.set_output(transform="pandas")
    groups = {"clean (sharp)": list(sharp)}
    for label, name in OUTER_CASES.items():
        groups[label] = [
            blurkit.degrade.degrade(image, name, random_state=rng)[0]
            for image in sharp
            for _ in range(n_draws)
        ]
    groups["translation, outer lines only (blurred)"] = [
        _translated_late(image, rng) for image in sharp for _ in range(n_draws)
    ]
    markers = "osx^vDP"
    for (label, images), marker in zip(groups.items(), markers, strict=True):
        table = features.fit_transform(np.stack(images))
        for ax, x in zip(axes, ("outer_level", "fringe"), strict=True):
            ax.scatter(
                table[x],
                table["outer_detail"],
                s=18,
                marker=marker,
                alpha=0.7,
                label=f"{label}, n={len(images)}",
            )
    axes[0].set_xlabel("outer_level (log10 ring / head intensity)")
    axes[1].set_xlabel("fringe (log10 autocorrelation across / at 0)")
    for ax in axes:
        ax.set_ylabel("outer_detail (log10 ring / far detail)")
    axes[0].set_title("Detail just outside the head")
    axes[1].set_title("Fringes of the finest band")
    axes[0].legend(fontsize=7, loc="upper left")


if __name__ == "__main__":
    sys.exit(main())

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
  probability of being sharp.

The figures are plain ``matplotlib.figure.Figure`` objects saved with the Agg
renderer: no window opens and no matplotlib setting changes.
"""

import argparse
import sys
from pathlib import Path

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
    for name in ("feature_distributions", "cv_results", "gallery"):
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

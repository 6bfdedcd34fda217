"""The challenge job: train on DIR/train, predict DIR/validation, write a TSV.

Usage::

    python examples/run.py [--data DIR] [--output FILE] [--model FAMILY]
                           [--no-outer-features] [--report REPORT]

DIR defaults to ``data`` (the embedded demo set); FILE to ``output.tsv`` in the
current folder. The model is chosen by cross-validated model selection among
blurkit's families (see ``blurkit.make_model_search``) and the CV table is
printed. With ``--data ../shared/data`` (the OASIS challenge images) the output
reproduces ``validation/subjects.tsv`` line for line. The features (of the
features and hybrid families) include the outer features, the fringe and the
detail shift, which catch motion during the acquisition;
``--no-outer-features`` leaves them out (see ``blurkit.with_outer_features``).

It also writes the evaluation report of the validation set, a self-contained
HTML page (metrics, confusion matrix, ROC and reliability curves, feature
distributions, thumbnails of the misclassified and least confident images):
REPORT, by default ``report.html`` next to FILE.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import blurkit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="data", help="folder with train/ and validation/"
    )
    parser.add_argument("--output", default="output.tsv", help="TSV to write")
    parser.add_argument(
        "--model",
        default="auto",
        choices=["auto", *blurkit.FAMILIES],
        help="model families that compete (default: auto, all of them)",
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--outer-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the detail just outside the head, the fringes of the "
        "finest band and its shift (the default; --no-outer-features: "
        "without them)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel fits of the model search, each on one thread (default: "
        "-1, one per usable processor; 1 fits one at a time and shows each "
        "fit's progress)",
    )
    parser.add_argument(
        "--report",
        default=None,
        help="HTML report of the validation set (default: report.html next to "
        "the output TSV)",
    )
    args = parser.parse_args(argv)

    data = Path(args.data)
    report = Path(args.report or Path(args.output).with_name("report.html"))
    try:
        blurkit.check_writable(report)
        detector = blurkit.train_detector(
            data / "train",
            family=args.model,
            random_state=args.random_state,
            n_jobs=args.n_jobs,
            outer_features=args.outer_features,
        )
        blurkit.predict_files(detector, [data / "validation"], args.output)
        truth = blurkit.read_subjects_tsv(data / "validation" / "subjects.tsv")
        validation = blurkit.load_dataset(data / "validation")
        results = blurkit.evaluate(
            detector, validation.images, validation.labels, validation.subjects
        )
        details = {"Data": str(data / "validation"), **blurkit.model_details(detector)}
        blurkit.write_report(report, results, validation.images, details=details)
    except (ValueError, OSError) as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 1
    predicted = blurkit.read_subjects_tsv(args.output)
    accuracy = np.mean(predicted.Label.to_numpy() == truth.Label.to_numpy())
    print(f"Wrote {args.output}: validation accuracy {accuracy:.3f}")
    print(f"Wrote {report}: the evaluation report of the validation set")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``blurkit`` command line: thin argument parsing over the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _slice_choice(text):
    from ._nifti import parse_slices

    try:
        return parse_slices(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser():
    parser = argparse.ArgumentParser(
        prog="blurkit",
        description="Tell sharp brain MRI slices from blurred ones.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"blurkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="fit a model on a challenge-layout folder",
        description="Fit a model, chosen by cross-validated model selection, on a "
        "folder holding subjects.tsv and one image per subject.",
    )
    train.add_argument("data_dir", metavar="DATA_DIR", help="challenge-layout folder")
    train.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="MODEL",
        help="where to save the fitted model",
    )
    train.add_argument(
        "--model",
        choices=["auto", "features", "cnn", "hybrid"],
        default="features",
        help="model family; 'auto' selects among all three by "
        "cross-validation (default: features)",
    )
    train.add_argument(
        "--cv",
        type=_positive_int,
        default=3,
        help="cross-validation folds (default: 3)",
    )
    train.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of every random step (default: 0)",
    )
    train.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    predict = commands.add_parser(
        "predict",
        help="predict image files and write a challenge TSV",
        description="Predict sharp (1) or blurred (0) for image files and folders. "
        "A folder with a subjects.tsv is predicted in that file's order; other "
        "folders in file-name order.",
    )
    predict.add_argument("model", metavar="MODEL", help="model saved by blurkit train")
    predict.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files and/or folders of images",
    )
    predict.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.tsv",
        help="TSV to write (Subject<TAB>Label)",
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="add a Probability column (probability of sharp)",
    )
    predict.add_argument(
        "--sigma",
        action="store_true",
        help="add the estimated Gaussian blur (Sigma_px, Sigma_mm)",
    )
    predict.add_argument(
        "--pixel-spacing",
        type=_positive_float,
        default=None,
        metavar="MM",
        help="pixel size in mm for Sigma_mm (default: the model's, 1.5)",
    )
    predict.add_argument(
        "--batch-size",
        type=_positive_int,
        default=256,
        help="images read and predicted per task (default: 256)",
    )
    predict.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=2,
        help="threads that read and predict (default: 2)",
    )
    predict.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="spread reading and prediction over a Dask cluster: the address "
        "of its scheduler (tcp://host:8786; the workers must see the files at "
        "the same paths), or 'local' to start two worker processes on this "
        "machine (needs blurkit[dask])",
    )
    predict.add_argument(
        "--on-error",
        choices=["fail", "skip"],
        default="fail",
        help="on an unreadable image: stop, writing nothing "
        "(default), or skip it, list it on stderr and exit 3",
    )
    predict.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output"
    )
    volumes = predict.add_argument_group(
        "NIfTI volumes (.nii, .nii.gz)",
        "A volume is read in RAS+ orientation, scaled to [0, 1] by its 99.5th "
        "percentile and cut into coronal slices oriented like the challenge "
        "PNGs (1.5 mm MNI grid, 121x145x121). By default its challenge slice "
        "is predicted (coronal index 72, y = -18 mm). The subject is the BIDS "
        "sub-<label> of the file name when it has one.",
    )
    slices = volumes.add_mutually_exclusive_group()
    slices.add_argument(
        "--slice",
        type=int,
        metavar="INDEX",
        help="predict this coronal slice (index along the second axis)",
    )
    slices.add_argument(
        "--slices",
        type=_slice_choice,
        metavar="START:STOP",
        help="predict the coronal slices START..STOP-1 of each volume and label "
        "the volume by their mean probability of being sharp",
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="score a model on a labelled challenge-layout folder",
        description="Print accuracy, balanced accuracy, ROC AUC and the confusion "
        "matrix of a model on a folder holding subjects.tsv (Subject<TAB>Label) "
        "and the images; optionally write an HTML report.",
    )
    evaluate.add_argument("model", metavar="MODEL", help="model saved by blurkit train")
    evaluate.add_argument(
        "data_dir", metavar="DATA_DIR", help="labelled challenge-layout folder"
    )
    evaluate.add_argument(
        "--report",
        metavar="REPORT.html",
        help="write a self-contained HTML report (plots and thumbnails of the "
        "misclassified and least confident images embedded; opens offline)",
    )
    evaluate.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output"
    )
    return parser


def _train(args):
    from ._io import check_writable
    from ._persistence import save_model
    from ._workflow import train_detector

    output = Path(args.output)
    # Fail now rather than after training.
    check_writable(output)
    detector = train_detector(
        args.data_dir,
        family=args.model,
        cv=args.cv,
        random_state=args.random_state,
        log=None if args.quiet else sys.stderr,
    )
    save_model(detector, output)
    if not args.quiet:
        print(f"Saved the model to {output}", file=sys.stderr)
    return 0


def _predict(args):
    from ._persistence import load_model, load_predictor
    from ._workflow import predict_files

    # A features model or a CNN predicts without scikit-learn (much faster to
    # start); the blur sigma needs the full model.
    model = None if args.sigma else load_predictor(args.model)
    if model is None:
        model, _ = load_model(args.model)
    if args.sigma and not hasattr(model, "predict_sigma"):
        raise ValueError(f"{args.model}: this model has no blur-sigma estimate.")
    if args.slice is not None or args.slices is not None:
        skipped = _predict_volumes(model, args)
    else:
        skipped = predict_files(
            model,
            args.inputs,
            args.output,
            probability=args.proba,
            sigma=args.sigma,
            pixel_spacing=args.pixel_spacing,
            batch_size=args.batch_size,
            n_jobs=args.n_jobs,
            scheduler=args.scheduler,
            on_error="skip" if args.on_error == "skip" else "raise",
            log=None if args.quiet else sys.stderr,
        )
    for path, message in skipped:
        print(f"blurkit: skipped {path}: {message}", file=sys.stderr)
    if not args.quiet:
        print(f"Wrote {args.output}", file=sys.stderr)
    return 3 if skipped else 0


def _predict_volumes(model, args):
    from ._workflow import predict_volumes

    if getattr(args, "scheduler", None) is not None:
        raise ValueError(
            "--slice/--slices read volumes on this machine; drop --scheduler"
        )
    return predict_volumes(
        model,
        args.inputs,
        args.output,
        slices=args.slice if args.slices is None else args.slices,
        probability=args.proba,
        sigma=args.sigma,
        pixel_spacing=args.pixel_spacing,
        on_error="skip" if args.on_error == "skip" else "raise",
        log=None if args.quiet else sys.stderr,
    )


def _evaluate(args):
    from ._io import check_writable, load_dataset
    from ._persistence import load_model
    from ._report import evaluate, format_metrics, model_details, write_report

    report = None if args.report is None else Path(args.report)
    if report is not None:
        # Fail now rather than after evaluating.
        check_writable(report)
    model, info = load_model(args.model)
    dataset = load_dataset(args.data_dir)
    results = evaluate(model, dataset.images, dataset.labels, dataset.subjects)
    print(format_metrics(results))
    if report is not None:
        details = {
            "Model file": str(args.model),
            "Data": str(args.data_dir),
            **model_details(model, info),
        }
        write_report(report, results, dataset.images, details=details)
        if not args.quiet:
            print(f"Wrote {report}", file=sys.stderr)
    return 0


def main(argv=None):
    """Run the command line; return the exit status.

    Errors in the input (files, values) print one line, ``blurkit: error:
    ...``, and exit with status 1; usage errors exit with status 2.
    """
    args = build_parser().parse_args(argv)
    try:
        commands = {"train": _train, "predict": _predict, "evaluate": _evaluate}
        return commands[args.command](args)
    except (ValueError, OSError, ImportError) as exc:
        # ImportError: an optional dependency (dask for --scheduler) is missing.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"blurkit: error: {message}", file=sys.stderr)
        return 1
    except MemoryError:
        print(
            "blurkit: error: out of memory; try a smaller --batch-size or "
            "smaller images",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("blurkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


def run():
    """Console-script entry point."""
    sys.exit(main())

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
    predict.add_argument("--batch-size", type=_positive_int, default=256)
    predict.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=2,
        help="image decoding threads (default: 2)",
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
    return parser


def _train(args):
    from ._persistence import save_model
    from ._workflow import train_detector

    output = Path(args.output)
    if not output.parent.is_dir():
        raise ValueError(f"{output}: folder {output.parent} does not exist.")
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
    from ._persistence import load_model
    from ._workflow import predict_files

    model, _ = load_model(args.model)
    if args.sigma and not hasattr(model, "predict_sigma"):
        raise ValueError(f"{args.model}: this model has no blur-sigma estimate.")
    skipped = predict_files(
        model,
        args.inputs,
        args.output,
        probability=args.proba,
        sigma=args.sigma,
        pixel_spacing=args.pixel_spacing,
        batch_size=args.batch_size,
        n_jobs=args.n_jobs,
        on_error="skip" if args.on_error == "skip" else "raise",
        log=None if args.quiet else sys.stderr,
    )
    for path, message in skipped:
        print(f"blurkit: skipped {path}: {message}", file=sys.stderr)
    if not args.quiet:
        print(f"Wrote {args.output}", file=sys.stderr)
    return 3 if skipped else 0


def main(argv=None):
    """Run the command line; return the exit status.

    Errors in the input (files, values) print one line, ``blurkit: error:
    ...``, and exit with status 1; usage errors exit with status 2.
    """
    args = build_parser().parse_args(argv)
    try:
        return {"train": _train, "predict": _predict}[args.command](args)
    except (ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"blurkit: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("blurkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


def run():
    """Console-script entry point."""
    sys.exit(main())

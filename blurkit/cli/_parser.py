"""The ``blurkit`` command line's arguments: parsing only, no work."""

from __future__ import annotations

import argparse

from .._geometry import DEFAULT_CORONAL_INDEX, PIXEL_SPACING_MM
from ..io._builtin import BUILTIN_FAMILY
from ..models._families import FAMILIES

__all__ = ["build_parser"]


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
    from ..io import parse_slices

    try:
        return parse_slices(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``blurkit train``, ``predict`` and ``evaluate``."""
    parser = argparse.ArgumentParser(
        prog="blurkit",
        description="Tell sharp brain MRI slices from blurred ones.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"blurkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="fit a model on a challenge-layout folder",
        description="Fit a model on a folder holding subjects.tsv and one image "
        "per subject: cross-validated (its score printed), then refitted on all "
        "the images; with --model auto, the family is chosen by cross-validation.",
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
        choices=["auto", *FAMILIES],
        default=BUILTIN_FAMILY,
        help="model family; 'auto' selects among all of them by "
        f"cross-validation (default: {BUILTIN_FAMILY}, the built-in model's)",
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
    train.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=1,
        help="processors to use: parallel fits of the model selection, each "
        "with torch, BLAS and OpenMP on one thread (default: 1)",
    )
    train.add_argument(
        "--outer-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the detail just outside the head, the fringes of the "
        "finest band and its shift, which catch motion during the "
        "acquisition, the comb that ghosts leave in k-space, and how far "
        "from the head the disturbance outside it reaches (JPEG's ringing "
        "stays near it), the sparsity of the fine detail, which one "
        "movement near the middle of the acquisition lowers, and the "
        "coherence of the finest detail with the edges, which motion that "
        "moved one axis's outer k-space lines lowers, on slices "
        "with k-space spikes taken away (the default of the features and "
        "hybrid families); "
        "--no-outer-features: the features without them, faster on slices "
        "with detail or noise outside the head",
    )
    train.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    predict = commands.add_parser(
        "predict",
        help="predict image files and write a challenge TSV",
        description="Predict sharp (1) or blurred (0) for image files and folders. "
        "A folder with a subjects.tsv is predicted in that file's order; other "
        "folders in file-name order.",
    )
    predict.add_argument(
        "inputs",
        nargs="+",
        metavar="[MODEL] INPUT",
        help="a model saved by blurkit train (optional: without it, the "
        "built-in model trained on the demo set), then image files, NIfTI "
        "volumes, folders and/or BIDS datasets. The first argument is the "
        "model when it is a file that is not an image or a volume",
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
        "--report",
        metavar="QC.html",
        help="also write a self-contained HTML QC report: the images ranked by "
        "estimated blur and probability, thumbnails of the blurriest and "
        "borderline ones, the blur distribution and a sortable table (needs "
        "a model with a blur estimate; opens offline)",
    )
    predict.add_argument(
        "--pixel-spacing",
        type=_positive_float,
        default=None,
        metavar="MM",
        help=f"pixel size in mm for Sigma_mm (default: the model's, "
        f"{PIXEL_SPACING_MM:g})",
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
        help="workers that read and predict, each with torch, BLAS and "
        "OpenMP on one thread: processes forked on Linux when no torch or "
        "OpenMP is loaded (a features model or a CNN without --sigma), else "
        "threads (default: 2)",
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
        f"is predicted (coronal index {DEFAULT_CORONAL_INDEX}, y = -18 mm). The "
        "subject is the BIDS "
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
    evaluate.add_argument(
        "paths",
        nargs="+",
        metavar="[MODEL] DATA_DIR",
        help="a model saved by blurkit train (optional: without it, the "
        "built-in model), then a labelled challenge-layout folder",
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

"""The ``blurkit`` commands: each one calls the library, nothing else.

Errors in the input (files, values) print one line, ``blurkit: error: ...``,
and exit with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._parser import build_parser

__all__ = ["main", "run"]


def _train(args):
    from ..io import check_writable, save_model
    from ..workflow import train_detector

    output = Path(args.output)
    if args.outer_features is not None and args.model == "cnn":
        flag = "--outer-features" if args.outer_features else "--no-outer-features"
        raise ValueError(
            f"{flag}: the CNN reads pixels, not engineered features; "
            "expected --model features, hybrid or auto"
        )
    # Fail now rather than after training.
    check_writable(output)
    detector = train_detector(
        args.data_dir,
        family=args.model,
        cv=args.cv,
        random_state=args.random_state,
        n_jobs=args.n_jobs,
        outer_features=args.outer_features,
        log=None if args.quiet else sys.stderr,
    )
    save_model(detector, output)
    if not args.quiet:
        print(f"Saved the model to {output}", file=sys.stderr)
    return 0


def _predict(args):
    from ..io import load_model, load_predictor
    from ..workflow import predict_files

    # A features model or a CNN predicts without scikit-learn (much faster to
    # start); the blur sigma (for --sigma and the --report) needs the full model.
    needs_sigma = args.sigma or args.report is not None
    model = None if needs_sigma else load_predictor(args.model)
    info = None
    if model is None:
        model, info = load_model(args.model)
    if needs_sigma and not hasattr(model, "predict_sigma"):
        raise ValueError(f"{args.model}: this model has no blur-sigma estimate.")
    details = None if args.report is None else _report_details(args, model, info)
    skipped = predict_files(
        model,
        args.inputs,
        args.output,
        slices=args.slice if args.slices is None else args.slices,
        probability=args.proba,
        sigma=args.sigma,
        pixel_spacing=args.pixel_spacing,
        batch_size=args.batch_size,
        n_jobs=args.n_jobs,
        scheduler=args.scheduler,
        on_error="skip" if args.on_error == "skip" else "raise",
        report=args.report,
        report_details=details,
        log=None if args.quiet else sys.stderr,
    )
    for path, message in skipped:
        print(f"blurkit: skipped {path}: {message}", file=sys.stderr)
    if not args.quiet:
        print(f"Wrote {args.output}", file=sys.stderr)
        if args.report is not None:
            print(f"Wrote {args.report}", file=sys.stderr)
    return 3 if skipped else 0


def _model_label(args):
    """The model file, as the reports' headers name it."""
    return str(args.model or "built-in (demo set)")


def _report_details(args, model, info):
    """The QC report's header: model file, inputs, model."""
    from ..report import model_details

    inputs = [str(path) for path in args.inputs]
    if len(inputs) > 3:
        inputs = [*inputs[:3], f"and {len(inputs) - 3} more"]
    return {
        "Model file": _model_label(args),
        "Inputs": ", ".join(inputs),
        **model_details(model, info),
    }


def _evaluate(args):
    from ..io import check_writable, load_dataset, load_model
    from ..report import evaluate, format_metrics, model_details, write_report

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
            "Model file": _model_label(args),
            "Data": str(args.data_dir),
            **model_details(model, info),
        }
        write_report(report, results, dataset.images, details=details)
        if not args.quiet:
            print(f"Wrote {report}", file=sys.stderr)
    return 0


def _split_model(args):
    """Set ``args.model`` from the optional first argument of predict/evaluate.

    The first of several arguments is the model when it is a file that is
    not an image or a NIfTI volume (every input is an image, a volume or a
    folder); otherwise there is no model file, and the built-in model is used
    (``args.model`` None).
    """
    from ..io import is_image_name

    paths = args.inputs if args.command == "predict" else args.paths
    first = Path(paths[0])
    is_model = first.is_file() and not is_image_name(first.name)
    n_inputs = len(paths) - 1 if is_model else len(paths)
    if n_inputs == 0:
        raise ValueError(
            f"{first}: a model file, but no input after it; expected "
            f"blurkit {args.command} [MODEL] "
            + ("INPUT..." if args.command == "predict" else "DATA_DIR")
        )
    args.model = first if is_model else None
    rest = paths[1:] if is_model else paths
    if args.command == "predict":
        args.inputs = rest
    elif len(rest) > 1:
        raise ValueError(
            f"expected blurkit evaluate [MODEL] DATA_DIR, got {len(paths)} "
            f"arguments ({' '.join(map(str, paths))}); is {first} a model file?"
        )
    else:
        args.data_dir = rest[0]


def main(argv=None):
    """Run the command line; return the exit status.

    Errors in the input (files, values) print one line, ``blurkit: error:
    ...``, and exit with status 1; usage errors exit with status 2.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("predict", "evaluate"):
            _split_model(args)
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


def run():
    """Console-script entry point."""
    sys.exit(main())

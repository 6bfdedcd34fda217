"""Robustness benchmark: blurkit's default model against the contract.

Trains blurkit's default model exactly as ``blurkit train DIR/train`` does
(or loads a saved one), fits a classic baseline on the same training images,
and scores both on degraded copies of the validation images (which neither
model saw), one row per case of the robustness contract:

- blurred (expected 0): Gaussian blur with sigma >= 1 px, linear motion blur
  of 7 px or more at any angle, disk (defocus) blur of radius >= 2 px, a 2x
  loss of resolution, any of these plus Gaussian noise up to 5 % of the
  intensity range or a full-range contrast stretch. Made from the *sharp*
  validation images.
- sharp (expected 1): Gaussian noise up to 5 %, intensity scaling by 0.5 to 2
  (clipped), gamma 0.5 to 2, JPEG quality >= 90, flips and quarter turns,
  zero padding / cropping to 96-160 px. Made from the *sharp* validation
  images.
- extra checks (expected 0): photometric and geometric changes of the *real*
  blurred validation images must keep them blurred.
- MRI acquisition (made in k-space, ``blurkit.degrade._acquisition``):
  blurred (expected 0) are rigid motion during the acquisition, k-space
  truncated 2x in both axes or in one and zero-filled, 2x and 3x thick
  slices (interpolated back, and 2x copied back by nearest neighbour),
  Gibbs ringing (3x untapered truncation); not blur (the input's label
  kept) are ghosting, k-space spikes, a bias field and Rician noise, on
  sharp and on blurred images.

Then a limit-of-detection table (and, with ``--plot``, a figure): the share
of sharp validation images called blurred against the Gaussian sigma (0.25
to 1.5 px), against the k-space truncation factor (both axes, 1.25 to 3)
and against the share of k-space lines acquired after one movement (5
degrees and 2 px along each axis; 5% to 50% of the lines, the last ones in
linear order), for blurkit and the baseline.

Each case is taken at the contract's boundary (the weakest blur, the
strongest change) and across its range. Every random step is seeded, so two
runs print the same table.

Then the blur-severity estimate: the sharp validation images blurred with a
known Gaussian sigma (0.5 to 4 px), with and without noise, against
``detector.predict_sigma`` (target: median absolute error <= 0.1 px).

The baseline is the classic Laplacian-variance threshold:
``make_pipeline(LaplacianVariance(), StandardScaler(), LogisticRegression())``
on the training images. With a single feature the logistic regression is a
threshold on ``log10(var(Laplacian))``, placed where the two classes'
likelihoods cross.

Usage::

    python benchmarks/robustness.py [--data DIR]
                                    [--model MODEL_FILE | --model builtin]
                                    [--out-md FILE] [--plot FILE]

``DIR`` defaults to ``../shared/data`` (the challenge data, next to the
repository) when it exists, else to the demo set in ``data``.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import blurkit
from blurkit import degrade as dg
from blurkit import load_dataset, train_detector

REPO = Path(__file__).resolve().parents[1]
SIGMAS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
SIGMA_NOISES = (0.0, 0.02, 0.05)
SIGMA_TARGET = 0.1


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Case:
    """One row of the table.

    ``source`` is the validation label the inputs are taken from (None: all
    images, each keeping its label); ``expected`` the label the model must
    give (None: the input's own label). ``func(image, rng)`` degrades one
    image; ``rng`` is a Generator seeded from the case name and the image's
    index.
    """

    name: str
    group: str
    source: int | None
    expected: int | None
    func: Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _noise(std: float) -> Callable:
    return lambda image, rng: dg.add_noise(image, std, random_state=rng)


def _then(first: Callable, second: Callable) -> Callable:
    return lambda image, rng: second(first(image, rng), rng)


def _blurs() -> dict[str, Callable]:
    """Blurred-side cases: boundaries and points across each range."""
    blurs = {}
    for sigma in (1, 1.5, 2, 3):
        blurs[f"Gaussian sigma {sigma:g}"] = lambda image, rng, s=sigma: (
            dg.gaussian_blur(image, s)
        )
    for length in (7, 11):
        for angle in (0, 30, 45, 90, 135):
            blurs[f"motion {length} px at {angle} deg"] = (
                lambda image, rng, n=length, a=angle: dg.motion_blur(image, n, a)
            )
    for radius in (2, 3):
        blurs[f"disk radius {radius}"] = lambda image, rng, r=radius: dg.defocus_blur(
            image, r
        )
    blurs["2x loss of resolution"] = lambda image, rng: dg.reduce_resolution(image, 2)
    return blurs


# Compound cases use each kind of blur at the contract's boundary (the
# weakest blur is the hardest to tell once noise is added).
_BOUNDARY_BLURS = (
    "Gaussian sigma 1",
    "motion 7 px at 0 deg",
    "motion 7 px at 30 deg",
    "disk radius 2",
    "2x loss of resolution",
)


def make_cases() -> list[Case]:
    """Every case of the benchmark, in table order."""
    identity = lambda image, rng: image  # noqa: E731
    cases = [Case("real validation", "real", None, None, identity)]
    blurs = _blurs()
    for name, func in blurs.items():
        cases.append(Case(name, "blur", 1, 0, func))
    for name in _BOUNDARY_BLURS:
        for std in (0.02, 0.05):
            cases.append(
                Case(
                    f"{name} + noise {std:.0%}",
                    "blur+",
                    1,
                    0,
                    _then(blurs[name], _noise(std)),
                )
            )
        cases.append(
            Case(
                f"{name} + contrast stretch",
                "blur+",
                1,
                0,
                _then(blurs[name], lambda image, rng: dg.stretch_contrast(image)),
            )
        )
    sharp = {}
    for std in (0.01, 0.02, 0.05):
        sharp[f"noise {std:.0%}"] = _noise(std)
    for factor in (0.5, 0.75, 1.5, 2):
        sharp[f"scale {factor:g}"] = lambda image, rng, f=factor: dg.scale_intensity(
            image, f
        )
    for gamma in (0.5, 0.7, 1.5, 2):
        sharp[f"gamma {gamma:g}"] = lambda image, rng, g=gamma: dg.adjust_gamma(
            image, g
        )
    for quality in (90, 95):
        sharp[f"JPEG {quality}"] = lambda image, rng, q=quality: dg.jpeg_compress(
            image, q
        )
    dihedral_names = {
        1: "rotate 90",
        2: "rotate 180",
        3: "rotate 270",
        4: "flip left-right",
        5: "flip + rotate 90",
        6: "flip up-down",
        7: "flip + rotate 270",
    }
    for k, label in dihedral_names.items():
        sharp[label] = lambda image, rng, k=k: dg.dihedral(image, k)
    for size in (140, 160):
        sharp[f"pad to {size}"] = lambda image, rng, n=size: dg.resize_canvas(image, n)
    for size in (96, 110):
        sharp[f"crop to {size}"] = lambda image, rng, n=size: dg.resize_canvas(image, n)
    for name, func in sharp.items():
        cases.append(Case(f"sharp + {name}", "sharp", 1, 1, func))
    extra = {
        "scale 2": sharp["scale 2"],
        "gamma 0.5": sharp["gamma 0.5"],
        "noise 5%": sharp["noise 5%"],
        "flip": sharp["flip left-right"],
        "pad 160": sharp["pad to 160"],
    }
    for name, func in extra.items():
        cases.append(Case(f"blurred + {name}", "extra", 0, 0, func))
    for name, func in _acquisition_blurs().items():
        cases.append(Case(name, "acquisition", 1, 0, func))
    for name, func in _acquisition_keepers().items():
        for source, label in ((1, "sharp"), (0, "blurred")):
            cases.append(Case(f"{label} + {name}", "acquisition", source, None, func))
    return cases


def _acquisition_blurs() -> dict[str, Callable]:
    """Acquisition blurs at the contract's boundary; random ones drawn per image."""

    def motion(image, rng):
        params = dg.DEGRADATIONS["kspace_motion"].draw_params(rng)
        return dg.kspace_motion(image, **params)

    blurs = {"k-space motion (1-3 movements)": motion}
    for axes, label in (((0, 1), "both axes"), ((0,), "rows"), ((1,), "columns")):
        blurs[f"k-space truncated 2x, {label}"] = lambda image, rng, a=axes: (
            dg.truncate_kspace(image, factor=2, axes=a)
        )
    blurs["k-space truncated 2x, both, Hann taper"] = lambda image, rng: (
        dg.truncate_kspace(image, factor=2, taper=1.0)
    )
    for factor in (2, 3):
        for axis in (0, 1):
            blurs[f"thick slices {factor}x along axis {axis}"] = (
                lambda image, rng, f=factor, a=axis: dg.thick_slices(
                    image, factor=f, axis=a
                )
            )
    for axis in (0, 1):
        # Nearest-neighbour interpolation back copies lines.
        blurs[f"thick slices 2x along axis {axis}, nearest neighbour back"] = (
            lambda image, rng, a=axis: dg.thick_slices(image, factor=2, axis=a, order=0)
        )
    blurs["Gibbs ringing 3x"] = lambda image, rng: dg.gibbs_ringing(image, factor=3)
    return blurs


def _acquisition_keepers() -> dict[str, Callable]:
    """Label-keeping acquisition artifacts, parameters drawn per image."""

    def drawn(name):
        def func(image, rng):
            params = dg.DEGRADATIONS[name].draw_params(rng)
            return dg.DEGRADATIONS[name].func(image, **params)

        return func

    return {
        "ghosting": drawn("ghosting"),
        "k-space spike": drawn("kspace_spike"),
        "bias field": drawn("bias_field"),
        "Rician noise 3%": lambda image, rng: dg.rician_noise(
            image, 0.03, random_state=rng
        ),
    }


LOD_SIGMAS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
LOD_FACTORS = (1.25, 1.5, 1.75, 2.0, 2.5, 3.0)
LOD_MOTION_SHARES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
LOD_MOTION = {"rotations": [5.0], "translations": [[2.0, 2.0]], "reference": "first"}
"""The limit of detection's movement: 5 degrees and 2 px along each axis,
after which the last lines of k-space (in linear order) are acquired."""


def _late_motion(image: np.ndarray, share: float, axis: int) -> np.ndarray:
    """`LOD_MOTION` during the last ``share`` of the acquisition."""
    return dg.kspace_motion(image, times=[1.0 - share], axis=axis, **LOD_MOTION)


def run_limit_of_detection(detector, baseline, validation):
    """Share of sharp validation images called blurred, per blur strength."""
    images, labels, _ = validation
    sharp = [images[i] for i, label in enumerate(labels) if label == 1]
    rows = []
    for kind, values, blur in (
        (
            "Gaussian sigma (px)",
            LOD_SIGMAS,
            lambda im, v, axis: dg.gaussian_blur(im, v),
        ),
        (
            "k-space truncation factor",
            LOD_FACTORS,
            lambda im, v, axis: dg.truncate_kspace(im, factor=v),
        ),
        ("share of k-space lines moved", LOD_MOTION_SHARES, _late_motion),
    ):
        for value in values:
            # Phase encoding along the rows for half of the images.
            batch = np.stack(
                [blur(image, value, i % 2) for i, image in enumerate(sharp)]
            )
            rows.append(
                {
                    "kind": kind,
                    "value": value,
                    "blurkit": float(np.mean(detector.predict(batch) == 0)),
                    "baseline": float(np.mean(baseline.predict(batch) == 0)),
                }
            )
    return rows


def lod_lines(rows, markdown: bool) -> list[str]:
    lines = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        chosen = [r for r in rows if r["kind"] == kind]
        header = [kind] + [f"{r['value']:g}" for r in chosen]
        body = [
            [model] + [f"{r[model]:.0%}" for r in chosen]
            for model in ("blurkit", "baseline")
        ]
        if markdown:
            lines += ["| " + " | ".join(header) + " |"]
            lines += ["|:---|" + "---:|" * len(chosen)]
            lines += ["| " + " | ".join(cells) + " |" for cells in body]
        else:
            widths = [
                max(len(x) for x in col) for col in zip(header, *body, strict=True)
            ]
            lines += [
                "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
                for cells in (header, *body)
            ]
        lines.append("")
    return lines


def plot_limit_of_detection(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.5 * len(kinds), 3.4))
    for ax, kind in zip(np.atleast_1d(axes), kinds, strict=True):
        chosen = [r for r in rows if r["kind"] == kind]
        x = [r["value"] for r in chosen]
        for model, style in (("blurkit", "o-"), ("baseline", "s--")):
            ax.plot(x, [100 * r[model] for r in chosen], style, label=model)
        ax.set_xlabel(kind)
        ax.set_ylabel("sharp images called blurred (%)")
        ax.set_ylim(-5, 105)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _case_rng(case: Case, index: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(case.name.encode()), index])


def build_case(case: Case, images, labels, subjects):
    """Degraded images, expected labels and subject ids of one case."""
    keep = [
        i
        for i, label in enumerate(labels)
        if case.source is None or label == case.source
    ]
    degraded = [case.func(images[i], _case_rng(case, i)) for i in keep]
    expected = np.array(
        [labels[i] if case.expected is None else case.expected for i in keep]
    )
    return degraded, expected, [subjects[i] for i in keep]


def _as_batch(images: list[np.ndarray]):
    # One array when every image has the same shape, else a list.
    return np.stack(images) if len({i.shape for i in images}) == 1 else images


def run_cases(detector, baseline, validation):
    """Score both models on every case; returns rows and failures."""
    images, labels, subjects = validation
    rows, failures = [], []
    cases = make_cases()
    for n, case in enumerate(cases, 1):
        degraded, expected, names = build_case(case, images, labels, subjects)
        batch = _as_batch(degraded)
        proba = detector.predict_proba(batch)
        classes = list(detector.classes_)
        predicted = np.asarray(classes)[np.argmax(proba, axis=1)]
        p_sharp = proba[:, classes.index(1)]
        base = baseline.predict(batch)
        rows.append(
            {
                "case": case.name,
                "group": case.group,
                "expected": "as labelled" if case.expected is None else case.expected,
                "n": len(expected),
                "blurkit": float(np.mean(predicted == expected)),
                "baseline": float(np.mean(base == expected)),
            }
        )
        for i in np.flatnonzero(predicted != expected):
            failures.append((case.name, names[i], int(expected[i]), float(p_sharp[i])))
        if n % 10 == 0 or n == len(cases):
            _say(f"  scored {n}/{len(cases)} cases")
    return rows, failures


def run_sigma(detector, validation):
    """Sigma estimates on sharp validation images blurred with known sigmas."""
    images, labels, _ = validation
    sharp = [images[i] for i, label in enumerate(labels) if label == 1]
    true, noise, blurred = [], [], []
    for sigma in SIGMAS:
        for std in SIGMA_NOISES:
            for i, image in enumerate(sharp):
                copy = dg.gaussian_blur(image, sigma)
                if std > 0:
                    rng = np.random.default_rng([int(sigma * 10), int(std * 100), i])
                    copy = dg.add_noise(copy, std, random_state=rng)
                blurred.append(copy)
                true.append(sigma)
                noise.append(std)
    estimate = detector.predict_sigma(_as_batch(blurred))
    return np.asarray(true), np.asarray(noise), np.asarray(estimate)


def format_table(rows, markdown: bool) -> list[str]:
    header = ["case", "expected", "n", "blurkit", "baseline"]
    body = [
        [
            r["case"],
            str(r["expected"]),
            str(r["n"]),
            f"{r['blurkit']:.0%}",
            f"{r['baseline']:.0%}",
        ]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join([":---", ":---:", "---:", "---:", "---:"]) + "|")
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return lines
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    align = [str.ljust, str.ljust, str.rjust, str.rjust, str.rjust]

    def line(cells):
        return "  ".join(a(c, w) for a, c, w in zip(align, cells, widths, strict=True))

    return [line(header), line(["-" * w for w in widths])] + [line(c) for c in body]


def summary_lines(rows) -> list[str]:
    groups = {
        "contract cases": ("blur", "blur+", "sharp"),
        "real validation": ("real",),
        "blurred-image checks": ("extra",),
        "MRI acquisition": ("acquisition",),
    }
    lines = []
    for model in ("blurkit", "baseline"):
        perfect = sum(r[model] == 1.0 for r in rows)
        parts = []
        for label, names in groups.items():
            chosen = [r for r in rows if r["group"] in names]
            good = sum(r[model] == 1.0 for r in chosen)
            parts.append(f"{label} {good}/{len(chosen)}")
        images = sum(r["n"] for r in rows)
        correct = round(sum(r[model] * r["n"] for r in rows))
        lines.append(
            f"{model}: {perfect}/{len(rows)} cases at 100% ({', '.join(parts)}); "
            f"{correct}/{images} images right"
        )
    return lines


def sigma_lines(true, noise, estimate, markdown: bool) -> list[str]:
    error = np.abs(estimate - true)
    overall = float(np.median(error))
    verdict = "meets" if overall <= SIGMA_TARGET else "MISSES"
    lines = [
        f"Sigma estimate: {len(true)} images (sharp validation x {len(SIGMAS)} "
        f"sigmas x {len(SIGMA_NOISES)} noise levels). Median absolute error "
        f"{overall:.3f} px overall ({verdict} the {SIGMA_TARGET} px target); "
        f"mean {float(np.mean(error)):.3f} px, 90th percentile "
        f"{float(np.quantile(error, 0.9)):.3f} px.",
        "",
    ]
    header = ["sigma (px)"] + [f"noise {s:.0%}" for s in SIGMA_NOISES] + ["all"]
    body = []
    for sigma in SIGMAS:
        cells = [f"{sigma:g}"]
        for std in SIGMA_NOISES:
            mask = (true == sigma) & (noise == std)
            cells.append(f"{np.median(error[mask]):.3f}")
        cells.append(f"{np.median(error[true == sigma]):.3f}")
        body.append(cells)
    cells = ["all"]
    for std in SIGMA_NOISES:
        cells.append(f"{np.median(error[noise == std]):.3f}")
    cells.append(f"{overall:.3f}")
    body.append(cells)
    lines.append("Median absolute error (px) by sigma and noise:")
    if markdown:
        lines.append("")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---:"] * len(header)) + "|")
        lines += ["| " + " | ".join(c) + " |" for c in body]
    else:
        widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        lines += [
            "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
            for cells in body
        ]
    bias = [f"{s:g}: {np.median(estimate[true == s] - s):+.2f}" for s in SIGMAS]
    lines += ["", "Median signed error (estimate - true) by sigma: " + ", ".join(bias)]
    return lines


def default_data_dir() -> Path:
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else REPO / "data"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="challenge-layout folder with train/ and validation/ "
        "(default: ../shared/data if it exists, else data)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a saved blurkit model to test, or 'builtin' (the model shipped "
        "in the package)",
    )
    parser.add_argument(
        "--family",
        default="features",
        choices=["features", "cnn", "hybrid", "auto"],
        help="model family to train when no --model is given (default: features)",
    )
    parser.add_argument(
        "--outer-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--no-outer-features trains without the outer features (blurkit "
        "train --no-outer-features); they are the default",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the training's augmentation and folds (default: 0)",
    )
    parser.add_argument("--out-md", type=Path, default=None, help="Markdown report")
    parser.add_argument(
        "--plot", type=Path, default=None, help="limit-of-detection figure (PNG)"
    )
    args = parser.parse_args(argv)
    if args.model is not None and (
        args.outer_features is not None or args.random_state != 0
    ):
        parser.error(
            "--outer-features and --random-state train a model: not with --model"
        )

    start = time.perf_counter()
    data = args.data if args.data is not None else default_data_dir()
    source = "given" if args.data is not None else "default"
    print(f"Data: {data} ({source})")
    train = load_dataset(data / "train")
    validation = load_dataset(data / "validation")
    print(
        f"Train: {len(train.labels)} images ({int(np.sum(train.labels == 1))} sharp); "
        f"validation: {len(validation.labels)} images "
        f"({int(np.sum(validation.labels == 1))} sharp)."
    )

    if args.model is not None:
        _say(f"Loading {args.model}...")
        detector, _ = blurkit.load_model(
            None if args.model == "builtin" else Path(args.model)
        )
        model_desc = f"blurkit: saved model {args.model}"
    else:
        _say(f"Training blurkit's default model on {data / 'train'}...")
        detector = train_detector(
            data / "train",
            family=args.family,
            random_state=args.random_state,
            outer_features=args.outer_features,
            log=None,
        )
        outer = {None: "", True: " --outer-features", False: " --no-outer-features"}[
            args.outer_features
        ]
        model_desc = (
            f"blurkit: trained as `blurkit train DIR/train --model {args.family}"
            f"{outer} --random-state {args.random_state}`"
        )
    baseline = make_pipeline(
        blurkit.LaplacianVariance(), StandardScaler(), LogisticRegression()
    ).fit(train.images, train.labels)
    base_desc = (
        "baseline: threshold on log10 Laplacian variance (1-D logistic "
        "regression on the same training images)"
    )
    print(model_desc)
    print(base_desc)
    _say(f"Models ready ({time.perf_counter() - start:.0f} s); scoring cases...")

    rows, failures = run_cases(detector, baseline, validation)
    table = format_table(rows, markdown=False)
    summary = summary_lines(rows)
    print()
    print("\n".join(table))
    print()
    print("\n".join(summary))
    if failures:
        print()
        print("blurkit errors (case: subject, expected label, P(sharp)):")
        for case, subject, expected, p in failures:
            print(f"  {case}: {subject}, expected {expected}, P(sharp)={p:.3f}")

    _say("Limit of detection...")
    lod = run_limit_of_detection(detector, baseline, validation)
    print()
    print("Limit of detection: sharp validation images called blurred")
    print("\n".join(lod_lines(lod, markdown=False)))
    if args.plot is not None:
        plot_limit_of_detection(lod, args.plot)
        _say(f"Wrote {args.plot}")

    sigma_md = []
    if hasattr(detector, "predict_sigma"):
        _say("Estimating sigmas...")
        true, noise, estimate = run_sigma(detector, validation)
        print()
        print("\n".join(sigma_lines(true, noise, estimate, markdown=False)))
        sigma_md = sigma_lines(true, noise, estimate, markdown=True)
    else:
        print("\nSigma estimate: skipped (the model has no predict_sigma).")
    elapsed = time.perf_counter() - start
    print(f"\nDone in {elapsed:.0f} s.")

    if args.out_md is not None:
        md = [
            "## Robustness",
            "",
            f"Data: `{data}`. Cases made from the validation images, which "
            "neither model trained on.",
            "",
            f"- {model_desc}",
            f"- {base_desc}",
            "",
            *format_table(rows, markdown=True),
            "",
            *[f"- {line}" for line in summary],
        ]
        md += [
            "",
            "### Limit of detection",
            "",
            "Sharp validation images called blurred, against the blur's strength:",
            "",
            *lod_lines(lod, markdown=True),
        ]
        if sigma_md:
            md += ["### Blur severity", "", *sigma_md]
        args.out_md.write_text("\n".join(md) + "\n", encoding="utf-8")
        _say(f"Wrote {args.out_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Held-out check: noise at fixed levels (clipped, kept whole, Rician), JPEG.

``benchmarks/heldout.py`` draws each image's noise level uniformly (TorchIO's
``RandomNoise``, std 0-3% or 0-5%), so its rows mix light and strong noise,
and has no JPEG row. This script asks what one level does. With each seed's split of
``heldout.py`` (240 training images for the model, the other 80 and the 16
validation images for the test, 48 sharp and 48 blurred), it trains the
default features model (``make_classifier("features", random_state=seed)``;
``--model`` tests a saved model, or the built-in one, instead) and adds to
every test image noise of a fixed standard deviation (a fraction of the
[0, 1] range), written here with numpy, independently of
``blurkit.degrade``:

- ``clipped``: Gaussian noise, the result clipped to [0, 1], as a scanner's
  export or scikit-image's ``random_noise`` keep it;
- ``whole``: Gaussian noise left as it is, negative values included (an
  unclipped float image, or its min-max rescaled export: the features read
  both alike);
- ``Rician``: the magnitude of the image plus complex Gaussian noise, the
  noise of a magnitude MR image, clipped to [0, 1];
- ``JPEG``: a round trip through Pillow's JPEG encoder at a fixed quality
  (the contract: quality 90 and above), the 8-bit grey levels
  (``blurkit.degrade.jpeg_compress``: the encoder is Pillow's either way).

Noise and JPEG keep the label (the contract: a sharp slice stays sharp, a blurred
one stays blurred). The table gives, per kind and level, the sharp slices
called blurred and the blurred ones called sharp over the seeds, with the
95% interval of ``heldout.seed_interval`` (seeds resampled); ``--plot``
draws the share of sharp slices called blurred against the level.

Usage::

    python benchmarks/fixed_levels.py [--data ../shared/data] [--seeds 0-7]
                                      [--levels 0.01,0.03,0.05]
                                      [--qualities 95,90,75]
                                      [--model PATH | --model builtin]
                                      [--out-md FILE] [--plot PNG]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from heldout import REPO, _seed_list, _split, share_cell

import blurkit
from blurkit.degrade import jpeg_compress

LEVELS = (0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1)
QUALITIES = (95, 90, 85, 75)
KINDS = ("clipped", "whole", "Rician")


def noisy(image: np.ndarray, kind: str, std: float, rng) -> np.ndarray:
    """``image`` (values in [0, 1]) with noise of standard deviation ``std``."""
    noise = rng.normal(0.0, std, image.shape)
    if kind == "clipped":
        return np.clip(image + noise, 0.0, 1.0)
    if kind == "whole":
        return image + noise
    if kind == "Rician":
        imaginary = rng.normal(0.0, std, image.shape)
        return np.clip(np.hypot(image + noise, imaginary), 0.0, 1.0)
    raise ValueError(f"Expected a kind among {KINDS}, got {kind!r}.")


def _changed(x_test, seed, levels, qualities):
    """``((kind, level), images)`` for each change, one at a time: the
    noise kinds at each of ``levels``, then ``("JPEG", quality)``."""
    for kind in KINDS:
        for level in levels:
            # One stream per seed, kind and level: a level's images do not
            # depend on which other levels are asked for.
            rng = np.random.default_rng([seed, KINDS.index(kind), round(level * 1e4)])
            yield (kind, level), [noisy(x, kind, level, rng) for x in x_test]
    for quality in qualities:
        yield ("JPEG", quality), [jpeg_compress(x, quality) for x in x_test]


def count_errors(
    data: Path, seeds, levels, qualities=QUALITIES, model=None, log=print
) -> dict:
    """``(kind, level) -> {"sharp": [...], "blurred": [...]}``: images labelled
    wrong with each seed, and ``"n_sharp"``, ``"n_blurred"``: images per seed.
    The noise kinds at each of ``levels``, then ``("JPEG", quality)``.

    ``model``, a fitted classifier, is tested as it is on every seed's test
    images; None trains the default features model on each seed's split.
    """
    errors: dict = {}
    for seed in seeds:
        start = time.perf_counter()
        x_fit, y_fit, x_test, y_test = _split(data, seed)
        if model is None:
            fitted = blurkit.make_classifier("features", random_state=seed)
            fitted.fit(x_fit, y_fit)
        else:
            fitted = model
        x_test = x_test.astype(np.float64)
        for key, images in _changed(x_test, seed, levels, qualities):
            predicted = fitted.predict(np.stack(images))
            row = errors.setdefault(key, {"sharp": [], "blurred": []})
            row["sharp"].append(int(np.sum((y_test == 1) & (predicted != 1))))
            row["blurred"].append(int(np.sum((y_test == 0) & (predicted != 0))))
            row["n_sharp"] = int(np.sum(y_test == 1))
            row["n_blurred"] = int(np.sum(y_test == 0))
        log(f"  seed {seed}: {time.perf_counter() - start:.0f} s")
    return errors


def table(errors: dict, n_seeds: int) -> str:
    """Markdown: per kind and level, the images labelled wrong over the seeds."""
    some = next(iter(errors.values()))
    lines = [
        f"| change | level | sharp called blurred (of {some['n_sharp'] * n_seeds}) "
        f"| blurred called sharp (of {some['n_blurred'] * n_seeds}) |",
        "|:---|---:|---:|---:|",
    ]
    for (kind, level), row in errors.items():
        shown = f"quality {level}" if kind == "JPEG" else f"std {level:.0%}"
        cells = [
            share_cell(row[name], [row[f"n_{name}"]] * len(row[name]))
            for name in ("sharp", "blurred")
        ]
        lines.append(f"| {kind} | {shown} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def plot(errors: dict, path: Path) -> None:
    """Share of sharp slices called blurred against the noise level, per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind in KINDS:
        rows = [(level, row) for (k, level), row in errors.items() if k == kind]
        levels = [100 * level for level, _ in rows]
        shares = [
            100 * sum(row["sharp"]) / (row["n_sharp"] * len(row["sharp"]))
            for _, row in rows
        ]
        ax.plot(levels, shares, marker="o", label=kind)
    ax.axvline(5, color="grey", linestyle=":", label="contract: noise up to 5%")
    ax.set_xlabel("noise standard deviation (% of the range)")
    ax.set_ylabel("sharp slices called blurred (%)")
    ax.set_title("Held-out sharp slices with noise (default features model)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="challenge-layout folder with train/ and validation/",
    )
    parser.add_argument("--seeds", default="0-7", help="e.g. 0-7 or 0,3,5")
    parser.add_argument(
        "--levels",
        default=",".join(f"{level:g}" for level in LEVELS),
        help="noise standard deviations, fractions of the range",
    )
    parser.add_argument(
        "--qualities",
        default=",".join(map(str, QUALITIES)),
        help="JPEG qualities (Pillow's, 1-95)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a model saved by blurkit train, or 'builtin', tested as it is "
        "(default: the default features model trained on each seed's split)",
    )
    parser.add_argument("--out-md", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        seeds = _seed_list(args.seeds)
        levels = [float(level) for level in args.levels.split(",") if level]
        qualities = [int(q) for q in args.qualities.split(",") if q]
    except ValueError as exc:
        parser.error(f"--seeds, --levels or --qualities: {exc}")
    if not seeds or not levels or not all(0 < level < 1 for level in levels):
        parser.error("expected seeds, and levels in (0, 1)")
    if not all(1 <= quality <= 95 for quality in qualities):
        parser.error("expected JPEG qualities in [1, 95]")
    data = args.data
    if not (data / "train" / "subjects.tsv").is_file():
        print(f"{data}: no challenge data (train/subjects.tsv)", file=sys.stderr)
        return 1
    print(f"Data: {data}; seeds {args.seeds}; levels {levels}", file=sys.stderr)
    model = None
    if args.model is not None:
        path = None if args.model == "builtin" else args.model
        model, _ = blurkit.load_model(path)
    errors = count_errors(
        data, seeds, levels, qualities, model, log=lambda m: print(m, file=sys.stderr)
    )
    text = table(errors, len(seeds))
    print(text)
    if args.out_md is not None:
        args.out_md.write_text(text + "\n")
    if args.plot is not None:
        plot(errors, args.plot)
        print(f"Plot: {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

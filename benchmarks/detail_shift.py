"""Prototype: the shift of the finest detail against coarser detail.

Not part of blurkit yet. It reproduces the table of ``benchmarks/RESULTS.md``,
"Phase errors, 2026-12-04: the fringes of the finest band" (its last part).

`fringe` (``SharpnessFeatures(fringe=True)``) sees a translation of one side
of k-space: the magnitude image then holds two copies of the finest detail.
Where the outer lines of *both* sides moved (a centric ordering, or the
held-out phase errors' second branch), the finest detail is not doubled but
moved as a whole, ``d`` pixels away from the coarser detail of the same
edges. A clean slice's detail at every scale lies on its edges.

The statistic, for each axis: the finest band (at or above 0.38 cycles per
pixel along the axis, both sides, every frequency across it) and a coarser
one (0.12-0.24 along it, one side), each frequency's power capped at 5
times its band's median (so that a k-space spike cannot dominate; the
phases are kept), their energies (squared magnitudes of the inverse FFTs)
smoothed by a Gaussian of 1.5 px, and the correlation coefficient of the two
energy maps at every lag up to 8 px; ``detail_shift`` is the largest one at
2-8 px (Chebyshev) less the one at lag 0, the larger of the two axes.

The test: the held-out subjects and cases of ``heldout.py`` over
``--seeds``, for the features model with ``--outer-features`` (the outer
features and `fringe`) and the same with ``detail_shift`` beside them (a
``FeatureUnion``, read by the same degree-2 logistic model and trained on
the same augmentation). Full-size complex FFTs in float64 (ten per image):
about 6 ms per image here, a prototype's speed, some 3 minutes for seven
seeds on two cores. ``pip install torchio monai`` for the held-out cases.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import fft
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import FeatureUnion

import blurkit

sys.path.insert(0, str(Path(__file__).parent))
import heldout  # noqa: E402

FINEST = 0.38
COARSER = (0.12, 0.24)
CAP = 5.0
SMOOTH_PX = 1.5
MAX_LAG, MIN_LAG = 8, 2


def detail_shift(stack: np.ndarray) -> np.ndarray:
    """``detail_shift`` of each image of a stack (n, H, W); shape (n,)."""
    stack = np.asarray(stack, dtype=np.float64)
    n, h, w = stack.shape
    spectrum = fft.fft2(stack - stack.mean(axis=(1, 2), keepdims=True))
    power = np.abs(spectrum) ** 2
    fy = np.broadcast_to(np.fft.fftfreq(h)[:, np.newaxis], (h, w))
    fx = np.broadcast_to(np.fft.fftfreq(w)[np.newaxis, :], (h, w))
    smooth = np.exp(-2 * np.pi**2 * SMOOTH_PX**2 * (fy**2 + fx**2))
    lag_y = np.abs(np.fft.fftfreq(h) * h)[:, np.newaxis]
    lag_x = np.abs(np.fft.fftfreq(w) * w)[np.newaxis, :]
    chebyshev = np.maximum(lag_y, lag_x)
    off = (chebyshev <= MAX_LAG) & (chebyshev >= MIN_LAG)

    def energy(band):
        median = np.median(power[:, band], axis=1)[:, np.newaxis, np.newaxis]
        cap = np.minimum(1.0, np.sqrt(CAP * median / np.maximum(power, 1e-300)))
        detail = np.abs(fft.ifft2(spectrum * band * cap)) ** 2
        energy = fft.fft2(detail) * smooth
        energy[:, 0, 0] = 0  # the mean: correlation coefficients
        return energy, np.sqrt(np.sum(np.abs(energy) ** 2, axis=(1, 2)))

    best = np.full(n, -2.0)
    for f in (fy, fx):
        finest, finest_norm = energy(np.abs(f) >= FINEST)
        coarser, coarser_norm = energy((f >= COARSER[0]) & (f <= COARSER[1]))
        norm = finest_norm * coarser_norm + 1e-300
        c = np.real(fft.ifft2(finest * np.conj(coarser))) * (h * w)
        c /= norm[:, np.newaxis, np.newaxis]
        best = np.maximum(best, c[:, off].max(axis=1) - c[:, 0, 0])
    return best


class DetailShift(TransformerMixin, BaseEstimator):
    """`detail_shift` as a transformer: one column."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if isinstance(X, np.ndarray) and X.ndim == 3:
            return detail_shift(X)[:, np.newaxis]
        # Images of several sizes (the augmentation's canvases): one by one.
        return np.array([detail_shift(np.asarray(x)[np.newaxis]) for x in X])

    def get_feature_names_out(self, input_features=None):
        return np.array(["detail_shift"], dtype=object)


def make_models(families, seed: int) -> dict:
    """``option`` (``--outer-features``) and ``option+detail_shift``."""
    models = {}
    for name in families:
        model = blurkit.with_outer_features(
            blurkit.make_classifier("features", random_state=seed)
        )
        if name == "option+detail_shift":
            features = model.get_params()["estimator__features"]
            union = FeatureUnion([("sharpness", features), ("shift", DetailShift())])
            model.set_params(estimator__features=union)
        models[name] = model
    return models


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=heldout.REPO.parent / "shared" / "data"
    )
    parser.add_argument("--seeds", default="0-6")
    args = parser.parse_args(argv)
    if not (args.data / "train" / "subjects.tsv").is_file():
        parser.error(f"{args.data}: no challenge data (train/subjects.tsv)")
    families = ["option", "option+detail_shift"]
    seeds = heldout._seed_list(args.seeds)
    print(heldout.seeds_table(args.data, families, seeds, make_models=make_models))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Prototype: a motion detector's score as one more input of the features model.

Not part of blurkit. It reproduces the tables of ``benchmarks/RESULTS.md``,
"Phase errors, 2026-12-04: what learns them": motion that only changes
phases (the held-out phase-error row of ``heldout.py``) is caught by a
BlurNet trained to tell blurkit's own k-space motion from blurkit's
label-keeping changes, once its score is read by the features' logistic
model beside the features.

- The detector: :class:`blurkit.models._blurnet.BlurNet` (8 filters),
  ``--epochs`` epochs of Adam on ``--pairs`` pairs per sharp training slice:
  one moved by ``kspace_motion`` (1-3 movements, half of them pure
  translations, half with centric line ordering, at least 15% of the lines
  moved), one clean or with one of blurkit's label-keeping changes (a share
  ``--ghost-share`` of them ghosts or k-space spikes).
- The combination: blurkit's augmentation of the training slices (without
  ``resize_canvas``, whose sizes differ) plus two motions per sharp slice,
  each image with the log-odds of a detector trained on the *other* half of
  the training subjects (two folds, cross-fitted); a degree-2 logistic model
  (as ``make_feature_pipeline``) on the sharpness features and that score. A
  third detector, trained on every training subject, scores the test images.
- The test: the held-out subjects and cases of ``heldout.py`` (seed
  ``--seed``), against the features model alone (with ``--outer-features``,
  both read the outer features too).

About 3-4 minutes on two cores. ``pip install torchio monai`` for the
held-out cases.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

import blurkit
from blurkit.degrade import DEGRADATIONS, degrade, kspace_motion
from blurkit.features import SharpnessFeatures
from blurkit.models import DegradationAugmenter
from blurkit.models._blurnet import BlurNet

sys.path.insert(0, str(Path(__file__).parent))
import heldout  # noqa: E402

KEEP = [
    name
    for name, d in DEGRADATIONS.items()
    if d.label != 0 and name not in ("resize_canvas", "brighten_blurred")
]
"""Label-keeping changes of sharp slices, of equal size: the negatives."""


def own_motion(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """blurkit's k-space motion, half pure translations, half centric."""
    n = int(rng.integers(1, 4))
    ordering = "centric" if rng.random() < 0.5 else "linear"
    centre = 0.5 if ordering == "linear" else 0.0  # when k-space's centre is read
    while True:
        times = np.sort(rng.uniform(0.05, 0.95, n))
        bounds = np.concatenate(([0.0], times, [1.0]))
        segment = np.searchsorted(times, centre)
        moved = 1 - (bounds[segment + 1] - bounds[segment])
        if np.all(np.diff(times) > 0.02) and moved >= 0.15:
            break
    rotations = rng.uniform(1, 8, n) * rng.choice((-1, 1), n) * (rng.random() < 0.5)
    translations = rng.uniform(0, 6, (n, 2)) * rng.choice((-1, 1), (n, 2))
    return kspace_motion(
        image,
        rotations=rotations.tolist(),
        translations=translations.tolist(),
        times=times.tolist(),
        axis=int(rng.integers(2)),
        magnitude=bool(rng.random() < 0.7),
        ordering=ordering,
    )


def _negative(image, rng, ghost_share, weights):
    """Ghosts or spikes (a share ``ghost_share``), else 30% clean, else any."""
    draw = rng.random()
    if draw < ghost_share:
        name = "ghosting" if rng.random() < 0.6 else "kspace_spike"
        return degrade(image, name, random_state=rng)[0]
    if draw < ghost_share + 0.3 * (1 - ghost_share):
        return image.astype(np.float32)
    name = KEEP[rng.choice(len(KEEP), p=weights)]
    return degrade(image, name, random_state=rng)[0]


def train_detector(sharp, *, seed, pairs, epochs, ghost_share) -> BlurNet:
    """A BlurNet whose class 0 is "moved", trained on ``sharp`` slices."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    weights = np.array([DEGRADATIONS[name].weight for name in KEEP])
    weights /= weights.sum()
    images, labels = [], []
    for image in sharp:
        for _ in range(pairs):
            images += [
                own_motion(image, rng),
                _negative(image, rng, ghost_share, weights),
            ]
            labels += [0, 1]
    x = torch.tensor(np.stack(images)[:, None], dtype=torch.float32)
    y = torch.tensor(labels)
    net = BlurNet(n_filters=8)
    optimizer = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start : start + 64]
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


def score(net: BlurNet, stack) -> np.ndarray:
    """The detector's log-odds of "not moved", clipped to +-15."""
    with torch.no_grad():
        x = torch.tensor(np.asarray(stack, dtype=np.float32))
        logits = torch.cat([net(x[i : i + 256]) for i in range(0, len(x), 256)])
    return np.clip((logits[:, 1] - logits[:, 0]).numpy().astype(np.float64), -15, 15)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outer-features", action="store_true")
    parser.add_argument("--ghost-share", type=float, default=0.4)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    seed = args.seed
    settings = {
        "pairs": args.pairs,
        "epochs": args.epochs,
        "ghost_share": args.ghost_share,
    }
    x_fit, y_fit, x_test, y_test = heldout._split(args.data, seed)
    x_fit, x_test = x_fit.astype(np.float64), x_test.astype(np.float64)
    start = time.perf_counter()

    # The combination's training set, with cross-fitted detector scores.
    augmenter = DegradationAugmenter(
        n_copies="auto",
        degradations=[name for name in DEGRADATIONS if name != "resize_canvas"],
        random_state=seed,
    )
    x_aug, y_aug = augmenter.fit_resample(x_fit, y_fit)
    source = np.asarray(augmenter.sample_indices_)
    rng = np.random.default_rng(seed + 7)
    sharp = np.flatnonzero(y_fit == 1)
    moved = [own_motion(x_fit[i], rng) for i in sharp for _ in range(2)]
    x_comb = np.concatenate([np.asarray(x_aug, dtype=np.float64), np.stack(moved)])
    y_comb = np.concatenate([y_aug, np.zeros(len(moved), dtype=int)])
    source = np.concatenate([source, np.repeat(sharp, 2)])
    scores = np.empty(len(x_comb))
    folds = StratifiedKFold(2, shuffle=True, random_state=seed).split(x_fit, y_fit)
    for k, (train, other) in enumerate(folds):
        net = train_detector(
            x_fit[train][y_fit[train] == 1], seed=100 + seed + k, **settings
        )
        rows = np.isin(source, other)
        scores[rows] = score(net, x_comb[rows])
        print(f"Detector on fold {k + 1} of 2: {time.perf_counter() - start:.0f} s")
    final = train_detector(x_fit[y_fit == 1], seed=200 + seed, **settings)
    print(f"Detectors trained: {time.perf_counter() - start:.0f} s")

    features = SharpnessFeatures(outer=args.outer_features)

    def design(stack, detector_scores):
        return np.column_stack([features.fit_transform(stack), detector_scores])

    combination = make_pipeline(
        StandardScaler(),
        PolynomialFeatures(2, include_bias=False),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=5000),
    ).fit(design(x_comb, scores), y_comb)
    alone = blurkit.make_classifier("features", random_state=seed)
    if args.outer_features:
        alone = blurkit.with_outer_features(alone)
    alone.fit(x_fit, y_fit)

    class Combined:
        def predict(self, stack):
            return combination.predict(design(stack, score(final, stack)))

    print("\nImages labelled wrong (held-out subjects, other implementations):")
    print(f"{'case':60} {'images':>6} {'features':>9} {'+detector':>9}")
    totals = np.zeros(2, dtype=int)
    models = {"features": alone, "+detector": Combined()}
    cases = heldout.make_cases() + heldout._crop_cases()
    for case, kind, expected, predicted in heldout._predictions(
        models, cases, x_test, y_test, seed
    ):
        if kind == "info":
            continue
        wrong = np.array([np.sum(predicted[name] != expected) for name in models])
        if not case.startswith("phase"):
            totals += wrong
        print(f"{case[:60]:60} {len(expected):6} {wrong[0]:9} {wrong[1]:9}")
    print(f"{'all cases but the phase errors':60} {'':6} {totals[0]:9} {totals[1]:9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

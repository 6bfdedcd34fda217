"""Held-out check: MRI acquisition artifacts made by *other implementations*.

blurkit's augmentation and ``benchmarks/robustness.py`` use blurkit's own
simulations (``blurkit.degrade``). This script checks that the models learned
the physics rather than one simulator: it trains on 240 of the 320 challenge
training images (a stratified, seeded split) and tests on the other 80 plus
the 16 validation images (48 sharp, 48 blurred), degraded by

- TorchIO (``pip install torchio``, which blurkit does not depend on):
  ``RandomMotion`` (its draws: 2 movements, up to 10 degrees and 10 mm, in
  the slice's plane, see below; and with 1 movement, its real part as
  TorchIO keeps it and its magnitude as a scanner shows it),
  ``RandomAnisotropy`` 2x and 3x along either in-plane axis, interpolated
  back linearly or copied back by nearest neighbour, and with its factor
  drawn from 2-3 (back linearly), ``RandomGhosting``, ``RandomSpike`` (its default
  intensity 1-3, and 0.1-0.5), ``RandomBiasField`` and ``RandomNoise``, on
  the slice as a one-voxel-thick volume of 1.5 mm voxels;
- MONAI, when installed (``pip install monai``; its rows are left out
  otherwise): ``RandGibbsNoise`` (a disc of k-space kept), thick slices
  (``Resize``, area-averaged down 2x or 3x along an in-plane axis, then back
  with bicubic or bilinear interpolation), ``RandGaussianSmooth``,
  ``RandKSpaceSpikeNoise``, ``RandRicianNoise`` and ``RandBiasField``;
- code written here, independently of ``blurkit.degrade``: k-space
  truncation by cropping the centred spectrum and zero-padding it back (2x,
  both axes or one), Gibbs ringing (3x), and phase errors on a block of
  30-50% of the k-space lines (a translation of 2-6 px while they were
  acquired), rigid motion in centric order (the outer 30-50% of the lines of
  both sides acquired after a rotation of 2-5 degrees and a translation of
  2-5 px, SciPy's ``rotate`` and ``shift``), 2x coarser sampling by
  ``scipy.ndimage.zoom`` without anti-aliasing, back by linear or cubic
  interpolation, thick slices 2-3x copied back by ``scipy.ndimage.zoom``'s
  nearest neighbour, and periodic ghosting as TorchIO draws it but shown as the
  magnitude image a scanner exports (TorchIO keeps the real part).

Each result is clipped back to [0, 1], as a scanner's export would be. Three
rows (TorchIO's noise, ghosting and spikes) are repeated with the result
min-max rescaled to [0, 1] instead, as the export of an unclipped float image
often is: the noise then stays whole on the background (clipping keeps only
its positive half there), the real part's negative ringing too.

A sharp image with motion, anisotropy, truncation or ringing must be called
blurred (0); ghosting, spikes, a bias field or noise keep the input's label
(1 on sharp images, 0 on blurred ones). The issue's bar: each blurred case
>= 95% (truncation along one axis >= 90%), each label-keeping case 100%.

TorchIO's ``Motion`` fills k-space segment by segment along the volume's
*last* axis. On a 2-D slice laid out as TorchIO's 2-D images are, (H, W, 1),
that axis has one sample: the whole k-space then comes from one moved copy,
and the "motion" is a single rotation and translation of the slice, resampled
with linear interpolation, with no k-space artifact at all. The motion case
therefore lays the slice out as (1, H, W), so that the segments run along an
in-plane axis (chosen at random by transposing the slice), and draws
``RandomMotion``'s parameters as TorchIO does for 2-D images: rotations about
the axis normal to the slice, translations in its plane. TorchIO moves each
position by resampling, linearly by default, which also softens the moved
segments; a second row resamples with B-splines, which soften less. The (H, W, 1)
result is reported too, as "rigid resampling": a softening by linear
interpolation (about a 0.3-0.5 px Gaussian), in the contract's grey zone
between its sharp (sigma <= 0.5) and blurred (sigma >= 1) sides, so it has
no bar; the table gives the share called blurred.

Usage::

    python benchmarks/heldout.py [--data ../shared/data]
                                 [--families features,cnn,hybrid
                                  | --model PATH | --model builtin]
                                 [--seed N | --seeds 0-6] [--no-outer-features]
                                 [--sigma] [--out-md FILE] [--plot PNG]

``--model`` tests a saved model (``blurkit train``'s), or the built-in one,
as it is, on every seed's test images, instead of training the families on
each seed's split (the README's figures of the built-in model).

The features and hybrid families read the outer features, the fringe and the
detail shift, as blurkit's defaults do (``+outer`` says so too); ``+plain`` (or
``--no-outer-features`` for all of them) leaves them out
(``blurkit.with_outer_features(model, False)``), ``+plain+fringe`` and
``+plain+shift`` add one of the last two alone, ``+noshift`` leaves the detail
shift out (the option as it was before it). ``--seeds`` prints, instead of one
seed's shares, the images labelled wrong in each case summed over the seeds,
each drawing its own split, augmentation and degradations, with crops of the
clean slices (`CROP_SIZES`) as extra label-keeping cases: for each case, the
count, its share of the images, a 95% interval of that share (a bootstrap
over the seeds, `seed_interval`) and the count of each seed. The seeds
differ a lot: the augmentation draws some twenty moved copies of the sharp
slices per seed, and which ones moves the phase errors caught by several
points; use 28 seeds or more for a share near a bar. ``--plot`` draws the
same shares (labelled right) and intervals against the issue's bars.

``--sigma`` also checks the blur estimate: a ``BlurSigmaRegressor`` trained
as ``BlurDetector`` trains it (``make_sigma_training_set`` on the sharp
slices of the 240 training images, with blurkit's Gaussian blur, which is
SciPy's ``gaussian_filter`` with reflected borders) estimates the sigma of
the 48 held-out sharp slices blurred with sigma 0.5-4 px by scikit-image
(``filters.gaussian``: nearest-pixel borders), OpenCV (``GaussianBlur``,
its own kernel size and reflected-101 borders; when installed), MONAI
(``GaussianSmooth``, zero borders, its default kernel, which integrates the
Gaussian over each pixel, a blur of ``sqrt(sigma**2 + 1/12)``, and its
sampled one; when installed)
and TorchIO (``Blur``, the sigma given in mm), each with noise of 0, 2 and
5% added after the blur, as in ``benchmarks/robustness.py``. The issue's
bar: median absolute error <= 0.05 px.

Every random step is seeded; two runs print the same table. Each
degradation's seed is the split's seed, the case and the slice's place in the
test set (`degradation_seed`): each seed draws its own parameters.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import blurkit
from blurkit import load_dataset
from blurkit.models._families import _feature_extractors

REPO = Path(__file__).resolve().parents[1]
SPACING_MM = 1.5


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _torchio(transform, image: np.ndarray, seed: int, *, thin_first=False):
    """Apply a TorchIO transform to a 2-D slice, as a one-voxel-thick volume.

    The volume is (H, W, 1), TorchIO's layout for 2-D images, or with
    ``thin_first`` (1, H, W).
    """
    import torch
    import torchio as tio

    torch.manual_seed(seed)
    index = (np.newaxis, np.newaxis) if thin_first else (np.newaxis, ..., np.newaxis)
    affine = np.diag([SPACING_MM, SPACING_MM, SPACING_MM, 1.0])
    volume = tio.ScalarImage(
        tensor=torch.from_numpy(image[index].astype(np.float32)), affine=affine
    )
    out = transform(volume).data.numpy()
    return np.asarray(out[0, 0] if thin_first else out[0, :, :, 0], dtype=np.float64)


def _torchio_in_plane(transform, image: np.ndarray, seed: int) -> np.ndarray:
    """A TorchIO transform on the slice as a (1, H, W) volume, or (1, W, H).

    The layout puts the volume's last axis, along which TorchIO's ``Motion``
    splits k-space, in the slice's plane; which in-plane axis is drawn from
    ``seed``.
    """
    transpose = np.random.default_rng(seed).random() < 0.5
    out = _torchio(transform, image.T if transpose else image, seed, thin_first=True)
    return out.T if transpose else out


def _in_plane_motion(interpolation: str = "linear", num_transforms: int = 2):
    """TorchIO's ``RandomMotion``, its draws restricted to the (1, H, W) plane.

    As TorchIO restricts them for its own 2-D images: rotation about the axis
    normal to the slice (here the first) only, translation in the slice's
    plane only. ``interpolation`` is the resampling of each moved position
    (TorchIO's default is linear).
    """
    import torchio as tio

    class InPlaneMotion(tio.RandomMotion):
        def get_params(self, *args, **kwargs):
            kwargs["is_2d"] = False
            times, degrees, translation = super().get_params(*args, **kwargs)
            degrees[:, 1:] = 0
            translation[:, 0] = 0
            return times, degrees, translation

    return InPlaneMotion(
        image_interpolation=interpolation, num_transforms=num_transforms
    )


@contextlib.contextmanager
def _torchio_magnitude():
    """TorchIO's ``Motion`` keeping the magnitude of its reconstruction.

    ``Motion.add_artifact`` keeps the real part of the inverse Fourier
    transform; a scanner exports the magnitude. Within the block the
    inverse transform returns its magnitude (as complex numbers, whose real
    part ``add_artifact`` then takes).
    """
    from torchio.transforms.augmentation.intensity.random_motion import Motion

    inverse = Motion.inv_fourier_transform
    own = Motion.__dict__.get("inv_fourier_transform")

    def magnitude(spectrum):
        return inverse(spectrum).abs().to(spectrum.dtype)

    Motion.inv_fourier_transform = staticmethod(magnitude)
    try:
        yield
    finally:
        # Back to ``Motion``'s own, or to the one it inherits.
        if own is None:
            del Motion.inv_fourier_transform
        else:
            Motion.inv_fourier_transform = own


def _unit(image: np.ndarray) -> np.ndarray:
    """Back to [0, 1] as a scanner's export would: clip, no rescaling."""
    return np.clip(image, 0.0, 1.0)


def _min_max(image: np.ndarray) -> np.ndarray:
    """Back to [0, 1] as a float image's export often is: min-max rescaling.

    Unlike clipping, it keeps negative values (noise on the background, the
    real part's ringing): the background turns grey, the noise whole.
    """
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _truncate(image: np.ndarray, factor: float, axes) -> np.ndarray:
    """Keep the central 1/factor of k-space along ``axes``; zero-fill the rest."""
    spectrum = np.fft.fftshift(np.fft.fft2(image))
    mask = np.ones(image.shape, dtype=bool)
    for axis in axes:
        n = image.shape[axis]
        keep = int(round(n / factor))
        lo = n // 2 - keep // 2
        line = np.zeros(n, dtype=bool)
        line[lo : lo + keep] = True
        mask &= np.expand_dims(line, 1 - axis)
    return np.abs(np.fft.ifft2(np.fft.ifftshift(spectrum * mask)))


def _phase_errors(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A block of 30-50% of the phase-encoding lines acquired after a shift."""
    axis = int(rng.integers(2))
    n = image.shape[axis]
    spectrum = np.fft.fft2(image)
    frequencies = np.fft.fftfreq(n)
    order = np.argsort(np.abs(frequencies))
    # The outer lines, from one side of k-space: acquired last.
    share = rng.uniform(0.3, 0.5)
    start = n - int(share * n)
    sign = rng.choice([-1, 1])
    lines = order[start:]
    lines = lines[np.sign(frequencies[lines]) == sign] if rng.random() < 0.5 else lines
    shift = rng.uniform(2, 6) * rng.choice([-1, 1], 2)
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.fftfreq(image.shape[1])[None, :]
    ramp = np.exp(-2j * np.pi * (fy * shift[0] + fx * shift[1]))
    moved = np.zeros(image.shape, dtype=bool)
    if axis == 0:
        moved[lines, :] = True
    else:
        moved[:, lines] = True
    spectrum = np.where(moved, spectrum * ramp, spectrum)
    return np.abs(np.fft.ifft2(spectrum))


def _centric_motion(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rigid motion late in a centric acquisition, shown as the magnitude.

    The lines are acquired from the centre of k-space outward, so the last
    30-50% of them are the outer lines of both sides: they come from the
    slice rotated by 2-5 degrees and translated by 2-5 px per axis (SciPy's
    cubic ``rotate`` and ``shift``), either sign, along either axis. The
    coarse image stays where it was; its finest detail is displaced.
    """
    from scipy import ndimage

    axis = int(rng.integers(2))
    angle = rng.uniform(2, 5) * rng.choice([-1, 1])
    shift = rng.uniform(2, 5, size=2) * rng.choice([-1, 1], 2)
    moved = ndimage.shift(
        ndimage.rotate(image, angle, reshape=False, order=3), shift, order=3
    )
    n = image.shape[axis]
    # The lines in the order of a centric acquisition (by |frequency|): the
    # last ones came from the moved slice.
    order = np.argsort(np.abs(np.fft.fftfreq(n)), kind="stable")
    late = np.zeros(n, dtype=bool)
    late[order[n - int(rng.uniform(0.3, 0.5) * n) :]] = True
    spectrum = np.where(
        np.expand_dims(late, 1 - axis), np.fft.fft2(moved), np.fft.fft2(image)
    )
    return np.abs(np.fft.ifft2(spectrum))


def _magnitude_ghosting(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Periodic ghosts as a scanner shows them: the magnitude image.

    TorchIO's draws (4-10 ghosts, intensity 0.5-1, either in-plane axis): every
    n-th line of the centred k-space weakened, the centre line kept, then the
    magnitude of the reconstruction, where TorchIO keeps its real part. The
    magnitude folds the ghosts' negative half back up, and their comb in
    k-space is no longer clean.
    """
    axis = int(rng.integers(2))
    n_ghosts = int(rng.integers(4, 11))
    intensity = rng.uniform(0.5, 1.0)
    spectrum = np.fft.fftshift(np.fft.fft2(image))
    gain = np.ones(image.shape[axis])
    gain[::n_ghosts] = 1 - intensity
    gain[len(gain) // 2] = 1
    spectrum = spectrum * np.expand_dims(gain, 1 - axis)
    return np.abs(np.fft.ifft2(np.fft.ifftshift(spectrum)))


def _zoom_coarser(image: np.ndarray, axis: int, factor: float, down: int, up: int):
    """``scipy.ndimage.zoom`` to ``1 / factor`` of the lines along ``axis``
    (spline order ``down``) and back to the matrix (order ``up``)."""
    from scipy import ndimage

    zoom = np.ones(2)
    zoom[axis] = 1 / factor
    coarse = ndimage.zoom(image, zoom, order=down)
    back = np.array(image.shape) / np.array(coarse.shape)
    return ndimage.zoom(coarse, back, order=up)[: image.shape[0], : image.shape[1]]


def _zoom_thick_slices(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thick slices as SciPy makes them: a box ``factor`` lines thick (2-3),
    ``scipy.ndimage.zoom`` down along that axis and back to the matrix with
    nearest-neighbour interpolation (``order=0``), which copies lines."""
    from scipy import ndimage

    axis = int(rng.integers(2))
    factor = rng.uniform(2.0, 3.0)
    thick = ndimage.uniform_filter1d(image, round(factor), axis=axis)
    return _zoom_coarser(thick, axis, factor, 0, 0)


def _zoom_resampled(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """2x coarser along one axis as SciPy makes it without anti-aliasing:
    ``scipy.ndimage.zoom`` to half the lines (121 to 60: a factor a little
    off 2, so the lines sampled drift against the grid's) and back, each
    way by linear or cubic interpolation (``order`` 1 or 3, drawn)."""
    axis = int(rng.integers(2))
    down, up = rng.choice([1, 3], 2)
    return _zoom_coarser(image, axis, 2.0, int(down), int(up))


def _monai(transform, image: np.ndarray, seed: int) -> np.ndarray:
    """Apply a MONAI transform to a 2-D slice, as a one-channel image."""
    import torch

    if hasattr(transform, "set_random_state"):
        transform.set_random_state(seed)
    out = transform(torch.from_numpy(image[np.newaxis].astype(np.float32)))
    return np.asarray(out[0], dtype=np.float64)


def _monai_thick_slices(factor: int, mode: str):
    """Slices ``factor`` times thicker along a random in-plane axis, with MONAI.

    Area-averaged down to ``1 / factor`` of the lines (a thick slice averages
    its thickness), then resampled back with ``mode`` interpolation.
    """
    from monai.transforms import Resize

    def thick(image: np.ndarray, seed: int) -> np.ndarray:
        axis = int(np.random.default_rng(seed).integers(2))
        coarse = list(image.shape)
        coarse[axis] = round(coarse[axis] / factor)
        low = _monai(Resize(coarse, mode="area"), image, seed)
        return _monai(Resize(image.shape, mode=mode), low, seed)

    return thick


def make_cases() -> list[tuple[str, str, Callable]]:
    """``(name, kind, func(image, seed))``; kind "blur", "keep" or "info".

    An "info" case is applied to sharp images; the table gives the share
    called blurred, with no bar.
    """
    import torchio as tio

    def tio_case(transform):
        return lambda image, seed: _unit(_torchio(transform, image, seed))

    def tio_min_max_case(transform):
        return lambda image, seed: _min_max(_torchio(transform, image, seed))

    def tio_in_plane_case(transform):
        return lambda image, seed: _unit(_torchio_in_plane(transform, image, seed))

    def tio_in_plane_magnitude_case(transform):
        real_part = tio_in_plane_case(transform)

        def degrade(image, seed):
            with _torchio_magnitude():
                return real_part(image, seed)

        return degrade

    cases = [
        ("clean", "keep", lambda image, seed: image),
        (
            "truncation 2x, both axes",
            "blur",
            lambda image, seed: _unit(_truncate(image, 2, (0, 1))),
        ),
        (
            "truncation 2x, rows",
            "blur",
            lambda image, seed: _unit(_truncate(image, 2, (0,))),
        ),
        (
            "truncation 2x, columns",
            "blur",
            lambda image, seed: _unit(_truncate(image, 2, (1,))),
        ),
        (
            "Gibbs ringing (3x truncation)",
            "blur",
            lambda image, seed: _unit(_truncate(image, 3, (0, 1))),
        ),
        (
            "TorchIO motion, k-space split in-plane",
            "blur",
            tio_in_plane_case(_in_plane_motion()),
        ),
        (
            "TorchIO motion, k-space split in-plane, B-spline",
            "blur",
            tio_in_plane_case(_in_plane_motion("bspline")),
        ),
        (
            "TorchIO motion, one movement, k-space split in-plane",
            "blur",
            tio_in_plane_case(_in_plane_motion(num_transforms=1)),
        ),
        (
            "TorchIO motion, one movement, magnitude image",
            "blur",
            tio_in_plane_magnitude_case(_in_plane_motion(num_transforms=1)),
        ),
        (
            "TorchIO motion on (H, W, 1): rigid resampling",
            "info",
            tio_case(tio.RandomMotion()),
        ),
        (
            "phase errors on 30-50% of the lines",
            "blur",
            lambda image, seed: _unit(
                _phase_errors(image, np.random.default_rng(seed))
            ),
        ),
        (
            "rigid motion, centric order: outer 30-50% of the lines moved (SciPy)",
            "blur",
            lambda image, seed: _unit(
                _centric_motion(image, np.random.default_rng(seed))
            ),
        ),
        (
            "TorchIO anisotropy 2x",
            "blur",
            tio_case(tio.RandomAnisotropy(axes=(0, 1), downsampling=(2, 2))),
        ),
        (
            "TorchIO anisotropy 3x",
            "blur",
            tio_case(tio.RandomAnisotropy(axes=(0, 1), downsampling=(3, 3))),
        ),
        (
            "TorchIO anisotropy 2x, nearest back",
            "blur",
            tio_case(
                tio.RandomAnisotropy(
                    axes=(0, 1), downsampling=(2, 2), image_interpolation="nearest"
                )
            ),
        ),
        (
            "TorchIO anisotropy 2-3x (factor drawn), linear back",
            "blur",
            tio_case(tio.RandomAnisotropy(axes=(0, 1), downsampling=(2, 3))),
        ),
        (
            "thick slices 2-3x, SciPy, nearest back",
            "blur",
            lambda image, seed: _unit(
                _zoom_thick_slices(image, np.random.default_rng(seed))
            ),
        ),
        (
            "2x coarser, SciPy zoom (no anti-aliasing), back linearly or cubically",
            "blur",
            lambda image, seed: _unit(
                _zoom_resampled(image, np.random.default_rng(seed))
            ),
        ),
        ("TorchIO ghosting", "keep", tio_case(tio.RandomGhosting(axes=(0, 1)))),
        (
            "ghosting, magnitude image",
            "keep",
            lambda image, seed: _unit(
                _magnitude_ghosting(image, np.random.default_rng(seed))
            ),
        ),
        ("TorchIO bias field", "keep", tio_case(tio.RandomBiasField())),
        ("TorchIO noise std 0-3%", "keep", tio_case(tio.RandomNoise(std=(0, 0.03)))),
        (
            "TorchIO spike, intensity 0.1-0.5",
            "keep",
            tio_case(tio.RandomSpike(intensity=(0.1, 0.5))),
        ),
        ("TorchIO spike (defaults, 1-3)", "keep", tio_case(tio.RandomSpike())),
        (
            "TorchIO noise std 0-5%, min-max rescaled",
            "keep",
            tio_min_max_case(tio.RandomNoise(std=(0, 0.05))),
        ),
        (
            "TorchIO ghosting, min-max rescaled",
            "keep",
            tio_min_max_case(tio.RandomGhosting(axes=(0, 1))),
        ),
        (
            "TorchIO spike (defaults), min-max rescaled",
            "keep",
            tio_min_max_case(tio.RandomSpike()),
        ),
    ]
    return cases + _monai_cases()


def _monai_cases() -> list[tuple[str, str, Callable]]:
    """MONAI's versions of the artifacts, when MONAI is installed (else none).

    ``RandGibbsNoise`` keeps a disc of k-space of radius ``(1 - alpha)`` times
    the corner's, ``(1 - alpha) * sqrt(2)`` of Nyquist: alpha 0.6-0.8 keeps
    0.28-0.57 of it (blurred); 0.5-0.6 keeps 0.57-0.71, milder than the
    contract's halving, so that row has no bar.
    """
    try:
        from monai.transforms import (
            RandBiasField,
            RandGaussianSmooth,
            RandGibbsNoise,
            RandKSpaceSpikeNoise,
            RandRicianNoise,
        )
    except ImportError:
        _say("MONAI is not installed: its rows are left out (pip install monai)")
        return []

    def monai_case(transform):
        return lambda image, seed: _unit(_monai(transform, image, seed))

    def thick_case(factor, mode):
        thick = _monai_thick_slices(factor, mode)
        return lambda image, seed: _unit(thick(image, seed))

    return [
        (
            "MONAI Gibbs, k-space disc 0.28-0.57 of Nyquist",
            "blur",
            monai_case(RandGibbsNoise(prob=1.0, alpha=(0.6, 0.8))),
        ),
        (
            "MONAI Gibbs, k-space disc 0.57-0.71 of Nyquist",
            "info",
            monai_case(RandGibbsNoise(prob=1.0, alpha=(0.5, 0.6))),
        ),
        ("MONAI thick slices 2x, area + bicubic", "blur", thick_case(2, "bicubic")),
        ("MONAI thick slices 3x, area + bilinear", "blur", thick_case(3, "bilinear")),
        (
            "MONAI Gaussian smoothing, sigma 1-2 px",
            "blur",
            monai_case(RandGaussianSmooth(sigma_x=(1, 2), sigma_y=(1, 2), prob=1.0)),
        ),
        (
            "MONAI k-space spike (defaults)",
            "keep",
            monai_case(RandKSpaceSpikeNoise(prob=1.0)),
        ),
        (
            "MONAI Rician noise, std 0-3%",
            "keep",
            monai_case(RandRicianNoise(prob=1.0, std=0.03, sample_std=True)),
        ),
        ("MONAI bias field", "keep", monai_case(RandBiasField(prob=1.0))),
    ]


def _split(data: Path, seed: int):
    train = load_dataset(data / "train")
    validation = load_dataset(data / "validation")
    indices = np.arange(len(train.labels))
    fit, held = train_test_split(
        indices, train_size=240, stratify=train.labels, random_state=seed
    )
    x_fit = np.asarray(train.images)[fit]
    y_fit = train.labels[fit]
    x_test = np.concatenate([np.asarray(train.images)[held], validation.images])
    y_test = np.concatenate([train.labels[held], validation.labels])
    return x_fit, y_fit, x_test, y_test


def _models(families, seed: int, outer_features=None, baseline=True) -> dict:
    """A model per family name (checked by `main`): the features and hybrid
    families with the outer features, the fringe and the detail shift, as
    blurkit's defaults; ``+plain`` (or ``outer_features=False``) without
    them, ``+fringe`` and ``+shift`` with those, ``+noshift`` without the
    detail shift; ``baseline`` adds the Laplacian baseline."""
    models = {}
    for name in families:
        family, *extras = name.split("+")
        model = blurkit.make_classifier(family, random_state=seed)
        if family != "cnn":
            plain = "plain" in extras or outer_features is False
            model = blurkit.with_outer_features(model, not plain)
        for features in _feature_extractors(model):
            if "fringe" in extras:
                features.set_params(fringe=True)
            if "shift" in extras or "noshift" in extras:
                features.set_params(detail_shift="shift" in extras)
        models[name] = model
    if baseline:
        models["Laplacian"] = make_pipeline(
            blurkit.LaplacianVariance(), StandardScaler(), LogisticRegression()
        )
    return models


def _crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` pixels of an image."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


CROP_SIZES = (88, 96, 104)
"""Crops of the clean slices in the ``--seeds`` summary: tighter framings of
the head, which must keep their label (the robustness benchmark's crop to
96 px is one of its boundary cases)."""


def _crop_cases() -> list[tuple[str, str, Callable]]:
    return [
        (
            f"clean, cropped to {size} px",
            "keep",
            lambda image, seed, s=size: _crop(image, s),
        )
        for size in CROP_SIZES
    ]


def degradation_seed(seed: int, case: str, i: int) -> int:
    """The seed of the degradation of the ``i``-th test slice of a split.

    It depends on the split's ``seed`` too, so that each seed draws its own
    parameters (TorchIO's rotations, translations and times, ...). Until
    2026-12-06 it was ``crc32(f"{case}/{i}")``: every seed then drew the
    same ~48 parameter sets per row (on other slices), and a row's interval
    over the seeds left out the spread of the draws.
    """
    return zlib.crc32(f"{seed}/{case}/{i}".encode())


def _predictions(models: dict, cases, x_test, y_test, seed: int):
    """Yield ``(case, kind, expected, {model: predicted})`` for each case.

    ``seed`` is the split's: with the case and the slice it seeds each
    degradation (`degradation_seed`).
    """
    for case, kind, func in cases:
        if kind in ("blur", "info"):
            sources = [(i, 0) for i in np.flatnonzero(y_test == 1)]
        else:
            sources = [(i, int(y_test[i])) for i in range(len(y_test))]
        images = []
        for i, _ in sources:
            image = x_test[i].astype(np.float64)
            images.append(func(image, degradation_seed(seed, case, i)))
        expected = np.array([label for _, label in sources])
        stack = np.stack(images)
        yield case, kind, expected, {n: m.predict(stack) for n, m in models.items()}


class _Fitted:
    """A fitted model (``--model``), tested as it is: `_fit` passes it by."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(X)


def _fit(models: dict, x_fit, y_fit) -> None:
    for name, model in models.items():
        if isinstance(model, _Fitted):
            continue
        start = time.perf_counter()
        _say(f"Training {name} on {len(y_fit)} images...")
        model.fit(x_fit, y_fit)
        _say(f"  {time.perf_counter() - start:.0f} s")


def seed_counts(data: Path, families, seeds, outer_features=None, make_models=None):
    """Images labelled wrong per case, model and seed.

    Each seed draws its own split, augmentation and degradations; the
    clean slices cropped to `CROP_SIZES` are added as label-keeping cases.
    ``make_models(families, seed)``, when given, builds the models instead
    of `_models` (for the prototypes beside this script).

    Returns
    -------
    kinds : dict
        ``case -> "blur" or "keep"``, in the cases' order.
    counts : dict
        ``case -> [images of each seed]``.
    misses : dict
        ``(case, model) -> [images labelled wrong with each seed]``.
    """
    misses: dict[tuple[str, str], list[int]] = {}
    counts: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    cases = make_cases() + _crop_cases()
    for seed in seeds:
        _say(f"Seed {seed}:")
        x_fit, y_fit, x_test, y_test = _split(data, seed)
        if make_models is None:
            models = _models(families, seed, outer_features, baseline=False)
        else:
            models = make_models(families, seed)
        _fit(models, x_fit, y_fit)
        for case, kind, expected, predicted in _predictions(
            models, cases, x_test, y_test, seed
        ):
            if kind == "info":
                continue
            kinds[case] = kind
            counts.setdefault(case, []).append(len(expected))
            for name, labels in predicted.items():
                wrong = int(np.sum(labels != expected))
                misses.setdefault((case, name), []).append(wrong)
    return kinds, counts, misses


def seeds_table(families, counts, misses) -> str:
    """The Markdown table of `seed_counts`' output: for each case and model,
    the images labelled wrong over the seeds, their share, its 95% interval
    (`seed_interval`) and each seed's count."""
    names = list(families)
    header = "| case (images over the seeds) | " + " | ".join(names) + " |"
    lines = [header, "|:---|" + "---:|" * len(names)]
    totals = dict.fromkeys(names, 0)
    for case in counts:
        cells = []
        for name in names:
            per_seed = misses[(case, name)]
            totals[name] += sum(per_seed) if not case.startswith("phase") else 0
            cells.append(
                f"{share_cell(per_seed, counts[case])} "
                f"({', '.join(map(str, per_seed))})"
            )
        lines.append(f"| {case} ({sum(counts[case])}) | " + " | ".join(cells) + " |")
    lines.append(
        "| all cases but the phase errors | "
        + " | ".join(str(totals[name]) for name in names)
        + " |"
    )
    return "\n".join(lines)


def _bar(case: str, kind: str) -> float:
    """The issue's bar for a case, in %: 100 for a change that keeps the
    label, 90 for truncation along one axis, 95 for every other blur."""
    if kind != "blur":
        return 100.0
    one_axis = case.startswith("truncation") and "both axes" not in case
    return 90.0 if one_axis else 95.0


def plot_seeds(families, kinds, counts, misses, path: Path) -> None:
    """Each case's share of images labelled right, per model, with its 95%
    interval (`seed_interval`), against the issue's bar (`_bar`), as a PNG
    at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(kinds)
    names = list(families)
    fig, ax = plt.subplots(figsize=(8.5, 0.32 * len(cases) + 1.6))
    rows = np.arange(len(cases))
    lowest = 100.0
    for k, name in enumerate(names):
        offset = (k - (len(names) - 1) / 2) * 0.25
        right, low, high = [], [], []
        for case in cases:
            wrong = misses[(case, name)]
            share = 1 - sum(wrong) / sum(counts[case])
            lo_wrong, hi_wrong = seed_interval(wrong, counts[case])
            right.append(100 * share)
            low.append(100 * (share - (1 - hi_wrong)))
            high.append(100 * ((1 - lo_wrong) - share))
            lowest = min(lowest, 100 * (1 - hi_wrong))
        ax.errorbar(
            right,
            rows + offset,
            xerr=[low, high],
            fmt="o",
            ms=4,
            capsize=2,
            label=name,
        )
    for row, case in enumerate(cases):
        bar = _bar(case, kinds[case])
        ax.plot([bar, bar], [row - 0.4, row + 0.4], color="red", lw=1)
    ax.set_yticks(rows)
    ax.set_yticklabels(
        [
            f"{case} ({'blurred' if kinds[case] == 'blur' else 'kept'})"
            for case in cases
        ],
        fontsize=7,
    )
    ax.invert_yaxis()
    # From a little below the lowest interval and the bars (89% at most),
    # so that the label-keeping cases, all near 100%, stay apart.
    ax.set_xlim(min(89.0, np.floor(lowest) - 1), 100.5)
    ax.set_xlabel(
        "images labelled right (%), 95% interval over the seeds; red: the bar"
    )
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def seed_interval(wrong, images, n_resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the share of images labelled wrong.

    ``wrong[i]`` of ``images[i]`` images were labelled wrong with seed ``i``.
    The seeds, not the images, are resampled (with replacement, a seeded
    draw): each seed is one independent split, augmentation and set of
    degradations, and the images of one seed share one model, so their
    errors are not independent. With seed-to-seed spread this is wider, and
    more honest, than a binomial interval over the images. With no image
    wrong, resampling cannot say how many could be: the interval is then
    0 to 3 / images in all (the rule of three, which takes the images as
    independent).
    """
    wrong, images = np.asarray(wrong), np.asarray(images)
    if not wrong.any():
        return 0.0, float(3.0 / images.sum())
    picks = np.random.default_rng(0).integers(
        len(wrong), size=(n_resamples, len(wrong))
    )
    shares = wrong[picks].sum(axis=1) / images[picks].sum(axis=1)
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(low), float(high)


def share_cell(wrong, images) -> str:
    """``"N: x% [low-high]"``: the images labelled wrong over the seeds
    (``wrong[i]`` of ``images[i]`` with seed ``i``), their share and its 95%
    interval (`seed_interval`)."""
    low, high = seed_interval(wrong, images)
    return f"{sum(wrong)}: {sum(wrong) / sum(images):.1%} [{low:.1%}-{high:.1%}]"


def _seed_list(text: str) -> list[int]:
    """``0-6`` or ``0,2,5``."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split(",") if seed]


def _sigma_blurs() -> dict[str, Callable]:
    """``name -> blur(image, sigma_px)`` from other libraries than blurkit."""
    import skimage.filters
    import torchio as tio

    blurs = {
        "scikit-image": lambda image, sigma: skimage.filters.gaussian(
            image, sigma=sigma, preserve_range=True
        ),
        "TorchIO": lambda image, sigma: _torchio(
            tio.Blur(std=sigma * SPACING_MM), image, 0
        ),
    }
    try:
        import cv2
    except ImportError:
        _say("OpenCV is not installed: its sigma rows are left out")
    else:
        blurs["OpenCV"] = lambda image, sigma: cv2.GaussianBlur(image, (0, 0), sigma)
    try:
        from monai.transforms import GaussianSmooth
    except ImportError:
        _say("MONAI is not installed: its sigma rows are left out")
    else:
        # MONAI's default kernel ("erf") integrates the Gaussian over each
        # pixel: a blur of sqrt(sigma**2 + 1/12) px, wider than its sigma.
        blurs["MONAI, its default kernel (erf)"] = lambda image, sigma: _monai(
            GaussianSmooth(sigma), image, 0
        )
        blurs["MONAI, sampled kernel"] = lambda image, sigma: _monai(
            GaussianSmooth(sigma, approx="sampled"), image, 0
        )
    return blurs


def sigma_table(x_fit, y_fit, x_test, y_test, seed: int) -> str:
    """Median absolute error of the sigma estimate, by implementation and noise."""
    # The sigmas and noise levels of the robustness benchmark's blur estimate
    # (benchmarks/ is on the path when this script runs).
    from robustness import SIGMA_NOISES, SIGMAS

    sharp_fit = list(np.asarray(x_fit)[np.asarray(y_fit) == 1])
    _say(f"Training the sigma estimate on {len(sharp_fit)} sharp images...")
    blurred, sigmas = blurkit.make_sigma_training_set(sharp_fit, random_state=seed)
    regressor = blurkit.BlurSigmaRegressor(random_state=seed).fit(blurred, sigmas)
    sharp = [x_test[i].astype(np.float64) for i in np.flatnonzero(y_test == 1)]
    header = "| blur implementation | " + " | ".join(
        f"noise {std:.0%}" for std in SIGMA_NOISES
    )
    lines = [header + " | all |", "|:---|" + "---:|" * (len(SIGMA_NOISES) + 1)]
    errors_all = []
    for name, blur in _sigma_blurs().items():
        cells, errors_impl = [], []
        for std in SIGMA_NOISES:
            images, true = [], []
            for sigma in SIGMAS:
                for i, image in enumerate(sharp):
                    copy = _unit(blur(image, sigma))
                    if std:
                        key = [int(sigma * 10), int(std * 100), i]
                        rng = np.random.default_rng(key)
                        copy = _unit(copy + rng.normal(0.0, std, copy.shape))
                    images.append(copy)
                    true.append(sigma)
            error = np.abs(regressor.predict(np.stack(images)) - np.asarray(true))
            cells.append(f"{np.median(error):.3f}")
            errors_impl.append(error)
        errors_impl = np.concatenate(errors_impl)
        errors_all.append(errors_impl)
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {np.median(errors_impl):.3f} |"
        )
        _say(f"sigma, {name}: median absolute error {np.median(errors_impl):.3f} px")
    overall = np.median(np.concatenate(errors_all))
    lines.append("")
    lines.append(
        f"Median absolute error over all: {overall:.3f} px "
        f"({len(sharp)} held-out sharp slices x {len(SIGMAS)} sigmas, 0.5-4 px, "
        f"x {len(SIGMA_NOISES)} noise levels, per implementation)."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO.parent / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument(
        "--families",
        default=None,
        help="families trained on each seed's split (default: features)",
    )
    parser.add_argument(
        "--model",
        help="instead of --families: a model saved by blurkit train, or "
        "'builtin', tested as it is",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-md", type=Path)
    parser.add_argument(
        "--sigma", action="store_true", help="also check the blur estimate (sigma)"
    )
    parser.add_argument(
        "--outer-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--no-outer-features: the features and hybrid models without the "
        "outer features (the default reads them)",
    )
    parser.add_argument(
        "--seeds",
        help="instead of one seed's shares, the images labelled wrong summed "
        "over several seeds (e.g. 0-6), crops of the clean slices included",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        help="with --seeds: a PNG of each case's share labelled right, with "
        "its 95%% interval, against the issue's bar",
    )
    args = parser.parse_args(argv)
    if args.plot and not args.seeds:
        parser.error("--plot needs --seeds")
    try:
        import torchio  # noqa: F401
    except ImportError:
        print("heldout.py needs TorchIO: pip install torchio", file=sys.stderr)
        return 2
    if not (args.data / "train" / "subjects.tsv").is_file():
        print(f"{args.data}: no challenge data (train/subjects.tsv)", file=sys.stderr)
        return 2
    if args.model is not None and (
        args.families is not None or args.outer_features is not None
    ):
        parser.error("--model tests a trained model: not with --families")
    make_models = None
    if args.model is not None:
        try:
            model, _ = blurkit.load_model(
                None if args.model == "builtin" else args.model
            )
        except blurkit.BlurkitInputError as exc:
            print(f"heldout.py: error: {exc}", file=sys.stderr)
            return 2
        name = "built-in" if args.model == "builtin" else Path(args.model).name
        families = [name]

        def make_models(families, seed):
            return {name: _Fitted(model)}

    else:
        families = [f for f in (args.families or "features").split(",") if f]
        for name in families:
            family, *extras = name.split("+")
            if (
                family not in blurkit.FAMILIES
                or not set(extras) <= {"outer", "plain", "fringe", "shift", "noshift"}
                or (extras and family == "cnn")
            ):
                print(
                    f"heldout.py: unknown family {name!r}; expected "
                    f"{', '.join(blurkit.FAMILIES)}, the features or hybrid "
                    "optionally with +plain, +plain+fringe, +plain+shift or "
                    "+noshift",
                    file=sys.stderr,
                )
                return 2
    if args.seeds:
        kinds, counts, misses = seed_counts(
            args.data,
            families,
            _seed_list(args.seeds),
            args.outer_features,
            make_models=make_models,
        )
        table = seeds_table(families, counts, misses)
        print(table)
        if args.out_md:
            args.out_md.write_text(table + "\n")
        if args.plot:
            plot_seeds(families, kinds, counts, misses, args.plot)
            _say(f"Wrote {args.plot}")
        return 0
    x_fit, y_fit, x_test, y_test = _split(args.data, args.seed)
    if make_models is None:
        models = _models(families, args.seed, args.outer_features)
    else:
        models = make_models(families, args.seed)
        models["Laplacian"] = _models([], args.seed)["Laplacian"]
    _fit(models, x_fit, y_fit)
    rows = []
    for case, kind, expected, predicted in _predictions(
        models, make_cases(), x_test, y_test, args.seed
    ):
        row = {"case": case}
        for name, labels in predicted.items():
            if kind == "keep":
                sharp = expected == 1
                row[name] = (
                    f"{100 * np.mean(labels[sharp] == 1):.0f} / "
                    f"{100 * np.mean(labels[~sharp] == 0):.0f}%"
                )
            elif kind == "info":
                row[name] = f"({100 * np.mean(labels == 0):.0f}% blurred)"
            else:
                row[name] = f"{100 * np.mean(labels == expected):.0f}%"
        rows.append(row)
        _say(f"{case}: " + ", ".join(f"{k} {row[k]}" for k in models))
    header = "| case (sharp / blurred inputs for label-keeping ones) | "
    header += " | ".join(models) + " |"
    lines = [header, "|:---|" + "---:|" * len(models)]
    for row in rows:
        lines.append(f"| {row['case']} | " + " | ".join(row[k] for k in models) + " |")
    table = "\n".join(lines)
    if args.sigma:
        table += "\n\n" + sigma_table(x_fit, y_fit, x_test, y_test, args.seed)
    print(table)
    if args.out_md:
        args.out_md.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

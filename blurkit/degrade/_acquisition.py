"""Artifacts of MRI acquisition, simulated in k-space.

Pure functions, image first and options after. Every function takes a 2-D
image with values in [0, 1] and returns a new float32 image in [0, 1]; the
random ones (:func:`rician_noise`) take a ``random_state``.

Blurs (the "blurred" side of the contract): :func:`kspace_motion` (rigid
motion during the acquisition), :func:`truncate_kspace` (a smaller matrix,
zero-filled back), :func:`gibbs_ringing` (strong untapered truncation) and
:func:`thick_slices` (anisotropic voxels resampled back). Changes that keep
the label: :func:`ghosting`, :func:`kspace_spike`, :func:`bias_field` and
:func:`rician_noise`.

The image is taken as the magnitude of an object whose k-space is its 2-D
discrete Fourier transform (``numpy.fft`` convention, frequencies from
``numpy.fft.fftfreq`` in cycles per pixel, Nyquist 0.5); the scanner's result
is the magnitude of the inverse transform of the k-space it acquired.

References
----------
.. [1] R. Shaw, C. Sudre, S. Ourselin and M. J. Cardoso, "MRI k-Space Motion
   Artefact Augmentation: Model Robustness and Task-Specific Uncertainty",
   MIDL 2019.
.. [2] F. Pérez-García, R. Sparks and S. Ourselin, "TorchIO: a Python
   library for efficient loading, preprocessing, augmentation and
   patch-based sampling of medical images in deep learning", Computer
   Methods and Programs in Biomedicine 208, 2021.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from scipy import ndimage

from .._validation import as_generator, as_unit_image, check_nonnegative, clip_to_unit

__all__ = [
    "bias_field",
    "ghosting",
    "gibbs_ringing",
    "kspace_motion",
    "kspace_spike",
    "rician_noise",
    "thick_slices",
    "truncate_kspace",
]


def _check_axis(axis: Any) -> int:
    if not isinstance(axis, Integral) or axis not in (0, 1, -1, -2):
        raise ValueError(f"Expected an image axis, 0 or 1, got {axis!r}.")
    return int(axis) % 2


def _check_axes(axes: Any) -> tuple[int, ...]:
    axes = (axes,) if isinstance(axes, Integral) else tuple(axes)
    checked = tuple(sorted({_check_axis(axis) for axis in axes}))
    if not checked:
        raise ValueError(f"Expected at least one axis among 0 and 1, got {axes!r}.")
    return checked


def _from_spectrum(spectrum: np.ndarray, magnitude: bool) -> np.ndarray:
    """The image of a k-space: its magnitude, or its real part, in [0, 1]."""
    image = np.fft.ifft2(spectrum)
    return clip_to_unit(np.abs(image) if magnitude else image.real)


def _rigid(image: np.ndarray, rotation: float, translation: Sequence[float]):
    """``image`` rotated (degrees, about its centre) and translated (pixels).

    The rotation is interpolated (cubic splines); the translation is an
    exact phase ramp in k-space, returned as the spectrum.
    """
    if rotation:
        image = ndimage.rotate(
            image, rotation, reshape=False, order=3, mode="constant", cval=0.0
        )
    spectrum = np.fft.fft2(image)
    shift_rows, shift_cols = (float(t) for t in translation)
    if shift_rows or shift_cols:
        f_rows = np.fft.fftfreq(image.shape[0])[:, np.newaxis]
        f_cols = np.fft.fftfreq(image.shape[1])[np.newaxis, :]
        spectrum = spectrum * np.exp(
            -2j * np.pi * (f_rows * shift_rows + f_cols * shift_cols)
        )
    return spectrum


def kspace_motion(
    image: np.ndarray,
    *,
    rotations: Sequence[float] = (),
    translations: Sequence[Sequence[float]] = (),
    times: Sequence[float] = (),
    axis: int = 0,
    reference: str = "centre",
    magnitude: bool = True,
    ordering: str = "linear",
) -> np.ndarray:
    """Rigid head motion during the acquisition (Shaw et al. 2019).

    The k-space is acquired one line at a time along ``axis``, in the order
    ``ordering`` says. At ``times[i]`` (a fraction of the acquisition) the head
    moves to position ``i``: rotated by ``rotations[i]`` degrees about the
    image centre and translated by ``translations[i]`` pixels. Each segment
    of k-space lines is taken from the spectrum of the image at the position
    held while it was acquired, as in TorchIO's ``Motion`` [2]_.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    rotations : sequence of float, default=()
        Rotation of each position, in degrees, counter-clockwise.
    translations : sequence of (float, float), default=()
        Translation (rows, columns) of each position, in pixels.
    times : sequence of float, default=()
        When each movement happens, fractions of the acquisition in (0, 1),
        increasing. Before ``times[0]`` the head is at rest (no rotation, no
        translation). ``rotations``, ``translations`` and ``times`` have one
        entry per movement; empty sequences mean no motion.
    axis : {0, 1}, default=0
        Phase-encoding axis: k-space lines are ordered along it.
    reference : {"centre", "first"}, default="centre"
        The position the image is shown in: ``"centre"`` that of the lines at
        the centre of k-space, which set the image's contrast and position,
        so that the image is not shifted as a whole (as TorchIO does);
        ``"first"`` the position at rest.
    magnitude : bool, default=True
        Return the magnitude of the reconstructed image (what a scanner
        shows); False returns its real part.
    ordering : {"linear", "centric"}, default="linear"
        Order of the phase-encoding lines in time. ``"linear"``: from the
        most negative frequency to the most positive, so a late movement
        moves the outer lines of one side of k-space. ``"centric"``: from
        the centre out, alternating sides (0, +1, -1, +2, ...), so a late
        movement moves the outer lines of both sides: the image keeps its
        coarse structure where it was and its fine detail is displaced.

    Returns
    -------
    moved : ndarray of shape (H, W), float32
        Values in [0, 1]. The image itself when there is no motion.

    Notes
    -----
    Each segment keeps the power of its lines (a translation is a phase
    ramp, a rotation moves power within a ring), so the image's energy is
    kept up to the interpolation of the rotations and the final clipping.

    References
    ----------
    .. [1] R. Shaw et al., "MRI k-Space Motion Artefact Augmentation: Model
       Robustness and Task-Specific Uncertainty", MIDL 2019.
    .. [2] F. Pérez-García et al., "TorchIO", Comput. Methods Programs
       Biomed. 208, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((32, 32)); image[8:24, 10:22] = 0.8
    >>> moved = kspace_motion(
    ...     image, rotations=[5.0], translations=[(2.0, -1.0)], times=[0.6]
    ... )
    >>> moved.shape, moved.dtype
    ((32, 32), dtype('float32'))
    """
    image = as_unit_image(image)
    axis = _check_axis(axis)
    rotations = [float(r) for r in rotations]
    translations = [tuple(float(t) for t in pair) for pair in translations]
    times = np.asarray(times, dtype=float).ravel()
    if not len(rotations) == len(translations) == len(times):
        raise ValueError(
            "Expected one rotation, one translation and one time per movement, "
            f"got {len(rotations)}, {len(translations)} and {len(times)}."
        )
    if any(len(pair) != 2 for pair in translations):
        raise ValueError(f"Expected (rows, columns) translations, got {translations}.")
    if len(times) and not (
        np.all((times > 0) & (times < 1)) and np.all(np.diff(times) > 0)
    ):
        raise ValueError(f"Expected increasing times in (0, 1), got {times.tolist()}.")
    if reference not in ("centre", "first"):
        raise ValueError(f"Expected reference 'centre' or 'first', got {reference!r}.")
    if ordering not in ("linear", "centric"):
        raise ValueError(f"Expected ordering 'linear' or 'centric', got {ordering!r}.")
    positions = [(0.0, (0.0, 0.0)), *zip(rotations, translations, strict=True)]
    if not any(r or any(t) for r, t in positions):
        return image

    n_lines = image.shape[axis]
    # Position in time of each line, lines in numpy.fft order.
    if ordering == "linear":  # from the most negative frequency up
        order = np.fft.ifftshift(np.arange(n_lines))
    else:  # by |frequency|; the stable sort puts +f before -f
        order = np.empty(n_lines, dtype=int)
        order[np.argsort(np.abs(np.fft.fftfreq(n_lines)), kind="stable")] = np.arange(
            n_lines
        )
    boundaries = np.round(times * n_lines).astype(int)
    segment_of_line = np.searchsorted(boundaries, order, side="right")
    if reference == "centre":
        # The line at frequency 0 is acquired at index n_lines // 2.
        still = positions[int(segment_of_line[0])]
        positions = [
            (r - still[0], (t[0] - still[1][0], t[1] - still[1][1]))
            for r, t in positions
        ]
    spectrum = np.zeros(image.shape, dtype=np.complex128)
    image = image.astype(np.float64)
    for segment in np.unique(segment_of_line):
        rotation, translation = positions[int(segment)]
        lines = segment_of_line == segment
        index = (lines, slice(None)) if axis == 0 else (slice(None), lines)
        spectrum[index] = _rigid(image, rotation, translation)[index]
    return _from_spectrum(spectrum, magnitude)


def _window(n: int, cutoff: float, taper: float) -> np.ndarray:
    """1-D k-space window: 1 up to ``(1 - taper) * cutoff``, 0 beyond ``cutoff``.

    Between the two, a raised-cosine (Tukey) edge; ``taper=0`` is the box.
    """
    f = np.abs(np.fft.fftfreq(n))
    inside = f <= cutoff + 1e-12
    window = inside.astype(float)
    if taper > 0:
        start = (1 - taper) * cutoff
        edge = inside & (f > start)
        window[edge] = 0.5 * (1 + np.cos(np.pi * (f[edge] - start) / (cutoff - start)))
    return window


def truncate_kspace(
    image: np.ndarray,
    *,
    factor: float = 2.0,
    axes: int | Sequence[int] = (0, 1),
    taper: float = 0.0,
    magnitude: bool = True,
) -> np.ndarray:
    """Acquire a smaller k-space, then zero-fill it back to the same matrix.

    Keeps the frequencies up to ``0.5 / factor`` cycles per pixel (``1 /
    factor`` of Nyquist) along each axis of ``axes`` and sets every other to
    zero: the resolution along those axes is divided by ``factor``, the
    matrix size is kept.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    factor : float, default=2.0
        Ratio of the full to the acquired k-space extent, >= 1. ``1``
        returns the image unchanged.
    axes : int or sequence of int, default=(0, 1)
        The axes truncated: both (a smaller matrix) or one (fewer
        phase-encoding lines, or a shorter readout).
    taper : float, default=0.0
        Fraction of the kept extent, from its edge inwards, weighted by a
        raised-cosine (Tukey) window, in [0, 1]. ``0`` is a sharp cut, which
        rings (Gibbs); ``1`` is a Hann window, which does not.
    magnitude : bool, default=True
        Return the magnitude of the reconstructed image (what a scanner
        shows); False returns its real part, which, before clipping to
        [0, 1], holds exactly the frequencies kept.

    Returns
    -------
    truncated : ndarray of shape (H, W), float32
        Values in [0, 1].

    See Also
    --------
    gibbs_ringing : strong truncation without a taper.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(0).uniform(0.3, 0.7, (32, 32))
    >>> low = truncate_kspace(image, factor=2, axes=0, magnitude=False)
    >>> spectrum = np.abs(np.fft.fft2(low))
    >>> bool(spectrum[9:24].max() < 1e-3 * spectrum[0, 0])
    True
    """
    image = as_unit_image(image)
    factor = float(factor)
    if not (np.isfinite(factor) and factor >= 1):
        raise ValueError(f"Expected a truncation factor >= 1, got {factor!r}.")
    taper = float(taper)
    if not 0 <= taper <= 1:
        raise ValueError(f"Expected a taper in [0, 1], got {taper!r}.")
    axes = _check_axes(axes)
    if factor == 1 and taper == 0:
        return image
    cutoff = 0.5 / factor
    window = np.ones(image.shape)
    for axis in axes:
        profile = _window(image.shape[axis], cutoff, taper)
        window *= profile[:, np.newaxis] if axis == 0 else profile[np.newaxis, :]
    return _from_spectrum(np.fft.fft2(image.astype(np.float64)) * window, magnitude)


def gibbs_ringing(
    image: np.ndarray, *, factor: float = 3.0, axes: int | Sequence[int] = (0, 1)
) -> np.ndarray:
    """Ringing from a strongly truncated k-space, without a taper.

    :func:`truncate_kspace` with ``taper=0``: a sharp cut of k-space at
    ``1 / factor`` of Nyquist, whose sinc point-spread function blurs every
    edge and repeats it in ripples of period about ``2 * factor`` pixels.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    factor : float, default=3.0
        Ratio of the full to the acquired k-space extent, >= 1.
    axes : int or sequence of int, default=(0, 1)
        The axes truncated.

    Returns
    -------
    ringing : ndarray of shape (H, W), float32
        Values in [0, 1].
    """
    return truncate_kspace(image, factor=factor, axes=axes, taper=0.0)


def _slice_profile(factor: float, profile: str) -> np.ndarray:
    """Normalised 1-D profile of a slice ``factor`` pixels thick."""
    if profile == "box":
        half = factor / 2
        n = int(np.ceil(half - 0.5))
        offsets = np.arange(-n, n + 1)
        # Each pixel's overlap with [-half, half].
        weights = np.clip(
            np.minimum(offsets + 0.5, half) - np.maximum(offsets - 0.5, -half), 0, 1
        )
    elif profile == "gaussian":
        sigma = factor / (2 * np.sqrt(2 * np.log(2)))  # FWHM = factor
        n = int(np.ceil(3 * sigma))
        weights = np.exp(-0.5 * (np.arange(-n, n + 1) / sigma) ** 2)
    else:
        weights = np.ones(1)
    return weights / weights.sum()


def thick_slices(
    image: np.ndarray,
    *,
    factor: float = 2.0,
    axis: int = 0,
    profile: str = "box",
    order: int = 1,
    offset: float = 0.0,
) -> np.ndarray:
    """Anisotropic resolution: thick samples along one axis, resampled back.

    Each sample along ``axis`` averages ``factor`` pixels (the slice
    profile); samples are ``factor`` pixels apart; the image is then
    interpolated back to its grid, as a volume of thick slices resliced in
    another plane is.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    factor : float, default=2.0
        Slice thickness and spacing along ``axis``, in pixels, >= 1. ``1``
        returns the image unchanged.
    axis : {0, 1}, default=0
        The coarse axis.
    profile : {"box", "gaussian", "point"}, default="box"
        Slice profile: a box ``factor`` wide, a Gaussian of that full width
        at half maximum, or point sampling (no averaging, which aliases, as
        nearest-neighbour downsampling does).
    order : int, default=1
        Spline order of the interpolation back (0 nearest neighbour, which
        copies lines; 1 linear; 3 cubic).
    offset : float, default=0.0
        Position of the first sample, in pixels (0 to ``factor``).

    Returns
    -------
    resampled : ndarray of shape (H, W), float32
        Values in [0, 1].
    """
    image = as_unit_image(image)
    factor = float(factor)
    if not (np.isfinite(factor) and factor >= 1):
        raise ValueError(f"Expected a thickness factor >= 1, got {factor!r}.")
    axis = _check_axis(axis)
    if profile not in ("box", "gaussian", "point"):
        raise ValueError(
            f"Expected profile 'box', 'gaussian' or 'point', got {profile!r}."
        )
    if not isinstance(order, Integral) or not 0 <= order <= 5:
        raise ValueError(f"Expected a spline order in [0, 5], got {order!r}.")
    if factor == 1:
        return image
    n = image.shape[axis]
    averaged = ndimage.convolve1d(
        image, _slice_profile(factor, profile).astype(np.float32), axis, mode="nearest"
    )
    centres = np.arange(float(offset) % factor, n, factor)
    # Linear interpolation picks each sample between pixels.
    coarse = ndimage.map_coordinates(
        np.moveaxis(averaged, axis, 0),
        np.meshgrid(centres, np.arange(image.shape[1 - axis]), indexing="ij"),
        order=1,
        mode="nearest",
    )
    rows = (np.arange(n) - centres[0]) / factor
    back = ndimage.map_coordinates(
        coarse,
        np.meshgrid(rows, np.arange(image.shape[1 - axis]), indexing="ij"),
        order=order,
        mode="nearest",
    )
    return clip_to_unit(np.moveaxis(back, 0, axis))


def ghosting(
    image: np.ndarray,
    *,
    n_ghosts: int = 4,
    axis: int = 0,
    intensity: float = 0.5,
    restore: float = 0.02,
    magnitude: bool = True,
) -> np.ndarray:
    """Ghosts: faint copies of the image shifted along the phase-encoding axis.

    Periodic motion (breathing, the pulse) modulates every ``n_ghosts``-th
    k-space line along ``axis``, which repeats the image ``n_ghosts`` times
    along that axis, ``1 / n_ghosts`` of the field of view apart, as
    TorchIO's ``Ghosting`` does. The copies are as sharp as the image.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    n_ghosts : int, default=4
        Period of the modulated lines, >= 2; the number of copies.
    axis : {0, 1}, default=0
        Phase-encoding axis.
    intensity : float, default=0.5
        How much the modulated lines lose, in [0, 1]; the ghosts' strength.
    restore : float, default=0.02
        Fraction of the lines, around the centre of k-space, left intact.
    magnitude : bool, default=True
        Return the magnitude of the reconstructed image; False returns its
        real part (as TorchIO does).

    Returns
    -------
    ghosted : ndarray of shape (H, W), float32
        Values in [0, 1].
    """
    image = as_unit_image(image)
    axis = _check_axis(axis)
    if not isinstance(n_ghosts, Integral) or n_ghosts < 2:
        raise ValueError(f"Expected n_ghosts, an int >= 2, got {n_ghosts!r}.")
    intensity = float(intensity)
    if not 0 <= intensity <= 1:
        raise ValueError(f"Expected an intensity in [0, 1], got {intensity!r}.")
    restore = float(restore)
    if not 0 <= restore < 1:
        raise ValueError(f"Expected restore in [0, 1), got {restore!r}.")
    n = image.shape[axis]
    # Lines in acquisition order, from the most negative frequency up.
    gain = np.ones(n)
    gain[::n_ghosts] = 1 - intensity
    if restore > 0:
        keep = int(round(restore * n / 2))
        gain[n // 2 - keep : n // 2 + keep + 1] = 1
    gain = np.fft.ifftshift(gain)
    shape = (n, 1) if axis == 0 else (1, n)
    spectrum = np.fft.fft2(image.astype(np.float64)) * gain.reshape(shape)
    return _from_spectrum(spectrum, magnitude)


def kspace_spike(
    image: np.ndarray,
    *,
    positions: Sequence[Sequence[float]] = ((0.1, 0.2),),
    intensity: float = 0.5,
    magnitude: bool = True,
) -> np.ndarray:
    """Spikes in k-space: a herringbone pattern over the image.

    A spike (a corrupted k-space sample, e.g. from an electrostatic
    discharge) at each position adds a plane wave to the image, as in
    TorchIO's ``Spike``.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    positions : sequence of (float, float), default=((0.1, 0.2),)
        Frequency of each spike (rows, columns), in cycles per pixel, each in
        [-0.5, 0.5].
    intensity : float, default=0.5
        Amplitude of each wave relative to the image's mean intensity (the
        spike's magnitude relative to the centre of k-space), >= 0.
    magnitude : bool, default=True
        Return the magnitude of the reconstructed image; False returns its
        real part (as TorchIO does), where the wave is a cosine.

    Returns
    -------
    spiked : ndarray of shape (H, W), float32
        Values in [0, 1].
    """
    image = as_unit_image(image)
    intensity = check_nonnegative("intensity", intensity)
    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    if np.any(np.abs(positions) > 0.5):
        raise ValueError(f"Expected frequencies in [-0.5, 0.5], got {positions}.")
    spectrum = np.fft.fft2(image.astype(np.float64))
    peak = np.abs(spectrum[0, 0])
    for f_row, f_col in positions:
        row = int(round(f_row * image.shape[0])) % image.shape[0]
        col = int(round(f_col * image.shape[1])) % image.shape[1]
        spectrum[row, col] += intensity * peak
    return _from_spectrum(spectrum, magnitude)


def bias_field(
    image: np.ndarray, *, coefficients: Sequence[float] = (), order: int = 3
) -> np.ndarray:
    """Multiply by a smooth intensity field (coil sensitivity).

    The field is ``exp(p(x, y))`` for a polynomial ``p`` of degree ``order``
    in coordinates scaled to [-1, 1], as in TorchIO's ``BiasField``.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    coefficients : sequence of float, default=()
        Coefficients of the monomials ``x**i * y**j`` with ``1 <= i + j <=
        order``, ordered by ``i`` then ``j``: ``(order + 1) * (order + 2) / 2
        - 1`` values. Empty means no field.
    order : int, default=3
        Degree of the polynomial.

    Returns
    -------
    biased : ndarray of shape (H, W), float32
        Values in [0, 1] (clipped).
    """
    image = as_unit_image(image)
    if not isinstance(order, Integral) or order < 0:
        raise ValueError(f"Expected an order, an int >= 0, got {order!r}.")
    powers = [(i, j) for i in range(order + 1) for j in range(order + 1 - i)][1:]
    coefficients = np.asarray(coefficients, dtype=float).ravel()
    if not len(coefficients):
        return image
    if len(coefficients) != len(powers):
        raise ValueError(
            f"Expected {len(powers)} coefficients for order {order}, got "
            f"{len(coefficients)}."
        )
    y = np.linspace(-1, 1, image.shape[0])[:, np.newaxis]
    x = np.linspace(-1, 1, image.shape[1])[np.newaxis, :]
    field = sum(c * x**i * y**j for c, (i, j) in zip(coefficients, powers, strict=True))
    return clip_to_unit(image * np.exp(field))


def rician_noise(
    image: np.ndarray, std: float, *, random_state: Any = None
) -> np.ndarray:
    """Rician noise: the magnitude of an image with complex Gaussian noise.

    ``sqrt((image + n1)**2 + n2**2)`` with ``n1``, ``n2`` independent normal
    noise of standard deviation ``std``: the noise of a magnitude MR image,
    which lifts the background above zero.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey image with values in [0, 1].
    std : float
        Standard deviation of each noise component, in [0, 1] units.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed or generator for the noise.

    Returns
    -------
    noisy : ndarray of shape (H, W), float32
        Values in [0, 1].
    """
    image = as_unit_image(image)
    std = check_nonnegative("std", std)
    if std == 0:
        return image
    rng = as_generator(random_state)
    real = image + rng.normal(0.0, std, image.shape)
    imaginary = rng.normal(0.0, std, image.shape)
    return clip_to_unit(np.hypot(real, imaginary))

"""scikit-learn transformers that turn images into sharpness features.

They are thin wrappers over the pure functions of :mod:`blurkit._metrics`:
images in, one row of features per image out. Images of different sizes may
be mixed in one batch; features are computed per group of equal size, in one
vectorised pass each.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import FLOAT_DTYPES, check_images, group_by_shape
from ..metrics import (
    SHARPNESS_BAND_EDGES,
    highfreq_energy_ratio_stack,
    laplacian_variance_stack,
    log10_ratio,
)
from ..metrics._resampling import resampling_mode, resampling_names
from ..metrics._sharpness import (
    OPTIONAL_FEATURES,
    _sharpness_features,
)

__all__ = ["FFTSharpness", "LaplacianVariance", "SharpnessFeatures"]


class _ImageFeatures(TransformerMixin, BaseEstimator):
    """Base class: validation, grouping by size, feature names.

    Subclasses implement ``_names()`` and ``_features(stack)`` for a stack of
    equally sized images of one of the dtypes of ``_input_dtypes`` (as
    :func:`blurkit._validation.check_images` takes them).
    """

    # Features computed in float64; a subclass that computes in float32
    # anyway keeps float32 images as they are.
    _input_dtypes = np.float64

    def fit(self, X, y=None):
        """Check the images; nothing is learned.

        Parameters
        ----------
        X : ndarray of shape (n, H, W), list of 2-D arrays, or ndarray of shape \
(n, n_pixels)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Check the images and compute their features, validating them once.

        Parameters
        ----------
        X : ndarray of shape (n, H, W), list of 2-D arrays, or ndarray of shape \
(n, n_pixels)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        ndarray of shape (n, n_features_out_)
            As :meth:`transform` returns them.
        """
        return self._transform(self._fit(X))

    def transform(self, X):
        """Compute the features of each image.

        Parameters
        ----------
        X : ndarray of shape (n, H, W), list of 2-D arrays, or ndarray of shape \
(n, n_pixels)
            Images; sizes may differ from the training images.

        Returns
        -------
        ndarray of shape (n, n_features_out_)
            One row of finite features per image.
        """
        check_is_fitted(self)
        return self._transform(self._check(X, reset=False))

    def _check(self, X, reset):
        return check_images(
            X,
            image_shape=self.image_shape,
            estimator=self,
            reset=reset,
            dtype=self._input_dtypes,
        )

    def _fit(self, X):
        """Validate the images and the parameters; return the checked images."""
        images = self._check(X, reset=True)
        self._check_params()
        self.n_features_out_ = len(self._names())
        return images

    def _transform(self, images):
        """The features of checked images."""
        if len(images) == 1:
            # A view, not a stacked copy: one large image costs its size once.
            return self._features(images[0][np.newaxis])
        out = np.empty((len(images), self.n_features_out_))
        for indices, stack in group_by_shape(images):
            out[indices] = self._features(stack)
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : None
            Ignored: the features do not depend on input column names.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        return np.asarray(self._names(), dtype=object)

    def _check_params(self):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = []
        return tags


class LaplacianVariance(_ImageFeatures):
    """Classic blur score: log10 of the variance of the Laplacian.

    Parameters
    ----------
    normalize : bool, default=False
        Divide each image by its 99th intensity percentile first (but by no
        less than 1e-50 of its peak magnitude), so that the score no longer
        scales with contrast. The classic recipe does not.
    image_shape : tuple of int, default=None
        Shape of the images when ``X`` is passed as a 2-D table of flattened
        images.

    Attributes
    ----------
    n_features_out_ : int
        Always 1.

    See Also
    --------
    blurkit.laplacian_variance : The underlying metric.

    Notes
    -----
    The output is ``log10(var + 1e-12)``, so a constant image gives -12.
    Noise raises the score and, unless ``normalize=True``, so does contrast:
    use it as a baseline, not as a robust detector.

    Examples
    --------
    >>> import numpy as np
    >>> from blurkit import LaplacianVariance
    >>> images = np.random.default_rng(0).random((3, 16, 16))
    >>> LaplacianVariance().fit_transform(images).shape
    (3, 1)
    """

    def __init__(self, *, normalize=False, image_shape=None):
        self.normalize = normalize
        self.image_shape = image_shape

    def _names(self):
        return ["log_laplacian_variance"]

    def _features(self, stack):
        if self.normalize:
            flat = stack.reshape(len(stack), -1)
            scale = np.percentile(flat, 99, axis=1)
            # At least 1e-50 of the peak magnitude, so that no normalised
            # value exceeds 1e50, far below what the metrics accept.
            peak = np.max(np.abs(flat), axis=1)
            scale = np.where(scale > 0, np.maximum(scale, peak * 1e-50), 1.0)
            stack = stack / scale[:, None, None]
        return np.log10(laplacian_variance_stack(stack) + 1e-12)[:, None]


class FFTSharpness(_ImageFeatures):
    """Share of spectral energy above one or more cutoff frequencies.

    Parameters
    ----------
    cutoffs : sequence of float, default=(0.25, 0.5)
        Cutoff frequencies as fractions of the Nyquist frequency, each in
        (0, 1); one output column per cutoff.
    image_shape : tuple of int, default=None
        Shape of the images when ``X`` is passed as a 2-D table of flattened
        images.

    Attributes
    ----------
    n_features_out_ : int
        Number of cutoffs.

    See Also
    --------
    blurkit.highfreq_energy_ratio : The underlying metric.

    Notes
    -----
    Each column is ``log10`` of the energy ratio, floored at -6 (a constant
    image gives -6). Invariant to intensity scaling; white noise raises it.
    """

    def __init__(self, *, cutoffs=(0.25, 0.5), image_shape=None):
        self.cutoffs = cutoffs
        self.image_shape = image_shape

    def _check_params(self):
        cutoffs = np.atleast_1d(np.asarray(self.cutoffs, dtype=np.float64))
        if cutoffs.size == 0 or np.any((cutoffs <= 0) | (cutoffs >= 1)):
            raise ValueError(
                f"cutoffs must be fractions of the Nyquist frequency in (0, 1); "
                f"got {self.cutoffs!r}."
            )

    def _names(self):
        return [f"highfreq_energy_ratio_{c:g}" for c in np.atleast_1d(self.cutoffs)]

    def _features(self, stack):
        return np.column_stack(
            [
                log10_ratio(highfreq_energy_ratio_stack(stack, cutoff=c), 1.0)
                for c in np.atleast_1d(self.cutoffs)
            ]
        )


class SharpnessFeatures(_ImageFeatures):
    """Noise- and contrast-robust sharpness features (blurkit's default set).

    For each image, the spectrum of the mean-removed, Hann-windowed image is
    split into radial frequency bands and orientation sectors. The noise
    floor, estimated from the image itself (see :func:`blurkit.noise_std`), is
    subtracted from each cell, and each cell is expressed relative to the
    power of the lowest band. An estimate that white noise cannot explain (a
    k-space spike's stripes, which the estimator reads as noise; see
    :func:`blurkit.sharpness_features`) is taken as 0. Per band this gives:

    - ``band_LO_HI_mean``: log10 of the band's power over the reference
      power, all orientations together. Blur lowers the high bands; a
      Gaussian of sigma ``s`` lowers the band at ``f`` cycles per pixel by
      ``4 pi^2 s^2 f^2 / ln 10`` decades.
    - ``band_LO_HI_min``: the same for the weakest orientation sector.
      Motion blur removes detail along one direction only; this catches it.

    plus ``noise_to_signal``: log10 of the noise power over the reference
    power; with ``outer=True``, ``outer_detail`` and ``outer_level``: the fine
    detail just outside the head against the far background (motion during
    the acquisition and truncated k-space leave it there; a clean slice has
    none) and the intensity there (strong ghosts can raise it); with
    ``fringe=True``, ``fringe``: fringes in the power spectrum of the finest
    band, the two copies of the fine detail that a translation of one side
    of k-space leaves in the image's magnitude; with ``detail_shift=True``,
    ``detail_shift``: how far the finest detail lies from coarser detail of
    the same edges, which a translation of both sides' outer lines moves
    with ``ghosts=True``, ``ghosts``: the evidence of a comb of weakened
    k-space lines, every n-th along an axis, which periodic motion leaves
    (ghosts: copies of the head, as sharp as it, which keep the label but
    put detail outside the head as motion does; see
    :func:`blurkit.sharpness_features`); with ``reach=True``, ``reach``:
    the share of the energy outside the head that lies more than 7 pixels
    from it, where motion's ghosts reach and JPEG's ringing, confined to
    the 8x8 blocks that hold an edge, does not (these four are computed only for
    slices with detail outside the head, where motion puts it, and in the
    finest band; others take a clean slice's values); with ``sparsity=True``,
    ``sparsity``: the log kurtosis of the fine detail over the head's
    interior, which the double exposure of one movement near the middle of
    the acquisition lowers; with ``coherence=True``, ``coherence``: how
    well the finest detail of the less coherent in-plane axis lies on the
    edges of the coarser image, against the other axis's, which motion
    during the acquisition lowers by moving one axis's outer k-space lines;
    and
    ``resampling``: the evidence that every 2nd or every 3rd line along an
    axis was interpolated from its neighbours, as when slices 2-3 times
    thicker, or a nearest-neighbour downsampling, are resampled back (0 for
    none, down to -3). Such an image keeps its original lines and an aliased
    spectrum that looks sharp. See :func:`blurkit.sharpness_features` for
    each.

    Parameters
    ----------
    band_edges : sequence of float, default=(0.05, 0.15, 0.25, 0.35, 0.45, 0.55, \
0.65, 0.8, 1.0)
        Increasing band edges as fractions of the Nyquist frequency. The first
        band is the reference.
    n_orientations : int, default=4
        Number of orientation sectors for the ``_min`` features.
    subtract_noise : bool, default=True
        Subtract the estimated noise floor before taking ratios.
    resampling : {"strongest", "each", False}, default="strongest"
        The feature ``resampling``, the stronger evidence of the two
        periods; ``"each"`` (or True), the features ``resampling_2`` and
        ``resampling_3``, one per period (as in models saved before
        ``"strongest"`` existed, which keep them); False, none. One feature
        lets a model learn its weight from examples of both periods.
    outer : bool, default=False
        Add ``outer_detail`` and ``outer_level``: they catch more of the
        motion during the acquisition and keep tight crops sharp, for about
        a sixth more computing time (see the README's figures). blurkit's
        models (:func:`~blurkit.make_feature_pipeline`, the hybrid) set
        ``outer``, ``fringe``, ``detail_shift``, ``ghosts``, ``reach``,
        ``sparsity``, ``despike`` and ``coherence``; this transformer alone
        leaves them off.
    fringe : bool, default=False
        Add ``fringe``: it catches motion that only changes phases (a
        translation while the outer k-space lines of one side are acquired),
        which the power spectrum cannot see (see the README's figures).
    detail_shift : bool, default=False
        Add ``detail_shift``: it catches that motion when the outer lines of
        both sides of k-space moved (see the README's figures).
    ghosts : bool, default=False
        Add ``ghosts``: with it, a model tells the ghosts of periodic motion,
        which keep the label, from motion that blurs (see the README's
        figures).
    reach : bool, default=False
        Add ``reach``: with it, a model tells JPEG's ringing, which keeps
        the label, from motion that blurs (see the README's figures).
    sparsity : bool, default=False
        Add ``sparsity``: it catches more of the slices moved once near the
        middle of the acquisition, a double exposure that leaves the band
        ratios and the background as they are (see the README's figures).
    despike : bool, default=False
        Read a slice with a k-space spike (a herringbone over the image)
        without the spike's wave: where the strongest frequency stands out
        of its neighbours, its plane wave is taken away where the clipping
        kept it, and the slice's features are computed again. Adds no
        feature; it keeps more spiked sharp slices sharp (see the README's
        figures). Waves above 0.15 of the image's range clip the head too
        and are left as they are (unless nothing was clipped, as in a
        min-max rescaled export), as are images above 1024x1024 pixels (the
        search's memory).
    coherence : bool, default=False
        Add ``coherence``: it catches motion during the acquisition that
        leaves the band ratios and the background as they are, the outer
        lines of both sides moved late in a centric acquisition or one
        movement near the middle of a linear one, by the finest detail of
        one axis lying off the coarser image's edges (see the README's
        figures).
    image_shape : tuple of int, default=None
        Shape of the images when ``X`` is passed as a 2-D table of flattened
        images.

    Attributes
    ----------
    n_features_out_ : int
        ``2 * (n_bands - 1) + 1``, plus 1 resampling feature (2 with
        ``"each"``, 0 with False), plus 2 with ``outer=True``, plus 1 with
        ``fringe=True``, plus 1 with ``detail_shift=True``, plus 1 with
        ``ghosts=True``, plus 1 with ``reach=True``, plus 1 with
        ``sparsity=True``, plus 1 with ``coherence=True``.

    Notes
    -----
    Every feature is a ratio of powers of the same image, so it does not
    change when intensities are scaled, and it uses frequencies as fractions
    of Nyquist, so it means the same on any image size; zero padding changes
    nothing but the frequency sampling. Ratios are floored at -6 decades: a
    constant image gives -6 everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> from blurkit import SharpnessFeatures
    >>> images = np.random.default_rng(0).random((2, 32, 32))
    >>> features = SharpnessFeatures().fit(images)
    >>> features.transform(images).shape
    (2, 16)
    >>> features.get_feature_names_out()[:2].tolist()
    ['band_0.15_0.25_mean', 'band_0.15_0.25_min']
    """

    def __init__(
        self,
        *,
        band_edges=SHARPNESS_BAND_EDGES,
        n_orientations=4,
        subtract_noise=True,
        resampling="strongest",
        outer=False,
        fringe=False,
        detail_shift=False,
        ghosts=False,
        reach=False,
        sparsity=False,
        despike=False,
        coherence=False,
        image_shape=None,
    ):
        self.band_edges = band_edges
        self.n_orientations = n_orientations
        self.subtract_noise = subtract_noise
        self.resampling = resampling
        self.outer = outer
        self.fringe = fringe
        self.detail_shift = detail_shift
        self.ghosts = ghosts
        self.reach = reach
        self.sparsity = sparsity
        self.despike = despike
        self.coherence = coherence
        self.image_shape = image_shape

    def __setstate__(self, state):
        # Fitted before the resampling features existed (blurkit 0.3): none;
        # before the outer features (blurkit 0.4), the fringe or the detail
        # shift: none either; before the ghosts, the reach (or the
        # despiking), none.
        state.setdefault("resampling", False)
        for flag in OPTIONAL_FEATURES:
            state.setdefault(flag, False)
        super().__setstate__(state)

    def _check_params(self):
        edges = np.asarray(self.band_edges, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 3 or np.any(np.diff(edges) <= 0):
            raise ValueError(
                "band_edges must be at least 3 increasing fractions of the "
                f"Nyquist frequency; got {self.band_edges!r}."
            )
        resampling_mode(self.resampling)
        if int(self.n_orientations) < 1:
            raise ValueError(
                f"n_orientations must be a positive integer; got "
                f"{self.n_orientations!r}."
            )
        # A string ("False") would read as True.
        for flag in OPTIONAL_FEATURES:
            value = getattr(self, flag)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False; got {value!r}.")

    def _names(self):
        edges = self.band_edges
        names = []
        for lo, hi in zip(edges[1:-1], edges[2:], strict=True):
            names += [f"band_{lo:g}_{hi:g}_mean", f"band_{lo:g}_{hi:g}_min"]
        names.append("noise_to_signal")
        for flag, extra in OPTIONAL_FEATURES.items():
            names += list(extra) if getattr(self, flag) else []
        return names + resampling_names(self.resampling)

    # Computed in float32 anyway (see sharpness_features).
    _input_dtypes = FLOAT_DTYPES

    def _features(self, stack):
        # check_images has validated the stack: skip the metrics' checks.
        return _sharpness_features(
            stack,
            self.band_edges,
            self.n_orientations,
            self.subtract_noise,
            self.resampling,
            *(bool(getattr(self, flag)) for flag in OPTIONAL_FEATURES),
        )

"""The model families: the feature pipeline, the CNN, their hybrid.

Each family is registered once in :data:`FAMILIES`, with how to build it, its
search grid and how to recognise it; everything else (``make_classifier``,
``default_param_grid``, the CV table, the command line's ``--model``
choices) reads the registry. Importing this module imports neither
scikit-learn nor torch: the command line lists the families without them,
and the CNN (and torch) is imported only when a CNN or hybrid is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

__all__ = [
    "FAMILIES",
    "check_family",
    "family_of",
    "log_odds",
    "make_classifier",
    "make_feature_pipeline",
    "make_hybrid",
]

# The CNN inside the hybrid is fitted three times per fit of the hybrid (its
# stacking folds, then all data): a short schedule keeps the hybrid's share
# of a search small. The CNN family itself trains on the default schedule
# (up to 20 epochs, with early stopping), which makes it more robust.
_SEARCH_CNN_PARAMS = {"max_epochs": 6}

OUTER_FEATURES_OPTION = (
    "outer",
    "fringe",
    "detail_shift",
    "ghosts",
    "reach",
    "sparsity",
    "despike",
    "coherence",
)
"""The :class:`~blurkit.SharpnessFeatures` flags that blurkit's models set
by default, and `with_outer_features` (``--[no-]outer-features``) sets."""

QUADRATIC_C = MappingProxyType({True: 0.03, False: 0.1})
"""Default ``C`` of the quadratic feature model's logistic regression, by
whether its features read the outer ones (`reads_outer_features`).

Each was chosen on held-out subjects and other libraries' artifacts
(``benchmarks/heldout.py --seeds 0-27``): with the outer features (230
terms before ``ghosts``, 252 with it) 0.03 missed fewer phase errors and
called fewer noisy, ghosted or spiked slices blurred than 0.1, 0.3, 0.01
or 0.003 (with ``ghosts``, than 0.01 too; once the outer features read
the background's floor, 0.1 and 0.01 labelled more images wrong outside
the phase errors, 99 and 104 against 95, and 0.1 missed more phase
errors); without them (152 terms) 0.1 caught more motion and truncation
than 0.03. With ``reach`` (275 terms) 0.03 stays: over seeds 0-27 it
missed 42 phase errors and labelled 61 other images wrong, 0.01 38 and 67,
0.1 48 and 69. With ``sparsity`` (299 terms) it was kept without a new
search; with ``coherence`` (324 terms) too: over seeds 0-13 (features
cached per seed) 0.01 to 0.1 missed 11-16 centric motions, 11-15 phase
errors and 19-25 single movements, and labelled 8-10 label-keeping slices
wrong, 0.03 in the middle of each.
"""


def make_feature_pipeline(*, degree=2, C=None, features=None):
    """The feature-based classifier: sharpness features, scaling, logistic model.

    With ``degree=2`` (the default) the logistic model also sees the
    products of every pair of scaled features and their squares
    (``PolynomialFeatures``, scaled again): whether noise, or a weak top
    band, is evidence of blur depends on the other bands, and a linear score
    cannot say so. On held-out subjects and other libraries' artifacts this
    kept more sharp slices with k-space spikes or Rician noise sharp, and
    caught more motion, than the linear model (see the README's robustness
    section). ``degree=1`` is the linear model blurkit used before.

    Parameters
    ----------
    degree : {1, 2}, default=2
        Degree of the feature expansion before the logistic regression.
    C : float or None, default=None
        Inverse regularisation strength of the logistic regression; None
        means, with ``degree=2``, 0.03 for features with the outer ones (the
        default features, 324 terms) and 0.1 for features without them (152
        terms; `QUADRATIC_C`), and 10 with ``degree=1``.
    features : transformer, default=None
        The feature extractor; None means :class:`SharpnessFeatures` with
        the outer features, the fringe, the detail shift, the ghosts, the
        reach, the sparsity and the coherence, k-space spikes taken away
        (``outer=True, fringe=True, detail_shift=True, ghosts=True,
        reach=True, sparsity=True, despike=True, coherence=True``: see
        :func:`with_outer_features`).

    Returns
    -------
    Pipeline
        Steps ``features``, ``scale``, with ``degree=2`` ``expand`` and
        ``rescale``, then ``classify``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    if degree not in (1, 2):
        raise ValueError(f"degree must be 1 or 2; got {degree!r}.")
    if features is None:
        features = _default_features()
    if C is None:
        C = QUADRATIC_C[reads_outer_features(features)] if degree == 2 else 10.0
    steps = [
        ("features", features),
        ("scale", StandardScaler()),
    ]
    if degree == 2:
        steps += [
            ("expand", PolynomialFeatures(2, include_bias=False)),
            ("rescale", StandardScaler()),
        ]
    steps.append(("classify", LogisticRegression(C=C, max_iter=5000)))
    return Pipeline(steps)


def _default_features():
    """The default models' feature extractor: with the outer features."""
    from ..features import SharpnessFeatures

    return SharpnessFeatures(**dict.fromkeys(OUTER_FEATURES_OPTION, True))


def _make_cnn(random_state=None, **params):
    from ._cnn import BlurNetClassifier

    return BlurNetClassifier(random_state=random_state, **params)


def log_odds(proba):
    """Log-odds of probabilities, clipped to +-13.8 (probabilities 1e-6)."""
    from scipy.special import logit

    return logit(np.clip(proba, 1e-6, 1 - 1e-6))


def make_hybrid(*, random_state=None, cnn_params=None):
    """Stack the feature pipeline and the CNN.

    The hybrid is a :class:`~sklearn.ensemble.StackingClassifier`: the
    feature pipeline and the CNN are each fitted on the images, and a
    logistic regression combines the log-odds of their out-of-fold
    probabilities (internal 2-fold stratified cross-validation). On log-odds
    a confident model outweighs a hesitant one, as it should: the feature
    model is near-certain on most images, the CNN rarely is.

    Why stacking rather than one network fed with the features as a second
    input: the meta-model has three parameters, so it cannot overfit the 320
    challenge images; each base model keeps its own invariances (the features
    are exactly scale- and size-free, the CNN learns local patterns); and each
    part stays usable and testable on its own. A joint network would have to
    learn the invariances the features already have, from data that only
    shows heavy blur.

    Parameters
    ----------
    random_state : int or None, default=None
        Seed of the CNN and of the internal folds.
    cnn_params : dict, default=None
        Extra parameters of :class:`BlurNetClassifier`.

    Returns
    -------
    StackingClassifier
        With base estimators ``features`` and ``cnn``.
    """
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return StackingClassifier(
        estimators=[
            ("features", make_feature_pipeline()),
            ("cnn", _make_cnn(random_state=random_state, **(cnn_params or {}))),
        ],
        final_estimator=make_pipeline(
            FunctionTransformer(log_odds, feature_names_out="one-to-one"),
            LogisticRegression(),
        ),
        cv=StratifiedKFold(2, shuffle=True, random_state=random_state),
        stack_method="predict_proba",
    )


@dataclass(frozen=True)
class _Family:
    """How to build a family, its default search grid, and its estimator type."""

    build: Callable[..., object]
    grid: Callable[..., dict]
    is_member: Callable[[object], bool]


def _is_cnn(estimator) -> bool:
    return type(estimator).__name__ == "BlurNetClassifier"


def _is_pipeline(estimator) -> bool:
    from sklearn.pipeline import Pipeline

    return isinstance(estimator, Pipeline)


def _is_stacking(estimator) -> bool:
    from sklearn.ensemble import StackingClassifier

    return isinstance(estimator, StackingClassifier)


FAMILIES = MappingProxyType(
    {
        "features": _Family(
            build=lambda random_state: make_feature_pipeline(),
            grid=lambda random_state: {"estimator": [make_feature_pipeline()]},
            is_member=_is_pipeline,
        ),
        "cnn": _Family(
            build=lambda random_state: _make_cnn(random_state=random_state),
            grid=lambda random_state: {
                "estimator": [_make_cnn(random_state=random_state)]
            },
            is_member=_is_cnn,
        ),
        "hybrid": _Family(
            build=lambda random_state: make_hybrid(random_state=random_state),
            grid=lambda random_state: {
                "estimator": [
                    make_hybrid(
                        random_state=random_state, cnn_params=_SEARCH_CNN_PARAMS
                    )
                ],
            },
            is_member=_is_stacking,
        ),
    }
)
"""Read-only registry ``name -> family`` of blurkit's model families, in the
order they compete (ties in model selection go to the first)."""


def with_outer_features(estimator, enabled=True):
    """A clone of ``estimator`` with or without the outer features.

    Sets ``outer``, ``fringe``, ``detail_shift``, ``ghosts``, ``reach``,
    ``sparsity``, ``despike`` and ``coherence`` to ``enabled`` on every
    :class:`~blurkit.SharpnessFeatures` inside it (the feature pipeline's,
    the hybrid's, under an :class:`AugmentedClassifier` too). With them, the
    default of blurkit's models, the features also
    read the detail just outside the head, the fringes of the finest band
    and its shift from coarser detail, which catch most of the motion during
    the acquisition, even a pure translation, and keep tight crops sharp,
    and the comb of weakened k-space lines that the ghosts of periodic
    motion leave, which keeps ghosted slices' labels, and how far from the
    head the disturbance outside it reaches, which keeps JPEG-compressed
    slices' labels, and the sparsity of the fine detail, which a double
    exposure (one movement near the middle of the acquisition) lowers, and
    the coherence of the finest detail with the edges, which motion that
    moved one axis's outer k-space lines lowers, and they read a slice
    with a k-space spike without the spike's wave; the fringe, the detail
    shift, the ghosts and the reach are
    computed only for slices with detail outside the head, so a clean slice
    costs about a sixth more than without them, a moved or noisy one about
    four times as much (see the README).

    The quadratic feature model's regularisation follows: a logistic
    regression after such a model's features whose ``C`` is the default
    for the other setting (`QUADRATIC_C`: 0.03 with the outer features, 0.1
    without) gets this setting's default; any other ``C`` is kept.

    Parameters
    ----------
    estimator : estimator
        A model that holds sharpness features, e.g. ``make_classifier()``.
    enabled : bool, default=True
        False removes them: the features of blurkit's models before
        December 2026.

    Returns
    -------
    estimator
        Unfitted.

    Raises
    ------
    ValueError
        If ``estimator`` holds no :class:`~blurkit.SharpnessFeatures` (the
        CNN alone reads pixels, not features).

    Examples
    --------
    >>> from blurkit import make_classifier, with_outer_features
    >>> model = make_classifier("features")
    >>> model.get_params()["estimator__features__detail_shift"]
    True
    >>> plain = with_outer_features(model, enabled=False)
    >>> plain.get_params()["estimator__features__outer"]
    False
    >>> plain.get_params()["estimator__features__fringe"]
    False
    >>> model.get_params()["estimator__classify__C"]
    0.03
    >>> plain.get_params()["estimator__classify__C"]
    0.1
    """
    from sklearn.base import clone

    estimator = clone(estimator)
    extractors = _feature_extractors(estimator)
    if not extractors:
        raise ValueError(
            f"{type(estimator).__name__} holds no SharpnessFeatures to add the "
            "outer features to; expected the features or the hybrid family"
        )
    # The clone's own objects: get_params returns them, not copies.
    for features in extractors:
        features.set_params(**dict.fromkeys(OUTER_FEATURES_OPTION, bool(enabled)))
    for pipeline in _quadratic_pipelines(estimator):
        classify = pipeline.named_steps["classify"]
        if classify.C == QUADRATIC_C[not enabled]:
            classify.set_params(C=QUADRATIC_C[bool(enabled)])
    return estimator


def _quadratic_pipelines(estimator) -> list:
    """Each pipeline in ``estimator`` (or itself) laid out as
    `make_feature_pipeline` lays out the quadratic model: sharpness
    features, then ``expand`` and ``classify`` (a logistic regression)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from ..features import SharpnessFeatures

    return [
        value
        for value in _parts(estimator)
        if isinstance(value, Pipeline)
        and isinstance(value.named_steps.get("features"), SharpnessFeatures)
        and "expand" in value.named_steps
        and isinstance(value.named_steps.get("classify"), LogisticRegression)
    ]


def _parts(estimator) -> list:
    """``estimator`` and every value of its deep parameters: the objects
    nested in it, which ``set_params`` on them changes in place."""
    return [estimator, *estimator.get_params(deep=True).values()]


def _feature_extractors(estimator) -> list:
    """Each :class:`~blurkit.SharpnessFeatures` in ``estimator`` (or itself)."""
    from ..features import SharpnessFeatures

    return [part for part in _parts(estimator) if isinstance(part, SharpnessFeatures)]


def reads_outer_features(estimator) -> bool:
    """Whether ``estimator``'s sharpness features include the outer ones."""
    return any(bool(features.outer) for features in _feature_extractors(estimator))


def check_family(family: str, *, allow_auto: bool = False) -> None:
    """Raise a ValueError naming the choices unless ``family`` is registered."""
    if family in FAMILIES or (allow_auto and family == "auto"):
        return
    choices = ("auto", *FAMILIES) if allow_auto else tuple(FAMILIES)
    raise ValueError(f"family must be one of {choices}; got {family!r}.")


def family_of(estimator) -> str:
    """The family of a (possibly augmented) estimator, by its type."""
    from ._augment import AugmentedClassifier

    if isinstance(estimator, AugmentedClassifier):
        estimator = estimator.estimator
    for name, family in FAMILIES.items():
        if family.is_member(estimator):
            return name
    raise ValueError(f"{type(estimator).__name__} is not one of blurkit's families")


def make_classifier(family="features", *, augment=True, random_state=None):
    """One model family, optionally trained on degraded copies of its data.

    Parameters
    ----------
    family : {"features", "cnn", "hybrid"}, default="features"
        The model family.
    augment : bool, default=True
        Wrap the model in :class:`AugmentedClassifier`, so that ``fit`` adds
        degraded copies of the training images (see
        :class:`DegradationAugmenter`; ``n_copies="auto"``: 8 per image, or
        more for a training set under 100 images, at least 800 in all). This
        is what makes the model robust to mild blur, noise and contrast
        changes the training data never shows.
    random_state : int or None, default=None
        Seed of the augmentation and of the CNN.

    Returns
    -------
    estimator
    """
    check_family(family)
    model = FAMILIES[family].build(random_state)
    if not augment:
        return model
    from ._augment import AugmentedClassifier, DegradationAugmenter

    return AugmentedClassifier(
        model,
        augmenter=DegradationAugmenter(n_copies="auto", random_state=random_state),
        random_state=random_state,
    )

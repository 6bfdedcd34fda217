"""The skorch classifier around BlurNet: blurkit's CNN, for scikit-learn.

The network and its inference live in ``blurkit._blurnet``, which needs torch
only; this module adds training (skorch) and the scikit-learn interface. It
is blurkit's only module that imports skorch, and only modules that use the
CNN import it or ``_blurnet``, so the rest of the package does not pay for
torch and skorch unless the CNN is used.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.dataset import ValidSplit
from skorch.utils import is_dataset

from .._validation import FLOAT_DTYPES, as_generator, check_images, group_by_shape
from ._blurnet import BlurNet, blurnet_predict_proba

__all__ = ["BlurNet", "BlurNetClassifier"]


def _encoded_accuracy(net, X, y) -> float:
    # The targets seen during training are class indices, not labels, so
    # compare them with the argmax rather than with ``predict``.
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == y))


def _check_labels(y) -> np.ndarray:
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    return y


def _as_float32_stack(X) -> np.ndarray:
    """Stack training images; other sizes are centre-padded or cropped.

    Images of sizes other than the most common one are zero-padded or
    centre-cropped to it, without interpolation, which keeps their sharpness:
    size-changing augmentation (``resize_canvas``) can then train the CNN too.
    Each image is converted as it is copied into the float32 stack: no
    float64 stack of all of them is ever made (400 MB for a fold's 3,400
    augmented images, whose allocation and second pass took a tenth of a
    training's time).
    """
    images = check_images(X, dtype=FLOAT_DTYPES)
    shapes = [image.shape for image in images]
    common = max(set(shapes), key=shapes.count)
    if len(set(shapes)) > 1:
        from ..degrade import resize_canvas
    stack = np.empty((len(images), *common), dtype=np.float32)
    for out, image in zip(stack, images, strict=True):
        out[...] = image if image.shape == common else resize_canvas(image, common)
    return stack


class BlurNetClassifier(NeuralNetClassifier):
    """skorch classifier around :class:`BlurNet`, tuned for small CPU budgets.

    A scikit-learn classifier: it works with ``clone``, ``set_params``,
    ``cross_val_score``, ``GridSearchCV`` and pickling. Network settings are
    routed to :class:`BlurNet` through ``module__*`` parameters (e.g.
    ``module__n_filters=16``), so a grid search can tune them.

    Training holds out a stratified validation split, stops early when the
    validation loss has not improved for ``patience`` epochs and restores the
    weights of the best epoch. With ``train_split=None`` all data is used for
    training and the training loss is monitored instead.

    Parameters
    ----------
    module : torch module class or instance, default=BlurNet
        The network; it must map (n, H, W) float tensors to (n, 2) logits.
        Labels are fed to it (and to the criterion) as indices into
        ``classes_``.
    criterion : torch criterion class, default=torch.nn.CrossEntropyLoss
        Loss on the logits; ``predict_proba`` applies the softmax.
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Optimizer; set its options with ``optimizer__*``.
    lr : float, default=3e-3
        Learning rate.
    max_epochs : int, default=20
        Maximum number of passes over the training data.
    batch_size : int, default=32
        Mini-batch size.
    train_split : callable or None, default=ValidSplit(0.2, stratified=True)
        Internal train/validation split (see :class:`skorch.dataset.ValidSplit`).
        When it is a ``ValidSplit`` with a fractional ``cv`` and no
        ``random_state`` of its own, the split is drawn with this estimator's
        ``random_state``. None disables the internal validation.
    patience : int, default=5
        Number of epochs without improvement of the monitored loss by at least
        1e-3 (``callbacks__early_stopping__threshold``) before training stops.
        Also settable as ``callbacks__early_stopping__patience``;
        ``callbacks__early_stopping=None`` disables early stopping.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling of the training images,
        dropout and the internal split, at each ``fit`` (more exactly each
        ``initialize``). An int makes training reproducible on CPU. Note that
        seeding goes through :func:`torch.manual_seed`, i.e. it sets torch's
        global random generator. None leaves torch's generator untouched.
    verbose : int, default=0
        Print a training log per epoch when positive.
    iterator_train__shuffle : bool, default=True
        Shuffle the training images at each epoch (skorch does not by
        default), so that batches mix both classes even if the data are sorted.
    **kwargs
        Any other :class:`skorch.NeuralNetClassifier` parameter, including
        ``module__*`` settings of the network.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels, sorted, with the dtype of ``y``.
    module_ : BlurNet
        The trained network.
    history_ : skorch.history.History
        Per-epoch losses (``train_loss``, ``valid_loss``) and accuracy.
    seed_ : int or None
        The integer seed drawn from ``random_state`` at the last
        initialisation (None when ``random_state`` is None).

    Notes
    -----
    ``X`` is a float array of shape (n, H, W) (float64 is cast to float32), a
    list of 2-D images or, as elsewhere in blurkit, a 2-D array with one
    flattened square image per row. For training, images of a size other than
    the most common one are centre-padded with zeros or centre-cropped to it
    (no interpolation, so their sharpness is kept). Prediction accepts a list
    of images of different sizes as they are: the images are
    grouped by shape, each group goes through the network as one stack, and
    the results are put back in input order.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import gaussian_filter
    >>> from blurkit import BlurNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> sharp = rng.random((20, 24, 24)).astype(np.float32)
    >>> blurred = np.stack([gaussian_filter(im, 3) for im in sharp])
    >>> X = np.concatenate([blurred, sharp])
    >>> y = np.repeat([0, 1], 20)
    >>> clf = BlurNetClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (40, 2)
    """

    def __init__(
        self,
        module=BlurNet,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=20,
        batch_size=32,
        train_split=ValidSplit(0.2, stratified=True),  # noqa: B008 (skorch style)
        patience=5,
        random_state=None,
        verbose=0,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.patience = patience
        self.random_state = random_state

    @property
    def _default_callbacks(self):
        # Without a validation split there is no valid_loss to watch, so
        # early stopping falls back to the training loss. On separable data
        # the loss creeps towards 0 for ever; gains under 1e-3 do not count.
        monitor = "train_loss" if self.train_split is None else "valid_loss"
        callbacks = [
            (name, cb) for name, cb in super()._default_callbacks if name != "valid_acc"
        ]
        return callbacks + [
            (
                "valid_acc",
                EpochScoring(
                    _encoded_accuracy, name="valid_acc", lower_is_better=False
                ),
            ),
            (
                "early_stopping",
                EarlyStopping(
                    monitor=monitor,
                    patience=self.patience,
                    threshold=1e-3,
                    threshold_mode="abs",
                    load_best=True,
                ),
            ),
        ]

    def fit(self, X, y=None, **fit_params):
        """Initialise and train the network (see :class:`skorch.NeuralNet`).

        An empty ``X`` fails first, with a clear ``ValueError``, before
        skorch's callbacks start (they would fail on it less clearly).

        Parameters
        ----------
        X : ndarray of shape (n, H, W), list of 2-D arrays, or skorch Dataset
            Training images.
        y : array-like of shape (n,)
            Labels, two classes.
        **fit_params : dict
            Passed on to skorch's ``fit``.

        Returns
        -------
        self : BlurNetClassifier
        """
        n_images = len(X) if hasattr(X, "__len__") else len(np.asarray(X))
        if not is_dataset(X) and n_images == 0:
            # Raises check_images's message for an empty batch. Other input
            # is checked once, when skorch builds its dataset.
            check_images(X)
        return super().fit(X, y, **fit_params)

    def initialize(self):
        """Seed torch from ``random_state``, then initialise all components."""
        if self.random_state is None:
            self.seed_ = None
        else:
            rng = as_generator(self.random_state)
            self.seed_ = int(rng.integers(np.iinfo(np.int32).max))
            torch.manual_seed(self.seed_)
        return super().initialize()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def check_data(self, X, y):
        """Check the labels and set ``classes_``; X is checked in get_dataset."""
        if is_dataset(X):
            super().check_data(X, y)
            return
        if y is None:
            raise ValueError(
                "BlurNetClassifier requires y to be passed, but the target y is "
                "None; expected one label per image."
            )
        y = _check_labels(y)
        self.classes_inferred_ = np.unique(y)
        n_classes = len(self.classes_)
        if n_classes != 2:
            raise ValueError(
                "Only binary classification is supported: y must hold 2 classes, "
                f"got {n_classes} class{'es' if n_classes > 1 else ''}: "
                f"{self.classes_.tolist()}."
            )

    def get_dataset(self, X, y=None):
        """Wrap images (as a float32 stack) and encoded labels in a dataset.

        Labels are encoded as indices into ``classes_``, the targets that the
        criterion expects.
        """
        if is_dataset(X):
            return X
        X = _as_float32_stack(X)
        if y is not None:
            y = _check_labels(y)
            classes = self.classes_
            codes = np.searchsorted(classes, y)
            known = codes < len(classes)
            known[known] = classes[codes[known]] == y[known]
            if not known.all():
                raise ValueError(
                    f"y holds labels {np.unique(y[~known]).tolist()} outside "
                    f"classes_={classes.tolist()}."
                )
            y = codes.astype(np.int64)
        return super().get_dataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split into train and validation datasets, seeding the default split.

        Same as skorch's, except that ``y`` may be any 1-D array-like and that
        a ``ValidSplit`` with a fractional ``cv`` and no ``random_state`` is
        replaced by a copy seeded with ``seed_``.
        """
        dataset = self.get_dataset(X, y)
        split = self.train_split
        if split is None:
            return dataset, None
        if (
            isinstance(split, ValidSplit)
            and isinstance(split.cv, float)
            and 0 < split.cv < 1
            and split.random_state is None
            and getattr(self, "seed_", None) is not None
        ):
            split = ValidSplit(
                split.cv, stratified=split.stratified, random_state=self.seed_
            )
        if y is None:
            return split(dataset, **fit_params)
        return split(dataset, _check_labels(y), **fit_params)

    def predict_proba(self, X):
        """Return class probabilities (softmax of the logits).

        Each stack of equally sized images goes through
        :func:`~blurkit.models._blurnet.blurnet_predict_proba`, in batches of
        ``iterator_valid__batch_size`` images when set, else ``batch_size``. A
        skorch ``Dataset`` goes through skorch's own ``predict_proba``.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
            Images; those of a list may differ in size (see Notes of the
            class).

        Returns
        -------
        ndarray of shape (n, 2)
            Probabilities of ``classes_``; rows sum to 1.
        """
        self.check_is_fitted()
        if is_dataset(X):
            return super().predict_proba(X)
        # The lightweight predictor's path too: same function, same batches.
        images = check_images(X, dtype=FLOAT_DTYPES)
        groups = list(group_by_shape(images))
        batch_size = getattr(self, "iterator_valid__batch_size", self.batch_size)
        if len(groups) == 1:
            return blurnet_predict_proba(self.module_, groups[0][1], batch_size)
        proba = np.empty((len(images), len(self.classes_)), dtype=np.float32)
        for indices, stack in groups:
            proba[indices] = blurnet_predict_proba(self.module_, stack, batch_size)
        return proba

    def predict(self, X):
        """Return the predicted class labels, with the dtype of ``y``.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or list of 2-D arrays
            Images, as for :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n,)
            Labels taken from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

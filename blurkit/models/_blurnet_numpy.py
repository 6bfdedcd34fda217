"""BlurNet's forward pass in numpy: a trained CNN's predictions without torch.

``blurkit predict`` with a CNN model spent most of a short run importing
torch: 1.9 s of the 2.5-3 s it took for one image (0.7 s with a features
model), for a network of three small convolutions. The command line's
lightweight predictor (:class:`~blurkit.models._predictor.NetPredictor`)
therefore runs the network here, from its weights as numpy arrays: the
operations of :meth:`BlurNet.forward <blurkit.models._blurnet.BlurNet.forward>`
in the same order and in float32, each convolution as one matrix product
with the image's patches. Tests check that both give the same probabilities
to float32 rounding. Training, and :class:`~blurkit.BlurNetClassifier`'s own
predictions, use torch (``_blurnet``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["check_blurnet_weights", "blurnet_proba_numpy"]

# BlurNet's constants: the epsilon of its standardisation and log energies,
# and the stride of every level.
_EPS = np.float32(1e-6)
_STRIDE = 2


def _n_levels(weights: Mapping[str, np.ndarray]) -> int:
    return sum(key.startswith("levels.") and key.endswith(".weight") for key in weights)


def check_blurnet_weights(
    weights: Mapping[str, np.ndarray], module_params: Mapping | None = None
) -> dict:
    """A BlurNet ``state_dict`` as float32 arrays, checked for consistency.

    Parameters
    ----------
    weights : mapping of str to array-like
        ``levels.{i}.weight`` for each level ``i``, ``levels.{i}.bias`` for
        all but the last, ``classifier.weight`` and ``classifier.bias``.
    module_params : mapping, default=None
        BlurNet's constructor parameters, as a model file holds them: those
        of ``n_filters``, ``n_layers``, ``kernel_size`` and ``n_classes``
        given must be the weights' own.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    ValueError
        Naming the missing, unexpected or misshapen entry, or the setting
        that disagrees with the weights.
    """
    weights = {
        key: np.asarray(value, dtype=np.float32) for key, value in weights.items()
    }
    n_layers = _n_levels(weights)
    if n_layers < 1 or "levels.0.weight" not in weights:
        raise ValueError("the network's weights have no levels.0.weight")
    first = weights["levels.0.weight"]
    if first.ndim != 4 or first.shape[1] != 1 or first.shape[2] % 2 == 0:
        raise ValueError(
            f"levels.0.weight has shape {first.shape}; expected (n_filters, 1, k, k) "
            "with k odd"
        )
    n_filters, _, kernel, _ = first.shape
    n_classes = weights.get("classifier.weight", np.empty((0, 0))).shape[0]
    expected = {"classifier.weight": (n_classes, n_layers * n_filters)}
    expected["classifier.bias"] = (n_classes,)
    for i in range(n_layers):
        n_in = 1 if i == 0 else n_filters
        expected[f"levels.{i}.weight"] = (n_filters, n_in, kernel, kernel)
        if i < n_layers - 1:
            expected[f"levels.{i}.bias"] = (n_filters,)
    if set(weights) != set(expected):
        missing = sorted(set(expected) - set(weights))
        extra = sorted(set(weights) - set(expected))
        raise ValueError(
            f"the network's weights do not match a BlurNet: missing {missing}, "
            f"unexpected {extra}"
        )
    for key, shape in expected.items():
        if weights[key].shape != shape or n_classes < 1:
            raise ValueError(f"{key} has shape {weights[key].shape}; expected {shape}")
    own = {
        "n_filters": n_filters,
        "n_layers": n_layers,
        "kernel_size": kernel,
        "n_classes": n_classes,
    }
    for name, value in own.items():
        if module_params and name in module_params and module_params[name] != value:
            raise ValueError(
                f"module_params has {name}={module_params[name]!r}, "
                f"but the weights are those of {name}={value}"
            )
    return weights


def _conv(h: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Stride-2 convolution without padding: maps (n, out, rows * columns)."""
    n, n_in, height, width = h.shape
    n_out, _, k_h, k_w = weight.shape
    out_h = (height - k_h) // _STRIDE + 1
    out_w = (width - k_w) // _STRIDE + 1
    s_n, s_c, s_h, s_w = h.strides
    patches = as_strided(
        h,
        (n, n_in, k_h, k_w, out_h, out_w),
        (s_n, s_c, s_h, s_w, _STRIDE * s_h, _STRIDE * s_w),
        writeable=False,
    ).reshape(n, n_in * k_h * k_w, out_h * out_w)
    return np.matmul(weight.reshape(n_out, -1), patches), (out_h, out_w)


def _sum_of_squares(r: np.ndarray) -> np.ndarray:
    """Sum of squares along the last axis of ``r`` (n, maps, pixels), float32.

    Each map's dot product with itself, one BLAS call per map (a batched
    matrix product of a row by a column), whose vector lanes keep partial
    sums: on a map of 3,600 pixels 2e-7 from a float64 sum, in a fifth of
    the time of einsum's float64 accumulation (4 against 21 us per 121x121
    slice on one thread). A trained network's logits come 1e-5 from a
    float64 network's (2.9e-6 with float64 sums; torch's own float32 ones,
    8e-5), where einsum's float32 accumulation put them 1e-4 away.
    """
    return (r[..., np.newaxis, :] @ r[..., np.newaxis])[..., 0, 0]


def _log_energy(r: np.ndarray, *, centre: bool) -> np.ndarray:
    """Log of the mean square of each map of ``r`` (n, maps, pixels).

    About the map's mean if ``centre``.
    """
    if centre:
        r = r - r.mean(axis=-1, keepdims=True)
    return np.log(_sum_of_squares(r) / np.float32(r.shape[-1]) + _EPS)


def _logits(weights: dict, X: np.ndarray) -> np.ndarray:
    """BlurNet.forward of a float32 batch (n, H, W)."""
    n_layers = _n_levels(weights)
    kernel = weights["levels.0.weight"].shape[-1]
    min_size = 2**n_layers * (kernel - 1) - kernel + 2
    height, width = X.shape[-2:]
    if min(height, width) < min_size:
        pad_h = max(min_size - height, 0)
        pad_w = max(min_size - width, 0)
        rows = (pad_h // 2, pad_h - pad_h // 2)
        columns = (pad_w // 2, pad_w - pad_w // 2)
        X = np.pad(X, ((0, 0), rows, columns), mode="edge")
        height, width = X.shape[-2:]
    n = len(X)
    h = X[:, np.newaxis] - X.mean(axis=(-2, -1), keepdims=True)[:, np.newaxis]
    flat = h.reshape(n, 1, -1)
    std = np.sqrt(_sum_of_squares(flat)) / np.float32(np.sqrt(height * width))
    energies = []
    for i in range(n_layers):
        weight = weights[f"levels.{i}.weight"]
        if i == 0:
            weight = weight - weight.mean(axis=(-2, -1), keepdims=True)
        r, (out_h, out_w) = _conv(np.ascontiguousarray(h), weight)
        if i == 0:
            r /= (std + _EPS)[..., np.newaxis]
        # Energy before the bias, which would only shift a mean square.
        energies.append(_log_energy(r, centre=i > 0))
        if i < n_layers - 1:
            r += weights[f"levels.{i}.bias"][:, np.newaxis]
            np.maximum(r, 0, out=r)
            h = r.reshape(n, -1, out_h, out_w)
    energy = np.concatenate(energies, axis=1)
    return energy @ weights["classifier.weight"].T + weights["classifier.bias"]


def blurnet_proba_numpy(weights: dict, stack, batch_size: int = 32) -> np.ndarray:
    """Class probabilities of a BlurNet, from its checked weights.

    As :func:`~blurkit.models._blurnet.blurnet_predict_proba`: the softmax of
    the logits, in float32, ``batch_size`` images at a time.

    Parameters
    ----------
    weights : dict of str to ndarray
        From :func:`check_blurnet_weights`.
    stack : array-like of shape (n, H, W)
    batch_size : int, default=32

    Returns
    -------
    ndarray of shape (n, n_classes), float32
    """
    stack = np.asarray(stack, dtype=np.float32)
    if stack.ndim != 3:
        raise ValueError(f"expected a stack of shape (n, H, W); got {stack.shape}.")
    n_classes = weights["classifier.bias"].shape[0]
    proba = np.empty((len(stack), n_classes), dtype=np.float32)
    for start in range(0, len(stack), batch_size):
        logits = _logits(weights, stack[start : start + batch_size])
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        proba[start : start + batch_size] = logits
    return proba

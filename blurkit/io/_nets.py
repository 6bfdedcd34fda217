"""Networks inside saved models: skorch nets as plain parameters and arrays.

skops cannot store torch modules. Before saving, every skorch network found
in a model (the CNN, and the CNN inside the hybrid) is replaced by a
:class:`SavedNet`: its constructor parameters, and the keys of its weights in
the model file's array store; loading builds a fresh network and copies the
weights in. The optimizer's state is not kept: a loaded CNN predicts exactly
like the saved one, but continuing its training (``partial_fit``) starts with
a fresh optimizer.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["NET_CLASSES", "SavedNet", "nets_to_stand_ins", "stand_ins_to_nets"]

NET_CLASSES = {"blurkit.models._cnn.BlurNetClassifier"}
"""The skorch networks that can be saved, by qualified class name."""


class SavedNet:
    """Stand-in for a skorch network inside a saved model.

    Holds what rebuilds the network: its class name (one of
    ``NET_CLASSES``), its constructor parameters and, when it was fitted,
    the weights of its modules and criteria as numpy arrays, its training
    history, inferred classes and seed. The weights are stored by ``store``,
    which returns a key for each array: ``restore`` reads them back by key.
    """

    def __init__(self, net, store: Callable[[np.ndarray], str]):
        name = _qualified_name(type(net))
        if name not in NET_CLASSES:
            raise ValueError(
                f"cannot save a {name}: the only networks blurkit saves are "
                f"{', '.join(sorted(NET_CLASSES))}"
            )
        self.net_class = name
        self.params = {
            key: value
            for key, value in net.get_params(deep=False).items()
            if not key.startswith("_")
        }
        self.fitted = bool(getattr(net, "initialized_", False))
        self.weights = {}
        self.history = None
        self.classes_inferred = None
        self.seed = None
        if not self.fitted:
            return
        for prefix in [*net._modules, *net._criteria]:
            state = getattr(net, prefix + "_").state_dict()
            self.weights[prefix + "_"] = {
                key: store(tensor.detach().cpu().numpy())
                for key, tensor in state.items()
            }
        # Plain lists and numbers only: skorch's History is not a trusted type.
        self.history = json.loads(json.dumps(list(net.history_), default=float))
        self.classes_inferred = getattr(net, "classes_inferred_", None)
        self.seed = getattr(net, "seed_", None)

    def restore(self, arrays: Mapping[str, np.ndarray]):
        """Build the network again, copying its weights in from ``arrays``."""
        import torch
        from skorch.history import History

        from ..models import BlurNetClassifier

        classes = {"blurkit.models._cnn.BlurNetClassifier": BlurNetClassifier}
        if self.net_class not in classes:
            raise ValueError(f"unknown network class {self.net_class!r}")
        net = classes[self.net_class](**self.params)
        if not self.fitted:
            return net
        # initialize() may seed torch's global generator: leave it as it was.
        with torch.random.fork_rng(devices=[]):
            net.initialize()
        for attribute, state in self.weights.items():
            if attribute[:-1] not in [*net._modules, *net._criteria]:
                raise ValueError(f"the network has no component {attribute!r}")
            getattr(net, attribute).load_state_dict(
                {key: torch.from_numpy(np.array(arrays[k])) for key, k in state.items()}
            )
        net.history_ = History(self.history or [])
        if self.classes_inferred is not None:
            net.classes_inferred_ = self.classes_inferred
        net.seed_ = self.seed
        return net


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_UNCHANGED = object()

_OPAQUE = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    functools.partial,
)


def _map_objects(obj: Any, replace, memo: dict[int, Any]) -> Any:
    """Copy of ``obj`` with ``replace`` applied to every object it holds.

    ``replace(x)`` returns a substitute for ``x`` or ``_UNCHANGED``. The walk
    goes through containers (dicts, lists, tuples, object arrays) and object
    attributes; only the objects on the path to a substitute are copied, so
    ``obj`` itself is never modified. An object reached twice is mapped once.
    """
    key = id(obj)
    if key in memo:
        return memo[key]
    substitute = replace(obj)
    if substitute is not _UNCHANGED:
        memo[key] = substitute
        return substitute
    # Seen before its children: a cycle leads back to the original.
    memo[key] = obj
    memo[key] = result = _map_children(obj, replace, memo)
    return result


def _map_children(obj: Any, replace, memo: dict[int, Any]) -> Any:
    if obj is None or isinstance(
        obj, (str, bytes, int, float, complex, np.generic, type)
    ):
        return obj
    if isinstance(obj, dict):
        changed = {}
        for k, v in obj.items():
            new = _map_objects(v, replace, memo)
            if new is not v:
                changed[k] = new
        if not changed:
            return obj
        result = copy.copy(obj)
        result.update(changed)
        return result
    if isinstance(obj, (list, tuple)):
        items = [_map_objects(v, replace, memo) for v in obj]
        if all(new is old for new, old in zip(items, obj, strict=True)):
            return obj
        if isinstance(obj, list):
            result = copy.copy(obj)
            result[:] = items
            return result
        if hasattr(obj, "_fields"):  # named tuple
            return type(obj)._make(items)
        return tuple(items) if type(obj) is tuple else type(obj)(items)
    if isinstance(obj, np.ndarray):
        if obj.dtype != object:
            return obj
        data = np.ma.getdata(obj)
        items = [_map_objects(v, replace, memo) for v in data.ravel()]
        if all(new is old for new, old in zip(items, data.ravel(), strict=True)):
            return obj
        result = obj.copy()
        flat = np.ma.getdata(result).reshape(-1)
        for i, item in enumerate(items):
            flat[i] = item
        return result
    attributes = getattr(obj, "__dict__", None)
    if not isinstance(attributes, dict) or isinstance(obj, _OPAQUE):
        # Functions, modules and objects without attributes hold no network.
        return obj
    changed = {}
    for name, value in list(attributes.items()):
        new = _map_objects(value, replace, memo)
        if new is not value:
            changed[name] = new
    if not changed:
        return obj
    result = copy.copy(obj)
    vars(result).update(changed)
    return result


def nets_to_stand_ins(model: Any, store: Callable[[np.ndarray], str]) -> Any:
    """A copy of ``model`` with every skorch network replaced by a SavedNet."""
    # skorch is only in sys.modules if some network was built in this process.
    skorch = sys.modules.get("skorch")

    def replace(obj):
        if skorch is not None and isinstance(obj, skorch.NeuralNet):
            return SavedNet(obj, store)
        return _UNCHANGED

    return _map_objects(model, replace, {})


def stand_ins_to_nets(model: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The inverse of `nets_to_stand_ins`, reading weights from ``arrays``."""

    def replace(obj):
        return obj.restore(arrays) if isinstance(obj, SavedNet) else _UNCHANGED

    return _map_objects(model, replace, {})

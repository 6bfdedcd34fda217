"""skops.io imported without torch: the same trusted types, torch untouched."""

import json
import subprocess
import sys

import numpy as np


def run(code):
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


TRUSTED = """
import json, sys
{imports}
from skops.io import _trusted_types as T
names = sorted(T.SKLEARN_ESTIMATOR_TYPE_NAMES + T.SKLEARN_INTERNAL_TYPE_NAMES)
print(json.dumps({{"names": names, "torch": "torch" in sys.modules}}))
"""


def test_skops_trusts_the_same_types_without_torch():
    plain = run(TRUSTED.format(imports="import skops.io"))
    hidden = run(
        TRUSTED.format(
            imports="from blurkit.io._skops import import_skops_io\nimport_skops_io()"
        )
    )
    # Importing skops.io plainly imports torch (through scikit-learn's
    # array-API wrapper); hidden, it does not, and trusts the same types.
    assert plain["torch"] is True
    assert hidden["torch"] is False
    assert len(hidden["names"]) > 100
    assert hidden["names"] == plain["names"]


def test_torch_imports_normally_afterwards():
    result = run(
        """
import json, sys
from blurkit.io._skops import import_skops_io
import_skops_io()
assert sys.meta_path[0].__class__.__name__ != "_HiddenModule"
import torch
print(json.dumps({"ok": torch.zeros(2).sum().item() == 0}))
"""
    )
    assert result == {"ok": True}


def test_loaded_torch_is_left_alone():
    result = run(
        """
import json
import torch
from blurkit.io._skops import import_skops_io
sio = import_skops_io()
print(json.dumps({"name": sio.__name__}))
"""
    )
    assert result == {"name": "skops.io"}


def test_features_model_saves_and_loads_without_torch(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.random((12, 32, 32)))
    path = tmp_path / "model.blurkit"
    result = run(
        f"""
import json, sys
import numpy as np
import blurkit
X = np.load({str(tmp_path / "X.npy")!r})
y = np.array([0, 1] * 6)
model = blurkit.make_feature_pipeline().fit(X, y)
blurkit.save_model(model, {str(path)!r})
loaded, info = blurkit.load_model({str(path)!r})
same = bool(np.array_equal(loaded.predict_proba(X), model.predict_proba(X)))
print(json.dumps({{"torch": "torch" in sys.modules, "same": same,
                  "version": info["versions"]["torch"]}}))
"""
    )
    from importlib import metadata

    assert result == {
        "torch": False,
        "same": True,
        "version": metadata.version("torch"),
    }

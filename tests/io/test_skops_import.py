"""skops.io imported without torch, and skops files made reproducible."""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
from sklearn.linear_model import LogisticRegression

from blurkit.io._skops import canonical_skops, import_skops_io


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


# --------------------------------------------------------------------------- #
# canonical_skops: the bytes of a skops file depend on its objects only
# --------------------------------------------------------------------------- #


def _objects():
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 3)), np.arange(20) % 2
    weights = rng.random(4)
    # Shared references, and a user dict whose keys are skops's own words.
    return {
        "model": LogisticRegression().fit(X, y),
        "a": weights,
        "b": weights,
        "user": {"file": "mine.npy", "__id__": 7, "__loader__": "x"},
    }, X


def test_canonical_skops_gives_the_same_bytes_for_equal_objects():
    sio = import_skops_io()
    first, _ = _objects()
    second, _ = _objects()
    raw = sio.dumps(first), sio.dumps(second)
    # skops names arrays and nodes by id(): equal objects, other bytes.
    assert raw[0] != raw[1]
    assert canonical_skops(raw[0]) == canonical_skops(raw[1])


def test_canonical_skops_loads_as_the_original():
    sio = import_skops_io()
    objects, X = _objects()
    data = canonical_skops(sio.dumps(objects), (1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos][0] == "schema.json"
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    arrays = sorted(info.filename for info in infos[1:])
    assert arrays == sorted(f"{i}.npy" for i in range(len(arrays)))
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert loaded["a"] is loaded["b"]
    assert loaded["user"] == {"file": "mine.npy", "__id__": 7, "__loader__": "x"}
    np.testing.assert_array_equal(loaded["a"], objects["a"])
    np.testing.assert_array_equal(
        loaded["model"].predict_proba(X), objects["model"].predict_proba(X)
    )

"""BlurNet's forward pass in numpy against the torch network."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from blurkit.models._blurnet import BlurNet, blurnet_predict_proba
from blurkit.models._blurnet_numpy import blurnet_proba_numpy, check_blurnet_weights


def numpy_weights(net):
    return check_blurnet_weights(
        {key: value.numpy() for key, value in net.state_dict().items()}
    )


@pytest.mark.parametrize(
    "params, shape",
    [
        ({}, (121, 121)),
        ({"n_filters": 3, "n_layers": 2}, (40, 57)),
        ({"n_layers": 1, "kernel_size": 5}, (33, 20)),
        ({"n_filters": 4, "kernel_size": 5, "n_classes": 3}, (64, 64)),
        # Smaller than min_size: padded by replicating the border.
        ({}, (9, 30)),
        ({}, (4, 4)),
    ],
)
def test_numpy_forward_gives_the_networks_probabilities(params, shape):
    torch.manual_seed(0)
    net = BlurNet(**params)
    # Non-zero biases, so that the ReLUs cut.
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.endswith("bias"):
                parameter.uniform_(-0.5, 0.5)
    rng = np.random.default_rng(0)
    X = rng.random((37, *shape), dtype=np.float32)
    X[::3] = np.repeat(np.repeat(X[::3, ::4, ::4], 4, 1), 4, 2)[
        :, : shape[0], : shape[1]
    ]
    X[1] *= 1e-3  # a dim image: the standardisation
    expected = blurnet_predict_proba(net, X, 16)
    proba = blurnet_proba_numpy(numpy_weights(net), X, 16)
    assert proba.dtype == np.float32
    assert proba.shape == expected.shape
    np.testing.assert_allclose(proba, expected, atol=2e-5)


def test_numpy_forward_of_a_trained_like_network_on_brain_sized_images():
    # Large logits (saturated probabilities) as a trained network gives.
    torch.manual_seed(1)
    net = BlurNet()
    with torch.no_grad():
        net.classifier.weight.mul_(20)
    X = np.random.default_rng(1).random((8, 121, 121), dtype=np.float32)
    with torch.inference_mode():
        logits = net(torch.from_numpy(X)).numpy()
    proba = blurnet_proba_numpy(numpy_weights(net), X)
    expected = blurnet_predict_proba(net, X)
    np.testing.assert_allclose(proba, expected, atol=2e-5)
    assert np.abs(logits).max() > 1


def test_numpy_forward_batches_and_empty_stack():
    net = BlurNet(n_filters=2, n_layers=2)
    weights = numpy_weights(net)
    X = np.random.default_rng(2).random((10, 20, 20), dtype=np.float32)
    one = blurnet_proba_numpy(weights, X, 100)
    for batch_size in (1, 3, 10):
        # Equal but for the rounding of BLAS kernels chosen by batch size.
        np.testing.assert_allclose(
            blurnet_proba_numpy(weights, X, batch_size), one, atol=1e-6
        )
    assert blurnet_proba_numpy(weights, X[:0]).shape == (0, 2)
    with pytest.raises(ValueError, match="shape"):
        blurnet_proba_numpy(weights, X[0])


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda w: w.pop("levels.0.weight"), "levels.0.weight"),
        (lambda w: w.pop("levels.1.bias"), r"missing \['levels.1.bias'\]"),
        (lambda w: w.update(extra=np.zeros(2)), r"unexpected \['extra'\]"),
        (
            lambda w: w.update({"levels.2.weight": np.zeros((8, 8, 5, 5))}),
            r"levels.2.weight has shape \(8, 8, 5, 5\); expected \(8, 8, 3, 3\)",
        ),
        (
            lambda w: w.update({"classifier.weight": np.zeros((2, 23))}),
            "classifier.weight has shape",
        ),
        (
            lambda w: w.update({"levels.0.weight": np.zeros((8, 1, 4, 4))}),
            "k odd",
        ),
    ],
)
def test_check_blurnet_weights_names_what_is_wrong(change, match):
    weights = {key: value.numpy() for key, value in BlurNet().state_dict().items()}
    change(weights)
    with pytest.raises(ValueError, match=match):
        check_blurnet_weights(weights)


def test_cnn_predictor_does_not_import_torch(tmp_path):
    from blurkit.io import save_model
    from blurkit.models import BlurNetClassifier

    rng = np.random.default_rng(3)
    X = rng.random((8, 24, 24), dtype=np.float32)
    y = np.array([0, 1] * 4)
    net = BlurNetClassifier(
        max_epochs=1, module__n_filters=2, module__n_layers=2, random_state=0
    ).fit(X, y)
    path = tmp_path / "cnn.blurkit"
    save_model(net, path)
    np.save(tmp_path / "X.npy", X)
    code = f"""
import sys
import numpy as np
from blurkit.io import load_predictor
predictor = load_predictor({str(path)!r})
print(type(predictor).__name__)
X = np.load({str(tmp_path / "X.npy")!r})
print(repr(predictor.predict_proba(X)[:, 1].tolist()))
print("torch" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    name, proba, torch_loaded = result.stdout.splitlines()
    assert name == "NetPredictor"
    assert torch_loaded == "False"
    np.testing.assert_allclose(eval(proba), net.predict_proba(X)[:, 1], atol=2e-5)


def test_cnn_predictor_refuses_settings_that_disagree_with_the_weights():
    from blurkit.models._predictor import NetPredictor

    weights = {key: value.numpy() for key, value in BlurNet().state_dict().items()}
    common = dict(classes=[0, 1], weights=weights, batch_size=32)
    NetPredictor(module_params={"n_filters": 8, "n_layers": 3}, **common)
    for params, match in [
        ({"n_layers": 2}, "n_layers=2, but the weights are those of n_layers=3"),
        ({"n_filters": 4}, "n_filters"),
        ({"kernel_size": 5}, "kernel_size"),
    ]:
        with pytest.raises(ValueError, match=match):
            NetPredictor(module_params=params, **common)
    with pytest.raises(ValueError, match="outputs for 3 classes"):
        NetPredictor(module_params={}, **{**common, "classes": [0, 1, 2]})
    with pytest.raises(ValueError, match="batch_size"):
        NetPredictor(module_params={}, **{**common, "batch_size": 0})

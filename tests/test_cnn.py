"""Tests of the skorch CNN, on small synthetic sharp/blurred images."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

from blurkit._cnn import BlurNet, BlurNetClassifier


def make_images(n, shape=(32, 32), *, seed=0):
    """Blocky random images; the second half is blurred (label 0)."""
    rng = np.random.default_rng(seed)
    block = 4
    coarse = rng.random((n, shape[0] // block + 1, shape[1] // block + 1))
    images = np.kron(coarse, np.ones((block, block)))[:, : shape[0], : shape[1]]
    y = np.ones(n, dtype=np.int64)
    y[n // 2 :] = 0
    for i in range(n // 2, n):
        images[i] = gaussian_filter(images[i], 3)
    order = rng.permutation(n)
    return images[order].astype(np.float32), y[order]


def tiny_net(**params):
    defaults = dict(
        module__n_filters=4,
        module__n_layers=2,
        max_epochs=2,
        random_state=0,
    )
    return BlurNetClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    return make_images(32)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return tiny_net().fit(X, y)


def test_blurnet_accepts_any_size():
    net = BlurNet(n_filters=3, n_layers=4)
    for shape in [(2, 17, 23), (1, 1, 5, 9), (3, 1, 1)]:
        out = net(torch.rand(shape))
        assert out.shape == (shape[0], 2)
        assert torch.isfinite(out).all()


def test_blurnet_rejects_bad_settings():
    with pytest.raises(ValueError, match="n_layers"):
        BlurNet(n_layers=0)
    with pytest.raises(ValueError, match="kernel_size"):
        BlurNet(kernel_size=4)


def test_fit_predict_shapes(fitted, data):
    X, y = data
    assert is_classifier(fitted)
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    pred = fitted.predict(X)
    assert pred.shape == (len(X),)
    assert pred.dtype == y.dtype
    np.testing.assert_array_equal(pred, proba.argmax(axis=1))


def test_predict_other_image_size(fitted):
    X_other, _ = make_images(6, shape=(40, 48), seed=1)
    proba = fitted.predict_proba(X_other)
    assert proba.shape == (6, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_predict_list_of_mixed_sizes_keeps_order(fitted, data):
    X, _ = data
    X_other, _ = make_images(4, shape=(40, 48), seed=1)
    images = [X[0], X_other[0], X[1], X_other[1], X_other[2], X[2]]
    proba = fitted.predict_proba(images)
    expected = np.concatenate([fitted.predict_proba(im[None]) for im in images])
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fitted.predict(images), expected.argmax(axis=1))


def test_float64_and_list_input_match_float32(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(fitted.predict_proba(X.astype(np.float64)), proba)
    np.testing.assert_allclose(fitted.predict_proba(list(X)), proba)


def test_fit_pads_or_crops_other_sizes_to_the_common_one(data):
    X, y = data
    padded = np.pad(X[-1], ((4, 4), (8, 8)))
    mixed = tiny_net().fit(list(X[:-1]) + [padded], y)
    same = tiny_net().fit(list(X[:-1]) + [padded[4:-4, 8:-8]], y)
    np.testing.assert_allclose(mixed.predict_proba(X), same.predict_proba(X))


def test_fit_rejects_non_binary_y(data):
    X, y = data
    y3 = y.copy()
    y3[:3] = 2
    with pytest.raises(ValueError, match="binary"):
        tiny_net().fit(X, y3)


def test_string_labels_give_same_model(fitted, data):
    X, y = data
    y_str = np.where(y == 1, "sharp", "blurred")
    net = tiny_net().fit(X, y_str)
    np.testing.assert_array_equal(net.classes_, ["blurred", "sharp"])
    np.testing.assert_allclose(net.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(net.predict(X), net.classes_[fitted.predict(X)])


def test_list_input_and_list_labels(fitted, data):
    X, y = data
    net = tiny_net().fit(list(X), y.tolist())
    np.testing.assert_allclose(net.predict_proba(X), fitted.predict_proba(X))


def test_predict_before_fit_raises_not_fitted(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        tiny_net().predict(X)


def test_same_random_state_gives_identical_proba(fitted, data):
    X, y = data
    again = tiny_net().fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    other = tiny_net(random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), fitted.predict_proba(X))


def test_pickle_and_joblib_round_trip(fitted, data, tmp_path):
    X, _ = data
    proba = fitted.predict_proba(X)
    unpickled = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(unpickled.predict_proba(X), proba)
    joblib.dump(fitted, tmp_path / "net.joblib")
    loaded = joblib.load(tmp_path / "net.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_clone_and_set_params_route_module_settings(fitted, data):
    X, y = data
    net = clone(fitted)
    assert net.get_params()["module__n_filters"] == 4
    assert not hasattr(net, "module_")
    net.set_params(module__n_filters=3, patience=2).fit(X, y)
    assert net.module_.convs[0].out_channels == 3
    assert dict(net.callbacks_)["early_stopping"].patience == 2


def test_grid_search_and_cross_val_score(data):
    X, y = data
    search = GridSearchCV(
        tiny_net(max_epochs=1), {"module__n_filters": [2, 3]}, cv=2
    ).fit(X, y)
    assert search.best_params_["module__n_filters"] in (2, 3)
    assert search.predict(X).shape == (len(X),)
    scores = cross_val_score(tiny_net(max_epochs=1), X, y, cv=2)
    assert scores.shape == (2,)
    assert np.all((scores >= 0) & (scores <= 1))


def test_early_stopping_monitors_valid_loss_by_default(fitted):
    stopper = dict(fitted.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_loss"
    assert stopper.load_best
    assert "valid_loss" in fitted.history[-1]


def test_train_split_none_monitors_train_loss(data):
    X, y = data
    net = tiny_net(train_split=None).fit(X, y)
    assert dict(net.callbacks_)["early_stopping"].monitor == "train_loss"
    assert "valid_loss" not in net.history[-1]
    assert len(net.history) == 2


def test_early_stopping_stops_when_loss_stalls(data):
    X, y = data
    # With lr=0 the loss never improves after the first epoch.
    net = tiny_net(lr=0.0, max_epochs=20, patience=2).fit(X, y)
    assert len(net.history) == 3
    stopper = dict(net.callbacks_)["early_stopping"]
    assert stopper.best_epoch_ == 1


def test_contrast_invariance(fitted, data):
    X, _ = data
    np.testing.assert_allclose(
        fitted.predict_proba(0.5 * X), fitted.predict_proba(X), atol=1e-4
    )
    np.testing.assert_allclose(
        fitted.predict_proba(0.3 * X + 0.2), fitted.predict_proba(X), atol=1e-4
    )


def test_learns_to_tell_blurred_from_sharp():
    X, y = make_images(64, seed=2)
    X_test, y_test = make_images(32, seed=3)
    net = BlurNetClassifier(max_epochs=10, train_split=None, random_state=0)
    net.fit(X, y)
    assert np.mean(net.predict(X_test) == y_test) > 0.9

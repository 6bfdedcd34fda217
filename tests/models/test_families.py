"""Model selection across the three families (features, CNN, hybrid)."""

import numpy as np
import pytest

import blurkit
from blurkit import cv_results_table, make_model_search


@pytest.fixture(scope="module")
def auto_search(demo_train):
    search = make_model_search("auto", cv=2, random_state=0)
    return search.fit(demo_train.images, demo_train.labels)


@pytest.mark.slow
def test_auto_search_covers_the_three_families(auto_search):
    table = cv_results_table(auto_search)
    families = {candidate.split()[0] for candidate in table.candidate}
    assert families == {"features", "cnn", "hybrid"}
    assert np.all(table.mean_fit_s > 0)


@pytest.mark.slow
def test_selected_model_reproduces_demo_validation(auto_search):
    from conftest import DEMO_DATA

    validation = blurkit.load_dataset(DEMO_DATA / "validation")
    np.testing.assert_array_equal(
        auto_search.predict(validation.images), validation.labels
    )


def test_the_choice_is_explained_truthfully():
    import pandas as pd

    from blurkit.workflow._train import _why_chosen

    table = pd.DataFrame(
        {"candidate": ["hybrid", "features", "cnn"], "mean_score": [0.99, 0.99, 0.98]}
    )
    assert _why_chosen(table, "hybrid") == ""
    # Equal scores: no claim that the first row scores higher.
    assert "ties with hybrid" in _why_chosen(table, "features")
    assert "scores higher" in _why_chosen(table, "cnn")


def test_the_default_models_read_the_outer_features_and_can_leave_them_out():
    from blurkit.models import with_outer_features
    from blurkit.models._families import OUTER_FEATURES_OPTION, reads_outer_features
    from blurkit.workflow._train import _with_outer_features

    flags = OUTER_FEATURES_OPTION
    for family, key in [
        ("features", "estimator__features__outer"),
        ("hybrid", "estimator__features__features__outer"),
    ]:
        model = blurkit.make_classifier(family, random_state=0)
        plain = with_outer_features(model, enabled=False)
        for name in flags:
            # The default: the outer features, the fringe, the shift, the ghosts.
            assert model.get_params()[key.replace("outer", name)] is True
            assert plain.get_params()[key.replace("outer", name)] is False
            # Back again, on a clone: the input is kept.
            again = with_outer_features(plain)
            assert again.get_params()[key.replace("outer", name)] is True
            assert plain.get_params()[key.replace("outer", name)] is False
        # The quadratic model's regularisation follows the features; a C of
        # one's own is kept.
        c = key.replace("features__outer", "classify__C")
        assert (model.get_params()[c], plain.get_params()[c]) == (0.03, 0.1)
        assert with_outer_features(plain).get_params()[c] == 0.03
        custom = with_outer_features(model.set_params(**{c: 1.0}), enabled=False)
        assert custom.get_params()[c] == 1.0
    features = blurkit.SharpnessFeatures()
    assert with_outer_features(features).outer is True and features.outer is False
    assert with_outer_features(features).fringe is True
    assert with_outer_features(features).detail_shift is True
    assert with_outer_features(features).ghosts is True
    with pytest.raises(ValueError, match="holds no SharpnessFeatures"):
        with_outer_features(blurkit.make_classifier("cnn"))
    # The default search, with and without them: the CNN has none.
    for enabled in (True, False):
        outer = {}
        for grid in _with_outer_features(None, "auto", 0, enabled):
            (model,) = grid["estimator"]
            outer[type(model).__name__] = [
                value
                for key, value in model.get_params().items()
                if key.endswith(tuple(f"__{name}" for name in flags))
            ]
        assert outer == {
            "StackingClassifier": [enabled] * len(flags),
            "BlurNetClassifier": [],
            "Pipeline": [enabled] * len(flags),
        }
    for enabled in (True, False):
        with pytest.raises(ValueError, match="the CNN reads pixels"):
            _with_outer_features(None, "cnn", 0, enabled)
    # A grid over the search's own estimator (the features pipeline): its C
    # is kept, or, when it sets none, follows the features.
    (grid,) = _with_outer_features(
        {"estimator__classify__C": [0.5]}, "features", 0, False
    )
    assert grid == {
        "estimator__classify__C": [0.5],
        **{f"estimator__features__{name}": [False] for name in flags},
    }
    for enabled, c in ((False, 0.1), (True, 0.03)):
        (other,) = _with_outer_features(
            {"estimator__scale__with_mean": [True]}, "features", 0, enabled
        )
        assert other["estimator__classify__C"] == [c]
    # Names the search's estimator has (set_params raises on any other).
    estimator = blurkit.make_model_search("features", param_grid=grid).estimator
    assert reads_outer_features(estimator)
    estimator.set_params(**{key: values[0] for key, values in grid.items()})
    assert not reads_outer_features(estimator)


def test_candidates_without_the_outer_features_are_named_so():
    from blurkit.models import describe_candidate, with_outer_features

    default = blurkit.make_feature_pipeline()
    assert describe_candidate({"estimator": default}) == "features"
    plain = with_outer_features(default, enabled=False)
    assert describe_candidate({"estimator": plain}) == "features (no outer)"
    hybrid = with_outer_features(blurkit.make_hybrid(random_state=0), False)
    assert describe_candidate({"estimator": hybrid}) == "hybrid (no outer)"
    assert describe_candidate({"estimator": blurkit.make_hybrid()}) == "hybrid"
    cnn = blurkit.make_classifier("cnn", augment=False)
    assert describe_candidate({"estimator": cnn}) == "cnn"

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

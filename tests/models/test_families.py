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

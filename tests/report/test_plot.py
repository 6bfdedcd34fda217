"""blurkit.plot: CV results, feature distributions, galleries; the example."""

import runpy

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_DATA, ROOT
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import blurkit
from blurkit.plot import plot_cv_results, plot_feature_distributions, plot_gallery


@pytest.fixture(scope="module")
def search(demo_train):
    return blurkit.make_model_search("features", cv=2).fit(
        demo_train.images, demo_train.labels
    )


@pytest.fixture(scope="module")
def features(demo_train):
    return (
        blurkit.SharpnessFeatures()
        .set_output(transform="pandas")
        .fit_transform(demo_train.images)
    )


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_cv_results_one_bar_per_candidate_best_on_top(search):
    ax = plot_cv_results(search, ax=Figure().add_subplot())
    table = blurkit.cv_results_table(search)
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # top first
    assert len(bars) == len(table)
    labels = [
        t.get_text()
        for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    ]
    assert labels[0] == table.candidate[0]
    assert sorted(labels) == sorted(table.candidate)
    # Bar lengths are the mean scores, in rank order.
    widths = [bar.get_width() for bar in bars]
    np.testing.assert_allclose(
        widths, np.sort(search.cv_results_["mean_test_score"])[::-1]
    )
    # One dot per fold and candidate.
    dots = np.concatenate(
        [line.get_xdata() for line in ax.get_lines() if line.get_marker() == "o"]
    )
    assert len(dots) == 2 * len(table)


def test_plot_cv_results_any_search_and_new_figure(features, demo_train):
    generic = GridSearchCV(
        LogisticRegression(max_iter=1000), {"C": [0.01, 1.0]}, cv=3
    ).fit(features, demo_train.labels)
    ax = plot_cv_results(generic)
    assert {t.get_text() for t in ax.get_yticklabels()} == {"C=0.01", "C=1.0"}
    assert ax.figure.axes == [ax]


def test_plot_cv_results_needs_a_fitted_search():
    with pytest.raises(ValueError, match="fit the search first"):
        plot_cv_results(GridSearchCV(LogisticRegression(), {"C": [1.0]}))


def test_plot_feature_distributions_one_panel_per_feature(features, demo_train):
    fig = plot_feature_distributions(
        features, demo_train.labels, n_cols=5, fig=Figure()
    )
    assert [ax.get_title() for ax in fig.axes] == list(features.columns)
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["blurred", "sharp"]
    # Each panel: one histogram per class, in the class colours.
    first = fig.axes[0]
    assert len(first.patches) == 2
    colours = {to_hex(p.get_facecolor(), keep_alpha=False) for p in first.patches}
    assert colours == {"#e69f00", "#0072b2"}


def test_plot_feature_distributions_array_input_and_names(demo_train):
    X = np.random.default_rng(0).normal(size=(80, 3))
    fig = plot_feature_distributions(
        X, demo_train.labels, feature_names=["a", "b", "c"], fig=Figure()
    )
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    fig = plot_feature_distributions(pd.DataFrame(X), demo_train.labels)
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros((4, 8, 8)), [0, 1, 0, 1], {}, "2-D feature table"),
        (np.zeros((4, 2)), [0, 1], {}, "4 rows but y has 2"),
        (np.zeros((4, 2)), [0, 1, 0, 1], {"feature_names": ["a"]}, "1 feature names"),
    ],
)
def test_plot_feature_distributions_errors(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_distributions(X, y, fig=Figure(), **kwargs)


def test_plot_gallery_titles_and_wrong_predictions():
    rng = np.random.default_rng(0)
    images = rng.random((5, 12, 12))
    predictions = np.array([1, 0, 1, 0, 1])
    labels = np.array([1, 0, 0, 0, 1])  # the third is wrong
    fig = plot_gallery(
        images,
        predictions,
        labels=labels,
        proba=[0.9, 0.1, 0.7, 0.2, 0.99],
        sigma=[0.1, 3.0, 0.5, 2.5, 0.0],
        subjects=[f"s{i}" for i in range(5)],
        n_cols=3,
        fig=Figure(),
    )
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(shown) == 5 and len(fig.axes) == 6  # a 2 x 3 grid
    titles = [ax.get_title() for ax in shown]
    assert titles[0] == "s0\nsharp\np=0.90 σ=0.1 px"
    assert titles[2] == "s2\nsharp (true: blurred)\np=0.70 σ=0.5 px"
    colours = [to_hex(ax.title.get_color()) for ax in shown]
    assert colours[2] != colours[0] == colours[1] == "#000000"
    np.testing.assert_array_equal(shown[1].get_images()[0].get_array(), images[1])
    assert shown[0].get_images()[0].get_clim() == (0.0, 1.0)


def test_plot_gallery_minimal_and_errors():
    images = [np.zeros((4, 4)), np.ones((6, 3))]  # sizes may differ
    fig = plot_gallery(images, [0, 1])
    assert [ax.get_title() for ax in fig.axes] == ["blurred", "sharp"]
    with pytest.raises(ValueError, match="at least one image"):
        plot_gallery([], [])
    with pytest.raises(ValueError, match="proba has 1 values for 2 images"):
        plot_gallery(images, [0, 1], proba=[0.5])


def test_plot_features_example_writes_pngs(tmp_path):
    module = runpy.run_path(str(ROOT / "examples" / "plot_features.py"))
    status = module["main"](
        ["--data", str(DEMO_DATA), "--out", str(tmp_path / "plots"), "--cv", "2"]
    )
    assert status == 0
    for name in ("feature_distributions", "cv_results", "gallery", "outer_features"):
        with Image.open(tmp_path / "plots" / f"{name}.png") as im:
            assert im.width > 400 and im.height > 200
            assert np.asarray(im.convert("L")).std() > 10  # not blank
    assert module["main"](["--data", str(tmp_path), "--out", str(tmp_path)]) == 1

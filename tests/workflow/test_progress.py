import contextlib
import io

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from blurkit.workflow._progress import CVProgress


def test_cv_progress_counts_multiline_records_and_passes_other_text():
    log = io.StringIO()
    stream = CVProgress(3, log)
    stream.write("Fitting 3 folds for each of 1 candidates, totalling 3 fits\n")
    stream.write("[CV] END estimator=Pipeline(steps=[('a',\n")
    stream.write("    A())]); total time=   0.1s\n[CV] END C=1; total")
    stream.write(" time=   0.1s\n")
    stream.write("[CV] END C=2; total time=   0.1s")  # no newline yet
    stream.flush()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("Fitting 3 folds")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "Cross-validation: 1/3 fits done",
        "Cross-validation: 2/3 fits done",
        "Cross-validation: 3/3 fits done",
    ]
    assert "0 left" in lines[-1]
    assert "Pipeline" not in log.getvalue()


def test_cv_progress_with_a_real_search():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 2)), np.arange(30) % 2
    log = io.StringIO()
    stream = CVProgress(6, log)
    search = GridSearchCV(LogisticRegression(), {"C": [1.0, 2.0]}, cv=3, verbose=2)
    with contextlib.redirect_stdout(stream):
        search.fit(X, y)
    stream.flush()
    assert stream.done == 6
    assert log.getvalue().count("fits done") == 6

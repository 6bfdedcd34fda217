"""One ``n_jobs`` governs torch, BLAS and OpenMP threads, in predict and train.

The thread counts are read inside the work (a patched fit, a model's
predict_proba), never timed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from blurkit._threads import inner_thread_limits, worker_thread_limits
from blurkit.models import BlurDetector
from blurkit.workflow import predict_files, train_detector

DATA = Path(__file__).resolve().parents[1] / "data"


def _thread_counts():
    """BLAS and OpenMP thread counts of every loaded runtime, and torch's."""
    counts = {
        (info["user_api"], info["filepath"]): info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] in ("blas", "openmp")
    }
    return counts, torch.get_num_threads()


class _Stop(Exception):
    """Raised by the patched fit once it has seen the thread counts."""


class _RecordingModel:
    classes_ = np.array([0, 1])

    def __init__(self):
        self.seen = []

    def predict_proba(self, images):
        self.seen.append(_thread_counts())
        return np.tile([0.3, 0.7], (len(images), 1))


def _assert_all_one(seen):
    assert seen
    for counts, torch_threads in seen:
        assert torch_threads == 1
        assert counts and set(counts.values()) == {1}, counts


def test_predict_n_jobs_1_runs_every_library_on_one_thread(tmp_path):
    model = _RecordingModel()
    predict_files(
        model, [DATA / "validation"], tmp_path / "out.tsv", n_jobs=1, batch_size=8
    )
    _assert_all_one(model.seen)


def test_train_n_jobs_1_runs_every_library_on_one_thread(monkeypatch):
    seen = []

    def fit(self, X, y):
        seen.append(_thread_counts())
        raise _Stop

    monkeypatch.setattr(BlurDetector, "fit", fit)
    with pytest.raises(_Stop):
        train_detector(DATA / "train", family="cnn", n_jobs=1, log=None)
    _assert_all_one(seen)


def test_blurkit_train_passes_n_jobs(monkeypatch, tmp_path):
    from blurkit.cli import main

    seen = []

    def fit(self, X, y):
        seen.append(_thread_counts())
        raise _Stop

    monkeypatch.setattr(BlurDetector, "fit", fit)
    with pytest.raises(_Stop):
        main(
            ["train", str(DATA / "train"), "-o", str(tmp_path / "m.blurkit")]
            + ["--n-jobs", "1", "-q"]
        )
    _assert_all_one(seen)


def test_limits_are_restored_afterwards():
    before = _thread_counts()
    with inner_thread_limits(1):
        _assert_all_one([_thread_counts()])
    assert _thread_counts() == before
    with worker_thread_limits(1):
        _assert_all_one([_thread_counts()])
    assert _thread_counts() == before


def _environment(names):
    return {name: os.environ.get(name) for name in names}


def test_worker_processes_keep_freed_memory(monkeypatch):
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    from blurkit._process import KEPT_MEMORY_VARIABLES

    # Workers read the variables when they start: stop those of earlier tests.
    get_reusable_executor().shutdown(wait=True)

    names = list(KEPT_MEMORY_VARIABLES)
    for name in names:
        monkeypatch.delenv(name, raising=False)
    # A variable set by the user is kept, in the workers too.
    monkeypatch.setenv(names[1], "4096")
    with worker_thread_limits(2):
        seen = Parallel(n_jobs=2)(delayed(_environment)(names) for _ in range(2))
    expected = {names[0]: KEPT_MEMORY_VARIABLES[names[0]], names[1]: "4096"}
    assert seen == [expected, expected]
    # This process's environment is left as it was.
    assert _environment(names) == {names[0]: None, names[1]: "4096"}
    with worker_thread_limits(1):
        assert _environment(names) == {names[0]: None, names[1]: "4096"}

"""One ``n_jobs`` governs torch, BLAS and OpenMP threads, in predict and train.

The thread counts are read inside the work (a patched fit, a model's
predict_proba), never timed.
"""

from __future__ import annotations

import os
import sys
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


def test_unset_n_jobs_follow_the_workers():
    # A joblib call that leaves n_jobs unset, as a StackingClassifier's
    # stacking folds do, runs on the workers, and alone without them.
    from joblib import Parallel

    with worker_thread_limits(2):
        assert Parallel().n_jobs == 2
        assert Parallel(n_jobs=1).n_jobs == 1
    with worker_thread_limits(1):
        assert Parallel().n_jobs == 1


def _environment(names):
    return {name: os.environ.get(name) for name in names}


def _worker_settings(names):
    from numpy._core.multiarray import _get_madvise_hugepage

    return _environment(names), _get_madvise_hugepage()


def test_worker_processes_get_the_memory_settings(monkeypatch):
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    from blurkit._process import MEMORY_VARIABLES

    # Workers read the variables when they start: stop those of earlier tests.
    get_reusable_executor().shutdown(wait=True)

    names = list(MEMORY_VARIABLES)
    for name in names:
        monkeypatch.delenv(name, raising=False)
    # A variable set by the user is kept, in the workers too.
    monkeypatch.setenv(names[1], "4096")
    with worker_thread_limits(2):
        seen = Parallel(n_jobs=2)(delayed(_worker_settings)(names) for _ in range(2))
    expected = {**MEMORY_VARIABLES, names[1]: "4096"}
    # numpy read NUMPY_MADVISE_HUGEPAGE=0 when the worker imported it.
    assert seen == [(expected, False), (expected, False)]
    # This process's environment is left as it was.
    unset = {name: None for name in names} | {names[1]: "4096"}
    assert _environment(names) == unset
    with worker_thread_limits(1):
        assert _environment(names) == unset


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="numpy advises huge pages on Linux"
)
@pytest.mark.parametrize("user_value", [None, "1"])
def test_command_process_settings_before_numpy_loads(user_value):
    import subprocess

    code = (
        "import os, blurkit.cli\n"
        "from numpy._core.multiarray import _get_madvise_hugepage\n"
        "print(os.environ['NUMPY_MADVISE_HUGEPAGE'], _get_madvise_hugepage())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if user_value is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = user_value
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    value, hugepage = result.stdout.split()
    # The command's default, unless the user chose; numpy follows either.
    assert value == (user_value or "0")
    assert hugepage == str(value == "1")

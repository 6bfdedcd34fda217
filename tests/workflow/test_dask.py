"""Prediction and model selection on a Dask cluster (blurkit[dask]).

One small LocalCluster on 127.0.0.1 (two single-thread worker processes) serves
the whole module; every test compares with the same work done in this process.
"""

import errno
import os
import shutil
import sys

import joblib
import numpy as np
import pytest
from conftest import DEMO_DATA
from PIL import Image
from sklearn.model_selection import GridSearchCV, StratifiedKFold

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from blurkit.cli import main  # noqa: E402
from blurkit.exceptions import BlurkitInputError  # noqa: E402
from blurkit.io import load_dataset, save_model  # noqa: E402
from blurkit.models import (  # noqa: E402
    BlurDetector,
    BlurSigmaRegressor,
    make_feature_pipeline,
)
from blurkit.workflow import dask_client, predict_files  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with dask_client("local") as client:
        yield client


@pytest.fixture(scope="module")
def demo():
    return load_dataset(DEMO_DATA / "train")


@pytest.fixture(scope="module")
def detector(demo):
    # A small sigma regressor: what is tested is where the work runs.
    return BlurDetector(
        classifier=make_feature_pipeline(),
        sigma_estimator=BlurSigmaRegressor(max_iter=20, random_state=0),
        random_state=0,
    ).fit(demo.images[:24], demo.labels[:24])


@pytest.fixture
def image_folder(tmp_path, demo):
    """25 images, some of another size, listed by a subjects.tsv out of order."""
    folder = tmp_path / "images"
    folder.mkdir()
    sources = sorted((DEMO_DATA / "validation").glob("*.png"))
    subjects = []
    for i in range(25):
        subject = f"img{(i * 7) % 25:02d}"
        if i % 5 == 4:
            # Another size, so that a chunk mixes image shapes.
            pixels = np.asarray(Image.open(sources[i % len(sources)]))[10:-10, 5:-5]
            Image.fromarray(pixels).save(folder / f"{subject}.png")
        else:
            shutil.copy(sources[i % len(sources)], folder / f"{subject}.png")
        subjects.append(subject)
    (folder / "subjects.tsv").write_text("Subject\n" + "\n".join(subjects) + "\n")
    return folder


def _predict(detector, folder, out, **kwargs):
    skipped = predict_files(
        detector,
        [folder],
        out,
        probability=True,
        sigma=True,
        batch_size=4,
        log=None,
        **kwargs,
    )
    return skipped, out.read_bytes()


def test_local_cluster_listens_on_loopback_only(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    assert all(info["nthreads"] == 1 for info in workers.values())


def test_cluster_predictions_equal_single_process(
    client, detector, image_folder, tmp_path
):
    _, threads = _predict(detector, image_folder, tmp_path / "threads.tsv")
    _, serial = _predict(detector, image_folder, tmp_path / "serial.tsv", n_jobs=1)
    with distributed.get_task_stream(client) as stream:
        _, on_dask = _predict(
            detector, image_folder, tmp_path / "dask.tsv", scheduler=client
        )
    # 25 images in chunks of 4: 7 tasks ran on the workers.
    assert len([t for t in stream.data if "predict_chunk" in t["key"]]) == 7
    assert on_dask == threads == serial
    subjects = [line.split("\t")[0] for line in on_dask.decode().splitlines()[1:]]
    listed = (image_folder / "subjects.tsv").read_text().split()[1:]
    assert subjects == listed


def test_cluster_skips_unreadable_files_like_single_process(
    client, detector, image_folder, tmp_path
):
    (image_folder / "img03.png").write_bytes(b"not a png")
    (image_folder / "img17.png").write_bytes(b"")
    expected = _predict(
        detector, image_folder, tmp_path / "threads.tsv", on_error="skip"
    )
    result = _predict(
        detector, image_folder, tmp_path / "dask.tsv", on_error="skip", scheduler=client
    )
    assert result == expected
    assert [path.rsplit("/", 1)[1] for path, _ in result[0]] == [
        "img03.png",
        "img17.png",
    ]
    assert b"img03" not in result[1] and b"img04" in result[1]


def test_cluster_raises_for_first_unreadable_file(
    client, detector, image_folder, tmp_path
):
    (image_folder / "img21.png").write_bytes(b"not a png")
    (image_folder / "img10.png").write_bytes(b"not a png either")
    out = tmp_path / "out.tsv"
    # img21 is listed 4th in subjects.tsv (first chunk), img10 6th (second).
    with pytest.raises(BlurkitInputError, match="img21.png"):
        _predict(detector, image_folder, out, scheduler=client)
    assert not out.exists()


def test_relative_paths_reach_workers_in_another_folder(
    client, detector, image_folder, tmp_path, monkeypatch
):
    # The workers started in the folder the tests started in; the client now
    # runs in another one and names its inputs relative to it.
    _, expected = _predict(detector, image_folder, tmp_path / "threads.tsv")
    monkeypatch.chdir(image_folder.parent)
    _, on_dask = _predict(
        detector, image_folder.name, tmp_path / "dask.tsv", scheduler=client
    )
    assert on_dask == expected


def test_cli_predict_on_scheduler_address(client, detector, image_folder, tmp_path):
    model = tmp_path / "model.bkm"
    save_model(detector, model)
    outputs = []
    for extra in ([], ["--scheduler", client.scheduler.address]):
        out = tmp_path / f"out{len(outputs)}.tsv"
        args = ["predict", str(model), str(image_folder), "-o", str(out), "--proba"]
        assert main([*args, "--batch-size", "3", "-q", *extra]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == 26


def test_grid_search_through_joblib_dask_backend(client, demo):
    images, labels = demo.images[:40], demo.labels[:40]
    grid = {"classify__C": [0.1, 10.0], "features__n_orientations": [2, 4]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)

    def search():
        return GridSearchCV(make_feature_pipeline(), grid, cv=cv)

    local = search().fit(images, labels)
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        on_dask = search().fit(images, labels)
    # The fits ran on the workers (joblib may batch the 8 fits into fewer
    # tasks, so count tasks, not fits).
    assert len(stream.data) >= 1
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        on_dask.predict_proba(images), local.predict_proba(images)
    )


def test_dask_client_rejects_a_scheduler_that_is_not_an_address():
    with pytest.raises(ValueError, match="scheduler must be"):
        with dask_client(8786):
            pass


def test_missing_dask_is_one_cli_error_line(
    monkeypatch, detector, image_folder, tmp_path, capsys
):
    model = tmp_path / "model.bkm"
    save_model(detector, model)
    monkeypatch.setitem(sys.modules, "distributed", None)
    out = tmp_path / "out.tsv"
    args = ["predict", str(model), str(image_folder), "-o", str(out)]
    assert main([*args, "--scheduler", "local"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("blurkit: error: ") and error.count("\n") == 1
    assert "blurkit[dask]" in error
    assert not out.exists()


# --------------------------------------------------------------------------- #
# Faults: a worker lost mid-run, a worker that cannot read a file
# --------------------------------------------------------------------------- #


class _KillOnFirstProgress:
    """A log stream that kills one worker when the first chunk is reported.

    predict_files reports progress after consuming each chunk, so the kill
    comes after one result was collected, while the others are running or
    held, uncollected, on the workers: deterministic, without sleeping.
    """

    def __init__(self, client):
        self.client, self.killed = client, []

    def write(self, text):
        if not self.killed and text.strip():
            # The worker running or holding the most chunks still to collect.
            held = self.client.has_what()
            running = self.client.processing()
            chunks = {
                worker: sum(
                    "predict_chunk" in str(key)
                    for key in [*held[worker], *running.get(worker, ())]
                )
                for worker in held
            }
            victim = max(sorted(chunks), key=chunks.get)
            self.client.run(os._exit, 1, workers=[victim], on_error="ignore")
            self.killed.append((victim, chunks[victim]))

    def flush(self):
        pass


def test_a_worker_killed_mid_run_costs_nothing(detector, image_folder, tmp_path):
    _, expected = _predict(detector, image_folder, tmp_path / "threads.tsv")
    # A cluster of its own: the module's keeps its two workers.
    with dask_client("local") as client:
        log = _KillOnFirstProgress(client)
        with distributed.get_task_stream(client) as stream:
            skipped = predict_files(
                detector,
                [image_folder],
                tmp_path / "dask.tsv",
                probability=True,
                sigma=True,
                batch_size=1,
                scheduler=client,
                log=log,
            )
        [(victim, chunks_lost)] = log.killed
        # It died with work in hand: chunks running, or results not yet
        # collected, which the others then computed.
        assert chunks_lost >= 1 and skipped == []
        assert victim not in client.scheduler_info()["workers"]
    assert (tmp_path / "dask.tsv").read_bytes() == expected
    assert len([t for t in stream.data if "predict_chunk" in t["key"]]) >= 25


class _OSWatching:
    """The os module as the image reader sees it, but for ``paths``: opening
    or examining one of them calls ``action(path)`` instead."""

    def __init__(self, paths, action):
        self._paths, self._action = {str(path) for path in paths}, action

    def __getattr__(self, name):
        return getattr(os, name)

    def _watch(self, function, path, *args, **kwargs):
        if str(path) in self._paths:
            return self._action(path)
        return function(path, *args, **kwargs)

    def stat(self, path, *args, **kwargs):
        return self._watch(os.stat, path, *args, **kwargs)

    def open(self, path, *args, **kwargs):
        return self._watch(os.open, path, *args, **kwargs)


def _hide_from_this_worker(paths, error):
    """os.stat fails on these paths here, as on a worker whose file system
    lacks them (``error`` ENOENT) or may not read them (EACCES)."""
    import blurkit.io._images as images

    def refuse(path):
        raise OSError(error, os.strerror(error), str(path))

    images.os = _OSWatching(paths, refuse)
    return True


def _show_again():
    import blurkit.io._images as images

    images.os = os
    return True


@pytest.mark.parametrize("error", [errno.ENOENT, errno.EACCES])
def test_a_file_a_worker_cannot_read_is_named(
    client, detector, image_folder, tmp_path, error
):
    hidden = str(image_folder / "img10.png")
    assert client.run(_hide_from_this_worker, [hidden], error)
    try:
        with pytest.raises((OSError, ValueError), match="img10.png") as exc_info:
            _predict(detector, image_folder, tmp_path / "out.tsv", scheduler=client)
        assert "\n" not in str(exc_info.value)
        assert not (tmp_path / "out.tsv").exists()
        if error == errno.ENOENT:
            assert isinstance(exc_info.value, BlurkitInputError)
            skipped, output = _predict(
                detector,
                image_folder,
                tmp_path / "skip.tsv",
                scheduler=client,
                on_error="skip",
            )
            assert [path for path, _ in skipped] == [hidden]
            assert output.count(b"\n") == 25 and b"img10" not in output
    finally:
        client.run(_show_again)


def test_a_chunk_that_keeps_killing_workers_is_named(detector, image_folder):
    # A file that kills whichever worker reads it (a decoder crash): after
    # the allowed failures (none here), the run stops and names the chunk.
    with (
        # One task at a time per worker (saturation 1.0), so that the dying
        # worker holds only the chunk that kills it: with tasks queued on it,
        # these fail with it, and an earlier one could be the one named.
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": 0,
                "distributed.scheduler.worker-saturation": 1.0,
            }
        ),
        dask_client("local") as client,
    ):
        client.register_plugin(_ExitOnRead(str(image_folder / "img10.png")))
        with pytest.raises(BlurkitInputError) as exc_info:
            predict_files(
                detector,
                [image_folder],
                image_folder / "out.tsv",
                batch_size=1,
                scheduler=client,
                log=None,
            )
    message = str(exc_info.value)
    assert message.startswith(str(image_folder / "img10.png"))
    assert "workers died" in message and "\n" not in message


class _ExitOnRead(distributed.WorkerPlugin):
    def __init__(self, path):
        self.path = path

    def setup(self, worker):
        import blurkit.io._images as images

        images.os = _OSWatching([self.path], lambda path: os._exit(1))

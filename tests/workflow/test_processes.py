"""Streaming prediction in forked worker processes (Linux only).

The test process has loaded torch, so it never forks workers itself
(``can_fork_workers`` refuses): each case runs in a fresh interpreter, as
``blurkit predict`` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="workers are forked on Linux only"
)


def _run(code, *args):
    """Run ``code`` in a fresh interpreter (blurkit.cli's process settings)."""
    script = "import blurkit.cli\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result


_PIDS = """
import json, os, sys
from blurkit._threads import can_fork_workers
from blurkit.workflow._predict import _map_chunks

def work(chunk):
    return os.getpid(), [2 * x for x in chunk]

chunks = [[i, i + 1] for i in range(0, 20, 2)]
print(json.dumps({
    "can_fork": can_fork_workers(),
    "parent": os.getpid(),
    "results": list(_map_chunks(work, chunks, n_jobs=int(sys.argv[1]))),
}))
"""


def test_chunks_run_in_forked_workers_in_order():
    result = _run(_PIDS, 2)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["can_fork"]
    pids = {pid for pid, _ in out["results"]}
    assert out["parent"] not in pids
    assert 1 <= len(pids) <= 2
    assert [values for _, values in out["results"]] == [
        [2 * i, 2 * i + 2] for i in range(0, 20, 2)
    ]


def test_one_job_or_a_thread_running_keeps_work_in_this_process():
    result = _run(_PIDS, 1)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {pid for pid, _ in out["results"]} == {out["parent"]}
    # Another thread running: forking could deadlock, so threads do the work.
    threaded = _run(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        + _PIDS,
        2,
    )
    assert threaded.returncode == 0, threaded.stderr
    out = json.loads(threaded.stdout)
    assert not out["can_fork"]
    assert {pid for pid, _ in out["results"]} == {out["parent"]}


_PREDICT = """
import sys
import blurkit.workflow._predict as streaming
from blurkit.io import load_predictor

if sys.argv[1] == "threads":
    streaming.can_fork_workers = lambda: False
# Asked before, as predict_files does: right after it, a second thread (most
# likely the finished pool's) is sometimes still alive for a moment.
forks = streaming.can_fork_workers()
skipped = streaming.predict_files(
    load_predictor(), sys.argv[3:], sys.argv[2], probability=True,
    batch_size=4, n_jobs=2, on_error="skip", log=None,
)
print(len(skipped), forks)
"""


def test_processes_predict_exactly_as_threads(tmp_path):
    # Unreadable files in the middle: skipped the same way in both.
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    inputs = [DATA / "validation", bad, DATA / "train"]
    outputs = {}
    for mode in ("threads", "processes"):
        outputs[mode] = tmp_path / f"{mode}.tsv"
        result = _run(_PREDICT, mode, outputs[mode], *inputs)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["1", str(mode == "processes")]
    text = outputs["processes"].read_text()
    assert text == outputs["threads"].read_text()
    assert len(text.splitlines()) > 40


_FAILING = """
import os, sys, time
from blurkit.exceptions import BlurkitInputError
from blurkit.workflow._predict import _map_chunks

def work(chunk):
    if chunk == [3] or (chunk == [0] and sys.argv[1] == "die-first"):
        if sys.argv[1] == "raise":
            raise BlurkitInputError("f3.png: cannot decode image")
        os._exit(9)  # a worker killed, as by the OOM killer
    return chunk

class SlowChunks(list):
    # The next chunk is submitted after the first one's worker has died: the
    # submission itself then fails, before any result is asked for.
    def __iter__(self):
        for i, chunk in enumerate(list.__iter__(self)):
            if i == 1 and sys.argv[1] == "die-first":
                time.sleep(1.0)
            yield chunk

try:
    for result in _map_chunks(work, SlowChunks([i] for i in range(8)), n_jobs=2):
        pass
except Exception as exc:
    print(type(exc).__name__, "|", exc)
"""


@pytest.mark.parametrize(
    "how, expected",
    [
        ("raise", "BlurkitInputError | f3.png: cannot decode image"),
        ("die", "ChildProcessError | a worker process stopped abruptly"),
        ("die-first", "ChildProcessError | a worker process stopped abruptly"),
    ],
)
def test_a_failing_worker_is_one_clear_error(how, expected):
    result = _run(_FAILING, how)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected), result.stdout


def test_the_heap_is_left_out_of_collections_while_chunks_run():
    # In this process (threads: torch is loaded here) as in forked workers,
    # the objects made before the run are frozen while the chunks run, and
    # the collector is as it was afterwards, a caller's own freeze included.
    import gc

    from blurkit.workflow._predict import _map_chunks

    def frozen(chunk):
        return gc.get_freeze_count() > 0

    assert gc.get_freeze_count() == 0
    for n_jobs in (1, 2):
        assert all(_map_chunks(frozen, [[0], [1], [2]], n_jobs=n_jobs))
        assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        assert all(_map_chunks(frozen, [[0], [1]], n_jobs=2))
        assert gc.get_freeze_count() == count
    finally:
        gc.unfreeze()

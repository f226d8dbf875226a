"""The local executor's warm run processes, driven directly (no worker):
a run's result does not depend on what its process trained before; a
process is replaced after its run budget and after an idle spell; a cancel
stops the run; the training side never needs the workspace."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import TINY_TRAINING, labeled
from worker_helpers import queue_runs

from core.jobs.local_executor import LocalExecutor
from core.jobs.records import Status
from core.jobs.runner import task_for
from core.jobs.store import Store
from core.jobs.tasks import Done, Ended, Started
from core.settings import Settings

pytestmark = pytest.mark.slow  # each test starts processes that import TensorFlow


def executor(tmp_path, **settings) -> LocalExecutor:
    return LocalExecutor(Settings(workspace=tmp_path, heartbeat_s=0.5, **settings), slots=1, threads=1)


def run_all(ex: LocalExecutor, tasks, timeout: float = 240) -> tuple[dict[int, object], list[int]]:
    """Submit every task, poll until each has a final event; returns the final
    events by run id and the pid each run started in, in order."""
    for task in tasks:
        ex.submit(task)
    ended: dict[int, object] = {}
    pids: list[int] = []
    deadline = time.monotonic() + timeout
    while len(ended) < len(tasks):
        assert time.monotonic() < deadline, f"only {len(ended)} of {len(tasks)} runs ended"
        for event in ex.poll(0.2):
            if isinstance(event, Started):
                pids.append(event.pid)
            elif isinstance(event, (Done, Ended)):
                ended[event.run_id] = event
    return ended, pids


def test_a_warm_process_gives_the_same_result_first_or_fifth(tmp_path):
    store = Store(tmp_path / "ws")
    data = labeled({"bad": 14, "ok": 20, "good": 40}, seed=3)
    training = dict(TINY_TRAINING, epochs=2)
    first = queue_runs(store, data, ("baseline",), training=training)
    between = queue_runs(store, data, ("easy_ensemble(members=2)", "feature_smote", "augment"),
                         training=training)
    fifth = queue_runs(store, data, ("baseline",), training=training)
    tasks = [task_for(store, i) for i in first + between + fifth]
    ex = executor(tmp_path)
    try:
        ended, pids = run_all(ex, tasks)
    finally:
        ex.shutdown()
    assert all(isinstance(e, Done) for e in ended.values()), {i: e for i, e in ended.items() if not isinstance(e, Done)}
    assert len(set(pids)) == 1  # one warm process trained all five
    a, b = ended[first[0]].result, ended[fifth[0]].result
    assert a.predictions["proba"].tobytes() == b.predictions["proba"].tobytes()
    assert {k: v for k, v in a.metrics.items() if k[1] != "fit_seconds"} == \
        {k: v for k, v in b.metrics.items() if k[1] != "fit_seconds"}
    assert a.model and a.model[:2] == b"PK"  # the saved model travels back as a zip file's bytes


def test_a_process_is_replaced_after_its_run_budget_and_after_idling(tmp_path):
    store = Store(tmp_path / "ws")
    run_ids = queue_runs(store, labeled({"bad": 10, "ok": 14, "good": 20}), ("baseline", "class_weight", "focal"),
                         training=TINY_TRAINING)
    tasks = [task_for(store, i) for i in run_ids]
    ex = executor(tmp_path, slot_max_runs=2, slot_idle_s=1.0)
    try:
        ended, pids = run_all(ex, tasks[:3])
        assert all(isinstance(e, Done) for e in ended.values())
        assert pids[0] == pids[1] != pids[2]  # a new process after two runs
        deadline = time.monotonic() + 30
        while ex._slots and time.monotonic() < deadline:
            ex.poll(0.5)
        assert ex._slots == []  # the idle process left (an idle TensorFlow process holds ≈0.9 GB)
        ended, later = run_all(ex, [task_for(store, run_ids[0])])
        assert isinstance(ended[run_ids[0]], Done) and later[0] not in pids
    finally:
        ex.shutdown()


def test_a_cancel_stops_the_run_at_its_next_batch(tmp_path):
    store = Store(tmp_path / "ws")
    (run_id,) = queue_runs(store, labeled({"bad": 30, "ok": 90, "good": 180}, seed=1), ("baseline",),
                           training=dict(TINY_TRAINING, batch_size=2, epochs=400, patience=400))
    ex = executor(tmp_path)
    try:
        ex.submit(task_for(store, run_id))
        deadline = time.monotonic() + 120
        while True:  # wait for progress from the fit, then cancel
            assert time.monotonic() < deadline
            events = ex.poll(0.2)
            if any(getattr(e, "progress", None) and e.progress.get("stage") == "fit" for e in events):
                break
        ex.cancel(run_id)
        ended: dict = {}
        while not ended:
            assert time.monotonic() < deadline + 30
            ended = {e.run_id: e for e in ex.poll(0.2) if isinstance(e, (Done, Ended))}
        event = ended[run_id]
        assert isinstance(event, Ended) and event.status == Status.CANCELLED and event.kind == "cancelled"
        assert ex.running() == set()
    finally:
        ex.shutdown()


def test_the_training_side_needs_no_workspace(tmp_path):
    """A task trains after its workspace is gone: everything travels with it."""
    import shutil

    from core.jobs.training import train_run

    store = Store(tmp_path / "ws")
    (run_id,) = queue_runs(store, labeled({"bad": 10, "ok": 14, "good": 20}), ("baseline",), training=TINY_TRAINING)
    task = task_for(store, run_id)
    shutil.rmtree(store.root)
    result = train_run(task)
    assert result.summary["run_id"] == run_id and result.model[:2] == b"PK"
    assert np.isclose(result.predictions["proba"].sum(axis=1), 1, atol=1e-4).all()

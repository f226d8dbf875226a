"""The worker service with real processes: the lease, training in spawned
children, kills of children and of the worker, cancels, stale heartbeats and
write failures. Every wait polls the store with a timeout."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY_TRAINING, labeled
from worker_helpers import (  # noqa: F401  (workers is a fixture)
    LONG_TRAINING,
    PROJECT,
    WORKER_ENV,
    assert_no_leftovers,
    long_data,
    mid_epoch,
    queue_runs,
    tiny_data,
    workers,
)

from benchmarks.processes import wait_for
from core.jobs.processes import pid_alive
from core.jobs.store import Status, Store


def test_a_second_worker_on_the_same_workspace_refuses_to_start(tmp_path, workers):
    from core.jobs.lease import lease_holder, live_worker_serves

    store = Store(tmp_path / "ws")
    first = workers.start(store.root, "--slots", "1")
    holder = wait_for(lambda: lease_holder(store, 10.0), 30, "the first worker's lease")
    assert holder == first.pid
    # it records how it trains, so the app says so rather than what its own settings would start
    serves = wait_for(lambda: live_worker_serves(store, 10.0), 30, "the worker to say how it trains")
    assert serves == {"executor": "local", "ray_address": None, "slots": 1, "pid": first.pid}
    second = subprocess.run([sys.executable, "-m", "core", "--workspace", str(store.root), "worker"], cwd=PROJECT,
                            env={**os.environ, **WORKER_ENV}, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"a worker (pid {first.pid}) already serves the workspace" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.poll() is None and lease_holder(store, 10.0) == first.pid  # the first one carries on
    first.send_signal(signal.SIGTERM)
    assert workers.finish(first, 15) == 0
    assert lease_holder(store, 10.0) is None  # released on a clean stop


def test_a_worker_that_lost_its_lease_stops(tmp_path, workers):
    """A worker stalled past ``stale_after_s`` may be replaced; when it wakes
    up it must not serve the workspace beside its successor."""
    from core.jobs.lease import lease_holder

    store = Store(tmp_path / "ws")
    worker = workers.start(store.root)
    wait_for(lambda: lease_holder(store, 10.0), 30, "the worker's lease")
    successor = subprocess.Popen(["sleep", "60"])  # stands in for the worker that took over
    try:
        with store.connect(immediate=True) as db:
            db.execute("UPDATE worker_lease SET pid = ?, heartbeat = ?", (successor.pid, time.time()))
        assert workers.finish(worker, 10) == 0
        assert "another worker took over" in workers.log(worker)
        assert lease_holder(store, 10.0) == successor.pid  # the successor's lease is left alone
    finally:
        successor.kill()
        successor.wait()


def test_a_new_worker_interrupts_every_run_left_running(tmp_path, workers):
    """Pids get recycled: a run left 'running' whose recorded worker pid now
    belongs to a live, unrelated process is still an orphan — and the
    unrelated process that holds its old child pid is not killed."""
    store = Store(tmp_path / "ws")
    (run_id,) = queue_runs(store, tiny_data(), ("baseline",), training=TINY_TRAINING)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        store.claim_next(worker_pid=os.getpid())  # this test process: alive, and no worker
        store.set_child(run_id, bystander.pid)
        worker = workers.start(store.root, "--until-idle", IMBALANCE_LAB_WORKER_SLOTS="1")
        assert workers.finish(worker, 60) == 0, workers.log(worker)
        run = store.run(run_id)
        assert run.status == "interrupted" and "worker stopped" in run.error
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_the_worker_alias_and_auto_start_take_the_workspace_argument(tmp_path, workers, monkeypatch):
    """``python -m core.worker --workspace W`` and the app's auto-start both start a worker for W."""
    from core.jobs.lease import ensure_worker, lease_holder

    store = Store(tmp_path / "ws")
    alias = subprocess.run([sys.executable, "-m", "core.worker", "--workspace", str(store.root), "--until-idle"],
                           cwd=PROJECT, env={**os.environ, **WORKER_ENV}, capture_output=True, text=True, timeout=60)
    assert alias.returncode == 0, alias.stderr
    assert f"worker serving {store.root}" in alias.stderr

    monkeypatch.setenv("IMBALANCE_LAB_NO_AUTOSTART", "0")
    pid = ensure_worker(store.root)
    try:
        assert wait_for(lambda: lease_holder(store, 10.0), 30, "the auto-started worker's lease") == pid
        assert ensure_worker(store.root) == pid  # a live worker is reused, not doubled
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: lease_holder(store, 10.0) is None, 15, "the auto-started worker to stop")


def test_the_worker_trains_a_submitted_experiment_until_idle(tmp_path, workers):
    from core.jobs.experiments import ExperimentSpec, submit
    from core.jobs.lease import lease_holder
    from core.jobs.run_files import load_predictions, load_result
    from core.settings import TrainSettings

    store = Store(tmp_path / "ws")
    dataset_id = store.add_dataset(labeled({"bad": 12, "ok": 18, "good": 40}), name="tiny")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=1,
                                                 settings=TrainSettings(**TINY_TRAINING)))
    worker = workers.start(store.root, "--until-idle")
    assert workers.finish(worker, 120) == 0, workers.log(worker)
    runs = store.runs(experiment=experiment_id)
    assert [(r.recipe, r.status) for r in runs] == [("ref:majority", "finished"), ("ref:stratified", "finished"),
                                                    ("ref:tfidf_lr", "finished"), ("baseline", "finished")]
    for run in runs:
        assert run.attempts == 1 and run.error is None and run.worker_pid == worker.pid
        assert load_result(store, run.result_dir)["run_id"] == run.id
        assert len(load_predictions(store, run.result_dir)["y_pred"]) > 0
    lstm = runs[-1]
    assert lstm.progress and lstm.progress["epoch"] == 1  # the last progress report was kept
    assert (store.root / lstm.result_dir / "model.keras").is_file()
    assert_no_leftovers(store)
    assert lease_holder(store, 10.0) is None


def test_a_sigkilled_training_child_is_interrupted_and_can_be_requeued(tmp_path, workers):
    from core.jobs.run_files import load_result

    store = Store(tmp_path / "ws")
    (victim,) = queue_runs(store, long_data(), ("baseline",), training=dict(LONG_TRAINING, epochs=60, patience=60))
    (survivor,) = queue_runs(store, tiny_data(), ("class_weight",), training=TINY_TRAINING)
    worker = workers.start(store.root, "--until-idle")
    run = wait_for(lambda: mid_epoch(store, victim), 90, "the first run to train")
    from core.jobs.slot import RUN_NICENESS

    # Training runs below the app's priority (the worker's own niceness plus RUN_NICENESS).
    assert os.getpriority(os.PRIO_PROCESS, run.pid) == os.getpriority(os.PRIO_PROCESS, worker.pid) + RUN_NICENESS
    os.kill(run.pid, signal.SIGKILL)
    assert workers.finish(worker, 90) == 0, workers.log(worker)

    killed = store.run(victim)
    assert killed.status == "interrupted" and "killed by signal 9" in killed.error
    other = store.run(survivor)
    assert other.status == "finished" and other.attempts == 1
    assert load_result(store, other.result_dir)["recipe"] == "class_weight"
    assert_no_leftovers(store)  # the killed child's staging folder is gone too

    assert store.requeue(victim)
    again = workers.start(store.root, "--until-idle")
    assert workers.finish(again, 90) == 0, workers.log(again)
    rerun = store.run(victim)
    assert rerun.status == "finished" and rerun.attempts == 2 and rerun.error is None
    assert load_result(store, rerun.result_dir)["recipe"] == "baseline"
    assert store.run(survivor).finished == other.finished  # untouched by the second worker
    assert_no_leftovers(store)


def test_killing_the_worker_ends_its_children_and_the_next_worker_recovers(tmp_path, workers):
    store = Store(tmp_path / "ws")
    (victim,) = queue_runs(store, long_data(), ("baseline",))
    (waiting,) = queue_runs(store, tiny_data(), ("baseline",), training=TINY_TRAINING)
    worker = workers.start(store.root, IMBALANCE_LAB_WORKER_SLOTS="1")
    child = wait_for(lambda: mid_epoch(store, victim), 90, "the first run to train").pid
    worker.kill()
    worker.wait(timeout=10)
    wait_for(lambda: not pid_alive(child), 5, f"child {child} to die with its worker")
    assert [store.run(i).status for i in (victim, waiting)] == ["running", "queued"]

    successor = workers.start(store.root, "--until-idle")
    assert workers.finish(successor, 90) == 0, workers.log(successor)
    run = store.run(victim)
    assert run.status == "interrupted" and "worker stopped" in run.error
    resumed = store.run(waiting)
    assert resumed.status == "finished" and resumed.worker_pid == successor.pid
    assert_no_leftovers(store)


def test_a_worker_killed_while_its_child_starts_still_takes_the_child_along(tmp_path, workers):
    """The child asks to die with its parent only after its imports (seconds):
    a worker killed before then must not leave an orphan training on."""
    store = Store(tmp_path / "ws")
    (run_id,) = queue_runs(store, long_data(), ("baseline",), training=dict(LONG_TRAINING, epochs=400, patience=400))
    worker = workers.start(store.root)
    child = wait_for(lambda: store.run(run_id).pid, 60, "the child to be spawned")
    worker.kill()
    worker.wait(timeout=10)
    wait_for(lambda: not pid_alive(child), 15, f"orphaned child {child} to exit")
    assert store.run(run_id).status == "running"  # until the next worker marks it interrupted


def test_cancelling_running_runs_ends_them_as_cancelled(tmp_path, workers):
    """One run stops at its next batch; one whose process is frozen is killed after the grace period."""
    store = Store(tmp_path / "ws")
    polite, frozen = queue_runs(store, long_data(), ("baseline", "class_weight"),
                                training=dict(LONG_TRAINING, epochs=400, patience=400))
    worker = workers.start(store.root, "--until-idle")
    frozen_pid = wait_for(lambda: mid_epoch(store, polite) and mid_epoch(store, frozen)
                          and store.run(frozen).pid, 90, "both runs to train")
    os.kill(frozen_pid, signal.SIGSTOP)
    asked = time.monotonic()
    assert store.cancel(polite) == "cancelling"
    assert store.cancel(frozen) == "cancelling"
    wait_for(lambda: store.run(polite).status == "cancelled", 10, "the running run to stop")
    assert store.run(polite).error == "cancelled by the user"
    wait_for(lambda: store.run(frozen).status == "cancelled", 15, "the frozen run to be killed")
    assert time.monotonic() - asked >= 3  # not before the grace period
    assert "after the grace period" in store.run(frozen).error
    assert workers.finish(worker, 30) == 0, workers.log(worker)
    assert not pid_alive(frozen_pid)
    assert_no_leftovers(store)


def test_a_child_whose_heartbeat_goes_stale_is_killed_and_interrupted(tmp_path, workers):
    store = Store(tmp_path / "ws")
    (run_id,) = queue_runs(store, long_data(), ("baseline",), training=dict(LONG_TRAINING, epochs=400, patience=400))
    worker = workers.start(store.root, "--until-idle", IMBALANCE_LAB_STALE_AFTER_S="5")
    pid = wait_for(lambda: mid_epoch(store, run_id) and store.run(run_id).pid, 90, "the run to train")
    os.kill(pid, signal.SIGSTOP)  # alive, but silent
    wait_for(lambda: store.run(run_id).status == "interrupted", 15, "the silent run to be interrupted")
    assert "no heartbeat" in store.run(run_id).error
    assert workers.finish(worker, 30) == 0, workers.log(worker)
    assert not pid_alive(pid)
    assert_no_leftovers(store)


@pytest.mark.parametrize("failing_step", ["model", "rename"])
def test_a_disk_write_failure_marks_the_run_failed_and_keeps_nothing_partial(store, monkeypatch, failing_step):
    """The run's own code path, in-process: the disk fills up while the run
    process saves the model, or when the worker renames the result folder into place."""
    import keras

    import core.jobs.queue
    import core.jobs.runner as runner

    (run_id,) = queue_runs(store, labeled({"bad": 12, "ok": 18, "good": 40}), ("baseline",), training=TINY_TRAINING)
    store.claim_next(os.getpid())
    disk_full = OSError(errno.ENOSPC, "No space left on device")
    if failing_step == "model":
        def save(self, filepath, *args, **kwargs):
            Path(filepath).write_bytes(b"PK\x03\x04 half a zip")
            raise disk_full

        monkeypatch.setattr(keras.Model, "save", save)
    else:
        real_replace = os.replace

        def replace(src, dst):
            if Path(dst).parent == store.root / "runs":
                raise disk_full
            return real_replace(src, dst)

        monkeypatch.setattr(core.jobs.queue.os, "replace", replace)
    runner.execute_and_record(store, run_id)  # what the worker records for a run process's outcome
    run = store.run(run_id)
    assert run.status == "failed"
    assert run.error.startswith("could not read or write run files") and "No space left on device" in run.error
    assert "Traceback" not in run.error and "nothing partial was kept" in run.error
    assert "OSError" in (store.root / "logs" / f"run-{run_id}.log").read_text()  # the trace is in the log
    assert list((store.root / "tmp").iterdir()) == []
    assert list((store.root / "runs").iterdir()) == []
    assert store.metrics([run_id]).empty
    assert store.requeue(run_id)  # failed runs can be re-queued


def test_a_run_process_sends_its_latest_progress():
    """Reports are throttled, but the latest one goes out with the next beat
    and at the end of the run; no beat is sent between runs."""
    import multiprocessing as mp

    from core.jobs.slot import _Channel, _Liveness

    ours, theirs = mp.Pipe()
    live = _Liveness(_Channel(theirs), 0.2, os.getppid())
    live.start()
    live.begin(7)
    assert ours.recv().run_id == 7  # the first beat at once: the run was taken
    for batch in (1, 2, 3):  # within a second of the first beat: throttled, left for the timer beat
        live.report({"epoch": 1, "batch": batch})

    def progress_beat():
        while ours.poll(0.05):
            beat = ours.recv()
            if beat.progress:
                return beat.progress
        return None

    latest = wait_for(progress_beat, 5, "a beat with progress")
    assert latest["batch"] == 3 and latest["epoch"] == 1
    live.report({"epoch": 2, "batch": 1})
    live.end()
    beats = []
    while ours.poll(0.5):
        beats.append(ours.recv())
    assert beats and beats[-1].progress["epoch"] == 2  # flushed at the end of the run
    assert all(b.run_id == 7 for b in beats)
    time.sleep(0.5)
    assert not ours.poll(0)  # no run: no beats


def test_status_names_match_the_lifecycle():
    assert [s.value for s in Status] == ["queued", "running", "finished", "failed", "cancelled", "interrupted"]


def test_with_every_slot_busy_the_worker_draws_the_next_runs_splits_ahead(store):
    """A slot that frees up must not wait seconds for its next run's split: the
    worker draws the splits of the next queued runs while the slots train,
    one per loop, without claiming them."""
    from core.data.split import SPLIT_VERSION
    from core.jobs.runner import DatasetCache
    from core.jobs.worker import Worker
    from core.settings import Settings

    class Busy:  # an executor whose slots are all taken
        slots = 2

        def free(self) -> int:
            return 0

    run_ids = queue_runs(store, tiny_data(), ("baseline",), seeds=3, training=TINY_TRAINING)
    worker = Worker(store, Settings(workspace=store.root), Busy(), DatasetCache(store))
    splits = store.root / "splits"
    worker.prepare_next()
    assert len(list(splits.glob(f"*-{SPLIT_VERSION}.npz"))) == 1  # one per loop
    worker.prepare_next()
    worker.prepare_next()
    assert sorted(p.name.split("-s")[1][0] for p in splits.glob("*.npz")) == ["0", "1"]  # the next `slots` runs
    assert [store.run(i).status for i in run_ids] == ["queued"] * 3


def test_a_result_for_a_run_that_ended_meanwhile_is_dropped_and_the_worker_goes_on(store):
    """A run cancelled or interrupted while its result travelled back keeps
    its status; writing the late result raises nothing in the worker."""
    from core.jobs.runner import store_result, task_for
    from core.jobs.training import train_run

    (run_id,) = queue_runs(store, tiny_data(), ("baseline",), training=TINY_TRAINING)
    store.claim_next(os.getpid())
    result = train_run(task_for(store, run_id))
    store.end_run(run_id, Status.CANCELLED, "cancelled by the user (stopped after the grace period)")
    store_result(store, run_id, result)
    assert store.run(run_id).status == "cancelled"
    assert list((store.root / "runs").iterdir()) == [] and list((store.root / "tmp").iterdir()) == []

"""The worker on Ray (``--executor ray --ray-address ADDR``) against a
private Ray instance (``tests/ray_helpers.py``, one for the module): a run
trained on Ray is the same as a local one, a cancel ends it *cancelled*, and a
task lost with its process, or a worker killed while tasks train, leaves the
run *interrupted* and re-queueable — never half-written, never finished twice."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from conftest import FILLER, SIGNALS, TINY_TRAINING
from ray_helpers import RayInstance, private_ray
from worker_helpers import (  # noqa: F401  (workers is a fixture)
    LONG_TRAINING,
    assert_no_leftovers,
    kill_loop_script,
    long_data,
    mid_epoch,
    queue_runs,
    tiny_data,
    workers,
)

from benchmarks.processes import wait_for
from core.jobs.processes import pid_alive
from core.jobs.store import Status, Store


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory) -> RayInstance:
    """A private 2-CPU Ray instance, stopped (its process group only) after the module."""
    with private_ray(tmp_path_factory.mktemp("ray") / "head.log") as instance:
        yield instance


def on_ray(workers, root, ray: RayInstance, *args: str):
    """A worker training on ``ray`` (the instance's token in its environment)."""
    return workers.start(root, *args, "--executor", "ray", "--ray-address", ray.address, **ray.env)


def write_vectors(path):
    """A small word-vectors file (GloVe text format) covering the generated texts' words."""
    rng = np.random.default_rng(5)
    words = list(FILLER) + [w for ws in SIGNALS.values() for w in ws]
    path.write_text("".join(f"{w} {' '.join(f'{x:.4f}' for x in rng.normal(size=8))}\n" for w in words))
    return path


def results_by_run(store: Store) -> dict[tuple[str, int], dict]:
    """(recipe, seed) -> the run's metrics (fit time left out) and what its result.json records."""
    runs = store.runs()
    metrics = store.metrics([r.id for r in runs])
    found = {}
    for run in runs:
        rows = metrics[(metrics.run_id == run.id) & (metrics.name != "fit_seconds")]
        result = json.loads((store.root / run.result_dir / "result.json").read_text())
        found[(run.recipe, run.seed)] = {
            "metrics": {(row.scope, row.name): row.value for row in rows.itertuples()},
            "keys": sorted(result), "notes": result.get("notes"), "files": sorted(
                p.name for p in (store.root / run.result_dir).iterdir())}
    return found


def test_an_experiment_on_ray_finishes_with_the_metrics_of_the_local_executor(tmp_path, workers, ray_cluster):
    """2 recipes × 2 seeds, one of them reading a vectors file on the worker's machine (shipped with the run)."""
    vectors = write_vectors(tmp_path / "vectors.txt")
    recipes = ("baseline", f'pretrained_vectors(path="{vectors}")')
    local, on_cluster = Store(tmp_path / "local"), Store(tmp_path / "ray")
    for store in (local, on_cluster):
        queue_runs(store, tiny_data(), recipes, seeds=2, training=TINY_TRAINING)
    # One TensorFlow thread per run on both sides: a local slot gets cores ÷ slots.
    local_worker = workers.start(local.root, "--until-idle", IMBALANCE_LAB_WORKER_SLOTS=str(os.cpu_count() or 1))
    ray_worker = on_ray(workers, on_cluster.root, ray_cluster, "--until-idle")
    assert workers.finish(local_worker, 180) == 0, workers.log(local_worker)
    assert workers.finish(ray_worker, 180) == 0, workers.log(ray_worker)

    for store, worker in ((local, local_worker), (on_cluster, ray_worker)):
        for run in store.runs():
            assert run.status == "finished" and run.attempts == 1 and run.error is None, run
            assert run.worker_pid == worker.pid and run.pid  # the process that trained it, as for local runs
            assert run.progress and run.progress["epoch"] == 1  # the last progress report reached the store
        assert_no_leftovers(store)
    expected, found = results_by_run(local), results_by_run(on_cluster)
    assert len(found) == 4 and found == expected
    assert any("pretrained vectors for" in note for note in found[(recipes[1], 0)]["notes"])


def test_on_ray_a_cancel_ends_a_run_cancelled_and_a_lost_task_or_killed_worker_interrupted(
        tmp_path, workers, ray_cluster):
    """One run through the lifecycle, re-queued after each end: cancelled (``ray.cancel``), interrupted when its
    task's process dies (as with its node), interrupted when its worker is killed while it trains (the next worker
    says so), then finished by the next worker; a run that finished meanwhile keeps its files. (One test: each
    new worker on Ray costs seconds of start-up.)"""
    kill_loop = kill_loop_script()
    store = Store(tmp_path / "ws")
    (done,) = queue_runs(store, tiny_data(), ("class_weight",), training=TINY_TRAINING)
    (victim,) = queue_runs(store, long_data(), ("baseline",), training=dict(LONG_TRAINING, epochs=40, patience=40))
    training = lambda: wait_for(lambda: (r := mid_epoch(store, victim)) and r.pid, 120, "the run to train")  # noqa: E731
    worker = on_ray(workers, store.root, ray_cluster)

    training()
    assert store.cancel(victim) == "cancelling"
    wait_for(lambda: store.run(victim).status.ended, 15, "the cancelled run to stop")
    cancelled = store.run(victim)
    # ray.cancel, forced once the grace period has passed on a busy machine: either way cancelled, not interrupted
    assert cancelled.status == "cancelled" and cancelled.error.startswith("cancelled by the user")
    wait_for(lambda: store.run(done).status == "finished", 60, "the short run to finish")
    finished_files = kill_loop.fingerprint_files(store)
    assert finished_files

    assert store.requeue(victim)
    os.kill(training(), signal.SIGKILL)  # the task's Ray worker process dies, as with its node
    wait_for(lambda: store.run(victim).status.ended, 30, "the lost task to be noticed")
    lost = store.run(victim)
    assert lost.status == "interrupted" and "the Ray worker training it was lost" in lost.error

    assert store.requeue(victim)
    task_pid = training()
    worker.kill()  # the worker dies while its task trains; Ray ends the tasks of a driver that died
    worker.wait(timeout=10)
    wait_for(lambda: not pid_alive(task_pid), 30, "the dead worker's task to be stopped by Ray")
    assert store.run(victim).status == "running"  # until the next worker looks

    successor = on_ray(workers, store.root, ray_cluster)
    wait_for(lambda: store.run(victim).status == "interrupted", 60, "the next worker to interrupt the orphan")
    assert "worker stopped" in store.run(victim).error
    assert store.requeue(victim)
    wait_for(lambda: store.run(victim).status.ended, 180, "the re-queued run to finish")
    successor.send_signal(signal.SIGTERM)
    assert workers.finish(successor, 30) == 0, workers.log(successor)

    rerun = store.run(victim)
    assert rerun.status == "finished" and rerun.attempts == 4 and rerun.error is None
    report = kill_loop.Report()
    assert kill_loop.check_artifacts(store, report) == (2, 2) and report.problems == []
    after = kill_loop.fingerprint_files(store)
    assert {k: after.get(k) for k in finished_files} == finished_files  # the finished run's files never changed
    assert store.run(done).attempts == 1
    assert_no_leftovers(store)

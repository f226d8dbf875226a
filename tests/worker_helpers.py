"""Worker processes and store polling shared by the tests that run the real
worker service (test_worker, test_concurrency, test_app_restart). Waiting on
a condition is ``benchmarks.processes.wait_for``; whether a pid is alive is
``core.jobs.processes.pid_alive``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import TINY_TRAINING, labeled

from benchmarks.processes import Service, worker_service
from core.jobs.store import Store

PROJECT = Path(__file__).resolve().parent.parent
# Batches of 2 rows make an epoch of a few hundred rows last 0.1–0.2 s on 2
# cores (lean fit loop); 24 epochs make a run long enough to catch (and kill)
# in the middle of an epoch, while its start-up (encoding and splitting grow
# with the rows) stays short.
LONG_TRAINING = dict(TINY_TRAINING, batch_size=2, epochs=24, patience=30)
WORKER_ENV = {
    "IMBALANCE_LAB_NO_AUTOSTART": "1",
    "IMBALANCE_LAB_HEARTBEAT_S": "0.5",
    "IMBALANCE_LAB_STALE_AFTER_S": "10",
    "IMBALANCE_LAB_CANCEL_GRACE_S": "3",
    "IMBALANCE_LAB_WORKER_SLOTS": "2",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def assert_no_leftovers(store: Store) -> None:
    """No staging folder is left, and ``runs/`` holds exactly the finished runs' folders."""
    from core.jobs.store import Status

    assert [p.name for p in (store.root / "tmp").iterdir()] == []
    finished = {str(r.id) for r in store.runs(status=Status.FINISHED) if r.reused_from is None}
    assert {p.name for p in (store.root / "runs").iterdir()} == finished


def kill_loop_script():
    """``scripts/kill_loop.py`` as a module (its checks of finished runs' files are reused by tests)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("kill_loop", PROJECT / "scripts" / "kill_loop.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def long_data():
    return labeled({"bad": 30, "ok": 90, "good": 180}, seed=1)


def tiny_data():
    return labeled({"bad": 12, "ok": 18, "good": 40})


def queue_runs(store: Store, data, recipes: tuple[str, ...], *, seeds: int = 1, training=LONG_TRAINING) -> list[int]:
    """Queue LSTM runs directly (no references), as ``submit`` would."""
    from core.jobs.experiments import ExperimentSpec, run_fingerprint
    from core.settings import TrainSettings

    dataset_id = store.add_dataset(data, name="generated")
    spec = ExperimentSpec(dataset_id=dataset_id, recipes=recipes, seeds=seeds, settings=TrainSettings(**training),
                          references=())
    experiment_id = store.add_experiment(name="worker test", dataset_id=dataset_id, spec=spec.to_json())
    return [store.add_run(experiment_id=experiment_id, recipe=recipe, seed=seed,
                          fingerprint=run_fingerprint(spec, recipe, seed))
            for seed in range(seeds) for recipe in recipes]


def mid_epoch(store: Store, run_id: int):
    """The run, if its process is training with more of the fit to come: inside an
    epoch, or between two (progress goes out at most once a second, so in a warm
    process the latest report is often an epoch's end while the next one trains)."""
    run = store.run(run_id)
    p = run.progress or {}
    if run.status == "running" and run.pid and p.get("stage") == "fit" and (
            p.get("batch", 0) < p.get("batches", 0) or p.get("epoch", 0) < p.get("epochs", 0)):
        return run
    assert run.status in ("queued", "running"), f"run {run_id} ended {run.status} before it could be caught: {run}"
    return None


class Workers:
    """Worker processes started by a test (``benchmarks.processes.worker_service``:
    each in its own process group); any left running are killed, with their
    process group, at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[Service] = []

    def start(self, root: Path, *args: str, **env: str) -> subprocess.Popen:
        service = worker_service(root, self.tmp_path / f"worker-{len(self.started)}.log", *args,
                                 **{**WORKER_ENV, **env})
        service.process.log_path = service.log
        self.started.append(service)
        return service.process

    def finish(self, process: subprocess.Popen, timeout: float) -> int:
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the worker did not become idle within {timeout} s:\n{self.log(process)}") from None

    @staticmethod
    def log(process: subprocess.Popen) -> str:
        return Path(process.log_path).read_text(errors="replace")[-3000:]

    def cleanup(self) -> None:
        for service in self.started:
            service.stop(grace_s=0)  # SIGKILL the worker and whatever is left of its process group


@pytest.fixture
def workers(tmp_path):
    w = Workers(tmp_path)
    yield w
    w.cleanup()

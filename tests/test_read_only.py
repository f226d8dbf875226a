"""Read-only mode (``IMBALANCE_LAB_READ_ONLY=1``): ``core`` refuses every user change to datasets, experiments
and runs with a message naming the mode and leaves the store as it was; the worker still writes its results,
anyone may still ask for predictions, and a worker never inherits the mode."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from core.data.sample import add_sample
from core.errors import InputError
from core.jobs.experiments import ExperimentSpec, add_seeds, run_fingerprint, submit
from core.jobs.records import Status
from core.jobs.store import Store
from core.results.merge_effects import build_mapping, submit_merge
from core.settings import READ_ONLY_ENV, Settings, TrainSettings, get_settings
from tests.conftest import TINY_TRAINING, labeled

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store with one dataset and one experiment: one run interrupted, the others queued."""
    store = Store(tmp_path_factory.mktemp("read-only") / "workspace")
    dataset_id = store.add_dataset(labeled({"bad": 12, "ok": 18, "good": 40}), name="tiny")
    spec = ExperimentSpec(dataset_id=dataset_id, seeds=1, settings=TrainSettings(**TINY_TRAINING))
    experiment_id = submit(store, spec)
    interrupted = store.claim_next(worker_pid=1)
    store.end_run(interrupted.id, Status.INTERRUPTED, "killed")
    queued = store.runs(experiment=experiment_id, status=Status.QUEUED)[0]
    return {"root": store.root, "dataset_id": dataset_id, "experiment_id": experiment_id, "spec": spec,
            "queued": queued.id, "interrupted": interrupted.id}


@pytest.fixture
def workspace(template, tmp_path):
    """A private copy of ``template``."""
    shutil.copytree(template["root"], tmp_path / "workspace")
    return {**template, "store": Store(tmp_path / "workspace")}


def snapshot(store: Store) -> tuple[list[str], list[str]]:
    """Every row of the database and every file of the workspace (but the database's own)."""
    with closing(sqlite3.connect(store.db_path)) as db:
        rows = list(db.iterdump())
    files = sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*")
                   if p.is_file() and not p.name.startswith("lab.sqlite"))
    return rows, files


# Each user-facing write of core: what the app's pages and the CLI call to change the workspace.
USER_WRITES = {
    "upload a dataset": lambda w: w["store"].add_dataset(labeled({"x": 10, "y": 10}), name="upload.csv"),
    "load the built-in sample": lambda w: add_sample(w["store"], get_settings()),
    "archive a dataset": lambda w: w["store"].archive_dataset(w["dataset_id"]),
    "rename a dataset": lambda w: w["store"].rename_dataset(w["dataset_id"], "renamed"),
    "submit an experiment": lambda w: submit(w["store"], ExperimentSpec(
        dataset_id=w["dataset_id"], recipes=("focal",), seeds=1, settings=TrainSettings(**TINY_TRAINING))),
    "add an experiment row": lambda w: w["store"].add_experiment(name="x", dataset_id=w["dataset_id"], spec={}),
    "change an experiment": lambda w: w["store"].update_experiment_spec(w["experiment_id"], {"seeds": 9}),
    "archive an experiment": lambda w: w["store"].archive_experiment(w["experiment_id"]),
    "cancel an experiment's runs": lambda w: w["store"].cancel_experiment(w["experiment_id"]),
    "delete an experiment": lambda w: w["store"].delete_experiment(w["experiment_id"]),
    "add seeds": lambda w: add_seeds(w["store"], w["experiment_id"], 2),
    "queue a run": lambda w: w["store"].add_run(experiment_id=w["experiment_id"], recipe="baseline", seed=5,
                                                fingerprint=run_fingerprint(w["spec"], "baseline", 5)),
    "cancel a run": lambda w: w["store"].cancel(w["queued"]),
    "re-queue a run": lambda w: w["store"].requeue(w["interrupted"]),
    "delete a run": lambda w: w["store"].delete_run(w["interrupted"]),
    "train a merge": lambda w: submit_merge(w["store"], w["experiment_id"], "baseline",
                                            build_mapping(["bad", "ok"], "low", ["bad", "ok", "good"], ordinal=False)),
}


@pytest.mark.parametrize("write", USER_WRITES, ids=list(USER_WRITES))
def test_every_user_write_is_refused_naming_the_mode_and_leaves_the_store_as_it_was(workspace, monkeypatch, write):
    before = snapshot(workspace["store"])
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    with pytest.raises(InputError, match=r"served read-only \(IMBALANCE_LAB_READ_ONLY=1\).*without --read-only"):
        USER_WRITES[write](workspace)
    assert snapshot(workspace["store"]) == before
    monkeypatch.delenv(READ_ONLY_ENV)
    USER_WRITES[write](workspace)  # the same call is a valid change when the workspace is writable
    assert snapshot(workspace["store"]) != before


def test_the_worker_still_records_results_and_predictions_are_still_asked_for(workspace, monkeypatch):
    """Read-only is about the user's changes: a worker started by an operator with the variable set claims,
    beats, trains and records runs, holds its lease and answers prediction requests as usual."""
    from core.jobs.predictions import prediction_result, request_prediction
    from core.jobs.runner import store_result, task_for
    from core.jobs.training import train_run

    store = workspace["store"]
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    assert store.take_lease(os.getpid(), "here", stale_after_s=20.0) is None and store.renew_lease(os.getpid())
    run = store.claim_next(os.getpid())
    assert run.recipe.startswith("ref:")  # a reference: trains without TensorFlow
    store.set_child(run.id, os.getpid())
    assert store.heartbeat(run.id, {"epoch": 1}) is False
    store_result(store, run.id, train_run(task_for(store, run.id)))
    assert store.run(run.id).status is Status.FINISHED
    other = store.claim_next(os.getpid())
    assert store.end_run(other.id, Status.INTERRUPTED, "the worker was stopped while it ran")
    request_id = request_prediction(store, workspace["experiment_id"], ["baseline"], ["lovely"])
    assert store.claim_prediction_request() == request_id
    store.answer_prediction_request(request_id, answers=[], error=None)
    assert prediction_result(store, request_id)["status"] == "finished"
    store.drop_lease(os.getpid())


def _no_process(*args, **kwargs):
    raise AssertionError("a process was started")


def test_a_read_only_app_starts_no_worker(store, monkeypatch):
    from core.jobs import lease

    monkeypatch.setattr(lease.subprocess, "Popen", _no_process)
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    monkeypatch.setenv("IMBALANCE_LAB_NO_AUTOSTART", "0")
    assert lease.ensure_worker(store.root) is None


def test_a_worker_the_app_starts_never_inherits_read_only(store, monkeypatch):
    from core.jobs import lease

    started = {}

    class FakeProcess:
        pid = 4242

        def __init__(self, args, **kwargs):
            started.update(kwargs["env"])

    monkeypatch.setattr(lease.subprocess, "Popen", FakeProcess)
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    assert lease.ensure_worker(store.root, Settings(workspace=store.root)) == 4242
    assert READ_ONLY_ENV not in started and str(PROJECT) in started["PYTHONPATH"]


def test_start_script_read_only_sets_the_variable_for_the_app_and_passes_on_the_rest(tmp_path):
    """``scripts/start.sh --read-only`` exports IMBALANCE_LAB_READ_ONLY=1 and does not give the flag to
    streamlit (run in a copy whose setup and python are stand-ins that print what they got)."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / "scripts" / "start.sh").write_text((PROJECT / "scripts" / "start.sh").read_text())
    (tmp_path / "scripts" / "setup_env.sh").write_text("#!/usr/bin/env bash\n")
    (tmp_path / ".venv" / "bin" / "python").write_text(
        '#!/usr/bin/env bash\necho "args: $*"\necho "read-only: ${IMBALANCE_LAB_READ_ONLY:-unset}"\n')
    for script in ("scripts/setup_env.sh", ".venv/bin/python"):
        (tmp_path / script).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != READ_ONLY_ENV}

    def start(*args: str) -> str:
        done = subprocess.run(["bash", str(tmp_path / "scripts" / "start.sh"), *args], env=env, capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = start("--read-only", "--server.address", "0.0.0.0")
    assert "read-only: 1" in out and "--read-only" not in out and "--server.address 0.0.0.0" in out
    assert "read-only: unset" in start()

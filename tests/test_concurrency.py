"""Four users at once: four app sessions (AppTest, each in a process of its
own) open the app on an empty workspace at the same moment, upload, register
and submit while the worker trains two runs and writes their progress. No
user may see "database is locked" (or any error), and every session's dataset,
experiment and runs must be in the store exactly once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from worker_helpers import PROJECT, queue_runs, tiny_data, workers  # noqa: F401  (fixture)

from benchmarks.processes import wait_for
from core.jobs.store import Store

SESSIONS = ("ana", "ben", "chloe", "dev")


def test_four_sessions_submit_at_once_while_two_runs_train(tmp_path, workers):
    root = tmp_path / "workspace"
    store = Store(root)
    training = queue_runs(store, tiny_data(), ("baseline", "class_weight"),
                          training={"epochs": 5000, "batch_size": 2, "patience": 5000, "vocab_size": 200,
                                    "max_len": 16, "embedding_dim": 4, "units": 4})
    worker = workers.start(root, "--slots", "2")
    wait_for(lambda: all(store.run(i).status == "running" and store.run(i).progress for i in training), 120,
             "both training runs to report progress")

    go = tmp_path / "go"
    env = {**os.environ, "IMBALANCE_LAB_WORKSPACE": str(root), "IMBALANCE_LAB_NO_AUTOSTART": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    sessions = [subprocess.Popen([sys.executable, "tests/concurrent_session.py", name, str(go)], cwd=PROJECT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for name in SESSIONS]
    wait_for(lambda: all(Path(f"{go}.{name}.ready").exists() or s.poll() is not None
                         for name, s in zip(SESSIONS, sessions)), 120,
             "every session to import Streamlit and reach the starting line")
    go.touch()
    outputs = [s.communicate(timeout=400) for s in sessions]
    for session, (out, err) in zip(sessions, outputs):
        assert session.returncode == 0, f"a session failed:\n{err[-3000:]}"
    seen = [m for out, _ in outputs for m in json.loads(out.strip().splitlines()[-1])["seen"]]

    assert not [m for m in seen if "locked" in m["text"].lower()]
    assert not [m for m in seen if m["kind"] in ("exception", "error")], seen
    # Every session registered its own upload once (the workspace was not empty, so no sample).
    names = sorted(d["name"] for d in store.datasets())
    assert names == sorted([*(f"{n}.csv" for n in SESSIONS), "generated"])
    uploaded = {d["id"] for d in store.datasets() if d["name"].endswith(".csv")}
    submitted = [e for e in store.experiments() if e["dataset_id"] in uploaded]
    assert sorted(e["dataset_id"] for e in submitted) == sorted(uploaded)
    for experiment in submitted:
        recipes = sorted(r.recipe for r in store.runs(experiment=experiment["id"]))
        seeds = experiment["spec"]["seeds"]
        assert recipes.count("baseline") == recipes.count("class_weight") == seeds

    # The worker kept training through it all (so the sessions really raced its
    # progress writes), then stops the runs on request, with no lock errors either.
    assert [store.run(i).status for i in training] == ["running", "running"], "no overlap was tested"
    for run_id in training:
        store.cancel(run_id)
    for run_id in training:
        wait_for(lambda: store.run(run_id).status == "cancelled", 60, f"run {run_id} to stop")
    worker.kill()
    worker.wait(timeout=30)
    assert "locked" not in workers.log(worker).lower()
    with sqlite3.connect(store.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

"""Killing the app while jobs run loses nothing: the worker the app started is
detached, so it keeps training; a restarted app finds it through the lease
instead of starting a second one; every run is claimed once and finishes once.

"The app" is app.py run by AppTest in a process of its own (opening the Runs
page, which auto-starts the worker when runs are queued), killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

from worker_helpers import (
    LONG_TRAINING,
    PROJECT,
    WORKER_ENV,
    long_data,
    queue_runs,
)

from benchmarks.processes import wait_for
from core.jobs.lease import lease_holder
from core.jobs.processes import pid_alive
from core.jobs.store import Store

APP = """
import sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120)
at.run()
at.switch_page("pages/runs.py").run()
assert not at.exception, [e.value for e in at.exception]
print("rendered", flush=True)
time.sleep(float(sys.argv[1]))
"""


def start_app(root, stay_s: float) -> subprocess.Popen:
    env = {**os.environ, **WORKER_ENV, "IMBALANCE_LAB_WORKSPACE": str(root)}
    env.pop("IMBALANCE_LAB_NO_AUTOSTART")  # this app starts its worker, as a user's does
    return subprocess.Popen([sys.executable, "-c", APP, str(stay_s)], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_killing_and_restarting_the_app_while_runs_train_loses_nothing(tmp_path):
    store = Store(tmp_path / "ws")
    run_ids = queue_runs(store, long_data(), ("baseline", "class_weight", "focal"),
                         training=dict(LONG_TRAINING, epochs=16))
    app = start_app(store.root, 600)
    worker_pid = None
    try:
        worker_pid = wait_for(lambda: lease_holder(store, 10.0), 120, "the app to start a worker")
        wait_for(lambda: any(store.run(i).status == "running" and store.run(i).progress for i in run_ids), 120,
                 "a run to train")
        os.killpg(app.pid, signal.SIGKILL)  # the app and anything in its session; the worker has its own
        app.wait(timeout=30)
        assert lease_holder(store, 10.0) == worker_pid, "the worker died with the app"

        again = start_app(store.root, 0)
        out, err = again.communicate(timeout=180)
        assert again.returncode == 0 and "rendered" in out, err[-3000:]
        assert lease_holder(store, 10.0) == worker_pid, "the restarted app started a second worker"

        wait_for(lambda: all(store.run(i).status == "finished" for i in run_ids), 300,
                 "every run to finish: " + str([(store.run(i).recipe, store.run(i).status) for i in run_ids]))
        assert [store.run(i).attempts for i in run_ids] == [1, 1, 1]  # none was taken twice
        assert len(store.runs()) == len(run_ids)
        assert sorted(p.name for p in (store.root / "runs").iterdir()) == sorted(str(i) for i in run_ids)
        with sqlite3.connect(store.db_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
        if worker_pid:
            os.kill(worker_pid, signal.SIGTERM)
            wait_for(lambda: not pid_alive(worker_pid), 60, "the worker to stop")

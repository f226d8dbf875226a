"""The store's SQL for work in motion: the run queue and its state changes,
the worker lease row, and prediction requests. ``Store`` inherits these, so
every caller talks to one object and all SQL lives in the store modules."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InputError
from core.files import json_default
from core.jobs.processes import pid_alive
from core.jobs.records import RunRow, Status
from core.settings import refuse_when_read_only

if TYPE_CHECKING:  # pragma: no cover
    pass


def _float(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


class QueueTables:
    """Mixin of ``Store``: runs, the lease and prediction requests as they change.

    The user's changes (queueing, cancelling, re-queueing, deleting runs) are refused in read-only mode
    (``core.settings.refuse_when_read_only``); the worker's (claiming, heartbeats, results, the lease) and
    prediction requests are not."""

    root: Path

    def connect(self, *, immediate: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # Store's

    def run(self, run_id: int) -> RunRow:
        raise NotImplementedError  # Store's

    def path_inside(self, relative: str | os.PathLike) -> Path:
        raise NotImplementedError  # Store's

    # ----- the run queue -----
    def add_run(self, *, experiment_id: int, recipe: str, seed: int, fingerprint: str) -> int:
        """Queue a run, or serve it from an identical finished run."""
        refuse_when_read_only("queueing a run")
        with self.connect(immediate=True) as db:
            done = self._finished_original(db, fingerprint)
            now = time.time()
            if done is not None:
                cur = db.execute(
                    "INSERT INTO runs (experiment_id, recipe, seed, fingerprint, status, created, started, finished, "
                    "result_dir, reused_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (experiment_id, recipe, seed, fingerprint, Status.FINISHED.value, now, now, now,
                     done["result_dir"], done["id"]))
                run_id = int(cur.lastrowid)
                db.execute("INSERT INTO metrics (run_id, scope, name, value) SELECT ?, scope, name, value "
                           "FROM metrics WHERE run_id = ?", (run_id, done["id"]))
                return run_id
            cur = db.execute("INSERT INTO runs (experiment_id, recipe, seed, fingerprint, status, created) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (experiment_id, recipe, seed, fingerprint, Status.QUEUED.value, now))
            return int(cur.lastrowid)

    def finished_run_with(self, fingerprint: str) -> RunRow | None:
        """The original finished run of this fingerprint whose result folder is in place (None: none)."""
        from core.jobs.store import run_row

        with self.connect() as db:
            row = self._finished_original(db, fingerprint)
        return None if row is None else run_row(row)

    def _finished_original(self, db: sqlite3.Connection, fingerprint: str) -> sqlite3.Row | None:
        return next((row for row in db.execute(
            "SELECT * FROM runs WHERE fingerprint = ? AND status = ? AND reused_from IS NULL ORDER BY id",
            (fingerprint, Status.FINISHED.value))
            if row["result_dir"] and (self.root / row["result_dir"] / "result.json").is_file()), None)

    def claim_next(self, worker_pid: int) -> RunRow | None:
        """Take the oldest queued run (exclusive under concurrency)."""
        from core.jobs.store import run_row

        with self.connect(immediate=True) as db:
            row = db.execute("SELECT * FROM runs WHERE status = ? ORDER BY id LIMIT 1",
                             (Status.QUEUED.value,)).fetchone()
            if row is None:
                return None
            now = time.time()
            cur = db.execute("UPDATE runs SET status = ?, started = ?, finished = NULL, heartbeat = ?, "
                             "worker_pid = ?, pid = NULL, progress = NULL, error = NULL, cancel_requested = 0, "
                             "attempts = attempts + 1 WHERE id = ? AND status = ?",
                             (Status.RUNNING.value, now, now, worker_pid, row["id"], Status.QUEUED.value))
            if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; never hand out a run twice
                return None
            return run_row(db.execute("SELECT * FROM runs WHERE id = ?", (row["id"],)).fetchone())

    def set_child(self, run_id: int, pid: int) -> None:
        with self.connect(immediate=True) as db:
            db.execute("UPDATE runs SET pid = ?, heartbeat = ? WHERE id = ?", (pid, time.time(), run_id))

    def heartbeat(self, run_id: int, progress: dict | None = None) -> bool:
        """Record liveness (and progress); returns True if a cancel was requested."""
        with self.connect(immediate=True) as db:
            if progress is None:
                db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))
            else:
                db.execute("UPDATE runs SET heartbeat = ?, progress = ? WHERE id = ?",
                           (time.time(), json.dumps(progress, default=json_default), run_id))
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def finish_run(self, run_id: int, *, staged_dir: Path, metrics: dict[tuple[str, str], float]) -> None:
        """Move a complete result folder into place, then mark the run finished.

        Both happen under the write lock, and only while the run is still
        running (or queued, when executed in-process): a run that was cancelled
        or interrupted meanwhile keeps its status and gets no folder. If the
        row cannot be updated, the renamed folder is removed again, so
        ``runs/`` never holds a folder for a run that is not finished."""
        final = self.root / "runs" / str(run_id)
        renamed = False
        try:
            with self.connect(immediate=True) as db:
                row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None or row["status"] not in (Status.RUNNING.value, Status.QUEUED.value):
                    raise InputError(f"run {run_id} is {row['status'] if row else 'deleted'}; its new result "
                                     "was not kept.")
                if final.exists():  # a complete folder from an attempt killed before its row was updated
                    shutil.rmtree(final)
                os.replace(staged_dir, final)
                renamed = True
                db.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
                db.executemany("INSERT INTO metrics (run_id, scope, name, value) VALUES (?, ?, ?, ?)",
                               [(run_id, scope, name, _float(v)) for (scope, name), v in metrics.items()])
                db.execute("UPDATE runs SET status = ?, finished = ?, result_dir = ?, error = NULL WHERE id = ?",
                           (Status.FINISHED.value, time.time(), f"runs/{run_id}", run_id))
        except BaseException:
            if renamed:
                shutil.rmtree(final, ignore_errors=True)
            raise

    def end_run(self, run_id: int, status: Status, error: str | None = None, *, only_if_running: bool = True) -> bool:
        """Mark a run failed, cancelled or interrupted (only while it runs, unless told otherwise)."""
        with self.connect(immediate=True) as db:
            cur = db.execute(
                "UPDATE runs SET status = ?, finished = ?, error = COALESCE(?, error) WHERE id = ?"
                + (" AND status = ?" if only_if_running else ""),
                (Status(status).value, time.time(), error, run_id)
                + ((Status.RUNNING.value,) if only_if_running else ()))
            return cur.rowcount > 0

    def cancel(self, run_id: int) -> str:
        """Queued: cancelled at once. Running: flagged; the run stops at its next batch."""
        refuse_when_read_only("cancelling a run")
        with self.connect(immediate=True) as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise InputError(f"run {run_id} does not exist.")
            status = Status(row["status"])
            if status is Status.QUEUED:
                db.execute("UPDATE runs SET status = ?, finished = ? WHERE id = ?",
                           (Status.CANCELLED.value, time.time(), run_id))
                return Status.CANCELLED.value
            if status is Status.RUNNING:
                db.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
                return "cancelling"
            return status.value

    def cancel_experiment(self, experiment_id: int) -> tuple[int, int]:
        """Cancel every queued run of an experiment at once and flag its running ones
        (they stop at their next batch); returns (cancelled now, flagged)."""
        refuse_when_read_only("cancelling an experiment's runs")
        with self.connect(immediate=True) as db:
            return self._cancel_experiment(db, experiment_id)

    @staticmethod
    def _cancel_experiment(db, experiment_id: int) -> tuple[int, int]:
        cancelled = db.execute("UPDATE runs SET status = ?, finished = ? WHERE experiment_id = ? AND status = ?",
                               (Status.CANCELLED.value, time.time(), int(experiment_id), Status.QUEUED.value))
        flagged = db.execute("UPDATE runs SET cancel_requested = 1 WHERE experiment_id = ? AND status = ?",
                             (int(experiment_id), Status.RUNNING.value))
        return cancelled.rowcount, flagged.rowcount

    def requeue(self, run_id: int) -> bool:
        """Put an interrupted, failed or cancelled run back in the queue (a user action)."""
        refuse_when_read_only("re-queueing a run")
        again = [s.value for s in Status if s.requeueable]
        with self.connect(immediate=True) as db:
            cur = db.execute("UPDATE runs SET status = ?, cancel_requested = 0, pid = NULL, worker_pid = NULL, "
                             "progress = NULL, heartbeat = NULL, started = NULL, finished = NULL "
                             f"WHERE id = ? AND status IN ({','.join('?' * len(again))})",
                             (Status.QUEUED.value, run_id, *again))
            return cur.rowcount > 0

    def delete_run(self, run_id: int) -> None:
        refuse_when_read_only("deleting a run")
        run = self.run(run_id)
        if run.status is Status.RUNNING:
            raise InputError(f"run {run_id} is running; cancel it first.")
        with self.connect(immediate=True) as db:
            shared = db.execute("SELECT COUNT(*) FROM runs WHERE result_dir = ? AND id != ?",
                                (run.result_dir, run_id)).fetchone()[0]
            db.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if run.result_dir and not shared:
            shutil.rmtree(self.path_inside(run.result_dir), ignore_errors=True)

    # ----- the worker lease (policy in core.jobs.lease) -----
    def lease(self) -> sqlite3.Row | None:
        """The lease row (pid, host, heartbeat, started, serves: how its worker trains, JSON), or None."""
        with self.connect() as db:
            return db.execute("SELECT pid, host, heartbeat, started, serves FROM worker_lease WHERE id = 1").fetchone()

    def describe_lease(self, pid: int, serves: dict) -> None:
        """Record how ``pid``'s worker trains (executor, Ray address, slots) in its lease row."""
        with self.connect(immediate=True) as db:
            db.execute("UPDATE worker_lease SET serves = ? WHERE id = 1 AND pid = ?", (json.dumps(serves), pid))

    def take_lease(self, pid: int, host: str, *, stale_after_s: float) -> int | None:
        """Write ``pid`` into the lease under the write lock, unless another
        live process holds a fresh lease: then return that holder's pid."""
        with self.connect(immediate=True) as db:
            row = db.execute("SELECT pid, heartbeat FROM worker_lease WHERE id = 1").fetchone()
            if row and row["pid"] != pid and pid_alive(row["pid"]) and time.time() - row["heartbeat"] < stale_after_s:
                return int(row["pid"])
            now = time.time()
            db.execute("INSERT OR REPLACE INTO worker_lease (id, pid, host, heartbeat, started) VALUES (1, ?, ?, ?, ?)",
                       (pid, host, now, now))
        return None

    def drop_lease(self, pid: int) -> None:
        with self.connect(immediate=True) as db:
            db.execute("DELETE FROM worker_lease WHERE id = 1 AND pid = ?", (pid,))

    def renew_lease(self, pid: int) -> bool:
        """Refresh ``pid``'s lease; False when another worker holds it now."""
        with self.connect(immediate=True) as db:
            cur = db.execute("UPDATE worker_lease SET heartbeat = ? WHERE id = 1 AND pid = ?", (time.time(), pid))
            return cur.rowcount > 0

    # ----- prediction requests (answered by core.jobs.predict_service) -----
    def add_prediction_request(self, payload: dict) -> int:
        with self.connect(immediate=True) as db:
            cur = db.execute("INSERT INTO predictions (created, request, status) VALUES (?, ?, 'queued')",
                             (time.time(), json.dumps(payload)))
            return int(cur.lastrowid)

    def prediction_request(self, request_id: int) -> dict:
        """A request: its payload (``request``), ``status``, ``result`` and ``error``."""
        with self.connect() as db:
            row = db.execute("SELECT request, status, result, error FROM predictions WHERE id = ?",
                             (int(request_id),)).fetchone()
        if row is None:
            raise InputError(f"prediction request {request_id} does not exist.")
        return {"request": json.loads(row["request"]), "status": row["status"],
                "result": json.loads(row["result"]) if row["result"] else None, "error": row["error"]}

    def waiting_prediction_requests(self) -> int:
        with self.connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM predictions WHERE status = 'queued'").fetchone()[0])

    def claim_prediction_request(self) -> int | None:
        with self.connect(immediate=True) as db:
            row = db.execute("SELECT id FROM predictions WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            db.execute("UPDATE predictions SET status = 'running' WHERE id = ?", (row["id"],))
            return int(row["id"])

    def answer_prediction_request(self, request_id: int, *, answers: list | None, error: str | None) -> None:
        """Store a request's answers (finished) or the reason it failed."""
        status, result = ("finished", json.dumps(answers)) if error is None else ("failed", None)
        with self.connect(immediate=True) as db:
            db.execute("UPDATE predictions SET status = ?, result = ?, error = ? WHERE id = ?",
                       (status, result, error, request_id))

"""The one store: SQLite (WAL) for datasets, experiments, runs and the job
queue, plus a workspace folder for files.

Result files are written into a temporary folder and renamed into
``runs/<id>/`` when complete; the row is marked finished only after the
rename, so a killed process never leaves half a result behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from core.dataset import LabeledTexts
from core.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, n_rows INTEGER NOT NULL,
    classes TEXT NOT NULL, ordinal INTEGER NOT NULL, has_target INTEGER NOT NULL, has_split INTEGER NOT NULL,
    meta TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, dataset_id TEXT NOT NULL REFERENCES datasets(id),
    created REAL NOT NULL, spec TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    recipe TEXT NOT NULL, seed INTEGER NOT NULL, fingerprint TEXT NOT NULL, status TEXT NOT NULL,
    created REAL NOT NULL, started REAL, finished REAL, heartbeat REAL, pid INTEGER, worker_pid INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0, progress TEXT, error TEXT, result_dir TEXT, reused_from INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_fingerprint ON runs(fingerprint);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment_id);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id), scope TEXT NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, scope, name)
);
CREATE TABLE IF NOT EXISTS worker_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, heartbeat REAL NOT NULL,
    started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL,
    result TEXT, error TEXT
);
"""


class Status(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @classmethod
    def ended(cls) -> tuple[str, ...]:
        return (cls.FINISHED.value, cls.FAILED.value, cls.CANCELLED.value, cls.INTERRUPTED.value)


@dataclass(frozen=True)
class RunRow:
    id: int
    experiment_id: int
    recipe: str
    seed: int
    fingerprint: str
    status: str
    created: float
    started: float | None
    finished: float | None
    heartbeat: float | None
    pid: int | None
    worker_pid: int | None
    cancel_requested: int
    progress: dict | None
    error: str | None
    result_dir: str | None
    reused_from: int | None
    attempts: int


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name that cannot leave its folder: basename only, odd characters replaced."""
    base = _SAFE_NAME.sub("_", os.path.basename(str(name).replace("\\", "/"))).strip("._")
    return base[:120] or fallback


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, json.dumps(payload, indent=1, default=_json_default).encode())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _float(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


class Store:
    """Datasets, experiments, runs, metrics and the job queue in one workspace."""

    def __init__(self, workspace: str | os.PathLike) -> None:
        self.root = Path(workspace).resolve()
        for sub in ("datasets", "runs", "tmp", "exports", "logs", "splits"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "lab.sqlite"
        db = sqlite3.connect(self.db_path, timeout=30.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)  # commits by itself, so not inside connect()'s transaction
        finally:
            db.close()

    # ----- connections -----
    @contextmanager
    def connect(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A short-lived connection; ``immediate`` takes the write lock at once
        (``BEGIN IMMEDIATE``), so two claimers never take the same job."""
        db = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()

    def path_inside(self, relative: str | os.PathLike) -> Path:
        """Resolve a workspace-relative path, refusing anything outside the workspace."""
        path = (self.root / relative).resolve()
        if self.root not in path.parents and path != self.root:
            raise InputError(f"path {relative!s} is outside the workspace.")
        return path

    # ----- datasets -----
    def add_dataset(self, data: LabeledTexts, *, name: str, meta: dict | None = None) -> str:
        """Register a validated dataset (idempotent: same content, same id)."""
        dataset_id = data.fingerprint()
        target = self.root / "datasets" / f"{dataset_id}.parquet"
        if not target.exists():
            frame = pd.DataFrame({"text": list(data.texts), "label": data.labels.astype(str)})
            if data.target is not None:
                frame["target"] = np.asarray(data.target, dtype=float)
            if data.is_test is not None:
                frame["is_test"] = np.asarray(data.is_test, dtype=bool)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, target)
        info = {**(meta or {}), "warnings": list(data.warnings)}
        with self.connect(immediate=True) as db:
            db.execute(
                "INSERT INTO datasets (id, name, created, n_rows, classes, ordinal, has_target, has_split, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET archived = 0, name = excluded.name",
                (dataset_id, safe_name(name, "dataset") if "/" in name else name[:200], time.time(), len(data),
                 json.dumps(list(data.classes)), int(data.ordinal), int(data.target is not None),
                 int(data.is_test is not None), json.dumps(info)),
            )
        return dataset_id

    def datasets(self, *, include_archived: bool = False) -> list[dict]:
        with self.connect() as db:
            rows = db.execute("SELECT * FROM datasets" + ("" if include_archived else " WHERE archived = 0")
                              + " ORDER BY created DESC").fetchall()
        return [self._dataset_dict(r) for r in rows]

    def dataset_info(self, dataset_id: str) -> dict:
        with self.connect() as db:
            row = db.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        if row is None:
            raise InputError(f"dataset {dataset_id} is not in this workspace ({self.root}).")
        return self._dataset_dict(row)

    @staticmethod
    def _dataset_dict(row: sqlite3.Row) -> dict:
        d = dict(row)
        d["classes"] = json.loads(d["classes"])
        d["meta"] = json.loads(d["meta"])
        return d

    def load_dataset(self, dataset_id: str) -> LabeledTexts:
        info = self.dataset_info(dataset_id)
        frame = pd.read_parquet(self.root / "datasets" / f"{dataset_id}.parquet")
        classes = tuple(info["classes"])
        index = {c: i for i, c in enumerate(classes)}
        return LabeledTexts(
            texts=tuple(frame["text"].astype(str)), y=frame["label"].map(index).to_numpy(dtype=np.int64),
            classes=classes, ordinal=bool(info["ordinal"]),
            target=frame["target"].to_numpy(dtype=float) if "target" in frame else None,
            is_test=frame["is_test"].to_numpy(dtype=bool) if "is_test" in frame else None,
            name=info["name"], warnings=tuple(info["meta"].get("warnings", ())),
        )

    def archive_dataset(self, dataset_id: str, archived: bool = True) -> None:
        with self.connect(immediate=True) as db:
            db.execute("UPDATE datasets SET archived = ? WHERE id = ?", (int(archived), dataset_id))

    # ----- experiments -----
    def add_experiment(self, *, name: str, dataset_id: str, spec: dict) -> int:
        with self.connect(immediate=True) as db:
            cur = db.execute("INSERT INTO experiments (name, dataset_id, created, spec) VALUES (?, ?, ?, ?)",
                             (name[:200], dataset_id, time.time(), json.dumps(spec, default=_json_default)))
            return int(cur.lastrowid)

    def experiments(self, *, dataset_id: str | None = None, include_archived: bool = False) -> list[dict]:
        sql = "SELECT * FROM experiments WHERE 1 = 1"
        args: list[Any] = []
        if dataset_id:
            sql += " AND dataset_id = ?"
            args.append(dataset_id)
        if not include_archived:
            sql += " AND archived = 0"
        with self.connect() as db:
            rows = db.execute(sql + " ORDER BY id DESC", args).fetchall()
        return [dict(r, spec=json.loads(r["spec"])) for r in rows]

    def experiment(self, experiment_id: int) -> dict:
        with self.connect() as db:
            row = db.execute("SELECT * FROM experiments WHERE id = ?", (int(experiment_id),)).fetchone()
        if row is None:
            raise InputError(f"experiment {experiment_id} is not in this workspace ({self.root}).")
        return dict(row, spec=json.loads(row["spec"]))

    def archive_experiment(self, experiment_id: int, archived: bool = True) -> None:
        with self.connect(immediate=True) as db:
            db.execute("UPDATE experiments SET archived = ? WHERE id = ?", (int(archived), int(experiment_id)))

    # ----- runs and the queue -----
    def add_run(self, *, experiment_id: int, recipe: str, seed: int, fingerprint: str) -> int:
        """Queue a run, or serve it from an identical finished run."""
        with self.connect(immediate=True) as db:
            done = next((row for row in db.execute(
                "SELECT id, result_dir FROM runs WHERE fingerprint = ? AND status = 'finished' "
                "AND reused_from IS NULL ORDER BY id", (fingerprint,))
                if row["result_dir"] and (self.root / row["result_dir"] / "result.json").is_file()), None)
            now = time.time()
            if done is not None:
                cur = db.execute(
                    "INSERT INTO runs (experiment_id, recipe, seed, fingerprint, status, created, started, finished, "
                    "result_dir, reused_from) VALUES (?, ?, ?, ?, 'finished', ?, ?, ?, ?, ?)",
                    (experiment_id, recipe, seed, fingerprint, now, now, now, done["result_dir"], done["id"]))
                run_id = int(cur.lastrowid)
                db.execute("INSERT INTO metrics (run_id, scope, name, value) SELECT ?, scope, name, value "
                           "FROM metrics WHERE run_id = ?", (run_id, done["id"]))
                return run_id
            cur = db.execute("INSERT INTO runs (experiment_id, recipe, seed, fingerprint, status, created) "
                             "VALUES (?, ?, ?, ?, 'queued', ?)", (experiment_id, recipe, seed, fingerprint, now))
            return int(cur.lastrowid)

    @staticmethod
    def _run(row: sqlite3.Row) -> RunRow:
        d = dict(row)
        d["progress"] = json.loads(d["progress"]) if d["progress"] else None
        return RunRow(**d)

    def run(self, run_id: int) -> RunRow:
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise InputError(f"run {run_id} is not in this workspace ({self.root}).")
        return self._run(row)

    def runs(self, *, experiment_id: int | None = None, status: str | None = None) -> list[RunRow]:
        sql, args = "SELECT * FROM runs WHERE 1 = 1", []
        if experiment_id is not None:
            sql += " AND experiment_id = ?"
            args.append(int(experiment_id))
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        with self.connect() as db:
            return [self._run(r) for r in db.execute(sql + " ORDER BY id", args).fetchall()]

    def claim_next(self, worker_pid: int) -> RunRow | None:
        """Take the oldest queued run (exclusive under concurrency)."""
        with self.connect(immediate=True) as db:
            row = db.execute("SELECT * FROM runs WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            now = time.time()
            cur = db.execute("UPDATE runs SET status = 'running', started = ?, finished = NULL, heartbeat = ?, "
                             "worker_pid = ?, pid = NULL, progress = NULL, error = NULL, cancel_requested = 0, "
                             "attempts = attempts + 1 WHERE id = ? AND status = 'queued'",
                             (now, now, worker_pid, row["id"]))
            if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; never hand out a run twice
                return None
            return self._run(db.execute("SELECT * FROM runs WHERE id = ?", (row["id"],)).fetchone())

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
                           (time.time(), json.dumps(progress, default=_json_default), run_id))
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
                db.execute("UPDATE runs SET status = 'finished', finished = ?, result_dir = ?, error = NULL "
                           "WHERE id = ?", (time.time(), f"runs/{run_id}", run_id))
        except BaseException:
            if renamed:
                shutil.rmtree(final, ignore_errors=True)
            raise

    def end_run(self, run_id: int, status: Status, error: str | None = None, *, only_if_running: bool = True) -> bool:
        with self.connect(immediate=True) as db:
            cur = db.execute(
                "UPDATE runs SET status = ?, finished = ?, error = COALESCE(?, error) WHERE id = ?"
                + (" AND status = 'running'" if only_if_running else ""),
                (status.value, time.time(), error, run_id))
            return cur.rowcount > 0

    def cancel(self, run_id: int) -> str:
        """Queued: cancelled at once. Running: flagged; the run stops at its next batch."""
        with self.connect(immediate=True) as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise InputError(f"run {run_id} does not exist.")
            if row["status"] == "queued":
                db.execute("UPDATE runs SET status = 'cancelled', finished = ? WHERE id = ?", (time.time(), run_id))
                return "cancelled"
            if row["status"] == "running":
                db.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
                return "cancelling"
            return row["status"]

    def requeue(self, run_id: int) -> bool:
        """Put an interrupted, failed or cancelled run back in the queue (a user action)."""
        with self.connect(immediate=True) as db:
            cur = db.execute("UPDATE runs SET status = 'queued', cancel_requested = 0, pid = NULL, worker_pid = NULL, "
                             "progress = NULL, heartbeat = NULL, started = NULL, finished = NULL "
                             "WHERE id = ? AND status IN ('interrupted', 'failed', 'cancelled')", (run_id,))
            return cur.rowcount > 0

    def delete_run(self, run_id: int) -> None:
        run = self.run(run_id)
        if run.status == "running":
            raise InputError(f"run {run_id} is running; cancel it first.")
        with self.connect(immediate=True) as db:
            shared = db.execute("SELECT COUNT(*) FROM runs WHERE result_dir = ? AND id != ?",
                                (run.result_dir, run_id)).fetchone()[0]
            db.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if run.result_dir and not shared:
            shutil.rmtree(self.path_inside(run.result_dir), ignore_errors=True)

    def metrics(self, run_ids: list[int]) -> pd.DataFrame:
        """Long table: run_id, scope ('overall' or a class), name, value."""
        if not run_ids:
            return pd.DataFrame(columns=["run_id", "scope", "name", "value"])
        marks = ",".join("?" * len(run_ids))
        with self.connect() as db:
            rows = db.execute(f"SELECT run_id, scope, name, value FROM metrics WHERE run_id IN ({marks})",
                              [int(r) for r in run_ids]).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=["run_id", "scope", "name", "value"])

    def result_dir(self, run: RunRow) -> Path | None:
        return self.path_inside(run.result_dir) if run.result_dir else None

    def staging_dir(self, run_id: int) -> Path:
        path = self.root / "tmp" / f"run-{run_id}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def discard_staging(self, run_id: int | None = None) -> int:
        """Remove what killed run processes left behind (of one run, or of
        every run): staging folders in ``tmp/``, and a ``runs/<id>/`` folder
        that was renamed into place by a process killed before it could mark
        its run finished. Returns how many folders were removed. Only call it
        when no process is writing for those runs."""
        pattern = f"run-{int(run_id)}-*" if run_id is not None else "run-*"
        removed = 0
        for path in (self.root / "tmp").glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        names = [str(int(run_id))] if run_id is not None else [p.name for p in (self.root / "runs").iterdir()]
        ids = [int(n) for n in names if n.isdigit() and (self.root / "runs" / n).is_dir()]
        if ids:
            with self.connect() as db:
                unfinished = [r["id"] for r in db.execute(
                    f"SELECT id FROM runs WHERE status != 'finished' AND id IN ({','.join('?' * len(ids))})", ids)]
            for unfinished_id in unfinished:
                shutil.rmtree(self.root / "runs" / str(unfinished_id), ignore_errors=True)
                removed += 1
        return removed

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def integrity_ok(self) -> bool:
        """SQLite's own ``PRAGMA integrity_check``; False (not an exception) for a damaged file."""
        try:
            with self.connect() as db:
                return [tuple(r) for r in db.execute("PRAGMA integrity_check").fetchall()] == [("ok",)]
        except sqlite3.DatabaseError:
            return False

"""The one store: SQLite (WAL) for datasets, experiments, runs and the job
queue, plus a workspace folder for files.

Result files are written into a temporary folder and renamed into
``runs/<id>/`` when complete; the row is marked finished only after the
rename, so a killed process never leaves half a result behind. The SQL of
work in motion (queue, lease, prediction requests) is in ``core.jobs.queue``;
the schema and its migrations in ``core.jobs.schema``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from core.data.dataset_names import checked_name
from core.data.dataset import PARTS, TEST, TRAIN, LabeledTexts
from core.data.wording import plural
from core.errors import InputError
from core.files import atomic_path, json_default, safe_name
from core.jobs.queue import QueueTables
from core.jobs.records import ENDED, RunRow, Status
from core.jobs.schema import open_schema
from core.settings import refuse_when_read_only

__all__ = ["ENDED", "ExperimentFiles", "RunRow", "Status", "Store", "run_row"]


@dataclass(frozen=True)
class ExperimentFiles:
    """What deleting an experiment removes from the workspace folder."""

    folders: tuple[Path, ...]  # result folders only its runs use
    logs: tuple[Path, ...]  # its runs' error traces
    kept: int  # result folders that stay because other experiments' runs reuse them
    bytes: int  # the size of folders and logs together


def run_row(row: sqlite3.Row) -> RunRow:
    d = dict(row)
    d["progress"] = json.loads(d["progress"]) if d["progress"] else None
    d["status"] = Status(d["status"])
    return RunRow(**d)


def _stored_parts(frame: pd.DataFrame, dataset_id: str) -> np.ndarray | None:
    """The split column of a stored dataset: a `part` column (train / validation /
    test), or the `is_test` flags of datasets stored before validation parts."""
    if "part" in frame:
        codes = frame["part"].map({name: code for code, name in enumerate(PARTS)})
        if codes.isna().any():
            raise InputError(f"dataset {dataset_id} has a damaged split column (values "
                             f"{sorted(set(frame['part'][codes.isna()].astype(str)))[:5]}); upload it again.")
        return codes.to_numpy(dtype=np.int8)
    if "is_test" in frame:
        return np.where(frame["is_test"].to_numpy(dtype=bool), TEST, TRAIN).astype(np.int8)
    return None


def _freed_bytes(files: list[Path]) -> int:
    """The bytes deleting ``files`` frees. A run that decided on another run's model holds a hard link to that
    model file (``core.jobs.runner``): such a file counts once, and only when every link to it is deleted."""
    stats = [path.stat() for path in files]
    listed = Counter((s.st_dev, s.st_ino) for s in stats)  # how many of a file's links are among ``files``
    unique = {(s.st_dev, s.st_ino): s for s in stats}
    return sum(s.st_size for key, s in unique.items() if listed[key] >= s.st_nlink)


class Store(QueueTables):
    """Datasets, experiments, runs, metrics and the job queue in one workspace."""

    def __init__(self, workspace: str | os.PathLike) -> None:
        self.root = Path(workspace).resolve()
        for sub in ("datasets", "runs", "tmp", "exports", "logs", "splits"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "lab.sqlite"
        self.opened_at_version = open_schema(self.db_path)

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
        refuse_when_read_only("adding a dataset")
        dataset_id = data.fingerprint()
        target = self.root / "datasets" / f"{dataset_id}.parquet"
        if not target.exists():
            frame = pd.DataFrame({"text": list(data.texts), "label": data.labels.astype(str)})
            if data.target is not None:
                frame["target"] = np.asarray(data.target, dtype=float)
            if data.parts is not None:  # older workspaces stored an `is_test` column instead (load_dataset)
                frame["part"] = np.asarray(PARTS, dtype=object)[data.parts]
            with atomic_path(target) as tmp:
                frame.to_parquet(tmp, index=False)
        info = {**(meta or {}), "warnings": list(data.warnings), "has_validation_rows": data.has_validation_rows}
        with self.connect(immediate=True) as db:
            db.execute(
                "INSERT INTO datasets (id, name, created, n_rows, classes, ordinal, has_target, has_split, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET archived = 0, name = excluded.name",
                (dataset_id, safe_name(name, "dataset") if "/" in name else name[:200], time.time(), len(data),
                 json.dumps(list(data.classes)), int(data.ordinal), int(data.target is not None),
                 int(data.parts is not None), json.dumps(info)),
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
            parts=_stored_parts(frame, dataset_id), name=info["name"],
            warnings=tuple(info["meta"].get("warnings", ())),
        )

    def class_counts(self, dataset_id: str) -> tuple[int, ...]:
        """Rows of each class of a stored dataset, in label order (reads its label column only)."""
        classes = self.dataset_info(dataset_id)["classes"]
        labels = pd.read_parquet(self.root / "datasets" / f"{dataset_id}.parquet", columns=["label"])["label"]
        counts = labels.astype(str).value_counts()
        return tuple(int(counts.get(c, 0)) for c in classes)

    def rename_dataset(self, dataset_id: str, name: str) -> str:
        """Give a stored dataset a new name (what pickers and reports show); returns the name as stored."""
        refuse_when_read_only("renaming a dataset")
        name = checked_name(name)
        self.dataset_info(dataset_id)  # an InputError naming the id when it is not here
        with self.connect(immediate=True) as db:
            db.execute("UPDATE datasets SET name = ? WHERE id = ?", (name, dataset_id))
        return name

    def archive_dataset(self, dataset_id: str, archived: bool = True) -> None:
        refuse_when_read_only("archiving a dataset")
        with self.connect(immediate=True) as db:
            db.execute("UPDATE datasets SET archived = ? WHERE id = ?", (int(archived), dataset_id))

    # ----- experiments -----
    def add_experiment(self, *, name: str, dataset_id: str, spec: dict) -> int:
        refuse_when_read_only("adding an experiment")
        with self.connect(immediate=True) as db:
            cur = db.execute("INSERT INTO experiments (name, dataset_id, created, spec) VALUES (?, ?, ?, ?)",
                             (name[:200], dataset_id, time.time(), json.dumps(spec, default=json_default)))
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

    def update_experiment_spec(self, experiment_id: int, spec: dict) -> None:
        refuse_when_read_only("changing an experiment")
        with self.connect(immediate=True) as db:
            db.execute("UPDATE experiments SET spec = ? WHERE id = ?",
                       (json.dumps(spec, default=json_default), int(experiment_id)))

    def archive_experiment(self, experiment_id: int, archived: bool = True) -> tuple[int, int]:
        """Hide an experiment from the pickers (``experiments()`` leaves it out), or show it again; its finished
        runs and files stay. Archiving cancels its queued runs and stops its running ones (hidden, they would
        take the machine from the experiments in view); returns ``cancel_experiment``'s counts ((0, 0) on a
        restore). Their re-queue is one button once it is restored."""
        refuse_when_read_only("archiving an experiment")
        with self.connect(immediate=True) as db:
            db.execute("UPDATE experiments SET archived = ? WHERE id = ?", (int(archived), int(experiment_id)))
            return self._cancel_experiment(db, experiment_id) if archived else (0, 0)

    def experiment_files(self, experiment_id: int) -> ExperimentFiles:
        """The files deleting the experiment would remove, and their size: its runs'
        result folders that no run of another experiment reuses, and its runs' logs."""
        with self.connect() as db:
            return self._experiment_files(db, int(experiment_id))

    def _experiment_files(self, db: sqlite3.Connection, experiment_id: int) -> ExperimentFiles:
        rows = db.execute("SELECT id, result_dir FROM runs WHERE experiment_id = ?", (experiment_id,)).fetchall()
        candidates = {row["result_dir"] for row in rows if row["result_dir"]} | {f"runs/{row['id']}" for row in rows}
        folders, kept = [], 0
        for relative in sorted(candidates):
            path = self.path_inside(relative)
            if not path.is_dir():
                continue
            if db.execute("SELECT 1 FROM runs WHERE result_dir = ? AND experiment_id != ? LIMIT 1",
                          (relative, experiment_id)).fetchone():
                kept += 1
            else:
                folders.append(path)
        logs = [path for path in (self.run_log_path(row["id"]) for row in rows) if path.is_file()]
        files = [p for folder in folders for p in folder.rglob("*") if p.is_file()] + logs
        return ExperimentFiles(tuple(folders), tuple(logs), kept, _freed_bytes(files))

    def delete_experiment(self, experiment_id: int) -> int:
        """Delete an experiment: its runs' rows and metrics, its row, and the files of
        ``experiment_files``; returns the bytes freed. A result folder that a run of
        another experiment reuses stays, and the earliest such run becomes the one
        later runs reuse. Refused while any of its runs is running (cancel them first)."""
        refuse_when_read_only("deleting an experiment")
        experiment_id = int(experiment_id)
        with self.connect(immediate=True) as db:
            if db.execute("SELECT 1 FROM experiments WHERE id = ?", (experiment_id,)).fetchone() is None:
                raise InputError(f"experiment {experiment_id} is not in this workspace ({self.root}).")
            running = db.execute("SELECT COUNT(*) FROM runs WHERE experiment_id = ? AND status = ?",
                                 (experiment_id, Status.RUNNING.value)).fetchone()[0]
            if running:
                raise InputError(f"experiment {experiment_id} has {plural(running, 'run')} still running; cancel "
                                 "them and wait until they have stopped, then delete it.")
            files = self._experiment_files(db, experiment_id)
            self._hand_over_reused(db, experiment_id)
            db.execute("DELETE FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = ?)",
                       (experiment_id,))
            db.execute("DELETE FROM runs WHERE experiment_id = ?", (experiment_id,))
            db.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))
        for folder in files.folders:
            shutil.rmtree(folder, ignore_errors=True)
        for log in files.logs:
            log.unlink(missing_ok=True)
        return files.bytes

    @staticmethod
    def _hand_over_reused(db: sqlite3.Connection, experiment_id: int) -> None:
        """Before the experiment's runs go: where runs of other experiments reuse one
        of its results, the earliest of them becomes the original (``reused_from``
        NULL, so ``add_run`` finds it) and the others point to it."""
        originals = db.execute("SELECT id, result_dir FROM runs WHERE experiment_id = ? AND reused_from IS NULL "
                               "AND result_dir IS NOT NULL", (experiment_id,)).fetchall()
        for original in originals:
            heirs = [row["id"] for row in db.execute(
                "SELECT id FROM runs WHERE result_dir = ? AND experiment_id != ? ORDER BY id",
                (original["result_dir"], experiment_id))]
            if heirs:
                db.execute("UPDATE runs SET reused_from = NULL WHERE id = ?", (heirs[0],))
                db.executemany("UPDATE runs SET reused_from = ? WHERE id = ?", [(heirs[0], h) for h in heirs[1:]])

    # ----- runs (changes of state: core.jobs.queue) -----
    def run(self, run_id: int) -> RunRow:
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise InputError(f"run {run_id} is not in this workspace ({self.root}).")
        return run_row(row)

    def runs(self, *, experiment: int | None = None, recipe: str | None = None,
             status: Status | str | Iterable[Status | str] | None = None) -> list[RunRow]:
        """Runs in id order, of one experiment, one recipe, and in one status
        (or any of several) when given."""
        sql, args = "SELECT * FROM runs WHERE 1 = 1", []
        if experiment is not None:
            sql += " AND experiment_id = ?"
            args.append(int(experiment))
        if recipe is not None:
            sql += " AND recipe = ?"
            args.append(recipe)
        if status is not None:
            values = Status.values(status)
            sql += f" AND status IN ({','.join('?' * len(values))})"
            args += values
        with self.connect() as db:
            return [run_row(r) for r in db.execute(sql + " ORDER BY id", args).fetchall()]

    def metrics(self, run_ids: list[int]) -> pd.DataFrame:
        """Long table: run_id, scope ('overall' or a class), name, value."""
        if not run_ids:
            return pd.DataFrame(columns=["run_id", "scope", "name", "value"])
        marks = ",".join("?" * len(run_ids))
        with self.connect() as db:
            rows = db.execute(f"SELECT run_id, scope, name, value FROM metrics WHERE run_id IN ({marks})",
                              [int(r) for r in run_ids]).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=["run_id", "scope", "name", "value"])

    def run_log_path(self, run_id: int) -> Path:
        """Where the trace of a run that ended without a result is kept."""
        return self.root / "logs" / f"run-{int(run_id)}.log"

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
                    f"SELECT id FROM runs WHERE status != ? AND id IN ({','.join('?' * len(ids))})",
                    [Status.FINISHED.value, *ids])]
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

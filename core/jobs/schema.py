"""The workspace database's schema, its version, and the migrations that bring
an older workspace up to date when it is opened.

The version lives in SQLite's ``user_version``. Version 0 is a workspace made
before versions were recorded (its tables are those of version 1). Every
change to the schema adds a migration here and extends
``tests/test_workspace_upgrade.py``, which opens a workspace made by the
oldest code (``tests/fixtures/workspace_v0``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from core.errors import InputError

TABLES = """
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
    started REAL NOT NULL, serves TEXT
);
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL,
    result TEXT, error TEXT
);
"""


def _v1_record_version(db: sqlite3.Connection) -> None:
    """Version 0 → 1: same tables; runs of one recipe are looked up by
    (experiment, recipe) on every page, so index that pair."""
    db.execute("CREATE INDEX IF NOT EXISTS runs_experiment_recipe ON runs(experiment_id, recipe)")


def _v2_worker_says_where_runs_train(db: sqlite3.Connection) -> None:
    """Version 1 → 2: the lease row records how its worker trains (``serves``: executor, Ray address, slots),
    so the app says where runs train from the running worker, not from its own settings (a worker started by
    hand with ``--executor ray`` was reported as local). A table created by this version has the column."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(worker_lease)")}
    if "serves" not in columns:
        db.execute("ALTER TABLE worker_lease ADD COLUMN serves TEXT")


# MIGRATIONS[v] brings a workspace from version v to v + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1_record_version, _v2_worker_says_where_runs_train)
SCHEMA_VERSION = len(MIGRATIONS)


def open_schema(db_path: Path) -> int:
    """Create the tables of a new workspace, or migrate an older one, and
    return the version it had. Refuses a workspace made by newer code."""
    db = sqlite3.connect(db_path, timeout=30.0, isolation_level=None)
    try:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            found = int(db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{db_path} is not a readable workspace database ({exc}). Move the workspace folder "
                             "aside and start with a new one (set IMBALANCE_LAB_WORKSPACE or --workspace).") from None
        if found > SCHEMA_VERSION:
            raise InputError(f"the workspace {db_path.parent} was made by a newer Imbalance Lab (workspace schema "
                             f"{found}; this version reads up to {SCHEMA_VERSION}). Update Imbalance Lab, or use "
                             "another workspace (IMBALANCE_LAB_WORKSPACE or --workspace).")
        if found == SCHEMA_VERSION:
            return found
        db.execute("BEGIN IMMEDIATE")
        try:
            found = int(db.execute("PRAGMA user_version").fetchone()[0])  # another process may have migrated
            if found < SCHEMA_VERSION:
                for statement in TABLES.split(";"):  # executescript would commit this transaction
                    if statement.strip():
                        db.execute(statement)
                for migrate in MIGRATIONS[found:]:
                    migrate(db)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return found
    finally:
        db.close()

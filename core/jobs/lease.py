"""The worker lease: one worker per workspace, held by a row (pid + heartbeat),
and starting a detached worker when none holds it.

TensorFlow-free: the app calls ``ensure_worker`` and ``lease_holder``; the
worker itself (``core.jobs.worker``) is started as its own process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.errors import InputError
from core.jobs.processes import pid_alive
from core.jobs.store import Store
from core.settings import PROJECT_ROOT, READ_ONLY_ENV, Settings, get_settings


class WorkerAlreadyRunning(InputError):
    pass


def _live(row, stale_after_s: float) -> bool:
    """Whether a lease row is held by a live worker with a fresh heartbeat."""
    return bool(row) and pid_alive(row["pid"]) and time.time() - row["heartbeat"] < stale_after_s


def lease_holder(store: Store, stale_after_s: float) -> int | None:
    """The pid of a live worker on this workspace, or None."""
    row = store.lease()
    return int(row["pid"]) if _live(row, stale_after_s) else None


def live_worker_serves(store: Store, stale_after_s: float) -> dict | None:
    """How the live worker on this workspace trains (``executor``, ``ray_address``, ``slots``), as it recorded in
    its lease; None without a live worker, or one that has not said yet (it does once its executor is up)."""
    row = store.lease()
    if not _live(row, stale_after_s) or not row["serves"]:
        return None
    try:
        return {**json.loads(row["serves"]), "pid": int(row["pid"])}
    except ValueError:
        return None


def acquire_lease(store: Store, stale_after_s: float) -> None:
    """Make this process the workspace's worker, or refuse if a live one is."""
    holder = store.take_lease(os.getpid(), socket.gethostname(), stale_after_s=stale_after_s)
    if holder is not None:
        raise WorkerAlreadyRunning(f"a worker (pid {holder}) already serves the workspace {store.root}; "
                                   "stop it first, or use another workspace.")


def release_lease(store: Store) -> None:
    store.drop_lease(os.getpid())


def renew_lease(store: Store) -> bool:
    """Refresh this worker's lease; False when another worker has taken it over
    (this one was stalled past ``stale_after_s``) and this one must stop."""
    return store.renew_lease(os.getpid())


def worker_env() -> dict[str, str]:
    """The environment of a worker the app starts: the app's, with the project on ``PYTHONPATH`` and without
    ``IMBALANCE_LAB_READ_ONLY`` — read-only is the app's mode; a worker never inherits it."""
    env = {k: v for k, v in os.environ.items() if k != READ_ONLY_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return env


def ensure_worker(workspace: str | Path, settings: Settings | None = None) -> int | None:
    """Start a detached worker if none holds the lease (the app calls this).
    Returns the live worker's pid, or None when auto-start is off or the
    workspace is served read-only (a read-only app never starts a worker)."""
    settings = settings or get_settings(workspace=workspace)
    store = Store(workspace)
    holder = lease_holder(store, settings.stale_after_s)
    if holder or settings.no_autostart or settings.read_only:
        return holder
    project_root = PROJECT_ROOT
    env = worker_env()
    with open(store.root / "logs" / "worker.log", "ab") as log:  # the worker keeps its own copy
        process = subprocess.Popen([sys.executable, "-m", "core", "--workspace", str(store.root), "worker"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=project_root,
                                   env=env, start_new_session=True)
    return process.pid

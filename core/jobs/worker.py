"""The worker service: one per workspace, held by a lease row (pid + heartbeat).

It claims queued runs and trains each in its own *spawned* child process
(never fork after TensorFlow is imported), with TensorFlow's threads pinned so
that the parallel slots fit the cores. Children die with their worker; a run
whose child died by a signal, or whose heartbeat went stale, becomes
``interrupted`` and is re-queued only by a user action.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.jobs.lease import acquire_lease, release_lease, renew_lease
from core.jobs.processes import pid_alive
from core.jobs.store import Status, Store
from core.settings import Settings, get_settings


def _is_run_process(pid: int) -> bool:
    """Whether ``pid`` still looks like a spawned run process (and not an
    unrelated process that got a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"multiprocessing" in fh.read()
    except OSError:
        return False


def interrupt_orphans(store: Store) -> int:
    """Runs left 'running' become interrupted. Called right after the lease
    is taken: no other live worker serves this workspace, so every running
    run is an orphan, whatever its recorded worker pid (pids get recycled)."""
    n = 0
    for run in store.runs(status=Status.RUNNING):
        if run.pid and run.pid != os.getpid() and pid_alive(run.pid) and _is_run_process(run.pid):
            try:
                os.kill(run.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        n += store.end_run(run.id, Status.INTERRUPTED, "its worker stopped while it ran; re-queue it to train again")
    return n


@dataclass
class _Child:
    process: mp.process.BaseProcess
    started: float
    cancel_seen: float | None = None


@dataclass
class Worker:
    store: Store
    settings: Settings
    slots: int
    children: dict[int, _Child] = field(default_factory=dict)
    stopping: bool = False

    @property
    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.slots)

    def spawn(self, run_id: int) -> None:
        from core.jobs.runner import child_main

        process = mp.get_context("spawn").Process(
            target=child_main, name=f"run-{run_id}", daemon=True,
            args=(str(self.store.root), run_id, self.threads, self.settings.heartbeat_s, os.getpid()))
        try:
            process.start()
        except OSError as exc:  # out of processes or memory: the claimed run must not stay 'running'
            self.store.end_run(run_id, Status.FAILED, f"could not start a training process: {exc}")
            return
        self.store.set_child(run_id, process.pid)
        self.children[run_id] = _Child(process, time.time())

    def reap(self) -> None:
        """Handle children that ended; a child that ended without recording an
        outcome died by a signal (interrupted) or crashed (failed)."""
        for run_id, child in list(self.children.items()):
            if child.process.is_alive():
                continue
            child.process.join(timeout=1)
            code = child.process.exitcode
            if code:  # it could not clean up after itself
                self.store.discard_staging(run_id)
            if code is not None and code < 0:
                self.store.end_run(run_id, Status.INTERRUPTED,
                                   f"the training process was killed by signal {-code}; re-queue it to train again")
            elif code:
                self.store.end_run(run_id, Status.FAILED, f"the training process exited with code {code} "
                                                          f"(see logs/run-{run_id}.log in the workspace)")
            else:  # exited normally without finishing, cancelling or failing its run
                self.store.end_run(run_id, Status.FAILED, "the training process ended without recording a result "
                                                          f"(see logs/run-{run_id}.log in the workspace)")
            del self.children[run_id]

    def police(self) -> None:
        """Enforce cancels after the grace period, and interrupt silent children."""
        now = time.time()
        for run_id, child in list(self.children.items()):
            run = self.store.run(run_id)
            if run.status != Status.RUNNING.value:
                continue
            if run.cancel_requested:
                child.cancel_seen = child.cancel_seen or now
                if now - child.cancel_seen > self.settings.cancel_grace_s:
                    child.process.kill()
                    child.process.join(timeout=5)
                    self.store.discard_staging(run_id)
                    self.store.end_run(run_id, Status.CANCELLED, "cancelled by the user (stopped after the grace period)")
                    del self.children[run_id]
                continue
            if run.heartbeat and now - run.heartbeat > self.settings.stale_after_s:
                child.process.kill()
                child.process.join(timeout=5)
                self.store.discard_staging(run_id)
                self.store.end_run(run_id, Status.INTERRUPTED, "no heartbeat from the training process; re-queue it "
                                                               "to train again")
                del self.children[run_id]

    def serve_predictions(self) -> None:
        from core.jobs.predict_service import serve_pending

        serve_pending(self.store)

    def stop_children(self) -> None:
        for run_id, child in list(self.children.items()):
            child.process.kill()
            child.process.join(timeout=5)
            self.store.discard_staging(run_id)
            self.store.end_run(run_id, Status.INTERRUPTED, "the worker was stopped while it ran; re-queue it")
        self.children.clear()


def run_worker(workspace: str | Path | None = None, *, slots: int | None = None, until_idle: bool = False,
               poll_s: float = 0.5) -> None:
    """Serve the workspace's queue until stopped (or, with ``until_idle``, until
    nothing is queued or running)."""
    settings = get_settings(**({"workspace": workspace} if workspace else {}))
    store = Store(settings.workspace)
    acquire_lease(store, settings.stale_after_s)
    interrupt_orphans(store)
    store.discard_staging()  # nothing runs now: every staging folder is a killed run's leftover
    worker = Worker(store, settings, slots or settings.slots)

    def _stop(signum, frame):
        worker.stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    last_lease = 0.0
    try:
        while not worker.stopping:
            if time.time() - last_lease > 1.0:
                if not renew_lease(store):
                    print(f"worker {os.getpid()}: another worker took over {store.root}; stopping", file=sys.stderr)
                    break
                last_lease = time.time()
            worker.reap()
            worker.police()
            worker.serve_predictions()
            while len(worker.children) < worker.slots:
                run = store.claim_next(os.getpid())
                if run is None:
                    break
                worker.spawn(run.id)
            if until_idle and not worker.children and not store.runs(status=Status.QUEUED):
                break
            time.sleep(poll_s)
    finally:
        worker.stop_children()
        release_lease(store)

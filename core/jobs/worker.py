"""The worker service: one per workspace, held by a lease row (pid + heartbeat).

It claims queued runs, hands each to its executor as a self-contained task
(``core.jobs.tasks``) and writes what comes back into the store: it is the
only process that writes run outcomes. The local executor trains in warm,
spawned processes, one per slot, with TensorFlow's threads pinned so that the
slots fit the cores; the Ray executor (``core.jobs.ray_executor``) sends each
run to a Ray cluster as a task. Runs die with their worker; a run whose
process died by a signal or was lost with its node, or whose heartbeat went
stale, becomes ``interrupted`` and is re-queued only by a user action.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError
from core.jobs.executors import RAY_REQUIREMENTS, check_executor
from core.jobs.lease import acquire_lease, release_lease, renew_lease
from core.jobs.local_executor import LocalExecutor
from core.jobs.processes import pid_alive
from core.jobs.runner import DatasetCache, prepare_split, record_end, store_result, task_for
from core.jobs.store import Status, Store
from core.jobs.tasks import Beat, Done, Ended, Started
from core.jobs.training import failure
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
class Worker:
    """Claims queued runs, hands them to its executor as tasks, and writes
    what comes back into the store (the only writer of run outcomes)."""

    store: Store
    settings: Settings
    executor: LocalExecutor  # or core.jobs.ray_executor.RayExecutor: the same verbs
    datasets: DatasetCache
    cancel_seen: dict[int, float] = field(default_factory=dict)
    prepared: set[int] = field(default_factory=set)  # queued runs whose split was looked at ahead of their claim
    stopping: bool = False

    def handle(self, event) -> None:
        if isinstance(event, Started):
            self.store.set_child(event.run_id, event.pid)
        elif isinstance(event, Beat):
            if self.store.heartbeat(event.run_id, event.progress) and event.run_id not in self.cancel_seen:
                self._ask_to_cancel(event.run_id)
        elif isinstance(event, Done):
            store_result(self.store, event.run_id, event.result)
        elif isinstance(event, Ended):
            record_end(self.store, event)
        if isinstance(event, (Done, Ended)):
            self.cancel_seen.pop(event.run_id, None)

    def _ask_to_cancel(self, run_id: int) -> None:
        self.cancel_seen[run_id] = time.time()
        self.executor.cancel(run_id)

    def police(self) -> None:
        """Enforce cancels after the grace period, and interrupt silent runs."""
        now = time.time()
        for run_id in self.executor.running():
            run = self.store.run(run_id)
            if run.status != Status.RUNNING.value:
                continue
            if run.cancel_requested:
                if run_id not in self.cancel_seen:
                    self._ask_to_cancel(run_id)
                elif now - self.cancel_seen[run_id] > self.settings.cancel_grace_s:
                    self.executor.kill(run_id)
                    self.store.end_run(run_id, Status.CANCELLED,
                                       "cancelled by the user (stopped after the grace period)")
                    self.cancel_seen.pop(run_id, None)
                continue
            if run.heartbeat and now - run.heartbeat > self.settings.stale_after_s:
                self.executor.kill(run_id)
                self.store.end_run(run_id, Status.INTERRUPTED, "no heartbeat from the training process; re-queue it "
                                                               "to train again")

    def claim(self) -> None:
        """Fill the executor's free capacity with queued runs."""
        while self.executor.free() > 0:
            run = self.store.claim_next(os.getpid())
            if run is None:
                return
            try:
                task = task_for(self.store, run.id, self.datasets)
            except Exception as exc:  # the dataset or split cannot be read: this run fails, the worker goes on
                record_end(self.store, failure(run.id, exc))
                continue
            self.executor.submit(task)

    def prepare_next(self) -> None:
        """With every slot busy, draw the split of one of the next queued runs
        (at most one per loop, so events keep flowing)."""
        if self.executor.free() > 0:
            return
        queued = sorted(self.store.runs(status=Status.QUEUED), key=lambda r: r.id)[: self.executor.slots]
        for run in (r for r in queued if r.id not in self.prepared):
            self.prepared.add(run.id)
            try:
                if prepare_split(self.store, run.id, self.datasets):
                    return
            except Exception:  # its claim will fail it with a message; nothing to do ahead of that
                continue

    def serve_predictions(self) -> None:
        from core.jobs.predict_service import serve_pending

        serve_pending(self.store)

    def stop_children(self) -> None:
        for run_id in self.executor.shutdown():
            self.store.end_run(run_id, Status.INTERRUPTED, "the worker was stopped while it ran; re-queue it")


def threads_per_slot(slots: int) -> int:
    """TensorFlow threads per run process, so that the slots fit the cores."""
    return max(1, (os.cpu_count() or 1) // slots)


def make_executor(settings: Settings, slots: int | None = None):
    """The executor ``settings.executor`` names: local processes (``slots`` of them, default one per core), or
    Ray tasks (at most ``slots`` at a time when given, else as many as the cluster has CPUs)."""
    if check_executor(settings.executor) == "ray":
        try:
            import ray  # noqa: F401  (an optional extra)
        except ImportError:
            raise InputError(f"the Ray executor needs Ray, an optional extra: install it with `.venv/bin/pip install "
                             f"-r {RAY_REQUIREMENTS}` (or run with --executor local).") from None
        from core.jobs.ray_executor import RayExecutor

        return RayExecutor(settings, max_slots=slots or settings.worker_slots or None)
    slots = slots or settings.slots
    return LocalExecutor(settings, slots, threads_per_slot(slots))


def run_worker(workspace: str | Path | None = None, *, slots: int | None = None, until_idle: bool = False,
               poll_s: float = 0.5, executor: str | None = None, ray_address: str | None = None) -> None:
    """Serve the workspace's queue until stopped (or, with ``until_idle``, until
    nothing is queued or running). ``executor`` and ``ray_address`` override the
    settings' (``IMBALANCE_LAB_EXECUTOR``, ``IMBALANCE_LAB_RAY_ADDRESS``)."""
    settings = get_settings(**({"workspace": workspace} if workspace else {}), executor=executor,
                            ray_address=ray_address)
    check_executor(settings.executor)
    store = Store(settings.workspace)
    acquire_lease(store, settings.stale_after_s)
    worker = None
    try:
        interrupt_orphans(store)
        store.discard_staging()  # nothing runs now: every staging folder is a killed run's leftover
        executor = make_executor(settings, slots)
        store.describe_lease(os.getpid(), {"executor": settings.executor, "ray_address": settings.ray_address or None,
                                           "slots": executor.slots})
        worker = Worker(store, settings, executor, DatasetCache(store))
        _serve(worker, store, until_idle=until_idle, poll_s=poll_s)
    finally:
        if worker is not None:
            worker.stop_children()
        release_lease(store)


def _serve(worker: Worker, store: Store, *, until_idle: bool, poll_s: float) -> None:
    """The worker's loop: events, policing, predictions, claims, splits ahead."""

    def _stop(signum, frame):
        worker.stopping = True

    signal.signal(signal.SIGTERM, _stop)  # after the executor: ray.init installs a handler of its own
    signal.signal(signal.SIGINT, _stop)
    last_lease = 0.0
    while not worker.stopping:
        if time.time() - last_lease > 1.0:
            if not renew_lease(store):
                print(f"worker {os.getpid()}: another worker took over {store.root}; stopping", file=sys.stderr)
                break
            last_lease = time.time()
        for event in worker.executor.poll(poll_s):
            worker.handle(event)
        worker.police()
        worker.serve_predictions()
        worker.claim()
        worker.prepare_next()
        if until_idle and not worker.executor.running() and not store.runs(status=Status.QUEUED):
            break

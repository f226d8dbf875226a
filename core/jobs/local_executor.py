"""The local executor: runs train in warm processes on this machine, one per
slot (``core.jobs.slot``), spawned (never forked: the worker may have
imported TensorFlow-free libraries that do not survive a fork) and started
when there is work for them.

The worker owns the store; this class only moves tasks out and events back
(``Started``, ``Beat``, ``Done``, ``Ended``). A process that dies while it
trains reports its run as ended: *interrupted* when a signal killed it (re-
queueable), *failed* otherwise."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait

from core.jobs.records import Status
from core.jobs.tasks import Beat, Done, Ended, RunTask, Started
from core.settings import Settings


@dataclass
class _Slot:
    process: mp.process.BaseProcess
    conn: Connection
    cancel: object  # multiprocessing Event
    dataset_id: str | None = None
    task: RunTask | None = None
    taken: bool = False  # the process has begun the task (its first beat came)
    runs: int = 0

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)


@dataclass
class LocalExecutor:
    """Trains up to ``slots`` runs at a time, each slot in its own warm process
    with ``threads`` TensorFlow threads."""

    settings: Settings
    slots: int
    threads: int
    name: str = "local"
    _slots: list[_Slot] = field(default_factory=list)
    _pending: list[RunTask] = field(default_factory=list)
    _events: list = field(default_factory=list)  # from submit, handed out by the next poll

    # ----- what the worker calls -----
    def free(self) -> int:
        """How many more tasks it can take now."""
        return self.slots - len(self.running()) - len(self._pending)

    def running(self) -> set[int]:
        """Runs handed to this executor and not yet reported done or ended."""
        return {s.task.run_id for s in self._slots if s.task is not None} | {t.run_id for t in self._pending}

    def submit(self, task: RunTask) -> None:
        """Hand a task over; it starts at once when a slot is free (so a new
        process imports TensorFlow while the worker prepares the next task)."""
        self._pending.append(task)
        self._events.extend(self._dispatch())

    def poll(self, timeout: float) -> list:
        """Dispatch waiting tasks, then collect events (waiting up to
        ``timeout`` seconds for the first one)."""
        events: list = self._events + self._dispatch()
        self._events = []
        conns = [s.conn for s in self._slots]
        ready = wait(conns, timeout=0 if events else timeout) if conns else (time.sleep(timeout) or [])
        for slot in list(self._slots):
            if slot.conn in ready:
                events.extend(self._drain(slot))
        events.extend(self._reap())
        return events

    def cancel(self, run_id: int) -> None:
        """Ask the run to stop at its next batch (it then ends *cancelled*)."""
        slot = self._slot_of(run_id)
        if slot is not None:
            slot.cancel.set()
        if any(t.run_id == run_id for t in self._pending):  # not started yet: it ends now
            self._pending = [t for t in self._pending if t.run_id != run_id]
            self._events.append(Ended(run_id, Status.CANCELLED, "cancelled by the user", kind="cancelled"))

    def kill(self, run_id: int) -> None:
        """Stop the run's process now; the caller records how the run ended."""
        slot = self._slot_of(run_id)
        if slot is not None:
            self._remove(slot, kill=True)
        self._pending = [t for t in self._pending if t.run_id != run_id]

    def shutdown(self) -> list[int]:
        """Stop every process; returns the runs that were training (the worker
        records them interrupted)."""
        busy = [s.task.run_id for s in self._slots if s.task is not None]
        for slot in list(self._slots):
            self._remove(slot, kill=True)
        self._pending.clear()
        return busy

    # ----- inside -----
    def _slot_of(self, run_id: int) -> _Slot | None:
        return next((s for s in self._slots if s.task is not None and s.task.run_id == run_id), None)

    def _start(self) -> _Slot:
        from core.jobs.slot import slot_main

        ctx = mp.get_context("spawn")
        ours, theirs = ctx.Pipe()
        cancel = ctx.Event()
        s = self.settings
        process = ctx.Process(target=slot_main, name="imbalance-lab-run", daemon=True,
                              args=(theirs, cancel, self.threads, s.heartbeat_s, os.getpid(), s.slot_max_runs,
                                    s.slot_max_rss_mb, s.slot_idle_s))
        process.start()
        theirs.close()
        slot = _Slot(process, ours, cancel)
        self._slots.append(slot)
        return slot

    def _dispatch(self) -> list:
        events: list = []
        while self._pending:
            slot = next((s for s in self._slots if s.task is None and s.process.is_alive()
                         and s.runs < self.settings.slot_max_runs), None)
            if slot is None and len(self._slots) >= self.slots:
                break
            task = self._pending.pop(0)
            try:
                slot = slot or self._start()
                if slot.dataset_id != task.dataset_id:
                    slot.conn.send(("data", task.dataset_id, task.data))
                    slot.dataset_id = task.dataset_id
                slot.conn.send(("run", replace(task, data=None)))
            except OSError as exc:  # out of processes or memory, or the process just went away
                if slot is not None:
                    self._remove(slot, kill=True)
                events.append(Ended(task.run_id, Status.FAILED, f"could not start a training process: {exc}"))
                continue
            slot.task, slot.taken = task, False
            slot.runs += 1
            events.append(Started(task.run_id, slot.pid))
        return events

    def _drain(self, slot: _Slot) -> list:
        events: list = []
        while True:
            try:
                if not slot.conn.poll(0):
                    break
                message = slot.conn.recv()
            except (EOFError, OSError):
                break  # the process is gone: _reap says how the run ended
            if slot.task is None or message.run_id != slot.task.run_id:
                continue  # a late beat of a run already handled
            if isinstance(message, Beat):
                slot.taken = True
            if isinstance(message, (Done, Ended)):
                slot.task = None
            events.append(message)
        return events

    def _reap(self) -> list:
        """Processes that ended: a run they held ended with them, unless the
        process left before it began it (an idle exit racing a new task: the
        task goes back to the front of the line)."""
        events: list = []
        for slot in list(self._slots):
            if slot.process.is_alive():
                continue
            events.extend(self._drain(slot))
            slot.process.join(timeout=1)
            code = slot.process.exitcode
            task = slot.task
            self._remove(slot, kill=False)
            if task is None:
                continue
            if code == 0 and not slot.taken:
                self._pending.insert(0, task)
            elif code is not None and code < 0:
                events.append(Ended(task.run_id, Status.INTERRUPTED, f"the training process was killed by signal "
                                                                     f"{-code}; re-queue it to train again"))
            else:
                events.append(Ended(task.run_id, Status.FAILED, f"the training process exited with code {code} "
                                                                f"(see logs/run-{task.run_id}.log in the workspace)"))
        return events

    def _remove(self, slot: _Slot, *, kill: bool) -> None:
        if kill and slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=5)
        slot.conn.close()
        self._slots.remove(slot)

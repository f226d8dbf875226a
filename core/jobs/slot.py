"""A warm run process: one per slot of the local executor. It imports
TensorFlow once and trains the runs it is sent one after another, each from a
fresh Keras session and its own seeds (``core.keras.train.seed_everything``),
so a run's result does not depend on what the process trained before.

It exits after ``max_runs`` runs, above ``max_rss_mb`` of resident memory, or
after ``idle_s`` without work (an idle TensorFlow process holds ≈0.9 GB), and
dies with the worker (``die_with_parent``). It never opens the workspace:
tasks, beats and results travel over its pipe (``core.jobs.local_executor``).

Messages in: ``("data", dataset_id, LabeledTexts)`` (once per dataset),
``("run", RunTask without data)``, ``("stop",)``. Out: ``Beat``, ``Done``,
``Ended`` (``core.jobs.tasks``)."""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection

from core.jobs.processes import die_with_parent
from core.jobs.tasks import Beat, Done, RunTask

PROGRESS_EVERY_S = 1.0
# Training yields the CPU to the app (and to predictions): on 2 cores two
# training processes at normal priority made every page wait seconds.
RUN_NICENESS = 10


class _Channel:
    """The pipe to the worker; sends from the training thread and the beat
    thread never interleave."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message, *, blocking: bool = True) -> bool:
        if not self.lock.acquire(blocking=blocking):
            return False
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError):
            os._exit(1)  # the worker is gone
        finally:
            self.lock.release()
        return True


class _Liveness(threading.Thread):
    """Beats for the current run on a timer and on progress (at most about
    once a second; the latest report is never lost), and exits the process
    when the worker is gone."""

    def __init__(self, channel: _Channel, interval: float, parent_pid: int):
        super().__init__(daemon=True)
        self.channel, self.interval, self.parent_pid = channel, interval, parent_pid
        self.state = threading.Lock()
        self.run_id: int | None = None
        self.progress: dict | None = None
        self.unsent = False
        self.last = 0.0

    def begin(self, run_id: int) -> None:
        with self.state:
            self.run_id, self.progress, self.unsent = run_id, None, False
        self._beat()  # at once: the worker learns the run was taken

    def end(self) -> None:
        if self.unsent:
            self._beat()
        with self.state:
            self.run_id = None

    def report(self, progress: dict) -> None:
        with self.state:
            self.progress = {**(self.progress or {}), **progress, "updated": time.time()}
            self.unsent = True
        if time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self._beat(blocking=False)

    def _beat(self, *, blocking: bool = True) -> None:
        with self.state:
            if self.run_id is None:
                return
            beat = Beat(self.run_id, dict(self.progress) if self.unsent and self.progress else None)
            self.unsent = False
        if self.channel.send(beat, blocking=blocking):
            self.last = time.monotonic()
        elif beat.progress is not None:
            with self.state:
                self.unsent = True  # the other thread was sending; the next beat carries it

    def run(self) -> None:
        # At most a second between parent checks: PR_SET_PDEATHSIG is the fast
        # path, this catches a worker that died before it was set.
        while True:
            time.sleep(min(self.interval, 1.0))
            if os.getppid() != self.parent_pid:
                os._exit(1)
            if self.run_id is not None and time.monotonic() - self.last >= self.interval:
                self._beat()


def rss_mb() -> float:
    """Resident memory of this process, in MiB (Linux)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def slot_main(conn: Connection, cancel, threads: int, heartbeat_s: float, parent_pid: int, max_runs: int,
              max_rss_mb: float, idle_s: float) -> None:
    """Entry point of a warm run process. ``cancel``: an event the worker
    sets to stop the current run at its next batch."""
    die_with_parent()
    if os.getppid() != parent_pid:
        os._exit(1)  # orphaned before PR_SET_PDEATHSIG took effect
    os.nice(RUN_NICENESS)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    channel = _Channel(conn)
    live = _Liveness(channel, heartbeat_s, parent_pid)
    live.start()

    from core.jobs.training import failure, train_run
    from core.runs.references import is_reference

    datasets: dict = {}
    keras_ready = False
    runs = 0
    while runs < max_runs and conn.poll(idle_s):
        try:
            message = conn.recv()
        except EOFError:
            break
        if message[0] == "stop":
            break
        if message[0] == "data":
            datasets = {message[1]: message[2]}  # one dataset at a time: the worker sends it again when needed
            continue
        task: RunTask = replace(message[1], data=datasets[message[1].dataset_id])
        cancel.clear()
        live.begin(task.run_id)
        if not keras_ready and not is_reference(task.recipe):
            live.report({"stage": "loading TensorFlow"})  # a new process's first LSTM run: seconds
            from core.keras import train

            train.configure_threads(threads)  # before TensorFlow's first op
            keras_ready = True
        try:
            outcome = Done(task.run_id, train_run(task, report=live.report, should_stop=cancel.is_set))
        except Exception as exc:
            outcome = failure(task.run_id, exc)
        live.end()
        channel.send(outcome)
        runs += 1
        del outcome, task
        gc.collect()
        if rss_mb() > max_rss_mb:
            break
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without interpreter teardown: TensorFlow's thread pools can hold an
    # exiting process for many seconds, and nothing is left to write.
    os._exit(0)

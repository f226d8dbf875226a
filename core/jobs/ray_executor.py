"""The Ray executor: every run is one Ray task (``python -m core worker
--executor ray [--ray-address ADDR]``), beside the local executor and with its
verbs (free, running, submit, poll, cancel, kill, shutdown) and events
(``Started``, ``Beat``, ``Done``, ``Ended``).

The workspace stays on the worker's machine: the worker claims runs and writes
every result; Ray only trains. What a task needs travels with it — the dataset
and each seed's split go into Ray's object store once per experiment, a file a
strategy reads (``pretrained_vectors``) once per version of the file, and the
code runs import (``core/`` and the synonym table) as the Ray job's working
directory — so nodes need the Python packages (``requirements-ray.txt``) but no
shared filesystem and no access to the workspace.

A task takes one CPU and pins TensorFlow to one thread (what a local slot gets
when there is a slot per core, the default: a seed gives the same metrics on
either executor), is never retried by Ray (``max_retries=0``: a retried task
could finish a run twice), and starts each run from a fresh Keras session and
its seeds, as a warm local process does — Ray reuses its worker processes, so
they are warm too (and replaced after ``slot_max_runs`` runs). Progress reaches
the worker through a small actor (``RunBoard``) that it polls; Cancel is
``ray.cancel`` (an interrupt at the task's next Python step, then a forced stop
after the grace period); a task lost with its process or node ends
*interrupted* and can be re-queued.

Worker-side: it imports Ray at module level, so only the worker imports it
(``core.jobs.worker.make_executor``), never the app."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shutil
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import ray
import ray.exceptions as rayerr

from core.errors import InputError
from core.files import atomic_write_bytes, local_copies, user_file
from core.jobs.records import Status
from core.jobs.tasks import Beat, Done, Ended, RunTask, Started
from core.settings import PROJECT_ROOT, Settings

# Ray collects usage statistics unless told not to; our users may be air-gapped. Set wherever the product starts
# or joins Ray (here for the worker and, through the job's environment, for every task).
USAGE_STATS_ENV = "RAY_USAGE_STATS_ENABLED"
TASK_THREADS = 1  # TensorFlow threads of a run: a task takes one CPU
SHIP_MAX_BYTES = 1 << 30  # a user file a run reads is shipped to the nodes up to this size
CODE = ("core", "data/wordnet_synonyms.json.gz")  # what runs read of the checkout (augmentation reads the table)
WAITING = {"stage": "waiting for a Ray worker"}
CLUSTER_READ_EVERY_S = 10.0  # how often the cluster's CPUs (nodes join and leave) are read again
# The task's process or node went away: not the run's fault, and it may be re-queued.
LOST = (rayerr.WorkerCrashedError, rayerr.NodeDiedError, rayerr.LocalRayletDiedError, rayerr.ObjectLostError,
        rayerr.OutOfMemoryError, rayerr.RaySystemError)


# ----------------------------------------------------------------- worker side
@dataclass
class _InFlight:
    task: RunTask
    ref: ray.ObjectRef
    pid: int | None = None  # the task's process, once its first beat came
    waiting_beat: float = 0.0  # when the executor last beat for it while it waited for a Ray worker


class RayExecutor:
    """Trains runs as Ray tasks, up to the cluster's CPUs (or ``max_slots``) at a time."""

    name = "ray"

    def __init__(self, settings: Settings, *, max_slots: int | None = None):
        self.settings, self.max_slots = settings, max_slots
        self._code = _stage_code()
        try:
            _connect(settings, self._code)
        except BaseException:
            shutil.rmtree(self._code, ignore_errors=True)
            raise
        self._train = ray.remote(num_cpus=1, max_retries=0, max_calls=max(1, settings.slot_max_runs))(train_on_node)
        self._board = ray.remote(num_cpus=0, max_restarts=-1)(RunBoard).remote()
        self._flight: dict[int, _InFlight] = {}
        self._events: list = []
        self._data: OrderedDict = OrderedDict()  # dataset id -> ObjectRef
        self._splits: OrderedDict = OrderedDict()  # (experiment id, seed) -> ObjectRef
        self._files: OrderedDict = OrderedDict()  # (path, size, mtime) -> ObjectRef
        self._cpus, self._cpus_read = 1, float("-inf")

    # ----- what the worker calls -----
    @property
    def slots(self) -> int:
        """Runs in flight at most: ``max_slots``, else the cluster's CPUs now."""
        if self.max_slots:
            return self.max_slots
        if time.monotonic() - self._cpus_read > CLUSTER_READ_EVERY_S:
            try:
                self._cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            except Exception:  # the cluster is unreachable for a moment: keep the last count
                pass
            self._cpus_read = time.monotonic()
        return self._cpus

    def free(self) -> int:
        return self.slots - len(self._flight)

    def running(self) -> set[int]:
        return set(self._flight)

    def submit(self, task: RunTask) -> None:
        """Send the run to the cluster; its data and split go up once per experiment."""
        try:
            data, split, files = self._data_ref(task), self._split_ref(task), self._file_refs(task)
        except InputError as exc:
            self._events.append(Ended(task.run_id, Status.FAILED, str(exc), kind="input"))
            return
        except OSError as exc:
            self._events.append(Ended(task.run_id, Status.FAILED, str(exc), kind="files",
                                      trace=traceback.format_exc()))
            return
        ref = self._train.remote(replace(task, data=None, split=None), data, split, files, self._board,
                                 TASK_THREADS, self.settings.heartbeat_s)
        self._flight[task.run_id] = _InFlight(task, ref, waiting_beat=time.monotonic())
        self._events.append(Beat(task.run_id, dict(WAITING)))

    def poll(self, timeout: float) -> list:
        """Collect events, waiting up to ``timeout`` seconds for a task to end:
        the tasks' beats first (a task's last one is on the board before its
        result is ready), then the results."""
        events, self._events = self._events, []
        refs = [f.ref for f in self._flight.values()]
        ready: list = []
        if refs:
            ray.wait(refs, num_returns=1, timeout=0 if events else timeout)
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        elif not events:
            time.sleep(timeout)
        events += self._beats()
        done = {r.hex() for r in ready}
        for flight in [f for f in self._flight.values() if f.ref.hex() in done]:
            del self._flight[flight.task.run_id]
            events.append(self._outcome(flight))
        return events

    def cancel(self, run_id: int) -> None:
        """Interrupt the run's task (a queued one never starts); it ends *cancelled*."""
        flight = self._flight.get(run_id)
        if flight is not None:
            try:
                ray.cancel(flight.ref, force=False)
            except Exception:  # already ended: its outcome comes with the next poll
                pass

    def kill(self, run_id: int) -> None:
        """Stop the run's task now (its worker process is killed); the caller records how the run ended."""
        flight = self._flight.pop(run_id, None)
        if flight is not None:
            try:
                ray.cancel(flight.ref, force=True)
            except Exception:
                pass

    def shutdown(self) -> list[int]:
        """Stop every task and leave the cluster (a Ray instance this worker started stops with it); returns
        the runs that were in flight (the worker records them interrupted)."""
        busy = list(self._flight)
        for flight in self._flight.values():
            try:
                ray.cancel(flight.ref, force=True)
            except Exception:
                pass
        self._flight.clear()
        try:
            ray.shutdown()
        finally:
            shutil.rmtree(self._code, ignore_errors=True)
        return busy

    # ----- inside -----
    def _data_ref(self, task: RunTask):
        return _cached(self._data, task.dataset_id, lambda: ray.put(task.data), keep=2)

    def _split_ref(self, task: RunTask):
        return _cached(self._splits, (task.experiment_id, task.seed), lambda: ray.put(task.split), keep=64)

    def _file_refs(self, task: RunTask) -> dict:
        """The content of every file the run's recipe reads on this machine, by the path the user gave."""
        refs = {}
        for raw in files_read_by(task.recipe):
            path, key = shippable(raw, task.recipe)
            refs[key[0]] = _cached(self._files, key, lambda: ray.put(path.read_bytes()), keep=4)
        return refs

    def _beats(self) -> list:
        """What the tasks reported since the last poll; a beat for each task still waiting for a Ray worker."""
        try:
            fresh = ray.get(self._board.take.remote(), timeout=10)
        except Exception:  # the board is restarting: the tasks' next beats reach it
            fresh = []
        events: list = []
        for run_id, pid, progress in fresh:
            flight = self._flight.get(run_id)
            if flight is None:
                continue  # a late beat of a run already handled
            if flight.pid is None:
                flight.pid = pid
                events.append(Started(run_id, pid))
            events.append(Beat(run_id, progress))
        now = time.monotonic()
        for flight in self._flight.values():
            if flight.pid is None and now - flight.waiting_beat >= self.settings.heartbeat_s:
                flight.waiting_beat = now
                events.append(Beat(flight.task.run_id, None))
        return events

    def _outcome(self, flight: _InFlight):
        """The ended task's ``Done`` or ``Ended``."""
        try:
            return ray.get(flight.ref, timeout=300)
        except (rayerr.RayError, rayerr.GetTimeoutError) as exc:
            return ended_by(flight.task.run_id, exc)


def ended_by(run_id: int, exc: BaseException) -> Ended:
    """How a run whose task raised ``exc`` in ``ray.get`` ended, in the local executor's words: a cancel is
    *cancelled*; a process or node lost is *interrupted* (re-queueable); a node that cannot set up the code,
    or an error of ours, is *failed*."""
    if isinstance(exc, rayerr.TaskCancelledError):
        return Ended(run_id, Status.CANCELLED, "cancelled by the user", kind="cancelled")
    if isinstance(exc, rayerr.RuntimeEnvSetupError):
        return Ended(run_id, Status.FAILED, "a Ray node could not set up the run's code (are the packages of "
                                            f"requirements-ray.txt installed on it?): {_first_line(exc)}")
    if isinstance(exc, rayerr.RayTaskError) and not isinstance(exc, LOST):
        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
        return Ended(run_id, Status.FAILED, f"{type(cause).__name__}: {_first_line(cause)}", kind="bug",
                     trace=str(exc))
    what = ("the Ray worker training it was lost" if isinstance(exc, LOST) else "Ray lost the run")
    return Ended(run_id, Status.INTERRUPTED, f"{what} ({_first_line(exc)}); re-queue it to train again")


def _cached(cache: OrderedDict, key, make, *, keep: int):
    """``cache[key]``, made by ``make()`` when missing; the ``keep`` most recently used stay (the object
    store frees what no one refers to)."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    cache[key] = value = make()
    while len(cache) > keep:
        cache.popitem(last=False)
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def files_read_by(recipe: str) -> tuple[str, ...]:
    """Paths of the files on the worker's machine that a run of ``recipe`` reads."""
    from core.runs.references import is_reference
    from core.strategies.registry import build

    if is_reference(recipe):
        return ()
    return tuple(dict.fromkeys(raw for strategy in build(recipe) for raw in strategy.files() if str(raw).strip()))


def shippable(raw: str, recipe: str) -> tuple[Path, tuple]:
    """The file at the user's path ``raw`` and its version (path, size, mtime), if it may be shipped to the
    nodes; an ``InputError`` saying what to do when it is too big."""
    path = user_file(raw)
    stat = path.stat()
    if stat.st_size > SHIP_MAX_BYTES:
        raise InputError(f"{recipe} reads {path} ({stat.st_size / 2**20:,.0f} MiB) on the worker's machine; runs on "
                         f"Ray ship such a file to the nodes up to {SHIP_MAX_BYTES / 2**20:,.0f} MiB. Keep only the "
                         "words your data uses in it, or train this recipe with the local executor "
                         "(--executor local).")
    return path, (str(raw).strip(), stat.st_size, stat.st_mtime_ns)


def own_folder(kind: str) -> Path:
    """A fresh, empty folder of this process, ``<temp>/imbalance-lab-<kind>/<pid>``. The folders of processes
    that are gone (a killed worker or Ray worker process never removes its own) are removed first."""
    from core.jobs.processes import pid_alive

    base = Path(tempfile.gettempdir()) / f"imbalance-lab-{kind}"
    base.mkdir(exist_ok=True)
    for folder in base.iterdir():
        if folder.name.isdigit() and not pid_alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    own = base / str(os.getpid())
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir()
    return own


def _stage_code() -> Path:
    """The code a run imports, copied out of the checkout into a fresh folder that becomes the Ray job's working
    directory (Ray uploads it once per content and unpacks it on each node): ``core/`` and the synonym table
    augmentation reads — nothing of the workspace, the tests or the benchmarks."""
    root = own_folder("ray-code")
    try:
        for part in CODE:
            source, target = PROJECT_ROOT / part, root / part
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    except OSError:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def _connect(settings: Settings, code: Path) -> None:
    """Join the cluster at ``settings.ray_address``, or start a Ray instance on this machine sized to it (its
    processes die with the worker)."""
    os.environ[USAGE_STATS_ENV] = "0"
    runtime_env = {"working_dir": str(code), "env_vars": {USAGE_STATS_ENV: "0", "TF_CPP_MIN_LOG_LEVEL": "2"}}
    common = dict(runtime_env=runtime_env, namespace="imbalance-lab", log_to_driver=False,
                  logging_level=logging.WARNING)
    address = settings.ray_address.strip()
    try:
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(address="local", include_dashboard=False, **common)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"join the Ray cluster at {address}" if address else "start a Ray instance on this machine"
        raise InputError(f"could not {where}: {_first_line(exc)}. "
                         + ("Is it running (`ray start --head` on its head node) and reachable from here? If it uses "
                            "Ray's token authentication, give the worker RAY_AUTH_MODE=token and the cluster's token "
                            "(RAY_AUTH_TOKEN, or ~/.ray/auth_token)." if address else "")) from None


# ------------------------------------------------------------ on the cluster
class RunBoard:
    """The latest beat of every run in flight until the worker takes it (a
    task cannot reach the worker's process as a local slot's pipe does): one
    small actor per executor, on no CPU."""

    def __init__(self):
        self._fresh: dict[int, tuple[int, int, dict | None]] = {}

    def beat(self, run_id: int, pid: int, progress: dict | None) -> None:
        kept = self._fresh.get(run_id)
        if progress is None and kept is not None:
            progress = kept[2]  # a plain beat after a progress report keeps the report for the worker
        self._fresh[run_id] = (run_id, pid, progress)

    def take(self) -> list[tuple[int, int, dict | None]]:
        fresh, self._fresh = list(self._fresh.values()), {}
        return fresh


class _BoardChannel:
    """What ``core.jobs.slot._Liveness`` sends beats through in a Ray worker
    process: calls to the board (fire and forget); ``flush`` waits until the
    last one has arrived."""

    def __init__(self, board):
        self.board = board
        self.lock = threading.Lock()
        self.last = None

    def send(self, beat: Beat, *, blocking: bool = True) -> bool:
        if not self.lock.acquire(blocking=blocking):
            return False
        try:
            self.last = self.board.beat.remote(beat.run_id, os.getpid(), beat.progress)
        except Exception:  # the board is gone with its worker: the run's own end is what counts
            pass
        finally:
            self.lock.release()
        return True

    def flush(self, timeout: float = 30.0) -> None:
        if self.last is not None:
            try:
                ray.get(self.last, timeout=timeout)
            except Exception:
                pass


# This Ray worker process, across the runs Ray gives it: set up once (niceness, TensorFlow's threads before its
# first op, the beat thread), and the files shipped to it.
_PROCESS: dict = {"niced": False, "keras": False, "live": None, "copies": OrderedDict(), "folder": None}


def _liveness(board, heartbeat_s: float):
    from core.jobs.slot import _Liveness

    live = _PROCESS["live"]
    if live is None:
        live = _PROCESS["live"] = _Liveness(_BoardChannel(board), heartbeat_s, os.getppid())
        live.start()
    live.channel.board = board
    return live


def _prepare_process(task: RunTask, threads: int, live) -> None:
    """What a warm local process does once: yield the CPU to the app (a Ray instance on the app's machine), and
    pin TensorFlow's threads before its first op."""
    from core.jobs.slot import RUN_NICENESS
    from core.runs.references import is_reference

    if not _PROCESS["niced"]:
        os.nice(RUN_NICENESS)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _PROCESS["niced"] = True
    if not _PROCESS["keras"] and not is_reference(task.recipe):
        live.report({"stage": "loading TensorFlow"})
        from core.keras import train

        train.configure_threads(threads)
        _PROCESS["keras"] = True


def _copies_here(files: dict) -> dict[str, Path]:
    """Each shipped file written once into this process's folder (the two latest kept, removed when the
    process exits), by the user's path."""
    if files and _PROCESS["folder"] is None:
        _PROCESS["folder"] = own_folder("files")
        atexit.register(shutil.rmtree, _PROCESS["folder"], ignore_errors=True)
    copies: OrderedDict = _PROCESS["copies"]
    found = {}
    for raw, ref in files.items():
        key = ref.hex()
        if key not in copies:
            target = _PROCESS["folder"] / key / (Path(raw).name or "file")
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, ray.get(ref))
            copies[key] = target
            while len(copies) > 2:
                shutil.rmtree(copies.popitem(last=False)[1].parent, ignore_errors=True)
        copies.move_to_end(key)
        found[raw] = copies[key]
    return found


def train_on_node(task: RunTask, data, split, files: dict, board, threads: int, heartbeat_s: float):
    """A Ray task: train one run in this (possibly warm) Ray worker process and return its ``Done`` or
    ``Ended``. ``data`` and ``split`` arrive from the object store; ``files`` maps the paths of the user files
    the recipe reads to their content's object refs."""
    from core.jobs.training import failure, train_run

    live = _liveness(board, heartbeat_s)
    task = replace(task, data=data, split=split)
    live.begin(task.run_id)
    try:
        _prepare_process(task, threads, live)
        with local_copies(_copies_here(files)):
            outcome = Done(task.run_id, train_run(task, report=live.report))
    except KeyboardInterrupt:  # ray.cancel: the run stops here
        if _PROCESS["keras"]:
            from core.keras.train import PROCESS_POOL

            PROCESS_POOL.clear()
        outcome = Ended(task.run_id, Status.CANCELLED, "cancelled by the user", kind="cancelled")
    except Exception as exc:
        outcome = failure(task.run_id, exc)
    live.end()
    live.channel.flush()  # the run's last progress is on the board before its result is ready
    gc.collect()
    return outcome

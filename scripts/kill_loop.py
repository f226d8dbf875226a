"""Reliability check: SIGKILL training processes mid-fit, again and again,
and show that nothing is lost.

    python scripts/kill_loop.py [--kills 20] [--parallel 2] [--rows 3000] [--workspace DIR]

1. Submits one tiny experiment (the three references, ``baseline``,
   ``class_weight`` and ``focal``) and starts a worker with ``--parallel`` slots.
   The references and ``baseline`` are left alone: they finish while the
   others are being killed, and their files are fingerprinted as soon as they
   are finished.
2. Whenever a ``class_weight`` or ``focal`` child reports a batch before the
   end of an epoch, it is SIGKILLed; the run must become ``interrupted`` and
   is then re-queued (the user action), so the worker starts it again — until
   ``--kills`` children died.
3. Lets the re-queued runs finish, stops the worker, and checks: every killed
   run was interrupted, re-queued and finally finished; every finished run's
   files are unchanged since it finished and load (``result.json``,
   ``predictions.npz``, and ``model.keras`` with Keras' safe mode); SQLite's
   ``PRAGMA integrity_check`` passes; no staging folder is left in ``tmp/``
   and ``runs/`` holds exactly the finished runs.

Prints the figures (kills, runs lost, ...) and exits 0 when every check
passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.processes import wait_for, worker_service  # noqa: E402
from core.jobs.processes import pid_alive  # noqa: E402
from core.jobs.records import Status  # noqa: E402
from core.jobs.store import Store  # noqa: E402

# A tiny model on small batches: starting a run costs little (encoding and
# splitting grow with the rows), while an epoch still lasts about a second.
TRAINING = dict(patience=100, vocab_size=200, max_len=16, embedding_dim=8, units=8, learning_rate=1e-2, dropout=0.0)
SPARED = ("ref:majority", "ref:stratified", "ref:tfidf_lr", "baseline")  # finish undisturbed
VICTIMS = ("class_weight", "focal")  # killed again and again
WORDS = ("the", "a", "item", "arrived", "today", "and", "it", "was", "really", "quite", "fabric", "order", "size",
         "colour", "store", "week", "bought", "this", "my", "for")
SIGNALS = {"bad": ("awful", "broken", "refund"), "ok": ("fine", "average", "decent"), "good": ("lovely", "great")}


@dataclass
class Kill:
    run_id: int
    pid: int
    at: float
    epoch: int
    batch: int
    batches: int
    noticed_s: float | None = None
    requeued: bool = False


@dataclass
class Report:
    kills: list[Kill] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.problems.append(message)
        print(f"  PROBLEM: {message}", file=sys.stderr, flush=True)


def generated_data(rows: int, seed: int = 7):
    """Three imbalanced classes (10/30/60%) whose label shows through a signal word."""
    import numpy as np

    from core.data.dataset import LabeledTexts

    rng = np.random.default_rng(seed)
    classes = ("bad", "ok", "good")
    y = np.repeat(np.arange(3), [rows // 10, rows * 3 // 10, rows - rows // 10 - rows * 3 // 10])
    texts = []
    for i, label in enumerate(y):
        body = list(rng.choice(WORDS, size=8))
        body[rng.integers(0, 8)] = str(rng.choice(SIGNALS[classes[label]]))
        texts.append(" ".join(body + [f"n{i}"]))
    return LabeledTexts(tuple(texts), y, classes, name="kill loop")


def submit(store: Store, dataset_id: str, recipes: tuple[str, ...], name: str, *, epochs: int,
           batch_size: int) -> int:
    from core.jobs.experiments import ExperimentSpec
    from core.jobs.experiments import submit as submit_experiment
    from core.settings import TrainSettings

    spec = ExperimentSpec(dataset_id=dataset_id, recipes=recipes, seeds=1, name=name,
                          settings=TrainSettings(epochs=epochs, batch_size=batch_size, **TRAINING))
    return submit_experiment(store, spec)


def all_ended(store: Store) -> bool:
    return all(r.status.ended for r in store.runs())


def fingerprint_files(store: Store, experiment_id: int | None = None, *, skip: set[int] = frozenset()
                      ) -> dict[str, str]:
    """sha256 of every file of every finished run (not in ``skip``), by workspace-relative path."""
    digests = {}
    for run in store.runs(experiment=experiment_id):
        if run.status is Status.FINISHED and run.reused_from is None and run.id not in skip:
            for path in sorted(store.path_inside(run.result_dir).rglob("*")):
                if path.is_file():
                    digests[str(path.relative_to(store.root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def check_artifacts(store: Store, report: Report) -> tuple[int, int]:
    """Load every finished run's files; returns (runs checked, models loaded)."""
    import numpy as np

    checked = models = 0
    for run in store.runs(status=Status.FINISHED):
        folder = store.path_inside(run.result_dir)
        try:
            result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            if run.reused_from is None and result["run_id"] != run.id:
                report.fail(f"run {run.id}: result.json belongs to run {result['run_id']}")
            with np.load(folder / "predictions.npz", allow_pickle=False) as npz:
                if len(npz["y_pred"]) != len(npz["y_true"]) or len(npz["y_pred"]) == 0:
                    report.fail(f"run {run.id}: predictions.npz is inconsistent")
            if not run.recipe.startswith("ref:"):
                import keras

                import core.keras.losses  # noqa: F401  registers the custom objects
                import core.keras.models  # noqa: F401

                keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)
                models += 1
            checked += 1
        except Exception as exc:  # every unreadable file is a finding, not a crash of the check
            report.fail(f"run {run.id} ({run.recipe}): its files do not load: {type(exc).__name__}: {exc}")
    return checked, models


def kill_loop(store: Store, victims: set[int], kills_wanted: int, report: Report, deadline: float,
              finished_files: dict[str, str]) -> None:
    """Kill the victims' children mid-fit until ``kills_wanted``; re-queue
    each once it is interrupted. Fingerprints other runs as they finish."""
    pending: dict[int, Kill] = {}
    fingerprinted: set[int] = set()
    while len(report.kills) < kills_wanted or pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(report.kills)} kills before the deadline")
        done = {r.id for r in store.runs(status=Status.FINISHED)} - fingerprinted - victims
        if done:
            finished_files.update(fingerprint_files(store, skip=fingerprinted | victims))
            fingerprinted |= done
        for run in store.runs(status=Status.RUNNING):
            p = run.progress or {}
            if (run.id in victims and len(report.kills) < kills_wanted and run.id not in pending and run.pid
                    and p.get("stage") == "fit"
                    and (p.get("batch", 0) < p.get("batches", 0) or p.get("epoch", 0) < p.get("epochs", 0))
                    and pid_alive(run.pid)):
                # Mid-fit: inside an epoch, or between two (progress is sent at most once a second, so
                # in a warm process the latest report is often an epoch's end while the next one trains).
                os.kill(run.pid, signal.SIGKILL)
                kill = Kill(run.id, run.pid, time.monotonic(), p["epoch"], p["batch"], p["batches"])
                report.kills.append(kill)
                pending[run.id] = kill
        for run_id, kill in list(pending.items()):
            run = store.run(run_id)
            if run.status is Status.RUNNING:
                continue
            kill.noticed_s = time.monotonic() - kill.at
            del pending[run_id]
            if run.status is not Status.INTERRUPTED or "signal 9" not in (run.error or ""):
                report.fail(f"run {run_id} was killed but became {run.status!r} ({run.error})")
            if pid_alive(kill.pid):
                report.fail(f"killed child {kill.pid} of run {run_id} is still alive")
            kill.requeued = store.requeue(run_id)
            if not kill.requeued:
                report.fail(f"interrupted run {run_id} could not be re-queued")
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="training processes to kill (default 20)")
    parser.add_argument("--parallel", type=int, default=2, help="worker slots: runs trained (and killed) at once")
    parser.add_argument("--rows", type=int, default=300, help="rows of the generated dataset")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the runs that get killed")
    parser.add_argument("--batch-size", type=int, default=2, help="batch size of the runs that get killed")
    parser.add_argument("--workspace", help="workspace folder (default: a new temporary folder)")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    args = parser.parse_args(argv)

    started = time.monotonic()
    deadline = started + args.timeout
    workspace = Path(args.workspace or tempfile.mkdtemp(prefix="kill-loop-")) / "workspace"
    store = Store(workspace)
    worker = worker_service(workspace, workspace / "logs" / "kill-loop-worker.log", IMBALANCE_LAB_HEARTBEAT_S="0.5",
                            IMBALANCE_LAB_WORKER_SLOTS=str(args.parallel), TF_CPP_MIN_LOG_LEVEL="3")
    report = Report()
    print(f"kill loop: workspace {workspace}, {args.kills} kills, {args.parallel} at a time", flush=True)
    before: dict[str, str] = {}
    try:
        dataset_id = store.add_dataset(generated_data(args.rows), name="kill loop")
        experiment_id = submit(store, dataset_id, SPARED[3:] + VICTIMS, "kill loop", epochs=args.epochs,
                               batch_size=args.batch_size)
        victims = {r.id for r in store.runs(experiment=experiment_id) if r.recipe in VICTIMS}
        loop_s = drained_s = float("nan")
        try:
            kill_loop(store, victims, args.kills, report, deadline, before)
            loop_s = time.monotonic() - started
            wait_for(lambda: all_ended(store), deadline - time.monotonic(), "the re-queued runs to finish", every=0.1)
            drained_s = time.monotonic() - started - loop_s
        except TimeoutError as exc:
            report.fail(str(exc))
        before.update(fingerprint_files(store, skip=victims | {int(k.split("/")[1]) for k in before}))
    finally:
        worker.process.send_signal(signal.SIGTERM)
        worker_code = worker.wait(timeout=30)
        worker.stop(grace_s=0)  # SIGKILL whatever is left of its process group
        if worker_code is None:
            worker_code = worker.process.returncode
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker and every run process it reaped
    worker_cpu_s = children.ru_utime + children.ru_stime

    if worker_code != 0:
        report.fail(f"the worker exited with code {worker_code} (see {worker.log})")
    runs = store.runs()
    lost = [r for r in runs if r.status is not Status.FINISHED]
    for r in lost:
        report.fail(f"run {r.id} ({r.recipe}) ended {r.status}: {r.error}")
    killed_ids = {k.run_id for k in report.kills}
    attempts = {r.id: r.attempts for r in runs}
    for run_id in killed_ids:
        n_killed = sum(k.run_id == run_id for k in report.kills)
        if attempts[run_id] != n_killed + 1:
            report.fail(f"run {run_id} was killed {n_killed} times but attempted {attempts[run_id]} times")
    after = fingerprint_files(store)
    changed = [name for name in before if after.get(name) != before[name]]
    if changed:
        report.fail(f"files of finished runs changed or vanished: {', '.join(changed)}")
    checked, models = check_artifacts(store, report)
    integrity = store.integrity_ok()
    with sqlite3.connect(store.db_path) as db:
        integrity_text = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    if not integrity:
        report.fail(f"PRAGMA integrity_check: {integrity_text}")
    staging = sorted(p.name for p in (workspace / "tmp").iterdir())
    if staging:
        report.fail(f"staging folders left in tmp/: {', '.join(staging)}")
    folders = {p.name for p in (workspace / "runs").iterdir()}
    expected = {str(r.id) for r in runs if r.status is Status.FINISHED and r.reused_from is None}
    if folders != expected:
        report.fail(f"runs/ holds {sorted(folders)}, expected {sorted(expected)}")

    kills = report.kills
    noticed = [k.noticed_s for k in kills if k.noticed_s is not None]
    print(f"  kills: {len(kills)} of {args.kills} (SIGKILL mid-fit: epoch {min(k.epoch for k in kills)}–"
          f"{max(k.epoch for k in kills)}, batch {min(k.batch for k in kills)}–{max(k.batch for k in kills)} "
          f"of {kills[0].batches})" if kills else f"  kills: 0 of {args.kills}")
    print(f"  killed runs: {len(killed_ids)} distinct, each killed {len(kills) / max(1, len(killed_ids)):.0f} times; "
          f"interrupted: {sum(1 for k in kills if k.noticed_s is not None)}, re-queued: "
          f"{sum(k.requeued for k in kills)}, then finished: "
          f"{sum(1 for r in runs if r.id in killed_ids and r.status == 'finished')}/{len(killed_ids)}")
    if noticed:
        print(f"  kill noticed after: median {statistics.median(noticed):.2f} s, max {max(noticed):.2f} s")
    print(f"  runs: {len(runs)} total, {len(runs) - len(lost)} finished, runs lost: {len(lost)}")
    print(f"  finished runs checked: {checked} (result.json + predictions.npz), models loaded (safe mode): {models}; "
          f"files unchanged since their run finished: {len(before) - len(changed)}/{len(before)}")
    print(f"  PRAGMA integrity_check: {integrity_text}; staging folders left: {len(staging)}")
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"  time: {time.monotonic() - started:.1f} s in all; {loop_s:.1f} s until the last kill was re-queued, "
          f"then {drained_s:.1f} s until every run finished")
    print(f"  cpu: {worker_cpu_s:.1f} s (worker and run processes) + {own.ru_utime + own.ru_stime:.1f} s (this "
          f"script); load average at the end {os.getloadavg()[0]:.1f}")
    print("RESULT: OK" if not report.problems else f"RESULT: FAILED ({len(report.problems)} problems)")
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())

"""Driving the product's job runner: queue an experiment in a store, serve it
with the product's worker (spawned run children, default slots), and read
back each run's timing and scores from the store and its ``result.json``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks.processes import Service, child_env, rss_mb
from core.jobs.experiments import ExperimentSpec, run_fingerprint, submit, validate
from core.jobs.run_files import load_result
from core.jobs.store import Status, Store
from core.runs.references import is_reference


def queue(store: Store, spec: ExperimentSpec, *, references: bool = True) -> int:
    """Queue ``spec``'s runs. With ``references`` this is exactly the product's
    ``submit``. Without, it is ``submit`` minus the always-added reference runs
    (same validation, fingerprints and store calls), for sections that time
    LSTM training only."""
    if references:
        return submit(store, spec)
    spec = replace(validate(store, spec), references=())
    experiment_id = store.add_experiment(name=spec.name or "benchmark", dataset_id=spec.dataset_id,
                                         spec=spec.to_json())
    for seed in range(spec.seeds):
        for recipe in spec.recipes:
            store.add_run(experiment_id=experiment_id, recipe=recipe, seed=seed,
                          fingerprint=run_fingerprint(spec, recipe, seed))
    return experiment_id


def cancel_leftovers(store: Store) -> int:
    """Cancel runs still queued from an earlier, interrupted benchmark (their
    finished siblings are reused by fingerprint when the experiment is
    submitted again)."""
    return sum(store.cancel(r.id) == "cancelled" for r in store.runs(status=Status.QUEUED))


@dataclass
class Served:
    """What serving a queue cost: wall time, and memory of the run children."""

    started: float
    ended: float
    children_max_rss_mb: float | None  # getrusage(RUSAGE_CHILDREN) of the worker: every child, exact
    lstm_vmhwm_mb: dict[int, float] = field(default_factory=dict)  # run id -> polled VmHWM of its child

    @property
    def wall_s(self) -> float:
        return self.ended - self.started


def start_worker(root: Path, log_dir: Path, *, slots: int | None = None,
                 executor: str | None = None) -> tuple[Service, Path]:
    report = log_dir / f"worker-{time.time_ns()}.json"
    args = [sys.executable, "-m", "benchmarks.worker_main", str(root), "--report", str(report)]
    if slots:
        args += ["--slots", str(slots)]
    if executor:
        args += ["--executor", executor]
    return Service("worker", args, child_env(root), log_dir / f"{report.stem}.log"), report


def serve(store: Store, log_dir: Path, *, slots: int | None = None, timeout_s: float = 4 * 3600,
          on_poll: Callable[[], None] | None = None, poll_s: float = 0.5, executor: str | None = None) -> Served:
    """Run the product's worker on ``store`` until its queue is empty,
    polling the peak RSS (VmHWM) of every LSTM run child while it lives.
    ``Served.started`` is the time just before the worker process is started
    (the cold worker's start, where the throughput section's window begins).
    ``executor``: the worker's (``--executor``; default the product's, local)."""
    started = time.time()
    worker, report = start_worker(store.root, log_dir, slots=slots, executor=executor)
    peaks: dict[int, float] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while worker.alive():
            for run in store.runs(status=Status.RUNNING):
                if run.pid and not is_reference(run.recipe):
                    peak = rss_mb(run.pid, "VmHWM")
                    if peak is not None:
                        peaks[run.id] = max(peaks.get(run.id, 0.0), peak)
            if on_poll is not None:
                on_poll()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not empty the queue within {timeout_s:.0f} s:\n{worker.tail()}")
            time.sleep(poll_s)
        if worker.process.returncode != 0:
            raise RuntimeError(f"the worker exited with code {worker.process.returncode}:\n{worker.tail()}")
    finally:
        worker.stop()
    info = json.loads(report.read_text()) if report.exists() else {}
    return Served(started, time.time(), info.get("children_max_rss_mb"), peaks)


def run_rows(store: Store, experiment_id: int) -> list[dict]:
    """One dict per run: recipe, seed, status, start/end, and for finished
    LSTM runs fit_seconds, fit_started, trained_samples, epochs run and macro-F1."""
    runs = store.runs(experiment=experiment_id)
    metrics = store.metrics([r.id for r in runs])
    macro = {int(row.run_id): row.value for row in metrics.itertuples()
             if row.scope == "overall" and row.name == "macro_f1"}
    rows = []
    for r in runs:
        row = {"id": r.id, "recipe": r.recipe, "seed": r.seed, "status": r.status, "started": r.started,
               "finished": r.finished, "reused_from": r.reused_from, "error": r.error,
               "macro_f1": macro.get(r.id)}
        if r.status == Status.FINISHED.value and r.result_dir:
            result = load_result(store, r.result_dir)
            # fit_started: unix time its first fit epoch started (absent from results of older code: None)
            row.update(fit_seconds=result.get("fit_seconds"), trained_samples=result.get("trained_samples"),
                       train_size=result.get("train_size"), kind=result.get("kind"),
                       fit_started=result.get("fit_started"))
            history_path = store.path_inside(r.result_dir) / "history.json"
            if history_path.exists():
                row["epochs_run"] = len(json.loads(history_path.read_text()))
        rows.append(row)
    return rows


def lstm_window(rows: list[dict]) -> dict:
    """Totals over the finished LSTM runs: trained samples, the wall time from
    the first run's start to the last run's end (and those times, and the
    first fit's start), and the sum of per-run fit rates (the rate of runs
    training side by side)."""
    lstm = [r for r in rows if not is_reference(r["recipe"]) and r["status"] == Status.FINISHED.value]
    if not lstm:
        raise RuntimeError("no LSTM run finished: " + "; ".join(f"{r['recipe']}: {r['status']} {r['error'] or ''}"
                                                                for r in rows))
    samples = sum(r.get("trained_samples") or 0 for r in lstm)
    wall = max(r["finished"] for r in lstm) - min(r["started"] for r in lstm)
    return {"runs": len(lstm), "trained_samples": samples, "wall_s": wall,
            "first_started": min(r["started"] for r in lstm), "last_finished": max(r["finished"] for r in lstm),
            # the first fit's start; a run whose result has no fit_started counts from its own start
            "first_fit_started": min(r.get("fit_started") or r["started"] for r in lstm),
            "fit_started_known": all(r.get("fit_started") for r in lstm),
            "samples_per_s": samples / wall if wall > 0 else float("nan"),
            "fit_seconds": sum(r.get("fit_seconds") or 0 for r in lstm),
            "fit_rate_sum": sum((r.get("trained_samples") or 0) / r["fit_seconds"] for r in lstm if r.get("fit_seconds")),
            "epochs_run": [r.get("epochs_run") for r in lstm]}


def require_finished(rows: list[dict], what: str) -> None:
    """Every run finished, or a clear error naming those that did not."""
    bad = [r for r in rows if r["status"] != Status.FINISHED.value]
    if bad:
        detail = "; ".join(f"run {r['id']} {r['recipe']} seed {r['seed']}: {r['status']} ({r['error']})" for r in bad[:5])
        raise RuntimeError(f"{what}: {len(bad)} of {len(rows)} runs did not finish — {detail}")

"""Runs in every state without training: rows moved through the store's own
state changes (``finish_run``, ``heartbeat``, ``end_run``, ``cancel``) with
small made-up result folders, for tests of what pages and summaries say
about runs. Fast: no model, no worker."""

from __future__ import annotations

import json
import time

from core.jobs.store import Status, Store
from tests.conftest import labeled

HISTORY = [{"stage": "fit", "epoch": 1, "loss": 0.91, "val_macro_f1": 0.42, "val_loss": 0.88, "learning_rate": 0.01,
            "train_s": 1.5, "val_s": 0.5},
           {"stage": "fit", "epoch": 2, "loss": 0.63, "val_macro_f1": 0.57, "val_loss": 0.71, "learning_rate": 0.01,
            "train_s": 1.25, "val_s": 0.25}]


def new_experiment(store: Store, name: str = "made-up runs") -> int:
    """An experiment (no runs) on a tiny dataset."""
    dataset_id = store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    return store.add_experiment(name=name, dataset_id=dataset_id, spec={"seeds": 1})


def add_run(store: Store, experiment_id: int, recipe: str, seed: int, fingerprint: str | None = None) -> int:
    return store.add_run(experiment_id=experiment_id, recipe=recipe, seed=seed,
                         fingerprint=fingerprint or f"{experiment_id}/{recipe}/{seed}")


def start(store: Store, run_id: int, *, started: float | None = None, pid: int | None = None,
          progress: dict | None = None) -> int:
    """Mark a queued run running (as the worker's claim does), with a process and progress when given."""
    with store.connect(immediate=True) as db:
        db.execute("UPDATE runs SET status = ?, started = ?, heartbeat = ?, pid = ? WHERE id = ?",
                   (Status.RUNNING.value, started or time.time(), time.time(), pid, run_id))
    if progress is not None:
        store.heartbeat(run_id, progress)
    return run_id


def finish(store: Store, run_id: int, *, took: float = 30.0, history: list[dict] | None = HISTORY,
           payload: int = 1000, metrics: dict[tuple[str, str], float] | None = None,
           notes: list[str] | None = None) -> int:
    """Finish a run with a result folder: result.json, history.json and ``payload`` bytes of model; its
    ``metrics`` ((scope, name) → value) default to a test macro-F1 of 0.5; ``notes`` are what it noted."""
    start(store, run_id, started=time.time() - took)
    stage = store.staging_dir(run_id)
    (stage / "result.json").write_text(json.dumps({"run_id": run_id, "notes": notes or []}), encoding="utf-8")
    if history is not None:
        (stage / "history.json").write_text(json.dumps(history), encoding="utf-8")
    (stage / "model.keras").write_bytes(b"\0" * payload)
    store.finish_run(run_id, staged_dir=stage, metrics=metrics or {("overall", "macro_f1"): 0.5})
    return run_id


def end(store: Store, run_id: int, status: Status, error: str, *, trace: str | None = None) -> int:
    """End a run without a result (failed, interrupted), with a trace in its log when given."""
    start(store, run_id)
    store.end_run(run_id, status, error)
    if trace is not None:
        store.run_log_path(run_id).write_text(trace, encoding="utf-8")
    return run_id


def cancelled(store: Store, experiment_id: int, recipe: str, seed: int) -> int:
    run_id = add_run(store, experiment_id, recipe, seed)
    store.cancel(run_id)
    return run_id


def queue_many(store: Store, experiment_id: int, recipes: tuple[str, ...], seeds: int) -> None:
    """Queue ``seeds`` runs of every recipe in one transaction (hundreds of runs in a blink)."""
    with store.connect(immediate=True) as db:
        db.executemany("INSERT INTO runs (experiment_id, recipe, seed, fingerprint, status, created) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [(experiment_id, recipe, seed, f"{experiment_id}/{recipe}/{seed}", Status.QUEUED.value,
                         time.time()) for recipe in recipes for seed in range(seeds)])


def finish_all(store: Store, experiment_id: int, metrics_of) -> None:
    """Finish every queued run of the experiment, each with ``metrics_of(recipe, seed)`` as its metrics."""
    for run in store.runs(experiment=experiment_id, status=Status.QUEUED):
        finish(store, run.id, metrics=metrics_of(run.recipe, run.seed))


# A finished sweep experiment (made up): test macro-F1 per recipe (plus a small per-seed wobble) and validation
# macro-F1 that prefers another point than test does, so "best on test" and "chosen by validation" differ.
SWEEP_TEST = {"baseline": 0.50, "focal(gamma=0.5)": 0.52, "focal(gamma=1.0)": 0.55, "focal(gamma=2.0)": 0.60,
              "class_weight": 0.51}
SWEEP_VALIDATION = {"baseline": 0.49, "focal(gamma=0.5)": 0.52, "focal(gamma=1.0)": 0.58, "focal(gamma=2.0)": 0.50,
                    "class_weight": 0.50}
WOBBLE = (-0.01, 0.0, 0.012)


def sweep_experiment(store: Store, seeds: int = 3) -> int:
    """``focal(gamma=0.5|1|2)`` and ``class_weight`` against the baseline, every run finished with made-up scores
    (``SWEEP_TEST``, ``SWEEP_VALIDATION``; references at 0.4)."""
    from core.jobs.experiments import ExperimentSpec, submit

    dataset_id = store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=0.5|1|2)", "class_weight"),
                                                 seeds=seeds, name="gamma sweep"))

    def metrics_of(recipe: str, seed: int) -> dict:
        wobble = WOBBLE[seed % len(WOBBLE)] * (1.0 + 0.3 * (len(recipe) % 3))  # paired, not identical, differences
        return {("overall", "macro_f1"): SWEEP_TEST.get(recipe, 0.4) + wobble,
                ("validation", "macro_f1"): SWEEP_VALIDATION.get(recipe, 0.4) + wobble}

    finish_all(store, experiment_id, metrics_of)
    return experiment_id

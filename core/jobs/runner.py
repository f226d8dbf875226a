"""The worker's side of a run: the task it hands an executor, and the only
code that writes a run's outcome into the store — results into a staging
folder renamed into place when complete (``Store.finish_run``), or the status
and sentence of a run that ended without one.

``execute_run`` does both around ``core.jobs.training.train_run`` in this
process (tests, the quick benchmark); the worker goes through an executor."""

from __future__ import annotations

import os
import shutil
import traceback
from typing import Callable

import numpy as np

from core.data.dataset import LabeledTexts
from core.errors import InputError
from core.files import atomic_write_json
from core.jobs.records import Status
from core.jobs.store import Store
from core.jobs.tasks import Ended, RunResult, RunTask


class DatasetCache:
    """The worker's copy of the datasets it trains on, read once per dataset
    (a 10,000-row dataset takes ≈0.1 s to read: once per run adds up)."""

    def __init__(self, store: Store, size: int = 2):
        self.store, self.size = store, size
        self._items: dict[str, LabeledTexts] = {}

    def get(self, dataset_id: str) -> LabeledTexts:
        if dataset_id not in self._items:
            while len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[dataset_id] = self.store.load_dataset(dataset_id)
        return self._items[dataset_id]


def _split_spec(spec, seed: int):
    from core.data.split import SplitSpec

    return SplitSpec(seed=seed, test_share=spec.test_share, validation_share=spec.validation_share,
                     version=spec.split_version)


def task_for(store: Store, run_id: int, datasets: DatasetCache | None = None) -> RunTask:
    """The run as a self-contained task: its split is drawn (or read from the
    workspace's split cache) here, on the worker's side."""
    from core.data.split import cached_split
    from core.jobs import shared_fit
    from core.jobs.experiments import ExperimentSpec
    from core.runs.references import is_reference
    from core.strategies.sweeps import split_settings

    run = store.run(run_id)
    spec = ExperimentSpec.from_json(store.experiment(run.experiment_id)["spec"])
    data = (datasets or DatasetCache(store)).get(spec.dataset_id)
    split = cached_split(data, _split_spec(spec, run.seed), store.root / "splits", spec.dataset_id)
    # a sweep point's settings step: the run trains with the experiment's settings overridden by it
    settings = spec.settings if is_reference(run.recipe) else split_settings(run.recipe, spec.settings)[1]
    return RunTask(run_id=run_id, experiment_id=run.experiment_id, recipe=run.recipe, seed=run.seed,
                   fingerprint=run.fingerprint, dataset_id=spec.dataset_id, settings=settings, data=data,
                   split=split, shared_fit=shared_fit.find(store, spec, run, split))


def prepare_split(store: Store, run_id: int, datasets: DatasetCache) -> bool:
    """Draw a queued run's split into the split cache ahead of its claim, so a
    slot that frees up does not wait for it (a split of 10,000 rows drawn by
    split version 2 takes ≈3 s). Returns whether one was drawn."""
    from core.data.split import cached_split, split_cache_path
    from core.jobs.experiments import ExperimentSpec

    run = store.run(run_id)
    spec = ExperimentSpec.from_json(store.experiment(run.experiment_id)["spec"])
    split_spec = _split_spec(spec, run.seed)
    if split_cache_path(split_spec, store.root / "splits", spec.dataset_id).exists():
        return False
    cached_split(datasets.get(spec.dataset_id), split_spec, store.root / "splits", spec.dataset_id)
    return True


def write_result(store: Store, run_id: int, result: RunResult) -> None:
    """Write a finished run's files into a staging folder and move it into
    place; nothing partial is left if any step fails (the error propagates)."""
    stage = store.staging_dir(run_id)
    try:
        atomic_write_json(stage / "result.json", {**result.summary, "evaluation": result.evaluation})
        np.savez_compressed(stage / "predictions.npz", **result.predictions)
        if result.history is not None:
            atomic_write_json(stage / "history.json", result.history)
        if result.encoder is not None:
            atomic_write_json(stage / "encoder.json", result.encoder)
        if result.model is not None:
            (stage / "model.keras").write_bytes(result.model)
        elif result.model_from is not None:  # decided on an earlier run's model: the same file, linked
            _link(store.path_inside(result.model_from) / "model.keras", stage / "model.keras")
        if result.detector is not None:
            (stage / "detector.pkl").write_bytes(result.detector)
        if result.augmented:
            import pandas as pd

            pd.DataFrame(result.augmented).to_csv(stage / "augmented.csv", index=False)
        store.finish_run(run_id, staged_dir=stage, metrics=result.metrics)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _link(source, target) -> None:
    """A hard link where the file system allows one (a deleted experiment's folder leaves the file to the
    other name), else a copy."""
    if not source.is_file():  # its experiment deleted while this run decided: nothing to link, nothing kept
        raise FileNotFoundError(f"the model this run decided on ({source}) was deleted meanwhile; re-queue the run "
                                "and it trains its own")
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def record_end(store: Store, ended: Ended) -> bool:
    """Mark a run that ended without a result, in words a user can act on;
    a trace goes to the run's log, never into the message."""
    path = store.run_log_path(ended.run_id)
    if ended.trace:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(ended.trace + "\n")
    message = ended.message
    if ended.kind == "files":
        message = (f"could not read or write run files: {ended.message}. Check free disk space and permissions of "
                   f"{store.root}; nothing partial was kept.")
    elif ended.kind == "bug":
        message = f"training failed: {ended.message} (full trace in {path.relative_to(store.root)})"
    return store.end_run(ended.run_id, ended.status, message)


def store_result(store: Store, run_id: int, result: RunResult) -> None:
    """``write_result``, with a failure to write recorded as the run's outcome;
    the worker that calls it goes on serving whatever happens here."""
    try:
        write_result(store, run_id, result)
    except InputError:
        pass  # the run ended otherwise meanwhile (cancelled, interrupted): its status says so, the result is dropped
    except OSError as exc:
        record_end(store, Ended(run_id, Status.FAILED, str(exc), kind="files", trace=traceback.format_exc()))
    except Exception as exc:  # our bug: the trace in the run's log, a sentence for the user
        record_end(store, Ended(run_id, Status.FAILED, f"{type(exc).__name__}: {exc}", kind="bug",
                                trace=traceback.format_exc()))


def execute_run(store: Store, run_id: int, *, report: Callable[[dict], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False) -> None:
    """Train one queued/claimed run in this process and store its results
    (exceptions propagate: callers here are tests and the quick benchmark)."""
    from core.jobs.training import train_run

    write_result(store, run_id, train_run(task_for(store, run_id), report=report, should_stop=should_stop))


def execute_and_record(store: Store, run_id: int) -> None:
    """``execute_run`` with every outcome recorded as the worker records it."""
    from core.jobs.training import failure, train_run

    try:
        result = train_run(task_for(store, run_id))
    except Exception as exc:
        record_end(store, failure(run_id, exc))
        return
    store_result(store, run_id, result)

"""Executing one run: inside a spawned child in production, in-process in tests.

Only this code writes a run's results: into a staging folder that is renamed
into place when complete (see ``Store.finish_run``)."""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.files import atomic_write_json
from core.jobs.processes import die_with_parent
from core.jobs.store import Status, Store

# scikit-learn, the strategy registry and TensorFlow are imported inside the
# functions that use them: a spawned run process imports this module before
# ``child_main`` starts heartbeating, and those imports take seconds.


class _Liveness:
    """Heartbeats on a timer and on progress (at most about once a second), and
    the cancel flag read back from the store."""

    def __init__(self, store: Store, run_id: int, interval: float, parent_pid: int | None):
        self.store, self.run_id, self.interval, self.parent_pid = store, run_id, interval, parent_pid
        self.cancel = False
        self.progress: dict | None = None
        self.unsaved = False  # progress reported but not yet written (reports are throttled)
        self.last = 0.0
        self._stop = threading.Event()
        self._write = threading.Lock()  # one heartbeat write at a time
        self._state = threading.Lock()  # guards progress and unsaved
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        if self.unsaved:
            self._beat()

    def _beat(self, *, blocking: bool = True) -> None:
        """Write the heartbeat, with the latest progress if it is not written yet."""
        if not self._write.acquire(blocking=blocking):
            return  # the timer thread is writing right now; training does not wait for the database
        try:
            with self._state:
                progress = self.progress if self.unsaved else None
                self.unsaved = False
            try:
                self.cancel = self.store.heartbeat(self.run_id, progress) or self.cancel
            except Exception:  # a busy database must not kill training; the next beat retries
                if progress is not None:
                    with self._state:
                        self.unsaved = True
            self.last = time.monotonic()
        finally:
            self._write.release()

    def _loop(self) -> None:
        # At most a second between parent checks: PR_SET_PDEATHSIG is the fast
        # path, this catches a worker that died before it was set.
        while not self._stop.wait(min(self.interval, 1.0)):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                os._exit(1)  # orphaned: the worker is gone
            if time.monotonic() - self.last >= self.interval:
                self._beat()

    def report(self, progress: dict) -> None:
        """Record progress; written at once if the last write is a second old,
        else by the next timer beat (the latest report is never lost)."""
        with self._state:
            self.progress = {**(self.progress or {}), **progress, "updated": time.time()}
            self.unsaved = True
        if time.monotonic() - self.last >= 1.0:
            self._beat(blocking=False)

    def should_stop(self) -> bool:
        return self.cancel


def _metrics_rows(evaluation) -> dict[tuple[str, str], float]:
    rows = {("overall", k): v for k, v in evaluation.overall.items()}
    for cls, values in evaluation.per_class.items():
        rows.update({(f"class:{cls}", k): v for k, v in values.items()})
    return rows


def _write_results(stage: Path, *, summary: dict, evaluation, test_rows, y_true, y_pred, proba, history=None,
                   fitted=None, encoder=None, augmented=None) -> None:
    atomic_write_json(stage / "result.json", {**summary, "evaluation": evaluation.to_json()})
    np.savez_compressed(stage / "predictions.npz", test_rows=np.asarray(test_rows), y_true=np.asarray(y_true),
                        y_pred=np.asarray(y_pred), proba=np.asarray(proba, dtype=np.float32))
    if history is not None:
        atomic_write_json(stage / "history.json", history)
    if encoder is not None:
        atomic_write_json(stage / "encoder.json", encoder.to_json())
    if fitted is not None:
        fitted.model.save(stage / "model.keras")
    if augmented:
        import pandas as pd

        pd.DataFrame(augmented).to_csv(stage / "augmented.csv", index=False)


def execute_run(store: Store, run_id: int, *, report=None, should_stop=lambda: False) -> None:
    """Train and evaluate one queued/claimed run and store its results."""
    from core.data.split import SplitSpec, cached_split
    from core.jobs.experiments import ExperimentSpec, library_versions
    from core.runs.evaluate import evaluate
    from core.runs.references import fit_predict, is_reference

    run = store.run(run_id)
    experiment = store.experiment(run.experiment_id)
    spec = ExperimentSpec.from_json(experiment["spec"])
    data = store.load_dataset(spec.dataset_id)
    split = cached_split(data, SplitSpec(seed=run.seed, test_share=spec.test_share,
                                         validation_share=spec.validation_share),
                         store.root / "splits", spec.dataset_id)
    stage = store.staging_dir(run_id)
    started = time.time()
    try:
        summary = {"run_id": run_id, "recipe": run.recipe, "seed": run.seed, "experiment_id": run.experiment_id,
                   "dataset_id": spec.dataset_id, "fingerprint": run.fingerprint, "versions": library_versions(),
                   "split": split.sizes(), "split_dropped": int(len(split.dropped)), "settings": spec.settings.to_json()}
        if is_reference(run.recipe):
            train_rows = split.train
            proba, _ = fit_predict(run.recipe, [data.texts[r] for r in train_rows], data.y[train_rows],
                                   [data.texts[r] for r in split.test], data.n_classes, run.seed)
            y_pred = np.argmax(proba, axis=1)
            counts = np.bincount(data.y[train_rows], minlength=data.n_classes)
            evaluation = evaluate(data.y[split.test], proba, y_pred, data.classes, train_counts=counts,
                                  ordinal=data.ordinal)
            summary.update(classes=list(data.classes), kind="reference", fit_seconds=time.time() - started,
                           train_class_counts=counts.tolist())
            _write_results(stage, summary=summary, evaluation=evaluation, test_rows=split.test,
                           y_true=data.y[split.test], y_pred=y_pred, proba=proba)
        else:
            from core.keras.trainer import KerasTrainer
            from core.runs.pipeline import run_recipe
            from core.strategies.registry import build

            out = run_recipe(data, split, build(run.recipe), spec.settings, run.seed, trainer=KerasTrainer(),
                             progress=report, should_stop=should_stop)
            # The minority is the rarest class of the training split, not of the resampled rows
            # (oversampling to equal sizes would otherwise make the largest class the "minority").
            evaluation = evaluate(out.test.y, out.test.proba, out.y_pred, out.classes,
                                  train_counts=np.array(out.split_class_counts),
                                  ordinal=data.ordinal and not out.fitted.info.get("unordered", False))
            summary.update(classes=list(out.classes), kind="lstm", fit_seconds=out.fit_seconds,
                           trained_samples=out.trained_samples, train_size=out.train_size,
                           train_class_counts=out.train_class_counts, split_class_counts=out.split_class_counts,
                           decision=out.decision.to_json(),
                           head=out.head.to_json(), notes=out.notes, merge_map=out.merge_map,
                           artifacts={k: v for k, v in out.artifacts.items() if k != "augmented"})
            _write_results(stage, summary=summary, evaluation=evaluation, test_rows=out.test_rows, y_true=out.test.y,
                           y_pred=out.y_pred, proba=out.test.proba, history=out.fitted.history, fitted=out.fitted,
                           encoder=out.encoder, augmented=out.artifacts.get("augmented"))
        summary_metrics = dict(_metrics_rows(evaluation))
        summary_metrics[("overall", "fit_seconds")] = summary.get("fit_seconds", 0.0)
        store.finish_run(run_id, staged_dir=stage, metrics=summary_metrics)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


# Training yields the CPU to the app (and to predictions): on 2 cores two
# training processes at normal priority made every page wait seconds.
RUN_NICENESS = 10


def child_main(workspace: str, run_id: int, threads: int, heartbeat_s: float = 2.0,
               parent_pid: int | None = None) -> None:
    """Entry point of a spawned run process. ``parent_pid`` is the worker's
    pid: if the worker died before this process could ask to die with it
    (spawning and unpickling this function take a moment), exit at once."""
    die_with_parent()
    os.nice(RUN_NICENESS)
    if parent_pid is None:
        parent_pid = os.getppid()
    elif os.getppid() != parent_pid:
        os._exit(1)  # orphaned before PR_SET_PDEATHSIG took effect
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    store = Store(workspace)
    store.set_child(run_id, os.getpid())
    log_path = store.root / "logs" / f"run-{run_id}.log"
    with _Liveness(store, run_id, heartbeat_s, parent_pid) as live:
        from core.runs.references import is_reference
        from core.runs.types import Cancelled

        try:
            run = store.run(run_id)
            if not is_reference(run.recipe):
                from core.keras import train

                train.configure_threads(threads)
            execute_run(store, run_id, report=live.report, should_stop=live.should_stop)
        except Cancelled:
            store.end_run(run_id, Status.CANCELLED, "cancelled by the user")
        except InputError as exc:
            store.end_run(run_id, Status.FAILED, str(exc))
        except OSError as exc:
            _log(log_path, traceback.format_exc())
            store.end_run(run_id, Status.FAILED, f"could not read or write run files: {exc}. Check free disk space "
                                                 f"and permissions of {store.root}; nothing partial was kept.")
        except Exception as exc:  # anything else is our bug: keep the trace in the log, a sentence for the user
            _log(log_path, traceback.format_exc())
            store.end_run(run_id, Status.FAILED, f"training failed: {type(exc).__name__}: {exc} "
                                                 f"(full trace in {log_path.relative_to(store.root)})")


def _log(path: Path, message: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(message + "\n")

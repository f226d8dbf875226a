"""The training side of the executor seam: a ``RunTask`` in, a ``RunResult``
out. Never opens the workspace: progress and the cancel check come in as
callables, the result goes back in memory (the saved model as bytes).

Worker-side: it reaches TensorFlow (through ``core.keras``) for LSTM runs,
imported inside ``train_run`` so reference runs and importers stay light."""

from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import InputError
from core.jobs.experiments import library_versions
from core.jobs.records import Status
from core.jobs.tasks import Ended, RunResult, RunTask


def _metrics_rows(evaluation, validation_macro_f1: float | None = None) -> dict[tuple[str, str], float]:
    """The metrics rows of a run: overall and per class on test, and the validation macro-F1 when it has one."""
    rows = {("overall", k): v for k, v in evaluation.overall.items()}
    for cls, values in evaluation.per_class.items():
        rows.update({(f"class:{cls}", k): v for k, v in values.items()})
    if validation_macro_f1 is not None:
        rows[("validation", "macro_f1")] = validation_macro_f1
    return rows


def _predictions(test_rows, y_true, y_pred, proba, *, validation_rows=None, validation_proba=None
                 ) -> dict[str, np.ndarray]:
    """What predictions.npz holds: the test rows' classes and probabilities, and for LSTM runs the
    validation rows' probabilities (a run that only decides differently decides on them: ``core.jobs.shared_fit``)."""
    arrays = {"test_rows": np.asarray(test_rows), "y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred),
              "proba": np.asarray(proba, dtype=np.float32)}
    if validation_proba is not None:
        arrays.update(validation_rows=np.asarray(validation_rows),
                      validation_proba=np.asarray(validation_proba, dtype=np.float32))
    return arrays


def _model_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory(prefix="imbalance-lab-model-") as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _stored_models(model) -> dict[str, bytes | None]:
    """What a run's fitted model is stored as: a Keras network as model.keras; a novelty detector
    (``core.runs.anomaly.NoveltyScorer``) as detector.pkl, beside the network whose features it reads (none
    for TF-IDF features)."""
    from core.runs.anomaly import NoveltyScorer

    if isinstance(model, NoveltyScorer):
        return {"model": None if model.network is None else _model_bytes(model.network),
                "detector": model.to_bytes()}
    return {"model": _model_bytes(model)}


def train_run(task: RunTask, *, report: Callable[[dict], None] | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> RunResult:
    """Train and evaluate one run. Raises ``Cancelled`` when ``should_stop``
    says so, ``InputError`` for a recipe the data cannot take."""
    from core.runs.evaluate import evaluate
    from core.runs.references import fit_predict, is_reference

    data, split = task.data, task.split
    started = time.time()
    summary = {"run_id": task.run_id, "recipe": task.recipe, "seed": task.seed, "experiment_id": task.experiment_id,
               "dataset_id": task.dataset_id, "fingerprint": task.fingerprint, "versions": library_versions(),
               "split": split.sizes(), "split_dropped": int(len(split.dropped)), "settings": task.settings.to_json()}
    if is_reference(task.recipe):
        if report is not None:
            report({"stage": "fitting the reference model"})
        train_rows = split.train
        proba, _ = fit_predict(task.recipe, [data.texts[r] for r in train_rows], data.y[train_rows],
                               [data.texts[r] for r in split.test], data.n_classes, task.seed)
        y_pred = np.argmax(proba, axis=1)
        counts = np.bincount(data.y[train_rows], minlength=data.n_classes)
        evaluation = evaluate(data.y[split.test], proba, y_pred, data.classes, train_counts=counts,
                              ordinal=data.ordinal)
        summary.update(classes=list(data.classes), kind="reference", fit_seconds=time.time() - started,
                       fit_started=started, train_class_counts=counts.tolist())
        result = RunResult(summary, evaluation.to_json(), _metrics_rows(evaluation),
                           _predictions(split.test, data.y[split.test], y_pred, proba))
    elif task.shared_fit is not None:
        result = _decide_on_shared_fit(task, summary)
    else:
        from core.keras.train import PROCESS_POOL
        from core.keras.trainer import KerasTrainer

        trainer = KerasTrainer(pool=PROCESS_POOL)
        try:
            result, summary = _train_lstm(task, summary, trainer, report, should_stop)
        finally:
            trainer.give_back()  # the run's models are in its result's bytes now
    result.metrics[("overall", "fit_seconds")] = summary.get("fit_seconds", 0.0)
    return result


def _train_lstm(task: RunTask, summary: dict, trainer, report, should_stop) -> tuple[RunResult, dict]:
    """An LSTM recipe's run: ``run_recipe`` with ``trainer``, evaluated and packed."""
    from core.runs.evaluate import evaluate
    from core.runs.pipeline import run_recipe
    from core.strategies.registry import build
    from core.strategies.sweeps import split_settings

    data, split = task.data, task.split
    # the task's settings already include the recipe's settings step (``task_for``); applying it again is a no-op
    strategies, settings = split_settings(task.recipe, task.settings)
    out = run_recipe(data, split, build(strategies), settings, task.seed, trainer=trainer,
                     progress=report, should_stop=should_stop)
    # The minority is the rarest class of the training split, not of the resampled rows
    # (oversampling to equal sizes would otherwise make the largest class the "minority").
    evaluation = evaluate(out.test.y, out.test.proba, out.y_pred, out.classes,
                          train_counts=np.array(out.split_class_counts),
                          ordinal=data.ordinal and not out.fitted.info.get("unordered", False))
    summary.update(classes=list(out.classes), kind="lstm", fit_seconds=out.fit_seconds,
                   fit_started=out.fit_started, trained_samples=out.trained_samples, train_size=out.train_size,
                   train_class_counts=out.train_class_counts, split_class_counts=out.split_class_counts,
                   decision=out.decision.to_json(), head=out.head.to_json(), notes=out.notes,
                   merge_map=out.merge_map, artifacts={k: v for k, v in out.artifacts.items() if k != "augmented"},
                   validation_macro_f1=out.validation_macro_f1)
    metrics = _metrics_rows(evaluation, out.validation_macro_f1)
    softmax = out.head.kind == "softmax" and out.validation is not None  # what a shared fit can decide on
    result = RunResult(summary, evaluation.to_json(), metrics,
                       _predictions(out.test_rows, out.test.y, out.y_pred, out.test.proba,
                                    validation_rows=split.validation if softmax else None,
                                    validation_proba=out.validation.proba if softmax else None),
                       history=out.fitted.history, encoder=out.encoder.to_json(),
                       augmented=out.artifacts.get("augmented"), **_stored_models(out.fitted.model))
    return result, summary


def _decide_on_shared_fit(task: RunTask, summary: dict) -> RunResult:
    """A run that decides on a finished run's model (``core.jobs.shared_fit``): the recipe's decision rule tuned
    on that model's validation outputs, as ``run_recipe`` would tune it after training the same model."""
    from core.runs.evaluate import evaluate
    from core.runs.heads import Head
    from core.runs.pipeline import decide
    from core.runs.types import Outputs, RunContext
    from core.strategies.registry import build
    from core.strategies.sweeps import split_settings

    data, split, shared = task.data, task.split, task.shared_fit
    strategies, settings = split_settings(task.recipe, task.settings)
    recipe = build(strategies)
    ctx = RunContext(data=data, split=split, seed=task.seed, settings=settings, head=Head("softmax", data.n_classes))
    started = time.time()
    decided = decide(recipe, ctx, Outputs(shared.validation_proba, None, data.y[split.validation]),
                     test := Outputs(shared.test_proba, None, data.y[split.test]))
    base = shared.summary
    counts = np.bincount(data.y[split.train], minlength=data.n_classes)
    evaluation = evaluate(test.y, test.proba, decided.y_pred, data.classes, train_counts=counts, ordinal=data.ordinal)
    note = (f"decided on the model of run {shared.run_id} ({base.get('recipe')}, seed {task.seed}): the same "
            "training, so it was not trained again")
    summary.update(classes=list(data.classes), kind="lstm", fit_seconds=0.0, fit_started=started, trained_samples=0,
                   train_size=base.get("train_size"), train_class_counts=base.get("train_class_counts"),
                   split_class_counts=counts.tolist(), decision=decided.decision.to_json(), head=base.get("head"),
                   notes=[*base.get("notes", []), note], merge_map=None, artifacts=base.get("artifacts", {}),
                   validation_macro_f1=decided.validation_macro_f1, model_from_run=shared.run_id,
                   model_fit_seconds=base.get("fit_seconds"))
    metrics = _metrics_rows(evaluation, decided.validation_macro_f1)
    return RunResult(summary, evaluation.to_json(), metrics,
                     _predictions(split.test, test.y, decided.y_pred, test.proba, validation_rows=split.validation,
                                  validation_proba=shared.validation_proba),
                     history=shared.history, encoder=shared.encoder, model_from=shared.result_dir)


def failure(run_id: int, exc: BaseException) -> Ended:
    """How a run that raised ``exc`` ended, named for the worker (which words it)."""
    from core.runs.types import Cancelled

    if isinstance(exc, Cancelled):
        return Ended(run_id, Status.CANCELLED, "cancelled by the user", kind="cancelled")
    if isinstance(exc, InputError):
        return Ended(run_id, Status.FAILED, str(exc), kind="input")
    if isinstance(exc, OSError):
        return Ended(run_id, Status.FAILED, str(exc), kind="files", trace=traceback.format_exc())
    return Ended(run_id, Status.FAILED, f"{type(exc).__name__}: {exc}", kind="bug", trace=traceback.format_exc())

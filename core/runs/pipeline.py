"""One run: a recipe applied to one seed's split, from data to test outputs.

This is the data flow of docs/architecture.md: relabel → resample → weights →
encoder (fitted on training rows only) → model/loss → fit → decide → outputs.
Test rows are only ever predicted, never resampled, augmented or fitted on.

TensorFlow-free: whatever needs Keras (the encoder, fitting, predicting) is
done by the ``Trainer`` the caller hands in (``core.keras.trainer`` in the
run process), so the order of the steps can be read and tested here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from core.data.dataset import LabeledTexts
from core.data.split import Split
from core.errors import InputError
from core.runs.decision_rules import Decision
from core.runs.evaluate import macro_f1
from core.runs.heads import Head
from core.runs.types import (
    ModelSpec,
    Outputs,
    ProgressSink,
    RunContext,
    RowScorer,
    RunOutput,
    Trainer,
    TrainingSet,
)
from core.settings import TrainSettings


def check_label_type(recipe, data: LabeledTexts) -> None:
    """Refuse strategies that need ordinal labels (or a target) on data without them."""
    for strategy in recipe:
        if strategy.needs_ordinal and not (data.ordinal or data.target is not None):
            raise InputError(
                f"{strategy.name} needs ordinal labels or a continuous target; mark the labels as ordinal "
                "(and give their order) or choose a target column on the Data page, or drop this strategy."
            )


def run_recipe(data: LabeledTexts, split: Split, recipe: Sequence, settings: TrainSettings, seed: int, *,
               trainer: Trainer, progress: ProgressSink | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> RunOutput:
    """Train and evaluate one recipe at one seed. ``recipe`` is a list of
    strategy instances (``core.strategies.registry.build``)."""
    check_label_type(recipe, data)
    trainer.seed_everything(seed)
    ctx = RunContext(data=data, split=split, seed=seed, settings=settings, progress=progress, should_stop=should_stop,
                     trainer=trainer)
    ctx.report(stage="preparing the training set")  # what the Runs page says until the first epoch
    for s in recipe:
        s.relabel(ctx)
    train_set = TrainingSet.from_rows(ctx.data, split.train)
    for s in recipe:
        train_set = s.resample(ctx, train_set)
    weights = np.ones(len(train_set), dtype=np.float32)
    for s in recipe:
        w = s.sample_weights(ctx, train_set)
        if w is not None:
            weights = weights * np.asarray(w, dtype=np.float32)
    # Normalised to mean 1 so the loss scale (and so the learning rate) stays comparable.
    train_set = replace(train_set, weights=weights / weights.mean())

    ctx.report(stage="building the vocabulary")
    ctx.encoder = trainer.fit_text_encoder(ctx, split.train)
    ctx.head = next((h for h in (s.head(ctx) for s in recipe) if h is not None), Head("softmax", ctx.n_classes))
    ctx.spec = ModelSpec.from_settings(settings)
    for s in recipe:
        ctx.spec = s.model(ctx, ctx.spec)
    ctx.loss_spec = next((l for l in (s.loss(ctx, train_set) for s in recipe) if l is not None), None)
    ctx.output_bias = next((b for b in (s.output_bias(ctx, train_set) for s in recipe) if b is not None), None)

    fit_started, started = time.time(), time.perf_counter()
    fitted = next((f for f in (s.fit(ctx, train_set) for s in recipe) if f is not None), None)
    if fitted is None:
        fitted = trainer.fit(ctx, train_set)
    fit_seconds = time.perf_counter() - started

    validation = _outputs(ctx, fitted.model, split.validation)
    test = _outputs(ctx, fitted.model, split.test)
    decided = decide(recipe, ctx, validation, test)
    return RunOutput(
        classes=ctx.data.classes, test_rows=split.test, test=test, y_pred=decided.y_pred,
        decision=decided.decision, head=ctx.head, fitted=fitted, encoder=ctx.encoder, train_size=len(train_set),
        train_class_counts=train_set.class_counts(ctx.n_classes).tolist(),
        split_class_counts=np.bincount(ctx.data.y[split.train], minlength=ctx.n_classes).tolist(),
        notes=ctx.notes, artifacts=ctx.artifacts,
        fit_seconds=fit_seconds, fit_started=fit_started, trained_samples=int(fitted.info.get("trained_samples", 0)),
        merge_map=ctx.merge_map, validation_macro_f1=decided.validation_macro_f1, validation=validation,
    )


@dataclass(frozen=True)
class Decided:
    """A run's decision rule and what it gives: test predictions, the validation macro-F1 a choice may read."""

    decision: Decision
    y_pred: np.ndarray
    validation_macro_f1: float | None


def decide(recipe: Sequence, ctx: RunContext, validation: Outputs, test: Outputs) -> Decided:
    """The decision step of a run, after its model gave ``validation`` and ``test`` outputs: the rule a strategy
    tunes on validation (or the head's default), applied to test. Shared by trained runs and runs deciding on
    an earlier run's model (``core.jobs.shared_fit``), so both decide exactly alike."""
    tuned = _tuned_decision(recipe, ctx, validation)
    decision = tuned or ctx.head.default_decision()
    validation_f1 = None
    if len(validation.y):
        validation_pred = cross_fitted_predictions(recipe, ctx, validation, ctx.seed) if tuned is not None \
            else decision.apply(validation.proba, validation.raw)
        validation_f1 = macro_f1(validation.y, validation_pred)
    return Decided(decision, decision.apply(test.proba, test.raw), validation_f1)


def _outputs(ctx: RunContext, model, rows: np.ndarray) -> Outputs:
    """``model``'s outputs on the dataset's ``rows``: a Keras network's through the trainer, a ``RowScorer``'s
    (a novelty detector) from its own scores, turned into probabilities by the head alike."""
    if isinstance(model, RowScorer):
        scores = model.row_scores(ctx, rows)
        return Outputs(ctx.head.proba(scores), ctx.head.raw(scores), ctx.data.y[rows])
    return ctx.trainer.outputs(ctx, model, rows)


def _tuned_decision(recipe, ctx: RunContext, validation: Outputs):
    """The first decision rule a strategy tunes on ``validation`` (None: the head's default rule)."""
    return next((d for d in (s.decide(ctx, validation) for s in recipe) if d is not None), None)


def cross_fitted_predictions(recipe, ctx: RunContext, validation: Outputs, seed: int) -> np.ndarray:
    """Validation predictions where each half of the rows is decided by the rule tuned on the other half.

    A rule tuned on the validation rows and scored on the same rows flatters itself: in the quality
    benchmark the tuned thresholds won every choice by validation macro-F1 and then lost on test. Scored
    this way, a run's validation macro-F1 says what the tuning does for rows it has not seen, so recipes
    that tune and recipes that do not can be chosen between on validation. The halves are stratified
    (each class alternates between them from a seeded shuffle): hand-written because scikit-learn's
    StratifiedKFold warns or fails on classes with a single validation row, which small data has.
    """
    y = validation.y
    fold = np.zeros(len(y), dtype=np.int8)
    rng = np.random.default_rng(seed)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        fold[rows[rng.integers(2)::2]] = 1
    pred = np.empty_like(y)
    for k in (0, 1):
        tune, held = fold != k, fold == k
        if not held.any():
            continue
        rule = _tuned_decision(recipe, ctx, _rows(validation, tune)) or ctx.head.default_decision()
        pred[held] = rule.apply(validation.proba[held], None if validation.raw is None else validation.raw[held])
    return pred


def _rows(outputs: Outputs, mask: np.ndarray) -> Outputs:
    return Outputs(outputs.proba[mask], None if outputs.raw is None else outputs.raw[mask], outputs.y[mask])

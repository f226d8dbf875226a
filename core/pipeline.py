"""One run: a recipe applied to one seed's split, from data to test outputs.

This is the data flow of docs/architecture.md: relabel → resample → weights →
encoder (fitted on training rows only) → model/loss → fit → decide → outputs.
Test rows are only ever predicted, never resampled, augmented or fitted on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from core.dataset import LabeledTexts
from core.decision import Decision
from core.errors import InputError
from core.heads import Head
from core.split import Split

ProgressSink = Callable[[dict], None]


class Cancelled(Exception):
    """Raised inside a run when the user asked to stop it."""


@dataclass(frozen=True)
class TrainSettings:
    """Training settings shared by every recipe of an experiment."""

    epochs: int = 10
    batch_size: int = 128
    patience: int = 2
    vocab_size: int = 20_000
    max_len: int | None = None  # None: 95th percentile of training lengths, capped at 256
    embedding_dim: int = 64
    units: int = 64
    learning_rate: float = 3e-3
    dropout: float = 0.2

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, payload: dict) -> "TrainSettings":
        known = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class TrainingSet:
    """The rows a model is fitted on: original training rows, possibly drawn
    several times, dropped, or joined by generated texts."""

    texts: list[str]
    y: np.ndarray
    source_rows: np.ndarray  # dataset row each text came from
    synthetic: np.ndarray  # True for generated texts
    value: np.ndarray | None = None  # continuous target, when the head regresses on one
    balanced_batches: bool = False
    weights: np.ndarray | None = None  # per-row loss weights, set after all resampling

    @classmethod
    def from_rows(cls, data: LabeledTexts, rows: np.ndarray) -> "TrainingSet":
        value = None if data.target is None else np.asarray(data.target)[rows]
        return cls([data.texts[r] for r in rows], data.y[rows].copy(), rows.copy(), np.zeros(len(rows), bool), value)

    def __len__(self) -> int:
        return len(self.y)

    def take(self, positions: np.ndarray) -> "TrainingSet":
        positions = np.asarray(positions, dtype=int)
        return replace(self, texts=[self.texts[i] for i in positions], y=self.y[positions],
                       source_rows=self.source_rows[positions], synthetic=self.synthetic[positions],
                       value=None if self.value is None else self.value[positions], weights=None)

    def extend(self, texts: Sequence[str], source_positions: np.ndarray) -> "TrainingSet":
        """Add generated texts that inherit label (and target) from ``source_positions``."""
        source_positions = np.asarray(source_positions, dtype=int)
        return replace(self, texts=self.texts + list(texts), y=np.concatenate([self.y, self.y[source_positions]]),
                       source_rows=np.concatenate([self.source_rows, self.source_rows[source_positions]]),
                       synthetic=np.concatenate([self.synthetic, np.ones(len(texts), bool)]),
                       value=None if self.value is None else np.concatenate([self.value, self.value[source_positions]]),
                       weights=None)

    def class_counts(self, n_classes: int) -> np.ndarray:
        return np.bincount(self.y, minlength=n_classes)


@dataclass
class Outputs:
    """A model's outputs on some rows: class probabilities, the raw regression
    value (regression head only), and the true classes."""

    proba: np.ndarray
    raw: np.ndarray | None
    y: np.ndarray


@dataclass
class Fitted:
    model: Any  # keras.Model from token ids to raw head outputs
    history: list[dict]
    info: dict = field(default_factory=dict)


@dataclass
class RunContext:
    """Everything a strategy hook may read or set during one run."""

    data: LabeledTexts
    split: Split
    seed: int
    settings: TrainSettings
    progress: ProgressSink | None = None
    should_stop: Callable[[], bool] = lambda: False
    merge_map: dict[str, str] | None = None
    notes: list[str] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)  # extra files to store with the run
    encoder: Any = None
    head: Head | None = None
    spec: Any = None
    loss_fn: Any = None
    output_bias: np.ndarray | None = None
    embedding_init: np.ndarray | None = None  # starting embedding rows (pretrained vectors)
    _encoded: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return self.data.n_classes

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A generator fixed by the seed and a per-use salt, so strategies draw
        independent but reproducible streams."""
        return np.random.default_rng([self.seed, salt])

    def report(self, **progress: Any) -> None:
        if self.progress is not None:
            self.progress(progress)


@dataclass
class RunOutput:
    """What a finished run hands to evaluation and storage."""

    classes: tuple[str, ...]
    test_rows: np.ndarray
    test: Outputs
    y_pred: np.ndarray
    decision: Decision
    head: Head
    fitted: Fitted
    encoder: Any
    train_size: int
    train_class_counts: list[int]  # rows per class that were trained on (after resampling and augmentation)
    split_class_counts: list[int]  # rows per class in the training split (after relabelling): defines the minority
    notes: list[str]
    artifacts: dict[str, Any]
    fit_seconds: float
    trained_samples: int  # training rows × epochs actually run, over all models fitted
    merge_map: dict[str, str] | None = None


def check_label_type(recipe, data: LabeledTexts) -> None:
    for strategy in recipe:
        if strategy.needs_ordinal and not (data.ordinal or data.target is not None):
            raise InputError(
                f"{strategy.name} needs ordinal labels or a continuous target; mark the labels as ordinal "
                "(and give their order) or choose a target column on the Data page, or drop this strategy."
            )


def run_recipe(data: LabeledTexts, split: Split, recipe: Sequence, settings: TrainSettings, seed: int, *,
               progress: ProgressSink | None = None, should_stop: Callable[[], bool] = lambda: False) -> RunOutput:
    """Train and evaluate one recipe at one seed. ``recipe`` is a list of
    strategy instances (see ``core.recipe``)."""
    from core import train  # imports Keras: only here, in worker-side processes

    check_label_type(recipe, data)
    train.seed_everything(seed)
    ctx = RunContext(data=data, split=split, seed=seed, settings=settings, progress=progress, should_stop=should_stop)
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

    ctx.encoder = train.fit_text_encoder(ctx, split.train)
    ctx.head = next((h for h in (s.head(ctx) for s in recipe) if h is not None), Head("softmax", ctx.n_classes))
    ctx.spec = train.base_spec(settings)
    for s in recipe:
        ctx.spec = s.model(ctx, ctx.spec)
    ctx.loss_fn = next((l for l in (s.loss(ctx, train_set) for s in recipe) if l is not None), None)
    ctx.output_bias = next((b for b in (s.output_bias(ctx, train_set) for s in recipe) if b is not None), None)

    started = time.perf_counter()
    fitted = next((f for f in (s.fit(ctx, train_set) for s in recipe) if f is not None), None)
    if fitted is None:
        fitted = train.fit(ctx, train_set)
    fit_seconds = time.perf_counter() - started

    validation = train.outputs(ctx, fitted.model, split.validation)
    decision = next((d for d in (s.decide(ctx, validation) for s in recipe) if d is not None), None)
    decision = decision or ctx.head.default_decision()
    test = train.outputs(ctx, fitted.model, split.test)
    return RunOutput(
        classes=ctx.data.classes, test_rows=split.test, test=test, y_pred=decision.apply(test.proba, test.raw),
        decision=decision, head=ctx.head, fitted=fitted, encoder=ctx.encoder, train_size=len(train_set),
        train_class_counts=train_set.class_counts(ctx.n_classes).tolist(),
        split_class_counts=np.bincount(ctx.data.y[split.train], minlength=ctx.n_classes).tolist(),
        notes=ctx.notes, artifacts=ctx.artifacts,
        fit_seconds=fit_seconds, trained_samples=int(fitted.info.get("trained_samples", 0)), merge_map=ctx.merge_map,
    )


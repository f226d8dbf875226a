"""The data types of one run, shared by the pipeline, the strategies and the
Keras side: the model spec and loss spec, the training set, model outputs,
the run context strategy hooks read and write, and what a finished run hands
on. (Training settings are ``core.settings.TrainSettings``.)

TensorFlow-free: pages, the strategy listing and the job queue import it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from core.data.dataset import LabeledTexts
from core.data.split import Split
from core.runs.decision_rules import Decision
from core.runs.heads import Head
from core.settings import TrainSettings

ProgressSink = Callable[[dict], None]


class Cancelled(Exception):
    """Raised inside a run when the user asked to stop it."""


@dataclass(frozen=True)
class ModelSpec:
    """The network's architecture knobs; architecture strategies change them,
    ``core.keras.models.build_model`` builds the network from them."""

    embedding_dim: int = TrainSettings.embedding_dim
    units: int = TrainSettings.units
    recurrent_layers: int = 1
    bidirectional: bool = False
    cell: str = "lstm"  # lstm | gru
    dropout: float = TrainSettings.dropout
    dense_layers: tuple[int, ...] = ()
    dense_dropout: float = 0.3
    embedding_trainable: bool = True
    pooling: str = "last"  # last: the final state | max: the maximum of every step's output

    @classmethod
    def from_settings(cls, settings: TrainSettings) -> "ModelSpec":
        return cls(embedding_dim=settings.embedding_dim, units=settings.units, dropout=settings.dropout,
                   pooling=settings.pooling)


LOSS_KINDS = ("cross_entropy", "focal", "logit_adjusted", "mse", "huber", "cumulative_bce")


@dataclass(frozen=True)
class LossSpec:
    """A training loss named by what it is, with its parameters. Loss
    strategies return one; ``core.keras.losses.build_loss`` turns it into a
    Keras loss, so strategies never import Keras."""

    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ValueError(f"unknown loss {self.kind!r}; known: {', '.join(LOSS_KINDS)}")

    @classmethod
    def of(cls, kind: str, **params: Any) -> "LossSpec":
        return cls(kind, tuple(sorted(params.items())))

    def __getitem__(self, name: str) -> Any:
        return dict(self.params)[name]


class Trainer(Protocol):
    """The Keras side of a run (``core.keras.trainer.KerasTrainer``), handed to
    the pipeline and to strategy hooks as ``RunContext.trainer``. Models are
    opaque here: only the trainer builds, fits and calls them."""

    def seed_everything(self, seed: int) -> None: ...

    def fit_text_encoder(self, ctx: "RunContext", train_rows: np.ndarray) -> Any: ...

    def fit(self, ctx: "RunContext", train_set: "TrainingSet", *, stage: str = "fit", seed_offset: int = 0,
            epochs: int | None = None) -> "Fitted": ...

    def outputs(self, ctx: "RunContext", model: Any, rows: np.ndarray) -> "Outputs": ...

    def training_scores(self, ctx: "RunContext", model: Any, train_set: "TrainingSet") -> np.ndarray:
        """Raw head outputs of ``model`` on every row of ``train_set``."""

    def training_features(self, ctx: "RunContext", model: Any, train_set: "TrainingSet") -> np.ndarray:
        """Sentence representations (the layer named ``features``) of every row of ``train_set``."""

    def features(self, ctx: "RunContext", model: Any, rows: np.ndarray) -> np.ndarray:
        """Sentence representations (the layer named ``features``) of the dataset's ``rows``."""

    def retrain_head(self, ctx: "RunContext", base: "Fitted", features: np.ndarray, y: np.ndarray, *,
                     epochs: int) -> Any:
        """A new output layer fitted on (features, y), joined to ``base``'s encoder."""

    def soft_vote(self, ctx: "RunContext", fits: Sequence["Fitted"], member_weights: Sequence[float]) -> Any: ...


@runtime_checkable
class RowScorer(Protocol):
    """A fitted model that is not one Keras network (``core.runs.anomaly.NoveltyScorer``: a novelty detector
    on sentence features): it gives the raw head outputs of the dataset's ``rows`` itself, reaching
    ``ctx.trainer`` for whatever needs Keras."""

    def row_scores(self, ctx: "RunContext", rows: np.ndarray) -> np.ndarray: ...


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
    model: Any  # keras.Model from token ids to raw head outputs, or a RowScorer
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
    trainer: Trainer | None = None  # set by the pipeline: the Keras side
    encoder: Any = None
    head: Head | None = None
    spec: ModelSpec | None = None
    loss_spec: LossSpec | None = None
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
    fit_started: float  # unix time the fit began (throughput windows start there)
    trained_samples: int  # training rows × epochs actually run, over all models fitted
    merge_map: dict[str, str] | None = None
    # macro-F1 of the final model and decision rule on the validation rows (None without any): what
    # choosing between recipes or settings may look at, since test rows must not be
    validation_macro_f1: float | None = None
    validation: Outputs | None = None  # the model's outputs on the validation rows (stored: a run that only
    # decides differently, e.g. ``threshold``, can decide on this run's model without training it again)

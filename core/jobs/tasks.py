"""What travels through an executor: a run to train (``RunTask``), what the
training hands back (``RunResult``), and what an executor reports while runs
train (``Started``, ``Beat``, ``Done``, ``Ended``).

The seam of docs/architecture.md ("Worker and executors"): the training side
gets everything it needs in the task (the dataset and this seed's split
included) and never opens the workspace; only the worker writes into the store.
So a run can train in a warm local process today and on another machine later.

TensorFlow-free and store-free: the worker and every executor import it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.dataset import LabeledTexts
from core.data.split import Split
from core.jobs.records import Status
from core.settings import TrainSettings


@dataclass(frozen=True)
class SharedFit:
    """A finished run whose model a task decides on instead of training one (``core.jobs.shared_fit``): the
    recipe differs from it only by a decision rule tuned on validation, so training would give this very model
    (same data, split, settings and seed). Its outputs travel with the task; the model file stays in the
    workspace, linked into the new run's folder by the worker."""

    run_id: int
    result_dir: str  # relative to the workspace
    validation_proba: np.ndarray
    test_proba: np.ndarray
    summary: dict  # the base run's result.json without its evaluation
    history: list[dict] | None = None
    encoder: dict | None = None


@dataclass(frozen=True)
class RunTask:
    """One run, ready to train anywhere: recipe, seed, settings, data and split."""

    run_id: int
    experiment_id: int
    recipe: str
    seed: int
    fingerprint: str
    dataset_id: str
    settings: TrainSettings
    data: LabeledTexts
    split: Split
    shared_fit: SharedFit | None = None  # decide on this finished run's model instead of training


@dataclass
class RunResult:
    """Everything a finished run stores, in memory: the worker writes it into
    the run's folder (``core.jobs.runner.write_result``)."""

    summary: dict  # result.json without its evaluation
    evaluation: dict  # core.runs.evaluate.Evaluation.to_json()
    metrics: dict[tuple[str, str], float]  # (scope, name) -> value, for the metrics table
    predictions: dict[str, np.ndarray]  # test_rows, y_true, y_pred, proba
    history: list[dict] | None = None
    encoder: dict | None = None
    model: bytes | None = None  # the saved model.keras file
    detector: bytes | None = None  # detector.pkl: an anomaly run's novelty detector (core.runs.anomaly)
    augmented: list[dict] | None = None  # generated training texts, when a strategy made some
    model_from: str | None = None  # no ``model``: link the model file of this result folder (workspace-relative)


# Why a run ended without a result, as the training side names it; the worker
# turns it into the status and the sentence the user reads (``core.jobs.runner.record_end``).
FAILURE_KINDS = ("cancelled", "input", "files", "bug")


@dataclass(frozen=True)
class Started:
    """The run's task reached a process (``pid``): the worker records it."""

    run_id: int
    pid: int


@dataclass(frozen=True)
class Beat:
    """The run is alive; ``progress`` when it has something new to say."""

    run_id: int
    progress: dict | None = None


@dataclass(frozen=True)
class Done:
    run_id: int
    result: RunResult


@dataclass(frozen=True)
class Ended:
    """The run ended without a result: ``kind`` is one of ``FAILURE_KINDS``,
    or ``status`` says it outright (a process that died)."""

    run_id: int
    status: Status
    message: str
    kind: str | None = None
    trace: str | None = None

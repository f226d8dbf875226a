"""Shared fixtures: tiny generated datasets, tiny training settings, a temporary store."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("IMBALANCE_LAB_NO_AUTOSTART", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.dataset import LabeledTexts  # noqa: E402
from core.pipeline import TrainSettings  # noqa: E402
from core.store import Store  # noqa: E402

FILLER = ("the", "a", "item", "arrived", "today", "and", "it", "was", "really", "quite", "fabric", "order", "size",
          "colour", "store", "week", "bought", "this", "my", "for")
SIGNALS = {"bad": ("awful", "broken", "refund", "terrible"), "ok": ("fine", "average", "decent", "okay"),
           "good": ("lovely", "perfect", "great", "love")}


def make_texts(counts: dict[str, int], *, seed: int = 0, signal_rate: float = 0.9, length: int = 8) -> tuple[list[str], list[str]]:
    """Texts whose class shows through one or two signal words among filler;
    ``signal_rate`` is how often the signal is present at all."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, n in counts.items():
        words = SIGNALS.get(label, (f"{label}word", f"{label}term"))
        for i in range(n):
            body = list(rng.choice(FILLER, size=length))
            if rng.random() < signal_rate:
                body[rng.integers(0, length)] = str(rng.choice(words))
            body.append(f"n{i % 50}")  # keeps texts distinct, so duplicates do not merge rows
            texts.append(" ".join(body))
            labels.append(label)
    return texts, labels


def labeled(counts: dict[str, int], *, ordinal: bool = False, seed: int = 0, **kwargs) -> LabeledTexts:
    texts, labels = make_texts(counts, seed=seed, **kwargs)
    classes = tuple(counts)
    y = np.array([classes.index(label) for label in labels])
    return LabeledTexts(tuple(texts), y, classes, ordinal=ordinal, name="generated")


@pytest.fixture
def imbalanced() -> LabeledTexts:
    """Three ordered classes, the smallest 5% of rows."""
    return labeled({"bad": 24, "ok": 96, "good": 360}, ordinal=True)


@pytest.fixture
def tiny_settings() -> TrainSettings:
    return TrainSettings(epochs=2, batch_size=32, patience=2, vocab_size=200, max_len=16, embedding_dim=8, units=8,
                         learning_rate=1e-2, dropout=0.0)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "workspace")


TINY_TRAINING = dict(epochs=1, batch_size=32, patience=1, vocab_size=200, max_len=16, embedding_dim=8, units=8,
                     learning_rate=1e-2, dropout=0.0)


def run_queued(store: Store) -> None:
    """Execute every queued run in this process (what the worker's children do)."""
    from core.runner import execute_run

    while (run := store.claim_next(os.getpid())) is not None:
        execute_run(store, run.id)


@pytest.fixture(scope="session")
def filled_workspace(tmp_path_factory):
    """A workspace with one tiny ordinal dataset and one finished experiment
    (baseline + class_weight, 2 seeds, 1 epoch, plus the references). Tests
    must not change it: copy it first (see ``filled_copy``)."""
    from core.experiments import ExperimentSpec, submit
    from core.pipeline import TrainSettings

    root = tmp_path_factory.mktemp("filled") / "workspace"
    s = Store(root)
    data = labeled({"bad": 30, "ok": 60, "good": 150}, ordinal=True)
    dataset_id = s.add_dataset(data, name="tiny reviews")
    spec = ExperimentSpec(dataset_id=dataset_id, recipes=("baseline", "class_weight"), seeds=2,
                          settings=TrainSettings(**TINY_TRAINING), name="tiny comparison")
    experiment_id = submit(s, spec)
    run_queued(s)
    return {"root": root, "dataset_id": dataset_id, "experiment_id": experiment_id}


@pytest.fixture
def filled_copy(filled_workspace, tmp_path, monkeypatch):
    """A private copy of ``filled_workspace``, set as the workspace for the app."""
    import shutil

    target = tmp_path / "workspace"
    shutil.copytree(filled_workspace["root"], target)
    monkeypatch.setenv("IMBALANCE_LAB_WORKSPACE", str(target))
    return {**filled_workspace, "root": target}


@pytest.fixture
def empty_workspace(tmp_path, monkeypatch):
    target = tmp_path / "workspace"
    monkeypatch.setenv("IMBALANCE_LAB_WORKSPACE", str(target))
    return target

"""Shared fixtures: tiny generated datasets, tiny training settings, a temporary store;
and the test tiers (markers slow, e2e, benchmark, applied from path and fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("IMBALANCE_LAB_NO_AUTOSTART", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.data.dataset import LabeledTexts  # noqa: E402
from core.jobs.store import Store  # noqa: E402
from core.settings import TrainSettings  # noqa: E402

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
    from core.jobs.runner import execute_run

    while (run := store.claim_next(os.getpid())) is not None:
        execute_run(store, run.id)


@pytest.fixture(scope="session")
def filled_workspace(tmp_path_factory):
    """A workspace with one tiny ordinal dataset and one finished experiment
    (baseline + class_weight, 2 seeds, 1 epoch, plus the references). Tests
    must not change it: copy it first (see ``filled_copy``)."""
    from core.jobs.experiments import ExperimentSpec, submit
    from core.settings import TrainSettings

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


# ------------------------------------------------------------------ test tiers
# `./scripts/test.sh -m "not slow and not e2e and not benchmark"` is the fast
# tier; plain `./scripts/test.sh` runs everything. The markers (registered in
# pytest.ini) are never written by hand: ``tier_markers`` derives them from a
# test's path and the fixtures it uses, so a new test that trains or starts
# processes through these fixtures is slow without anyone remembering it.

TESTS_DIR = Path(__file__).resolve().parent
E2E_DIR = "e2e"  # browser tests: tests/e2e/**
BENCHMARK_MODULES = frozenset({"test_benchmarks.py"})  # runs `python -m benchmarks --quick`
# Modules whose every test starts the worker, the app or the kill loop in processes of their own.
SLOW_MODULES = frozenset({"test_app_restart.py", "test_concurrency.py", "test_kill_loop.py", "test_executor.py",
                          "test_ray_worker.py"})
# Fixtures that train models or start processes (directly or through a fixture they use).
SLOW_FIXTURES = frozenset({"filled_workspace", "filled_copy", "workers", "strategy_run", "cli_trained",
                           "ray_cluster"})
TIERS = ("slow", "e2e", "benchmark")


def tier_markers(path: str | Path, fixturenames) -> set[str]:
    """The tier markers of a test in the file ``path`` that uses ``fixturenames``
    (pytest's closure: fixtures used through other fixtures are included)."""
    path = Path(path)
    try:
        parts = path.resolve().relative_to(TESTS_DIR).parts
    except ValueError:  # not under tests/
        parts = path.parts
    markers = set()
    if E2E_DIR in parts[:-1]:
        markers.add("e2e")
    if path.name in BENCHMARK_MODULES:
        markers.add("benchmark")
    if path.name in SLOW_MODULES or SLOW_FIXTURES & set(fixturenames):
        markers.add("slow")
    return markers


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in sorted(tier_markers(item.path, item.fixturenames)):
            item.add_marker(name)


@pytest.fixture
def unfinished_experiment(filled_workspace, empty_workspace) -> int:
    """The app's (empty) workspace gets the filled dataset and one experiment
    whose runs are all still queued; returns its id."""
    from core.jobs.experiments import ExperimentSpec, submit

    store = Store(empty_workspace)
    data = Store(filled_workspace["root"]).load_dataset(filled_workspace["dataset_id"])
    dataset_id = store.add_dataset(data, name="queued only")
    return submit(store, ExperimentSpec(dataset_id=dataset_id, seeds=1, settings=TrainSettings(epochs=1)))

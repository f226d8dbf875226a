"""Reading a finished run's result files (written by ``core.jobs.runner``).

JSON and ``.npz`` only: nothing here unpickles or imports TensorFlow."""

from __future__ import annotations

import json

import numpy as np

from core.jobs.store import Store


def load_result(store: Store, result_dir: str) -> dict:
    """A finished run's summary and evaluation (JSON only; never unpickles)."""
    with open(store.path_inside(result_dir) / "result.json", encoding="utf-8") as fh:
        return json.load(fh)


def load_predictions(store: Store, result_dir: str) -> dict[str, np.ndarray]:
    with np.load(store.path_inside(result_dir) / "predictions.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def load_optional_json(store: Store, result_dir: str, name: str):
    """A finished run's ``name``.json (``history``, ``encoder``), or None when the run has none."""
    path = store.path_inside(result_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

"""Prediction requests and model bundles, on the store's side.

The app writes a request here and reads the answer back; the worker's
prediction process (``core.jobs.predict_service``) answers it. Exporting a
bundle only zips stored files. TensorFlow-free."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Sequence

from core.errors import InputError
from core.files import atomic_path
from core.jobs.store import RunRow, Status, Store
from core.runs.references import is_reference

BUNDLE_FORMAT = "imbalance-lab-bundle/1"
DETECTOR_FILE = "detector.pkl"  # an anomaly run's novelty detector (core.runs.anomaly)
# A seed's files in a bundle: an anomaly run on TF-IDF features has no network, and only anomaly runs a detector.
BUNDLE_FILES = ("model.keras", "encoder.json", "result.json", DETECTOR_FILE)
OPTIONAL_FILES = frozenset({"model.keras", DETECTOR_FILE})


def recipe_runs(store: Store, experiment_id: int, recipe: str) -> list[RunRow]:
    """The finished runs of an LSTM recipe (references keep no model)."""
    if is_reference(recipe):
        raise InputError("reference models are not stored; pick an LSTM recipe.")
    runs = store.runs(experiment=experiment_id, recipe=recipe, status=Status.FINISHED)
    if not runs:
        raise InputError(f"recipe {recipe!r} has no finished run in experiment {experiment_id}.")
    return runs


def export_bundle(store: Store, experiment_id: int, recipe: str, destination: str | os.PathLike) -> Path:
    """One zip with every seed's model, vocabulary, head, decision rule, label
    map, merge map and the experiment spec — all ``python -m core predict`` needs."""
    runs = recipe_runs(store, experiment_id, recipe)
    destination = Path(destination)
    manifest = {"format": BUNDLE_FORMAT, "recipe": recipe, "experiment": store.experiment(experiment_id)["spec"],
                "seeds": []}
    with atomic_path(destination) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for run in runs:
            folder = store.path_inside(run.result_dir)
            result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            prefix = f"seed_{run.seed}"
            for name in BUNDLE_FILES:
                if name != "result.json" and (name not in OPTIONAL_FILES or (folder / name).exists()):
                    zf.write(folder / name, f"{prefix}/{name}")
            zf.writestr(f"{prefix}/result.json", json.dumps({k: result.get(k) for k in (
                "recipe", "seed", "classes", "head", "decision", "merge_map", "versions")}))
            manifest["seeds"].append({"seed": run.seed, "folder": prefix, "classes": result["classes"],
                                      "merge_map": result.get("merge_map")})
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
    return destination


def request_prediction(store: Store, experiment_id: int, recipes: Sequence[str], texts: Sequence[str]) -> int:
    """Queue texts to be predicted by every recipe given; the worker answers."""
    return store.add_prediction_request({"experiment_id": int(experiment_id), "recipes": list(recipes),
                                         "texts": [str(t) for t in texts]})


def prediction_result(store: Store, request_id: int) -> dict:
    """``status`` (queued, running, finished or failed), ``result`` (one answer per recipe) and ``error``."""
    request = store.prediction_request(request_id)
    return {k: request[k] for k in ("status", "result", "error")}

"""Predicting new texts with stored models, and exporting a recipe as a bundle.

A recipe's prediction is the mean of its seed models' probabilities with its
tuned decision rule applied (offsets / cut-points averaged over the seeds).
This runs in worker-side processes only: the app never imports TensorFlow, it
writes a request into the store and reads the answer back.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from core.decision import Decision
from core.errors import InputError
from core.heads import Head
from core.store import Store

PREDICT_IDLE_EXIT_S = 120.0
BUNDLE_FORMAT = "imbalance-lab-bundle/1"


@dataclass
class SeedModel:
    model: object
    encoder: object
    head: Head
    decision: Decision


@dataclass
class RecipeModel:
    """All seed models of one recipe, sharing classes and merge map."""

    recipe: str
    classes: tuple[str, ...]
    seeds: list[SeedModel]
    merge_map: dict | None = None


def _load_seed(folder: Path) -> tuple[SeedModel, dict]:
    import keras

    import core.losses  # noqa: F401  registers custom objects
    import core.models  # noqa: F401
    from core.text import Encoder

    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    model = keras.saving.load_model(folder / "model.keras", compile=False, safe_mode=True)
    encoder = Encoder.from_json(json.loads((folder / "encoder.json").read_text(encoding="utf-8")))
    return SeedModel(model, encoder, Head.from_json(result["head"]), Decision.from_json(result["decision"])), result


def predict_recipe(recipe: RecipeModel, texts: Sequence[str]) -> dict:
    """Mean probabilities over seed models, and the decided class per text."""
    from core.text import predict_scores

    probas, raws = [], []
    for seed in recipe.seeds:
        scores = predict_scores(seed.model, seed.encoder.encode(list(texts)), max_len=seed.encoder.max_len)
        probas.append(seed.head.proba(scores))
        raws.append(seed.head.raw(scores))
    proba = np.mean(probas, axis=0)
    first = recipe.seeds[0].decision
    values = tuple(np.mean([s.decision.values for s in recipe.seeds], axis=0)) if first.values else ()
    raw = None if raws[0] is None else np.mean(raws, axis=0)
    predicted = Decision(first.kind, values).apply(proba, raw)
    return {"recipe": recipe.recipe, "classes": list(recipe.classes), "proba": proba.round(6).tolist(),
            "predicted": [recipe.classes[i] for i in predicted]}


def recipe_runs(store: Store, experiment_id: int, recipe: str) -> list:
    runs = [r for r in store.runs(experiment_id=experiment_id) if r.recipe == recipe and r.status == "finished"]
    if not runs:
        raise InputError(f"recipe {recipe!r} has no finished run in experiment {experiment_id}.")
    if recipe.startswith("ref:"):
        raise InputError("reference models are not stored; pick an LSTM recipe.")
    return runs


def load_recipe(store: Store, experiment_id: int, recipe: str) -> RecipeModel:
    seeds, classes, merge_map = [], (), None
    for run in recipe_runs(store, experiment_id, recipe):
        seed_model, result = _load_seed(store.path_inside(run.result_dir))
        seeds.append(seed_model)
        classes, merge_map = tuple(result["classes"]), result.get("merge_map")
    return RecipeModel(recipe, classes, seeds, merge_map)


# ----- bundles -----
def export_bundle(store: Store, experiment_id: int, recipe: str, destination: str | os.PathLike) -> Path:
    """One zip with every seed's model, vocabulary, head, decision rule, label
    map, merge map and the experiment spec — all ``python -m core predict`` needs."""
    runs = recipe_runs(store, experiment_id, recipe)
    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.tmp")
    manifest = {"format": BUNDLE_FORMAT, "recipe": recipe, "experiment": store.experiment(experiment_id)["spec"],
                "seeds": []}
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for run in runs:
            folder = store.path_inside(run.result_dir)
            result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            prefix = f"seed_{run.seed}"
            zf.write(folder / "model.keras", f"{prefix}/model.keras")
            zf.write(folder / "encoder.json", f"{prefix}/encoder.json")
            zf.writestr(f"{prefix}/result.json", json.dumps({k: result.get(k) for k in (
                "recipe", "seed", "classes", "head", "decision", "merge_map", "versions")}))
            manifest["seeds"].append({"seed": run.seed, "folder": prefix, "classes": result["classes"],
                                      "merge_map": result.get("merge_map")})
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
    os.replace(tmp, destination)
    return destination


def load_bundle(path: str | os.PathLike) -> RecipeModel:
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path.name}: not a model bundle ({exc}); export one from the Predict page.") from None
    with zf, tempfile.TemporaryDirectory() as tmp:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except KeyError:
            raise InputError(f"{path.name}: no manifest.json inside; this is not an Imbalance Lab bundle.") from None
        if manifest.get("format") != BUNDLE_FORMAT:
            raise InputError(f"{path.name}: unknown bundle format {manifest.get('format')!r}.")
        seeds = []
        for entry in manifest["seeds"]:
            folder = Path(tmp) / f"seed_{int(entry['seed'])}"  # never a path taken from the file
            folder.mkdir()
            for name in ("model.keras", "encoder.json", "result.json"):
                (folder / name).write_bytes(zf.read(f"{entry['folder']}/{name}"))
            seeds.append(_load_seed(folder)[0])
        first = manifest["seeds"][0]
        return RecipeModel(manifest["recipe"], tuple(first["classes"]), seeds, first.get("merge_map"))


# ----- the prediction service -----
def request_prediction(store: Store, experiment_id: int, recipes: Sequence[str], texts: Sequence[str]) -> int:
    payload = {"experiment_id": int(experiment_id), "recipes": list(recipes), "texts": [str(t) for t in texts]}
    with store.connect(immediate=True) as db:
        cur = db.execute("INSERT INTO predictions (created, request, status) VALUES (?, ?, 'queued')",
                         (time.time(), json.dumps(payload)))
        return int(cur.lastrowid)


def prediction_result(store: Store, request_id: int) -> dict:
    with store.connect() as db:
        row = db.execute("SELECT status, result, error FROM predictions WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise InputError(f"prediction request {request_id} does not exist.")
    return {"status": row["status"], "result": json.loads(row["result"]) if row["result"] else None,
            "error": row["error"]}


def answer_request(store: Store, request_id: int, cache: dict) -> None:
    with store.connect() as db:
        row = db.execute("SELECT request FROM predictions WHERE id = ?", (request_id,)).fetchone()
    request = json.loads(row["request"])
    try:
        answers = []
        for recipe in request["recipes"]:
            key = (request["experiment_id"], recipe)
            if key not in cache:
                cache[key] = load_recipe(store, request["experiment_id"], recipe)
            answers.append(predict_recipe(cache[key], request["texts"]))
        status, result, error = "finished", json.dumps(answers), None
    except InputError as exc:
        status, result, error = "failed", None, str(exc)
    except Exception as exc:  # shown to the user as a sentence; details are in the worker log
        status, result, error = "failed", None, f"prediction failed: {type(exc).__name__}: {exc}"
    with store.connect(immediate=True) as db:
        db.execute("UPDATE predictions SET status = ?, result = ?, error = ? WHERE id = ?",
                   (status, result, error, request_id))


def _claim_request(store: Store) -> int | None:
    with store.connect(immediate=True) as db:
        row = db.execute("SELECT id FROM predictions WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        db.execute("UPDATE predictions SET status = 'running' WHERE id = ?", (row["id"],))
        return int(row["id"])


def predict_child_main(workspace: str) -> None:
    """A warm prediction process: answers requests, exits after a while idle."""
    from core.runner import _die_with_parent

    _die_with_parent()
    store = Store(workspace)
    cache: dict = {}
    idle_since = time.time()
    while time.time() - idle_since < PREDICT_IDLE_EXIT_S:
        request_id = _claim_request(store)
        if request_id is None:
            time.sleep(0.2)
            continue
        answer_request(store, request_id, cache)
        idle_since = time.time()


_predict_process = None


def serve_pending(store: Store) -> None:
    """Called by the worker loop: make sure a prediction process runs while requests wait."""
    global _predict_process
    if _predict_process is not None and _predict_process.is_alive():
        return
    with store.connect() as db:
        waiting = db.execute("SELECT COUNT(*) FROM predictions WHERE status IN ('queued')").fetchone()[0]
    if waiting:
        import multiprocessing as mp

        _predict_process = mp.get_context("spawn").Process(target=predict_child_main, args=(str(store.root),),
                                                           name="predict", daemon=True)
        _predict_process.start()

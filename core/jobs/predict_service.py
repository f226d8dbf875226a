"""Predicting new texts with stored models: the prediction process and model bundles.

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

from core.errors import InputError
from core.jobs.predictions import BUNDLE_FILES, BUNDLE_FORMAT, DETECTOR_FILE, OPTIONAL_FILES, recipe_runs
from core.jobs.processes import die_with_parent
from core.jobs.store import Store
from core.runs.decision_rules import Decision
from core.runs.heads import Head

PREDICT_IDLE_EXIT_S = 120.0


@dataclass
class SeedModel:
    model: object  # the Keras network (None: an anomaly run on TF-IDF features has none)
    encoder: object
    head: Head
    decision: Decision
    detector: object = None  # an anomaly run's NoveltyScorer (core.runs.anomaly), reading ``model``'s features


@dataclass
class RecipeModel:
    """All seed models of one recipe, sharing classes and merge map."""

    recipe: str
    classes: tuple[str, ...]
    seeds: list[SeedModel]
    merge_map: dict | None = None


def _load_seed(folder: Path) -> tuple[SeedModel, dict]:
    from core.keras.models import load_model
    from core.keras.text import Encoder

    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    model = load_model(folder / "model.keras") if (folder / "model.keras").exists() else None
    detector = None
    if (folder / DETECTOR_FILE).exists():
        from core.runs.anomaly import NoveltyScorer

        detector = NoveltyScorer.from_bytes((folder / DETECTOR_FILE).read_bytes(), network=model)
    encoder = Encoder.from_json(json.loads((folder / "encoder.json").read_text(encoding="utf-8")))
    return SeedModel(model, encoder, Head.from_json(result["head"]), Decision.from_json(result["decision"]),
                     detector), result


def seed_scores(seed: SeedModel, texts: Sequence[str]) -> np.ndarray:
    """One seed model's raw head outputs for ``texts``: its network's, or its novelty detector's on the
    network's sentence features (or on TF-IDF)."""
    from core.keras.models import features_of
    from core.keras.text import predict_scores

    def network_scores(network, chosen: Sequence[str]) -> np.ndarray:
        return predict_scores(network, seed.encoder.encode(list(chosen)), max_len=seed.encoder.max_len)

    if seed.detector is not None:
        return seed.detector.text_scores(list(texts), lambda network, chosen: network_scores(features_of(network),
                                                                                              chosen))
    return network_scores(seed.model, texts)


def predict_recipe(recipe: RecipeModel, texts: Sequence[str]) -> dict:
    """Mean probabilities over seed models, and the decided class per text."""
    probas, raws = [], []
    for seed in recipe.seeds:
        scores = seed_scores(seed, texts)
        probas.append(seed.head.proba(scores))
        raws.append(seed.head.raw(scores))
    proba = np.mean(probas, axis=0)
    first = recipe.seeds[0].decision
    values = tuple(np.mean([s.decision.values for s in recipe.seeds], axis=0)) if first.values else ()
    raw = None if raws[0] is None else np.mean(raws, axis=0)
    predicted = Decision(first.kind, values).apply(proba, raw)
    return {"recipe": recipe.recipe, "classes": list(recipe.classes), "proba": proba.round(6).tolist(),
            "predicted": [recipe.classes[i] for i in predicted]}


def load_recipe(store: Store, experiment_id: int, recipe: str) -> RecipeModel:
    seeds, classes, merge_map = [], (), None
    for run in recipe_runs(store, experiment_id, recipe):
        seed_model, result = _load_seed(store.path_inside(run.result_dir))
        seeds.append(seed_model)
        classes, merge_map = tuple(result["classes"]), result.get("merge_map")
    return RecipeModel(recipe, classes, seeds, merge_map)


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
            for name in BUNDLE_FILES:
                member = f"{entry['folder']}/{name}"
                if name in OPTIONAL_FILES and member not in zf.namelist():
                    continue
                (folder / name).write_bytes(zf.read(member))
            seeds.append(_load_seed(folder)[0])
        first = manifest["seeds"][0]
        return RecipeModel(manifest["recipe"], tuple(first["classes"]), seeds, first.get("merge_map"))


# ----- the prediction service -----
def answer_request(store: Store, request_id: int, cache: dict) -> None:
    request = store.prediction_request(request_id)["request"]
    try:
        answers = []
        for recipe in request["recipes"]:
            key = (request["experiment_id"], recipe)
            if key not in cache:
                cache[key] = load_recipe(store, request["experiment_id"], recipe)
            answers.append(predict_recipe(cache[key], request["texts"]))
        store.answer_prediction_request(request_id, answers=answers, error=None)
    except InputError as exc:
        store.answer_prediction_request(request_id, answers=None, error=str(exc))
    except Exception as exc:  # shown to the user as a sentence; details are in the worker log
        store.answer_prediction_request(request_id, answers=None, error=f"prediction failed: {type(exc).__name__}: {exc}")


def predict_child_main(workspace: str) -> None:
    """A warm prediction process: answers requests, exits after a while idle."""
    die_with_parent()
    store = Store(workspace)
    cache: dict = {}
    idle_since = time.time()
    while time.time() - idle_since < PREDICT_IDLE_EXIT_S:
        request_id = store.claim_prediction_request()
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
    if store.waiting_prediction_requests():
        import multiprocessing as mp

        _predict_process = mp.get_context("spawn").Process(target=predict_child_main, args=(str(store.root),),
                                                           name="predict", daemon=True)
        _predict_process.start()

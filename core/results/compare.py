"""Computations behind the Compare page and the report: a recipe's test
predictions pooled over seeds, confusion matrices summed over seeds (from
each run's stored evaluation), curves, calibration and the texts behind a
confusion cell."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from core.jobs.store import Store
from core.results.experiment_results import ExperimentResults
from core.results.files import load_predictions, load_result
from core.strategies.recipe import display_order


@dataclass(frozen=True)
class Pooled:
    """One recipe's test predictions over all its finished seeds, concatenated."""

    recipe: str
    classes: tuple[str, ...]
    rows: np.ndarray
    seeds: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray


def pooled(results: ExperimentResults, store: Store, recipe: str) -> Pooled | None:
    runs = results.finished[results.finished["recipe"] == recipe]
    if runs.empty:
        return None
    parts = []
    classes: tuple[str, ...] = results.classes
    for row in runs.itertuples():
        pred = load_predictions(store, row.result_dir)
        parts.append((row.seed, pred))
        result_classes = _result_classes(store, row.result_dir)
        if result_classes:
            classes = result_classes
    return Pooled(
        recipe, classes,
        rows=np.concatenate([p["test_rows"] for _, p in parts]),
        seeds=np.concatenate([np.full(len(p["y_true"]), s) for s, p in parts]),
        y_true=np.concatenate([p["y_true"] for _, p in parts]),
        y_pred=np.concatenate([p["y_pred"] for _, p in parts]),
        proba=np.concatenate([p["proba"] for _, p in parts]),
    )


def _result_classes(store: Store, result_dir: str) -> tuple[str, ...]:
    with open(store.path_inside(result_dir) / "result.json", encoding="utf-8") as fh:
        return tuple(json.load(fh).get("classes", ()))


def pooled_confusions(store: Store, results: ExperimentResults) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """recipe -> (confusion matrix summed over its finished seeds, its classes)."""
    out: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for run in results.finished.itertuples(index=False):
        result = load_result(store, run.result_dir)
        cm = np.asarray(result["evaluation"]["confusion"], dtype=float)
        classes = tuple(result["classes"])
        if run.recipe in out and out[run.recipe][1] == classes:
            cm = cm + out[run.recipe][0]
        out[run.recipe] = (cm, classes)
    return {r: out[r] for r in display_order(results.recipes) if r in out}


def cell_rows(p: Pooled, true_class: int, predicted_class: int) -> list[tuple[int, int]]:
    """(seed, dataset row) of test texts with this true and predicted class."""
    mask = (p.y_true == true_class) & (p.y_pred == predicted_class)
    return [(int(s), int(r)) for s, r in zip(p.seeds[mask], p.rows[mask])]


def curve_points(p: Pooled, class_index: int, kind: str) -> tuple[np.ndarray, np.ndarray] | None:
    """PR (recall, precision), ROC (fpr, tpr) or calibration points for one class, pooled over seeds."""
    positive = p.y_true == class_index
    if positive.all() or not positive.any():
        return None
    score = p.proba[:, class_index]
    if kind == "pr":
        precision, recall, _ = precision_recall_curve(positive, score)
        return recall, precision
    if kind == "roc":
        fpr, tpr, _ = roc_curve(positive, score)
        return fpr, tpr
    from sklearn.calibration import calibration_curve

    true_p, pred_p = calibration_curve(positive, np.clip(score, 0, 1), n_bins=10, strategy="quantile")
    return pred_p, true_p


def histories(results: ExperimentResults, store: Store, recipe: str) -> list[dict]:
    """The first finished seed's training history (per epoch)."""
    runs = results.finished[results.finished["recipe"] == recipe]
    for row in runs.itertuples():
        path = store.path_inside(row.result_dir) / "history.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    return []

"""Computations behind the Compare page and the report: a recipe's test
predictions pooled over seeds, confusion matrices summed over seeds (from
each run's stored evaluation), curves with their areas, calibration, every
seed's training history, the classes a filter leaves, and the texts behind
a (clicked) confusion cell."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import auc, average_precision_score, brier_score_loss, precision_recall_curve, roc_curve

from core.jobs.run_files import load_predictions, load_result
from core.jobs.store import Store
from core.results.experiment_results import ExperimentResults
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
    return tuple(load_result(store, result_dir).get("classes", ()))


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


def shown_classes(classes: Sequence[str], chosen: Sequence[str], experiment_classes: Sequence[str]) -> list[int]:
    """Indices of a recipe's ``classes`` that the Classes filter (``chosen``)
    keeps. A class the experiment does not have (a merge's group) is always
    kept: its name does not say which chosen classes it holds."""
    keep, known = set(chosen), set(experiment_classes)
    return [i for i, c in enumerate(classes) if c in keep or c not in known]


def clicked_cell(points: Sequence[dict[str, Any]]) -> tuple[int, int] | None:
    """(true, predicted) class indices of a clicked confusion cell, from the
    points of a Streamlit plotly selection: the cell markers of
    ``figures.confusion_heatmap`` carry them as customdata. None when no cell
    marker was selected (an emptied selection, another trace)."""
    for point in points:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)) and len(data) >= 2:
            try:
                return int(data[0]), int(data[1])
            except (TypeError, ValueError):
                continue
    return None


def minority_class(p: Pooled, names: Sequence[str]) -> str | None:
    """The one of ``names`` (classes of ``p``) with the fewest test texts over
    the pooled seeds (ties by order): the class whose curves say most about an
    imbalanced model, so the Curves view starts on it. None without any."""
    counts = np.bincount(p.y_true, minlength=len(p.classes))
    present = [n for n in names if n in p.classes]
    return min(present, key=lambda n: counts[p.classes.index(n)]) if present else None


@dataclass(frozen=True)
class Curve:
    """One class's curve pooled over seeds, with the number its legend shows:
    average precision (PR), area under the ROC curve, or the class's Brier
    score (calibration)."""

    x: np.ndarray
    y: np.ndarray
    kind: str  # pr | roc | calibration
    summary: float

    @property
    def summary_name(self) -> str:
        return {"pr": "AP", "roc": "AUC", "calibration": "Brier"}[self.kind]


def curve(p: Pooled, class_index: int, kind: str) -> Curve | None:
    """PR (x recall, y precision), ROC (fpr, tpr) or calibration (mean predicted,
    observed) points for one class against the rest, pooled over seeds, with
    scikit-learn's average precision, ROC AUC (``auc`` of the curve) or Brier
    score. None when the test texts hold only or none of the class."""
    positive = p.y_true == class_index
    if positive.all() or not positive.any():
        return None
    score = p.proba[:, class_index]
    if kind == "pr":
        precision, recall, _ = precision_recall_curve(positive, score)
        return Curve(recall, precision, kind, float(average_precision_score(positive, score)))
    if kind == "roc":
        fpr, tpr, _ = roc_curve(positive, score)
        return Curve(fpr, tpr, kind, float(auc(fpr, tpr)))
    from sklearn.calibration import calibration_curve

    clipped = np.clip(score, 0, 1)
    true_p, pred_p = calibration_curve(positive, clipped, n_bins=10, strategy="quantile")
    return Curve(pred_p, true_p, kind, float(brier_score_loss(positive, clipped)))


def histories(results: ExperimentResults, store: Store, recipe: str) -> dict[int, list[dict]]:
    """seed -> that seed's training history (one record per epoch), for every
    finished seed of ``recipe`` that stored one (references store none)."""
    out: dict[int, list[dict]] = {}
    runs = results.finished[results.finished["recipe"] == recipe]
    for row in runs.itertuples():
        path = store.path_inside(row.result_dir) / "history.json"
        if path.exists():
            out[int(row.seed)] = json.loads(path.read_text(encoding="utf-8"))
    return out

"""Every metric named in docs/architecture.md, from test labels and outputs.

Metric names: macro_f1, balanced_accuracy, mcc, roc_auc_macro, pr_auc_macro,
minority_recall (recall of the class with the fewest rows in the training
split, before any resampling; ties by label order), worst_class_recall, brier; mae, macro_mae, qwk for ordinal labels;
per-class precision/recall/f1/support always."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    cohen_kappa_score,
    confusion_matrix,
    matthews_corrcoef,
    precision_recall_fscore_support,
    roc_auc_score,
)

OVERALL_METRICS = ("macro_f1", "balanced_accuracy", "mcc", "roc_auc_macro", "pr_auc_macro", "minority_recall",
                   "worst_class_recall", "brier", "accuracy")
ORDINAL_METRICS = ("mae", "macro_mae", "qwk")
HEADLINE_METRICS = ("macro_f1", "balanced_accuracy", "minority_recall", "worst_class_recall", "pr_auc_macro", "mcc")


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is named and explained to people, and the range its values can take."""

    label: str
    help: str
    low: float = 0.0
    high: float | None = 1.0  # None: depends on the number of classes (k − 1 for MAE)


METRICS: dict[str, MetricInfo] = {
    "macro_f1": MetricInfo("macro-F1", "Mean F1 over the classes present in the test labels: every class counts "
                           "the same, however small."),
    "balanced_accuracy": MetricInfo("balanced accuracy", "Mean recall over the classes (macro recall)."),
    "mcc": MetricInfo("MCC", "Matthews correlation between true and predicted classes (−1 to 1; 0 is chance).", -1.0),
    "roc_auc_macro": MetricInfo("ROC-AUC", "Mean one-vs-rest area under the ROC curve."),
    "pr_auc_macro": MetricInfo("PR-AUC", "Mean average precision (area under the precision–recall curve) over the "
                               "classes: how well probabilities rank each class, rare ones included."),
    "minority_recall": MetricInfo("minority recall", "Recall of the class with the fewest training rows."),
    "worst_class_recall": MetricInfo("worst-class recall", "The lowest recall of any class."),
    "brier": MetricInfo("Brier score", "Mean squared error of the predicted probabilities (lower is better).",
                        0.0, 2.0),
    "accuracy": MetricInfo("accuracy", "Share of test texts predicted right (dominated by large classes)."),
    "mae": MetricInfo("MAE", "Mean absolute error in class steps on the ordinal scale (lower is better).", 0.0, None),
    "macro_mae": MetricInfo("macro MAE", "MAE averaged per true class, so every class counts the same (lower is "
                            "better).", 0.0, None),
    "qwk": MetricInfo("QWK", "Quadratic weighted kappa: agreement on the ordinal scale, far misses weigh more "
                      "(−1 to 1; 0 is chance).", -1.0),
}


def metric_label(name: str) -> str:
    return METRICS[name].label if name in METRICS else name.replace("_", " ")


def metric_range(name: str, n_classes: int) -> tuple[float, float]:
    """The values a metric can take on ``n_classes`` classes."""
    info = METRICS.get(name, MetricInfo(name, "", float("-inf"), float("inf")))
    return info.low, (float(max(n_classes - 1, 1)) if info.high is None else info.high)


@dataclass(frozen=True)
class Evaluation:
    overall: dict[str, float]
    per_class: dict[str, dict[str, float]]  # class -> precision, recall, f1, support, roc_auc, pr_auc, brier
    confusion: list[list[int]]
    calibration: dict[str, dict[str, list[float]]]  # class -> prob_pred, prob_true

    def to_json(self) -> dict:
        return {"overall": self.overall, "per_class": self.per_class, "confusion": self.confusion,
                "calibration": self.calibration}

    @classmethod
    def from_json(cls, payload: dict) -> "Evaluation":
        return cls(payload["overall"], payload["per_class"], payload["confusion"], payload.get("calibration", {}))


def class_confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true, predicted) class-index pairs, rows true: one ``bincount``."""
    pairs = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean F1 over the classes present in ``y_true`` (the one definition of
    macro-F1: test scores, early stopping, decision tuning, merge effects).
    A class only predicted, never true, lowers the precision of no other class
    and is not averaged; NaN when there are no rows.

    Counted from one confusion matrix of class indices rather than with scikit-learn's ``f1_score``: the decision
    tuners call it thousands of times per run and ``f1_score``'s input checks cost about a millisecond each (3 s
    of a ``threshold`` run). It equals ``f1_score(labels=<present>, average="macro", zero_division=0)``
    (tests/test_decision_rules.py)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.size == 0:
        return float("nan")
    m = class_confusion(y_true, y_pred, int(max(y_true.max(), y_pred.max())) + 1)
    true, predicted = m.sum(axis=1), m.sum(axis=0)
    present = true > 0
    return float(np.mean(2.0 * np.diag(m)[present] / (true[present] + predicted[present])))


def _safe(fn, *args, **kwargs) -> float:
    """A score that is undefined for this input (e.g. one class absent) is NaN, not an error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(fn(*args, **kwargs))
    except ValueError:
        return float("nan")


def evaluate(y_true: np.ndarray, proba: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...], *,
             train_counts: np.ndarray, ordinal: bool = False) -> Evaluation:
    k = len(classes)
    labels = np.arange(k)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    proba = np.asarray(proba, dtype=float)
    onehot = np.eye(k)[y_true]
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = support > 0
    roc = [_safe(roc_auc_score, onehot[:, c], proba[:, c]) if 0 < onehot[:, c].sum() < len(y_true) else np.nan
           for c in labels]
    pr = [_safe(average_precision_score, onehot[:, c], proba[:, c]) if onehot[:, c].sum() > 0 else np.nan
          for c in labels]
    brier_c = np.mean((proba - onehot) ** 2, axis=0)
    train_counts = np.asarray(train_counts)
    minority = int(np.argmin(np.where(train_counts > 0, train_counts, np.iinfo(np.int64).max)))
    overall = {
        "macro_f1": macro_f1(y_true, y_pred),
        "balanced_accuracy": float(np.mean(recall[present])) if present.any() else float("nan"),
        "mcc": _safe(matthews_corrcoef, y_true, y_pred),
        "roc_auc_macro": float(np.nanmean(roc)) if not np.all(np.isnan(roc)) else float("nan"),
        "pr_auc_macro": float(np.nanmean(pr)) if not np.all(np.isnan(pr)) else float("nan"),
        "minority_recall": float(recall[minority]),
        "worst_class_recall": float(np.min(recall[present])) if present.any() else float("nan"),
        "brier": float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        "accuracy": float(np.mean(y_true == y_pred)),
    }
    if ordinal:
        errors = np.abs(y_true - y_pred)
        overall["mae"] = float(errors.mean())
        overall["macro_mae"] = float(np.mean([errors[y_true == c].mean() for c in labels if present[c]]))
        overall["qwk"] = _safe(cohen_kappa_score, y_true, y_pred, labels=labels, weights="quadratic")
    per_class = {
        classes[c]: {"precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
                     "support": int(support[c]), "roc_auc": float(roc[c]), "pr_auc": float(pr[c]),
                     "brier": float(brier_c[c])}
        for c in labels
    }
    calibration = {}
    for c in labels:
        if 0 < onehot[:, c].sum() < len(y_true):
            true_p, pred_p = calibration_curve(onehot[:, c], np.clip(proba[:, c], 0, 1), n_bins=10, strategy="quantile")
            calibration[classes[c]] = {"prob_pred": pred_p.tolist(), "prob_true": true_p.tolist()}
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    return Evaluation(overall, per_class, cm.tolist(), calibration)

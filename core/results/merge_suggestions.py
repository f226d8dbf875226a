"""Class merges: which classes to merge, and what merging would do.

The split is drawn from the *original* labels, so a merged run and an unmerged
run share their test rows. That lets us predict a merge's effect without
retraining: sum the unmerged model's test probabilities into the merged
classes, take the argmax and score on the merged labels. The *measured* effect
(a model retrained on merged labels) is produced elsewhere and compared with
this prediction. For ordinal labels only adjacent classes may be merged, so a
merged scale is still a scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import accuracy_score, f1_score, recall_score

from core.data.label_mapping import apply_mapping, merge_probabilities


@dataclass(frozen=True)
class MergeSuggestion:
    """A group of classes to merge into one, with how often they are confused
    (mean pairwise symmetric confusion) and the predicted macro-F1 gain (NaN
    when no probabilities were given)."""

    classes: tuple[str, ...]
    confusion: float
    predicted_macro_f1_gain: float
    merged_name: str


# --- confusion structure ---------------------------------------------------

def symmetric_confusion(cm: np.ndarray) -> np.ndarray:
    """S = (R + Rᵀ)/2 with a zero diagonal, R the row-normalised confusion matrix.

    Row-normalising makes a rare class's confusion count as much as a frequent
    one's; symmetrising makes "a taken for b" and "b taken for a" one score.
    Rows with no samples stay zero."""
    cm = np.asarray(cm, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    totals = cm.sum(axis=1, keepdims=True)
    r = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    s = (r + r.T) / 2.0
    np.fill_diagonal(s, 0.0)
    return s


def linkage_for(cm: np.ndarray) -> np.ndarray:
    """Average-linkage hierarchy of the classes on distance 1 - S (for a
    dendrogram, and for cluster candidates). Needs at least two classes."""
    s = symmetric_confusion(cm)
    if s.shape[0] < 2:
        raise ValueError("a class hierarchy needs at least two classes")
    d = 1.0 - s
    np.fill_diagonal(d, 0.0)
    return linkage(squareform(d, checks=False), method="average")


# --- predicted effect --------------------------------------------------------

def _macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over all classes (absent ones score 0), as the decision rules use."""
    return float(f1_score(y, pred, labels=list(range(n_classes)), average="macro", zero_division=0))


def predicted_effect(proba: np.ndarray, y_true: np.ndarray, classes: Sequence[str],
                     mapping: Mapping[str, str]) -> dict[str, float | dict[str, float]]:
    """Scores of the unmerged model's merged-and-argmaxed probabilities on the merged labels.

    Keys: ``macro_f1`` (all merged classes, absent ones count 0),
    ``balanced_accuracy`` (mean recall over merged classes present in
    ``y_true``), ``accuracy``, ``recall`` and ``f1`` (merged class -> value;
    recall is NaN for a class absent from ``y_true``)."""
    merged_p, names = merge_probabilities(proba, classes, mapping)
    y, _ = apply_mapping(y_true, classes, mapping)
    pred = np.argmax(merged_p, axis=1)
    labels = list(range(len(names)))
    recall = recall_score(y, pred, labels=labels, average=None, zero_division=np.nan)
    f1 = f1_score(y, pred, labels=labels, average=None, zero_division=0)
    present = ~np.isnan(recall)
    return {
        "macro_f1": _macro_f1(y, pred, len(names)),
        "balanced_accuracy": float(np.mean(recall[present])) if present.any() else float("nan"),
        "accuracy": float(accuracy_score(y, pred)),
        "recall": {n: float(v) for n, v in zip(names, recall)},
        "f1": {n: float(v) for n, v in zip(names, f1)},
    }


# --- suggestions -------------------------------------------------------------

def _cluster_candidates(cm: np.ndarray) -> set[tuple[int, ...]]:
    """Every cluster the average-linkage hierarchy forms on its way up, i.e. the
    groups found by cutting the dendrogram at each of its levels (the root, all
    classes, excluded)."""
    k = cm.shape[0]
    members: list[tuple[int, ...]] = [(i,) for i in range(k)]
    for left, right, *_ in linkage_for(cm):
        members.append(tuple(sorted(members[int(left)] + members[int(right)])))
    return {g for g in members[k:] if len(g) < k}


def _candidates(cm: np.ndarray, ordinal: bool) -> set[tuple[int, ...]]:
    """Pairs (adjacent only when ordinal) plus hierarchy clusters (contiguous
    only when ordinal); a group must leave at least two classes."""
    k = cm.shape[0]
    if k < 3:
        return set()
    pairs = {(i, i + 1) for i in range(k - 1)} if ordinal else {
        (i, j) for i in range(k) for j in range(i + 1, k)}
    clusters = {g for g in _cluster_candidates(cm) if not ordinal or g[-1] - g[0] + 1 == len(g)}
    return pairs | clusters


def suggest_merges(cm: np.ndarray, classes: Sequence[str], *, proba: np.ndarray | None = None,
                   y_true: np.ndarray | None = None, ordinal: bool = False, top: int = 10) -> list[MergeSuggestion]:
    """Merge candidates ranked by predicted macro-F1 gain when ``proba`` and
    ``y_true`` are given, else by confusion (ties by confusion, then smaller groups).

    Gain = predicted merged macro-F1 minus the unmerged macro-F1 on the original
    labels. Confusion = mean pairwise symmetric confusion within the group."""
    cm = np.asarray(cm, dtype=float)
    names = list(classes)
    if cm.shape != (len(names), len(names)):
        raise ValueError(f"confusion matrix shape {cm.shape} does not match {len(names)} classes")
    s = symmetric_confusion(cm)
    with_gain = proba is not None and y_true is not None
    base_f1 = _macro_f1(np.asarray(y_true), np.argmax(proba, axis=1), len(names)) if with_gain else 0.0
    out: list[MergeSuggestion] = []
    for group in _candidates(cm, ordinal):
        members = tuple(names[i] for i in group)
        merged_name = "+".join(members)
        conf = float(np.mean([s[i, j] for a, i in enumerate(group) for j in group[a + 1:]]))
        gain = float("nan")
        if with_gain:
            effect = predicted_effect(proba, y_true, names, {c: merged_name for c in members})
            gain = float(effect["macro_f1"]) - base_f1
        out.append(MergeSuggestion(members, conf, gain, merged_name))
    out.sort(key=lambda m: ((-m.predicted_macro_f1_gain if with_gain else 0.0), -m.confusion,
                            len(m.classes), [names.index(c) for c in m.classes]))
    return out[:top]

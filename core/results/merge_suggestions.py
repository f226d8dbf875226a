"""Class merges: which classes to merge, and what merging would do.

The split is drawn from the *original* labels, so a merged run and an unmerged
run share their test rows. That lets us predict a merge's effect without
retraining: sum the unmerged model's test probabilities into the merged
classes, take the argmax and score on the merged labels. The *measured* effect
(a model retrained on merged labels) is produced elsewhere and compared with
this prediction. For ordinal labels only adjacent classes may be merged, so a
merged scale is still a scale.

Every comparison is made on the merged label set. A merged macro-F1 minus the
unmerged macro-F1 on the original labels would compare averages over different
numbers of classes (and drop the merged classes' mutual errors from one side
only), which rewards any merge; so a suggestion's gain is ``merge_gain``: the
predicted macro-F1 minus the unmerged model's decisions mapped onto the merged
classes, both scored on the merged labels, mean over seeds — the same number as
the effect table's "predicted − unmerged" (``core.results.merge_effects``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import accuracy_score, f1_score, recall_score

from core.data.label_mapping import apply_mapping, merge_probabilities
from core.runs.evaluate import macro_f1


@dataclass(frozen=True)
class SeedOutputs:
    """One finished run's test outputs, as indices into the unmerged classes:
    probabilities, true labels and the decided predictions (after the run's
    decision rule, so not always the argmax of ``proba``)."""

    seed: int
    proba: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray


@dataclass(frozen=True)
class MergeSuggestion:
    """A group of classes to merge into one.

    ``confusion`` is the mean pairwise symmetric confusion within the group and
    ``confused_as`` the confusion behind it: (true class, predicted class, share
    of the true class's test rows predicted as that class) for every ordered
    pair in the group, largest first. ``predicted_macro_f1_gain`` is
    ``merge_gain`` (predicted − unmerged macro-F1, both on the merged labels,
    mean over seeds); NaN when no test outputs were given."""

    classes: tuple[str, ...]
    confusion: float
    predicted_macro_f1_gain: float
    merged_name: str
    confused_as: tuple[tuple[str, str, float], ...] = ()


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

def predicted_effect(proba: np.ndarray, y_true: np.ndarray, classes: Sequence[str],
                     mapping: Mapping[str, str]) -> dict[str, float | dict[str, float]]:
    """Scores of the unmerged model's merged-and-argmaxed probabilities on the merged labels.

    Keys: ``macro_f1`` (``core.runs.evaluate.macro_f1``: merged classes present
    in ``y_true``), ``balanced_accuracy`` (mean recall over merged classes present in
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
        "macro_f1": macro_f1(y, pred),
        "balanced_accuracy": float(np.mean(recall[present])) if present.any() else float("nan"),
        "accuracy": float(accuracy_score(y, pred)),
        "recall": {n: float(v) for n, v in zip(names, recall)},
        "f1": {n: float(v) for n, v in zip(names, f1)},
    }


def unmerged_effect(y_pred: np.ndarray, y_true: np.ndarray, classes: Sequence[str],
                    mapping: Mapping[str, str]) -> dict[str, float | dict[str, float]]:
    """``predicted_effect``'s scores for the unmerged model's decided predictions
    mapped onto the merged classes (what the model already does, scored the
    merged way). One-hot rows go through the same scorer: summing a one-hot row
    over a group just maps the predicted class onto its group."""
    decided = np.eye(len(classes))[np.asarray(y_pred, dtype=int)]
    return predicted_effect(decided, y_true, classes, mapping)


def merge_gain(seeds: Sequence[SeedOutputs], classes: Sequence[str], mapping: Mapping[str, str]) -> float:
    """Predicted − unmerged macro-F1 on the merged label set, mean over seeds.

    Per seed, *unmerged* is the macro-F1 of the model's decided predictions
    mapped onto the merged classes and *predicted* that of its probabilities
    summed into the merged classes and argmaxed; both score the same test rows
    against the same merged labels (``core.runs.evaluate.macro_f1``). Errors
    between merged classes vanish from both sides, so the gain is only what
    deciding on the summed probabilities changes: rows where the group's
    summed probability outweighs the class the model decided on. For a run
    whose decision rule is not the plain argmax (tuned offsets, cut-points) it
    also holds argmax-versus-rule on every row, of either sign. Classes the
    model already separates well give a gain near 0; fewer classes alone earn
    nothing. Equal to the effect table's "predicted − unmerged" macro-F1 for
    the same mapping; NaN without seeds."""
    idx, _ = apply_mapping(np.arange(len(classes)), classes, mapping)
    diffs = []
    for s in seeds:
        y = idx[np.asarray(s.y_true, dtype=int)]
        merged_p, _ = merge_probabilities(s.proba, classes, mapping)
        diffs.append(macro_f1(y, np.argmax(merged_p, axis=1)) - macro_f1(y, idx[np.asarray(s.y_pred, dtype=int)]))
    diffs = [d for d in diffs if not np.isnan(d)]
    return float(np.mean(diffs)) if diffs else float("nan")


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


def _confused_as(cm: np.ndarray, group: tuple[int, ...], names: Sequence[str]) -> tuple[tuple[str, str, float], ...]:
    """(true, predicted, share of the true class's rows) for every ordered pair in the group, largest first."""
    totals = cm.sum(axis=1, keepdims=True)
    r = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    pairs = [(names[i], names[j], float(r[i, j])) for i in group for j in group if i != j]
    return tuple(sorted(pairs, key=lambda p: -p[2]))


def suggest_merges(cm: np.ndarray, classes: Sequence[str], *, seeds: Sequence[SeedOutputs] = (),
                   ordinal: bool = False, top: int = 10) -> list[MergeSuggestion]:
    """Merge candidates ranked by ``merge_gain`` (predicted − unmerged macro-F1
    on the merged label set, mean over ``seeds``) when test outputs are given,
    else by confusion; ties by confusion, then smaller groups.

    Confusion = mean pairwise symmetric confusion within the group; each
    suggestion also carries the row-normalised confusions behind it
    (``confused_as``)."""
    cm = np.asarray(cm, dtype=float)
    names = list(classes)
    if cm.shape != (len(names), len(names)):
        raise ValueError(f"confusion matrix shape {cm.shape} does not match {len(names)} classes")
    s = symmetric_confusion(cm)
    out: list[MergeSuggestion] = []
    for group in _candidates(cm, ordinal):
        members = tuple(names[i] for i in group)
        merged_name = "+".join(members)
        conf = float(np.mean([s[i, j] for a, i in enumerate(group) for j in group[a + 1:]]))
        gain = merge_gain(seeds, names, {c: merged_name for c in members})
        out.append(MergeSuggestion(members, conf, gain, merged_name, _confused_as(cm, group, names)))
    # Gains rounded so float noise never outranks confusion between equal gains.
    out.sort(key=lambda m: (0.0 if np.isnan(m.predicted_macro_f1_gain) else -round(m.predicted_macro_f1_gain, 12),
                            -m.confusion, len(m.classes), [names.index(c) for c in m.classes]))
    return out[:top]

"""Label mappings for class merges: checking a mapping, and applying it to
labels and to probabilities. For ordinal labels only adjacent classes may be
merged, so a merged scale is still a scale."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from core.errors import InputError


def _complete(mapping: Mapping[str, str], classes: Sequence[str]) -> dict[str, str]:
    """Every class -> its group name (identity when absent); unknown classes refused."""
    known = list(classes)
    unknown = [k for k in mapping if k not in known]
    if unknown:
        raise InputError(f"merge mapping names unknown class(es) {', '.join(map(repr, unknown))}; "
                         f"known classes are {', '.join(map(repr, known))}")
    full = {c: mapping.get(c, c) for c in known}
    blank = [c for c, g in full.items() if not isinstance(g, str) or not g.strip()]
    if blank:
        raise InputError(f"class(es) {', '.join(map(repr, blank))} map to an empty group name; "
                         "give every group a name")
    return full


def merged_classes(mapping: Mapping[str, str], classes: Sequence[str]) -> tuple[str, ...]:
    """Merged class names in order of first appearance, so ordinal order is kept."""
    return tuple(dict.fromkeys(_complete(mapping, classes).values()))


def validate_mapping(mapping: Mapping[str, str], classes: Sequence[str], *, ordinal: bool) -> dict[str, str]:
    """The full mapping (every class -> group name, identity when absent).

    Raises ``InputError`` for unknown classes, a mapping that leaves a single
    class (nothing left to classify), or, when ``ordinal``, a group whose
    classes are not adjacent on the scale."""
    full = _complete(mapping, classes)
    groups = merged_classes(full, classes)
    if len(groups) < 2:
        raise InputError(f"this mapping merges every class into {groups[0]!r}; "
                         "at least two classes must remain")
    if ordinal:
        order = list(classes)
        for g in groups:
            idx = [i for i, c in enumerate(order) if full[c] == g]
            if idx[-1] - idx[0] + 1 != len(idx):
                between = [order[i] for i in range(idx[0], idx[-1] + 1) if full[order[i]] != g]
                raise InputError(f"ordinal labels: group {g!r} merges non-adjacent classes "
                                 f"({', '.join(repr(order[i]) for i in idx)}) across "
                                 f"{', '.join(map(repr, between))}; merge only neighbours")
    return full


def one_against_rest(classes: Sequence[str], counts: Sequence[int], *, ordinal: bool) -> tuple[str, dict[str, str]]:
    """A class to single out against all the others merged into one group, and that merge's mapping: the
    smallest class (ties: the first), or — ordinal labels merge only neighbours — the smaller end of the scale
    when the smallest class lies inside it. The group is called "other" (unless a class already is)."""
    classes = list(classes)
    flagged = classes[int(np.argmin(counts))]
    if ordinal and flagged not in (classes[0], classes[-1]):
        flagged = min((classes[0], classes[-1]), key=lambda c: counts[classes.index(c)])
    group = next(g for g in ("other", "other classes", "rest") if g not in classes)
    return flagged, {c: group for c in classes if c != flagged}


def _index_map(classes: Sequence[str], mapping: Mapping[str, str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """For each original class index, its merged class index."""
    full = _complete(mapping, classes)
    names = merged_classes(full, classes)
    pos = {g: i for i, g in enumerate(names)}
    return np.array([pos[full[c]] for c in classes], dtype=int), names


def apply_mapping(y: np.ndarray, classes: Sequence[str], mapping: Mapping[str, str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as indices into the merged classes; one output row per input row.

    ``y`` holds indices into ``classes`` (or the class names themselves)."""
    idx, names = _index_map(classes, mapping)
    y = np.asarray(y)
    if y.dtype.kind in "iu":
        if y.size and (y.min() < 0 or y.max() >= len(classes)):
            raise ValueError(f"label index out of range for {len(classes)} classes")
        return idx[y], names
    pos = {c: i for i, c in enumerate(classes)}
    missing = sorted({str(v) for v in y.ravel() if v not in pos})
    if missing:
        raise InputError(f"label(s) {', '.join(map(repr, missing))} are not among the classes")
    return idx[np.array([pos[v] for v in y.ravel()], dtype=int).reshape(y.shape)], names


def merge_probabilities(proba: np.ndarray, classes: Sequence[str], mapping: Mapping[str, str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Columns of the same group summed, so rows still sum to what they did (1)."""
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(f"probabilities have shape {proba.shape}, expected (n, {len(classes)})")
    idx, names = _index_map(classes, mapping)
    onehot = np.zeros((len(classes), len(names)))
    onehot[np.arange(len(classes)), idx] = 1.0
    return proba @ onehot, names

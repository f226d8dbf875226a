"""Decision rules: how a model's outputs become one class per text.

A rule is tuned on the validation split only and stored with the run, so the
Predict page and exported bundles apply exactly what was evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.runs.evaluate import class_confusion, macro_f1

Objective = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Decision:
    """``argmax`` of probabilities; ``offsets`` added to log-probabilities before
    the argmax; ``cutpoints`` on a regression output (class = number of cut-points
    below the value)."""

    kind: str = "argmax"
    values: tuple[float, ...] = ()

    def apply(self, proba: np.ndarray, raw: np.ndarray | None = None) -> np.ndarray:
        if self.kind == "cutpoints":
            assert raw is not None, "cut-points need the regression output"
            return np.searchsorted(np.asarray(self.values), np.asarray(raw).ravel(), side="right")
        if self.kind == "offsets":
            return np.argmax(np.log(np.clip(proba, 1e-12, 1.0)) + np.asarray(self.values), axis=1)
        return np.argmax(proba, axis=1)

    def to_json(self) -> dict:
        return {"kind": self.kind, "values": list(self.values)}

    @classmethod
    def from_json(cls, payload: dict) -> "Decision":
        return cls(payload.get("kind", "argmax"), tuple(float(v) for v in payload.get("values", ())))


def objective(name: str, *, n_classes: int, target_class: int | None = None, precision_floor: float = 0.0) -> Objective:
    """Score to maximise on validation: macro-F1, QWK, or one class's recall
    subject to a precision floor on that class.

    QWK and recall-at-a-floor are counted from one confusion matrix, as ``macro_f1`` is, rather than with
    scikit-learn's metric functions: the tuners call the score hundreds to thousands of times per run (49 offsets
    × classes × rounds, and again per cross-fitted half), and their input checks made that about 3 s of a
    threshold run. Each equals scikit-learn's (``cohen_kappa_score`` with quadratic weights, ``precision_score``
    / ``recall_score``; tests/test_decision_rules.py)."""
    if name == "macro_f1":
        return macro_f1
    if name == "qwk":
        weights = (np.subtract.outer(np.arange(n_classes), np.arange(n_classes)) ** 2).astype(float)

        def qwk(y: np.ndarray, p: np.ndarray) -> float:
            if len(set(np.asarray(y).tolist())) <= 1:
                return 0.0
            m = class_confusion(y, p, n_classes).astype(float)
            expected = np.outer(m.sum(axis=1), m.sum(axis=0)) / m.sum()
            return float(1.0 - np.sum(weights * m) / np.sum(weights * expected))
        return qwk
    if name == "class_recall":
        c = 0 if target_class is None else target_class

        def recall_at_floor(y: np.ndarray, p: np.ndarray) -> float:
            m = class_confusion(y, p, n_classes)
            hits, predicted, true = m[c, c], m[:, c].sum(), m[c, :].sum()
            prec = hits / predicted if predicted else 0.0
            rec = hits / true if true else 0.0
            # Below the floor the score is only the precision, so any rule meeting the floor wins.
            return float(rec + 1.0 if prec >= precision_floor else prec)
        return recall_at_floor
    raise ValueError(f"unknown objective {name!r}")


def tune_offsets(proba: np.ndarray, y: np.ndarray, score: Objective, *, rounds: int = 3,
                 grid: np.ndarray = np.linspace(-6.0, 6.0, 49)) -> Decision:
    """Per-class logit offsets by coordinate ascent on the validation score.

    Hand-written: scikit-learn's ``TunedThresholdClassifierCV`` handles binary
    problems only, and we need one offset per class for multi-class models."""
    log_p = np.log(np.clip(proba, 1e-12, 1.0))
    offsets = np.zeros(proba.shape[1])
    best = score(y, np.argmax(log_p, axis=1))
    for _ in range(rounds):
        improved = False
        for c in range(proba.shape[1]):
            for value in grid:
                trial = offsets.copy()
                trial[c] = value
                s = score(y, np.argmax(log_p + trial, axis=1))
                if s > best + 1e-12:
                    best, offsets, improved = s, trial, True
        if not improved:
            break
    return Decision("offsets", tuple(float(v) for v in offsets))


def default_cutpoints(centres: np.ndarray) -> Decision:
    """Midpoints between consecutive class centres."""
    c = np.sort(np.asarray(centres, dtype=float))
    return Decision("cutpoints", tuple(float(v) for v in (c[:-1] + c[1:]) / 2))


def tune_cutpoints(raw: np.ndarray, y: np.ndarray, n_classes: int, score: Objective, start: Decision,
                   *, rounds: int = 3, candidates: int = 100) -> Decision:
    """Monotone cut-points by coordinate search: each cut-point moves between
    its neighbours, keeping the order (so classes stay ordered).

    Candidate positions are the midpoints between ``candidates`` + 1 quantiles
    of the validation outputs (plus one beyond either end), so the search looks
    where the outputs are, at the same resolution on any scale, and a target
    shifted and scaled gives the same decisions."""
    raw = np.asarray(raw, dtype=float).ravel()
    cuts = np.sort(np.array(start.values, dtype=float))
    q = np.unique(np.quantile(raw, np.linspace(0.0, 1.0, candidates + 1)))
    if len(q) < 2:  # every output the same: nothing to tune
        return Decision("cutpoints", tuple(float(v) for v in cuts))
    grid = np.concatenate([[q[0] - (q[1] - q[0]) / 2], (q[:-1] + q[1:]) / 2, [q[-1] + (q[-1] - q[-2]) / 2]])
    best = score(y, np.searchsorted(cuts, raw, side="right"))
    for _ in range(rounds):
        improved = False
        for j in range(len(cuts)):
            lo = cuts[j - 1] if j > 0 else -np.inf
            hi = cuts[j + 1] if j + 1 < len(cuts) else np.inf
            for value in grid[(grid > lo) & (grid < hi)]:
                trial = cuts.copy()
                trial[j] = value
                s = score(y, np.searchsorted(trial, raw, side="right"))
                if s > best + 1e-12:
                    best, cuts, improved = s, trial, True
        if not improved:
            break
    return Decision("cutpoints", tuple(float(v) for v in cuts))

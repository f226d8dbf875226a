"""Decision rules: how a model's outputs become one class per text.

A rule is tuned on the validation split only and stored with the run, so the
Predict page and exported bundles apply exactly what was evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score

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
    subject to a precision floor on that class."""
    labels = list(range(n_classes))
    if name == "macro_f1":
        return lambda y, p: f1_score(y, p, labels=labels, average="macro", zero_division=0)
    if name == "qwk":
        return lambda y, p: cohen_kappa_score(y, p, labels=labels, weights="quadratic") if len(set(y)) > 1 else 0.0
    if name == "class_recall":
        c = 0 if target_class is None else target_class

        def recall_at_floor(y: np.ndarray, p: np.ndarray) -> float:
            prec = precision_score(y == c, p == c, zero_division=0)
            rec = recall_score(y == c, p == c, zero_division=0)
            # Below the floor the score is only the precision, so any rule meeting the floor wins.
            return rec + 1.0 if prec >= precision_floor else prec
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
                   *, rounds: int = 3, steps: int = 21) -> Decision:
    """Monotone cut-points by coordinate search: each cut-point moves between
    its neighbours, keeping the order (so classes stay ordered)."""
    raw = np.asarray(raw).ravel()
    cuts = np.array(start.values, dtype=float)
    lo_all, hi_all = float(raw.min()) - 1.0, float(raw.max()) + 1.0
    best = score(y, np.searchsorted(cuts, raw, side="right"))
    for _ in range(rounds):
        improved = False
        for j in range(len(cuts)):
            lo = cuts[j - 1] if j > 0 else lo_all
            hi = cuts[j + 1] if j + 1 < len(cuts) else hi_all
            for value in np.linspace(lo, hi, steps)[1:-1]:
                trial = cuts.copy()
                trial[j] = value
                s = score(y, np.searchsorted(trial, raw, side="right"))
                if s > best + 1e-12:
                    best, cuts, improved = s, trial, True
        if not improved:
            break
    return Decision("cutpoints", tuple(float(v) for v in cuts))

"""Output heads: what the network predicts and how that becomes class probabilities.

``softmax``: one logit per class. ``regression``: one number (the class index,
or the user's continuous target), cut into classes by cut-points. ``coral``: a
cumulative-link ordinal head (Cao et al. 2020): one shared score with K−1
ordered biases, giving P(y > k).

A regression head trains on the standardised value ``(value − shift) / scale``
(``shift``/``scale``: mean and sd of the training rows), whatever offset and
scale the user's target has; ``raw`` undoes it, so centres, cut-points and
every stored or predicted raw value are in the target's own units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from core.runs.decision_rules import Decision, default_cutpoints


@dataclass(frozen=True)
class Head:
    kind: str  # softmax | regression | coral
    n_classes: int
    centres: tuple[float, ...] = ()  # regression: the value each class stands for
    shift: float = 0.0  # regression: the network predicts (value − shift) / scale
    scale: float = 1.0

    @property
    def n_outputs(self) -> int:
        return {"softmax": self.n_classes, "regression": 1, "coral": self.n_classes - 1}[self.kind]

    def targets(self, y: np.ndarray, value: np.ndarray | None = None) -> np.ndarray:
        """Training targets for class indices ``y`` (``value``: continuous target)."""
        if self.kind == "softmax":
            return np.eye(self.n_classes, dtype=np.float32)[y]
        if self.kind == "regression":
            v = np.asarray(self.centres)[y] if value is None else value
            return ((np.asarray(v, dtype=float) - self.shift) / self.scale).astype(np.float32).reshape(-1, 1)
        return (y[:, None] > np.arange(self.n_classes - 1)[None, :]).astype(np.float32)

    def _above(self, scores: np.ndarray) -> np.ndarray:
        """CORAL: P(y > k) per threshold, made non-increasing in k."""
        above = 1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=float)))
        return np.minimum.accumulate(above, axis=1)

    def proba(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities from raw model outputs (for curves and calibration)."""
        if self.kind == "softmax":
            return softmax(scores, axis=1)
        if self.kind == "coral":
            above = self._above(scores)
            upper = np.concatenate([np.ones((len(above), 1)), above], axis=1)
            lower = np.concatenate([above, np.zeros((len(above), 1))], axis=1)
            return np.clip(upper - lower, 0.0, 1.0)
        # Regression has no probabilities; a soft assignment to the nearest class
        # centre gives curves a usable ranking score. Distances are measured in
        # units of the typical gap between centres, so the target's scale does not matter.
        centres = np.asarray(self.centres, dtype=float)
        gaps = np.diff(np.sort(centres))
        unit = float(np.median(gaps[gaps > 0])) if np.any(gaps > 0) else self.scale
        dist = ((self.raw(scores).reshape(-1, 1) - centres[None, :]) / unit) ** 2
        return softmax(-dist / 0.25, axis=1)

    def raw(self, scores: np.ndarray) -> np.ndarray | None:
        """The number a cut-point decision reads: the regression value in the
        target's units, or CORAL's rank (how many P(y > k) exceed ½)."""
        if self.kind == "regression":
            return np.asarray(scores, dtype=float).ravel() * self.scale + self.shift
        if self.kind == "coral":
            return (self._above(scores) > 0.5).sum(axis=1).astype(float)
        return None

    def default_decision(self) -> Decision:
        if self.kind == "regression":
            return default_cutpoints(np.asarray(self.centres))
        if self.kind == "coral":  # CORAL's rank rule (Cao et al. 2020): the class is the rank
            return Decision("cutpoints", tuple(k + 0.5 for k in range(self.n_classes - 1)))
        return Decision()

    def to_json(self) -> dict:
        return {"kind": self.kind, "n_classes": self.n_classes, "centres": list(self.centres),
                "shift": self.shift, "scale": self.scale}

    @classmethod
    def from_json(cls, payload: dict) -> "Head":
        # Heads stored before standardisation have no shift/scale: their model predicts the value itself.
        return cls(payload["kind"], int(payload["n_classes"]), tuple(payload.get("centres", ())),
                   float(payload.get("shift", 0.0)), float(payload.get("scale", 1.0)))

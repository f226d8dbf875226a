"""Output heads: what the network predicts and how that becomes class probabilities.

``softmax``: one logit per class. ``regression``: one number (the class index,
or the user's continuous target), cut into classes by cut-points. ``coral``: a
cumulative-link ordinal head (Cao et al. 2020): one shared score with K−1
ordered biases, giving P(y > k).
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

    @property
    def n_outputs(self) -> int:
        return {"softmax": self.n_classes, "regression": 1, "coral": self.n_classes - 1}[self.kind]

    def targets(self, y: np.ndarray, value: np.ndarray | None = None) -> np.ndarray:
        """Training targets for class indices ``y`` (``value``: continuous target)."""
        if self.kind == "softmax":
            return np.eye(self.n_classes, dtype=np.float32)[y]
        if self.kind == "regression":
            v = np.asarray(self.centres)[y] if value is None else value
            return np.asarray(v, dtype=np.float32).reshape(-1, 1)
        return (y[:, None] > np.arange(self.n_classes - 1)[None, :]).astype(np.float32)

    def proba(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities from raw model outputs (for curves and calibration)."""
        if self.kind == "softmax":
            return softmax(scores, axis=1)
        if self.kind == "coral":
            above = 1.0 / (1.0 + np.exp(-scores))
            above = np.minimum.accumulate(above, axis=1)  # P(y>k) must not increase with k
            upper = np.concatenate([np.ones((len(above), 1)), above], axis=1)
            lower = np.concatenate([above, np.zeros((len(above), 1))], axis=1)
            return np.clip(upper - lower, 0.0, 1.0)
        # Regression has no probabilities; a soft assignment to the nearest class
        # centre gives curves a usable ranking score.
        dist = (scores.reshape(-1, 1) - np.asarray(self.centres)[None, :]) ** 2
        return softmax(-dist / 0.25, axis=1)

    def raw(self, scores: np.ndarray) -> np.ndarray | None:
        return scores.ravel() if self.kind == "regression" else None

    def default_decision(self) -> Decision:
        if self.kind == "regression":
            return default_cutpoints(np.asarray(self.centres))
        return Decision()

    def to_json(self) -> dict:
        return {"kind": self.kind, "n_classes": self.n_classes, "centres": list(self.centres)}

    @classmethod
    def from_json(cls, payload: dict) -> "Head":
        return cls(payload["kind"], int(payload["n_classes"]), tuple(payload.get("centres", ())))

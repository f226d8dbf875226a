"""Ordinal targets: regression with tuned cut-points, and a CORAL head."""

from __future__ import annotations

import numpy as np

from core.runs.decision_rules import objective, tune_cutpoints
from core.runs.heads import Head
from core.runs.types import LossSpec
from core.strategies.base import Param, Strategy


def standardisation(values: np.ndarray) -> tuple[float, float]:
    """Mean and sd of the training values a regression head is fitted on (sd 1
    when they do not vary), so the network always predicts a value near 0 with
    spread 1, whatever offset and scale the user's target has."""
    values = np.asarray(values, dtype=float)
    shift, scale = float(values.mean()), float(values.std())
    return shift, scale if np.isfinite(scale) and scale > 0 else 1.0


def cumulative_prior_logits(y: np.ndarray, weights: np.ndarray | None, n_classes: int) -> np.ndarray:
    """logit P(y > k) for k = 0 … K−2 in the (weighted) training rows: CORAL's
    K−1 biases at which a zero score predicts the training distribution."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    above = np.array([w[y > k].sum() for k in range(n_classes - 1)]) / w.sum()
    above = np.clip(above, 1e-4, 1 - 1e-4)
    return np.log(above / (1 - above))


class OrdinalRegression(Strategy):
    name = "ordinal_regression"
    label = "Ordinal target as regression"
    family = "Ordinal"
    help = ("Predicts one number (class rank, or your continuous target) with MSE or Huber loss; cut-points "
            "between classes are tuned on the validation split.")
    params = (
        Param("loss", "choice", "mse", "Regression loss.", choices=("mse", "huber"), label="Regression loss"),
        Param("objective", "choice", "macro_f1", "What the cut-points maximise on validation.",
              choices=("macro_f1", "qwk"), label="What the cut-points maximise"),
        Param("use_target", "bool", True, "Regress on the continuous target column when the dataset has one.", label="Use the continuous target column"),
    )
    uses = frozenset({"loss", "head", "decide", "output_bias"})
    needs_ordinal = True
    # 2: targets standardised on the training rows; scale-free cut-point search
    # 3: the run's validation macro-F1 is cross-fitted (each half scored by the cut-points tuned on the other)
    version = 3

    def _uses_target(self, ctx) -> bool:
        return bool(self["use_target"]) and ctx.data.target is not None

    def head(self, ctx):
        k = ctx.n_classes
        y = ctx.data.y[ctx.split.train]
        if self._uses_target(ctx):
            values = np.asarray(ctx.data.target, dtype=float)[ctx.split.train]
            centres = [float(np.median(values[y == c])) if np.any(y == c) else float(c) for c in range(k)]
            centres = np.maximum.accumulate(np.asarray(centres))  # keep them ordered
        else:
            centres = np.arange(k, dtype=float)
            values = centres[y]
        # Standardised, the zero-initialised output bias starts at the training mean (so this
        # strategy takes ``output_bias``), and the loss sees the target's spread, not its offset.
        shift, scale = standardisation(values)
        return Head("regression", k, tuple(float(c) for c in centres), shift, scale)

    def resample(self, ctx, train):
        if not self._uses_target(ctx):
            train.value = None
        return train

    def loss(self, ctx, train):
        return LossSpec.of(self["loss"])

    def decide(self, ctx, validation):
        score = objective(self["objective"], n_classes=ctx.n_classes)
        return tune_cutpoints(validation.raw, validation.y, ctx.n_classes, score, ctx.head.default_decision())


class Coral(Strategy):
    name = "coral"
    label = "Cumulative-link ordinal head (CORAL)"
    family = "Ordinal"
    help = ("Predicts P(label > k) for each threshold with one shared score and ordered biases (Cao et al. 2020); "
            "the class is the number of thresholds passed.")
    uses = frozenset({"loss", "head", "output_bias"})
    needs_ordinal = True
    version = 2  # 2: biases start at the training priors; rank-rule decision (was argmax of class probabilities)

    def head(self, ctx):
        return Head("coral", ctx.n_classes)

    def loss(self, ctx, train):
        return LossSpec.of("cumulative_bce")

    def output_bias(self, ctx, train):
        return cumulative_prior_logits(train.y, train.weights, ctx.n_classes)

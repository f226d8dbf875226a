"""Ordinal targets: regression with tuned cut-points, and a CORAL head."""

from __future__ import annotations

import numpy as np

from core.runs.decision_rules import objective, tune_cutpoints
from core.runs.heads import Head
from core.runs.types import LossSpec
from core.strategies.base import Param, Strategy


class OrdinalRegression(Strategy):
    name = "ordinal_regression"
    label = "Ordinal target as regression"
    family = "Ordinal"
    help = ("Predicts one number (class rank, or your continuous target) with MSE or Huber loss; cut-points "
            "between classes are tuned on the validation split.")
    params = (
        Param("loss", "choice", "mse", "Regression loss.", choices=("mse", "huber")),
        Param("objective", "choice", "macro_f1", "What the cut-points maximise on validation.",
              choices=("macro_f1", "qwk")),
        Param("use_target", "bool", True, "Regress on the continuous target column when the dataset has one."),
    )
    uses = frozenset({"loss", "head", "decide", "output_bias"})
    needs_ordinal = True

    def _uses_target(self, ctx) -> bool:
        return bool(self["use_target"]) and ctx.data.target is not None

    def head(self, ctx):
        k = ctx.n_classes
        if self._uses_target(ctx):
            target = np.asarray(ctx.data.target)[ctx.split.train]
            y = ctx.data.y[ctx.split.train]
            centres = [float(np.median(target[y == c])) if np.any(y == c) else float(c) for c in range(k)]
            centres = np.maximum.accumulate(np.asarray(centres))  # keep them ordered
        else:
            centres = np.arange(k, dtype=float)
        return Head("regression", k, tuple(float(c) for c in centres))

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
    help = "Predicts P(label > k) for each threshold with one shared score and ordered biases (Cao et al. 2020)."
    uses = frozenset({"loss", "head", "output_bias"})
    needs_ordinal = True

    def head(self, ctx):
        return Head("coral", ctx.n_classes)

    def loss(self, ctx, train):
        return LossSpec.of("cumulative_bce")

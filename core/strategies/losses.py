"""Loss-level strategies: focal, class-balanced focal, logit adjustment, prior bias."""

from __future__ import annotations

import numpy as np

from core.runs.types import LossSpec
from core.strategies.base import Param, Strategy
from core.strategies.weights import class_weights


def _priors(ctx, train) -> np.ndarray:
    counts = train.class_counts(ctx.n_classes).astype(float)
    return np.clip(counts / counts.sum(), 1e-6, 1.0)


class Focal(Strategy):
    name = "focal"
    label = "Focal loss"
    family = "Loss"
    help = "Down-weights easy, confident examples (Lin et al.); optional per-class α."
    params = (
        Param("gamma", "float", 2.0, "Focusing strength γ; 0 is plain cross-entropy.", 0.0, 10.0, label="Focusing strength (γ)"),
        Param("alpha", "choice", "balanced", "Per-class α (as in α-balanced focal loss): a class-weight scheme, or none.",
              choices=("none", "balanced", "inverse_sqrt", "effective"), label="Class weights inside the loss (α)"),
    )
    uses = frozenset({"loss"})

    def resources(self):
        return self.uses | ({"class_weights"} if self["alpha"] != "none" else set())

    def loss(self, ctx, train):
        # Focal with α = 1: per-class α is exactly a per-row weight α[y] (only the
        # true class's term is non-zero in one-hot cross-entropy), applied below.
        return LossSpec.of("focal", gamma=self["gamma"])

    def sample_weights(self, ctx, train):
        if self["alpha"] == "none":
            return None
        return class_weights(train.class_counts(ctx.n_classes), self["alpha"])[train.y]


class ClassBalancedFocal(Strategy):
    name = "cb_focal"
    label = "Class-balanced focal loss"
    family = "Loss"
    help = "Focal loss with α from the effective number of samples (Cui et al. 2019)."
    params = (
        Param("gamma", "float", 2.0, "Focusing strength γ.", 0.0, 10.0, label="Focusing strength (γ)"),
        Param("beta", "float", 0.999, "β of the effective number (closer to 1 = stronger).", 0.0, 0.99999, label="Effective-number β"),
    )
    uses = frozenset({"loss", "class_weights"})

    def loss(self, ctx, train):
        return LossSpec.of("focal", gamma=self["gamma"])

    def sample_weights(self, ctx, train):
        return class_weights(train.class_counts(ctx.n_classes), "effective", beta=self["beta"])[train.y]


class LogitAdjusted(Strategy):
    name = "logit_adjusted"
    label = "Logit-adjusted loss (balanced softmax)"
    family = "Loss"
    help = "Adds τ·log(prior) to the logits during training only (Menon et al. 2021); τ=1 is balanced softmax."
    params = (Param("tau", "float", 1.0, "Strength τ of the adjustment.", 0.0, 5.0, label="Adjustment strength (τ)"),)
    uses = frozenset({"loss"})

    def loss(self, ctx, train):
        return LossSpec.of("logit_adjusted", priors=tuple(_priors(ctx, train).tolist()), tau=self["tau"])


class PriorBias(Strategy):
    name = "prior_bias"
    label = "Output bias from class priors"
    family = "Loss"
    help = "Starts the output layer at log class priors, so early training does not swing to the majority."
    uses = frozenset({"output_bias"})

    def output_bias(self, ctx, train):
        if ctx.head is not None and ctx.head.kind != "softmax":
            return None
        return np.log(_priors(ctx, train))

"""Ensembles over balanced subsets (EasyEnsemble style) and a boosting variant."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from imblearn.under_sampling import RandomUnderSampler

from core.runs.types import Fitted
from core.strategies.base import Param, Strategy


def _combine(ctx, fits, member_weights):
    model = ctx.trainer.soft_vote(ctx, fits, member_weights)
    history = [dict(h, member=i + 1) for i, f in enumerate(fits) for h in f.history]
    return Fitted(model, history, {"trained_samples": sum(f.info["trained_samples"] for f in fits),
                                   "member_weights": list(member_weights)})


class EasyEnsemble(Strategy):
    name = "easy_ensemble"
    label = "Ensemble over balanced subsets"
    family = "Ensembles"
    help = "K small models, each on a differently seeded balanced undersample, soft-voted (EasyEnsemble style)."
    params = (Param("members", "int", 5, "Number of models K.", 2, 25, label="Models in the ensemble"),)
    uses = frozenset({"fit"})
    softmax_only = True
    cost = 2.5

    def time_factor(self) -> float:
        return self.cost * self["members"] / 2.5

    def fit(self, ctx, train):
        fits = []
        positions = np.arange(len(train)).reshape(-1, 1)
        for k in range(self["members"]):
            sampler = RandomUnderSampler(random_state=ctx.seed * 1000 + k)
            sampler.fit_resample(positions, train.y)
            subset = train.take(np.sort(sampler.sample_indices_))
            fits.append(ctx.trainer.fit(ctx, subset, stage=f"member {k + 1}/{self['members']}", seed_offset=k + 1))
        return _combine(ctx, fits, [1.0] * len(fits))


class Boosting(Strategy):
    name = "boosting"
    label = "Boosting (reweight mistakes)"
    family = "Ensembles"
    help = "K rounds; each round up-weights training rows the previous models got wrong (SAMME), weighted vote."
    params = (Param("rounds", "int", 3, "Number of rounds K.", 2, 15, label="Boosting rounds"),)
    uses = frozenset({"fit"})
    softmax_only = True
    cost = 3.0

    def time_factor(self) -> float:
        return self.cost * self["rounds"] / 3.0

    def fit(self, ctx, train):
        weights = np.ones(len(train)) if train.weights is None else train.weights.astype(float)
        fits, alphas = [], []
        for k in range(self["rounds"]):
            fitted = ctx.trainer.fit(ctx, replace(train, weights=(weights / weights.mean()).astype(np.float32)),
                                 stage=f"round {k + 1}/{self['rounds']}", seed_offset=k + 1)
            scores = ctx.trainer.training_scores(ctx, fitted.model, train)
            miss = np.argmax(ctx.head.proba(scores), axis=1) != train.y
            error = float(np.clip(weights @ miss / weights.sum(), 1e-6, 1 - 1e-6))
            alpha = np.log((1 - error) / error) + np.log(max(ctx.n_classes - 1, 1))
            if alpha <= 0 and fits:  # worse than chance: SAMME stops here
                break
            fits.append(fitted)
            alphas.append(max(float(alpha), 1e-3))
            weights = weights * np.exp(alpha * miss)
        ctx.artifacts["boosting"] = {"alphas": alphas}
        return _combine(ctx, fits, alphas)

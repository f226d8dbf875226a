"""SMOTE, Borderline-SMOTE and ADASYN in a learned feature space.

Interpolating padded token ids is meaningless, so: train the encoder, take
sentence representations of the training rows, oversample there with
imbalanced-learn, and retrain the classifier head on them (decoupled
classifier re-training, Kang et al. 2020)."""

from __future__ import annotations

import numpy as np

from core.runs.types import Fitted
from core.strategies.base import Param, Strategy

METHODS = ("smote", "borderline", "adasyn")


def oversample_features(features: np.ndarray, y: np.ndarray, method: str, k_neighbors: int, seed: int):
    """Resampled (features, labels); synthetic points only for non-majority classes."""
    from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE

    smallest = int(np.bincount(y)[np.bincount(y) > 0].min())
    k = max(1, min(k_neighbors, smallest - 1))
    sampler = {"smote": SMOTE(k_neighbors=k, random_state=seed),
               "borderline": BorderlineSMOTE(k_neighbors=k, random_state=seed),
               "adasyn": ADASYN(n_neighbors=k, random_state=seed)}[method]
    return sampler.fit_resample(features, y)


class FeatureSmote(Strategy):
    name = "feature_smote"
    label = "SMOTE in learned feature space"
    family = "Feature space"
    help = "Trains the network, oversamples its sentence representations with SMOTE/Borderline/ADASYN, retrains the output layer."
    params = (
        Param("method", "choice", "smote", "Which oversampler.", choices=METHODS, label="Oversampler"),
        Param("k_neighbors", "int", 5, "Neighbours used to interpolate.", 1, 50, label="Neighbours to interpolate between"),
        Param("head_epochs", "int", 30, "Epochs to retrain the output layer.", 1, 500, label="Epochs to retrain the output layer"),
    )
    uses = frozenset({"fit"})
    softmax_only = True
    cost = 1.2

    def fit(self, ctx, train):
        base = ctx.trainer.fit(ctx, train, stage="encoder")
        x = ctx.trainer.training_features(ctx, base.model, train)
        try:
            x_res, y_res = oversample_features(x, train.y, self["method"], self["k_neighbors"], ctx.seed)
        except (ValueError, RuntimeError) as exc:  # e.g. ADASYN finds no neighbour of another class
            ctx.notes.append(f"feature_smote: {self['method']} generated nothing ({exc}); head retrained on the original features")
            x_res, y_res = x, train.y
        ctx.artifacts["feature_smote"] = {
            "before": np.bincount(train.y, minlength=ctx.n_classes).tolist(),
            "after": np.bincount(y_res, minlength=ctx.n_classes).tolist(),
        }
        ctx.report(stage="retraining the output layer")
        combined = ctx.trainer.retrain_head(ctx, base, x_res, y_res, epochs=self["head_epochs"])
        info = dict(base.info, synthetic_points=int(len(y_res) - len(train.y)))
        return Fitted(combined, base.history, info)

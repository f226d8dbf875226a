"""Keras losses from ``LossSpec``s, and the two losses Keras does not have.

Focal loss is Keras's ``CategoricalFocalCrossentropy``; per-class α enters as
per-sample weights (``core.strategies.losses``)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from core.runs.types import LossSpec


@keras.saving.register_keras_serializable(package="imbalance_lab")
class LogitAdjustedLoss(keras.losses.Loss):
    """Logit-adjusted softmax cross-entropy (Menon et al. 2021): train on
    logits + τ·log(prior) and predict with the plain logits, which shifts the
    decision toward rare classes. τ = 1 is the balanced softmax."""

    def __init__(self, priors, tau: float = 1.0, name: str = "logit_adjusted", **kwargs):
        super().__init__(name=name, **kwargs)
        self.priors = [float(p) for p in priors]
        self.tau = float(tau)
        self._shift = np.log(np.clip(np.asarray(self.priors), 1e-12, 1.0)).astype("float32") * self.tau

    def call(self, y_true, y_pred):
        return keras.losses.categorical_crossentropy(y_true, y_pred + self._shift, from_logits=True)

    def get_config(self):
        return {**super().get_config(), "priors": self.priors, "tau": self.tau}


def cumulative_bce(y_true, y_pred):
    """CORAL loss: binary cross-entropy summed over the K−1 'above threshold k' tasks."""
    return ops.sum(keras.losses.binary_crossentropy(y_true[..., None], y_pred[..., None], from_logits=True), axis=-1)


def build_loss(spec: LossSpec, head_kind: str = "softmax"):
    """The Keras loss a ``LossSpec`` names (the head's default when ``spec`` is None)."""
    if spec is None:
        spec = LossSpec({"regression": "mse", "coral": "cumulative_bce"}.get(head_kind, "cross_entropy"))
    if spec.kind == "cross_entropy":
        return keras.losses.CategoricalCrossentropy(from_logits=True)
    if spec.kind == "focal":
        # α = 1 here: per-class α is exactly a per-row weight α[y] (only the true
        # class's term is non-zero in one-hot cross-entropy), applied as sample weights.
        return keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=spec["gamma"], from_logits=True)
    if spec.kind == "logit_adjusted":
        return LogitAdjustedLoss(list(spec["priors"]), tau=spec["tau"])
    if spec.kind == "mse":
        return keras.losses.MeanSquaredError()
    if spec.kind == "huber":
        return keras.losses.Huber()
    return cumulative_bce

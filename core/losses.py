"""Loss functions not in Keras. Focal loss itself is Keras's
``CategoricalFocalCrossentropy``; per-class α enters as per-sample weights."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


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

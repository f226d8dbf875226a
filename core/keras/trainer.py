"""``KerasTrainer``: the Keras side of a run, handed to the TensorFlow-free
pipeline (``core.runs.pipeline``) and, through ``RunContext.trainer``, to the
strategies that replace the plain fit (feature-space SMOTE, ensembles)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from core.keras import text, train
from core.keras.models import feature_model, features_of, head_layers, soft_vote
from core.runs.types import Fitted, Outputs, RunContext, TrainingSet


class KerasTrainer:
    """Implements ``core.runs.types.Trainer`` with the functions of ``core.keras.train``.

    With a ``pool`` (``train.PROCESS_POOL`` in a warm run process) fits reuse
    earlier runs' models and traced steps; ``give_back`` returns them once the
    run's result is built (its models are not used after that)."""

    def __init__(self, pool: train.ModelPool | None = None):
        self.pool = pool
        self._taken: list[train.Trainable] = []

    def give_back(self) -> None:
        if self.pool is not None:
            self.pool.give_back(self._taken)
        self._taken = []

    def seed_everything(self, seed: int) -> None:
        train.seed_everything(seed)

    def fit_text_encoder(self, ctx: RunContext, train_rows: np.ndarray) -> text.Encoder:
        return train.fit_text_encoder(ctx, train_rows)

    def fit(self, ctx: RunContext, train_set: TrainingSet, *, stage: str = "fit", seed_offset: int = 0,
            epochs: int | None = None) -> Fitted:
        return train.fit(ctx, train_set, stage=stage, seed_offset=seed_offset, epochs=epochs, pool=self.pool,
                         taken=self._taken)

    def outputs(self, ctx: RunContext, model: keras.Model, rows: np.ndarray) -> Outputs:
        return train.outputs(ctx, model, rows)

    def training_scores(self, ctx: RunContext, model: keras.Model, train_set: TrainingSet) -> np.ndarray:
        return text.predict_scores(model, train.encode_training_set(ctx, train_set), max_len=ctx.encoder.max_len)

    def training_features(self, ctx: RunContext, model: keras.Model, train_set: TrainingSet) -> np.ndarray:
        return self.training_scores(ctx, feature_model(model), train_set)

    def features(self, ctx: RunContext, model: keras.Model, rows: np.ndarray) -> np.ndarray:
        return text.predict_scores(features_of(model), train.encode_rows(ctx, rows), max_len=ctx.encoder.max_len)

    def retrain_head(self, ctx: RunContext, base: Fitted, features: np.ndarray, y: np.ndarray, *,
                     epochs: int) -> keras.Model:
        head = head_layers(ctx.head)
        head_model = keras.Sequential([keras.Input((features.shape[1],)), head])
        head_model.compile(optimizer=keras.optimizers.Adam(ctx.settings.learning_rate), loss=base.model.loss)
        head_model.fit(features, ctx.head.targets(y), epochs=epochs, batch_size=256, verbose=0, shuffle=True)
        return keras.Model(base.model.inputs[0], head(base.model.get_layer("features").output), name="feature_smote")

    def soft_vote(self, ctx: RunContext, fits: Sequence[Fitted], member_weights: Sequence[float]) -> keras.Model:
        return soft_vote([f.model for f in fits], list(member_weights), softmax=ctx.head.kind == "softmax")

"""Keras training for one run: seeding, threads, the encoder, the fit loop
with early stopping on validation macro-F1, progress and cancellation.

Imported only in worker-side processes."""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.keras import text  # noqa: E402
from core.keras.losses import build_loss  # noqa: E402
from core.keras.models import build_model  # noqa: E402
from core.runs.evaluate import macro_f1  # noqa: E402
from core.runs.types import Cancelled, Fitted, Outputs, RunContext, TrainingSet  # noqa: E402

PROGRESS_EVERY_S = 1.0


def configure_threads(threads: int) -> None:
    """Pin TensorFlow's thread pools; must run before the first op."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process (tests); keep what is set
        pass


def seed_everything(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit_text_encoder(ctx: RunContext, train_rows: np.ndarray) -> text.Encoder:
    return text.fit_encoder([ctx.data.texts[r] for r in train_rows], vocab_size=ctx.settings.vocab_size,
                            max_len=ctx.settings.max_len)


def encode_rows(ctx: RunContext, rows: np.ndarray) -> list[np.ndarray]:
    """Token ids of dataset rows, encoded once per run and cached."""
    missing = [int(r) for r in np.unique(rows) if int(r) not in ctx._encoded]
    if missing:
        for r, ids in zip(missing, ctx.encoder.encode([ctx.data.texts[r] for r in missing])):
            ctx._encoded[r] = ids
    return [ctx._encoded[int(r)] for r in rows]


def encode_training_set(ctx: RunContext, train_set: TrainingSet) -> list[np.ndarray]:
    seqs = encode_rows(ctx, np.where(train_set.synthetic, 0, train_set.source_rows))
    synthetic = np.flatnonzero(train_set.synthetic)
    if len(synthetic):
        for pos, ids in zip(synthetic, ctx.encoder.encode([train_set.texts[p] for p in synthetic])):
            seqs[pos] = ids
    return seqs


def new_model(ctx: RunContext) -> keras.Model:
    model = build_model(ctx.spec, len(ctx.encoder.vocabulary), ctx.head, output_bias=ctx.output_bias)
    if ctx.embedding_init is not None:
        model.get_layer("embedding").set_weights([ctx.embedding_init])
    model.compile(optimizer=keras.optimizers.Adam(ctx.settings.learning_rate, clipnorm=1.0),
                  loss=build_loss(ctx.loss_spec, ctx.head.kind))
    return model


def outputs(ctx: RunContext, model: keras.Model, rows: np.ndarray) -> Outputs:
    scores = text.predict_scores(model, encode_rows(ctx, rows), max_len=ctx.encoder.max_len)
    return Outputs(ctx.head.proba(scores), ctx.head.raw(scores), ctx.data.y[rows])


class _Monitor(keras.callbacks.Callback):
    """Validation macro-F1 and loss per epoch, throttled progress, and the cancel check."""

    def __init__(self, ctx: RunContext, stage: str, n_batches: int, epochs: int):
        super().__init__()
        self.ctx, self.stage, self.n_batches, self.epochs = ctx, stage, n_batches, epochs
        self.val_rows = ctx.split.validation
        self.history: list[dict] = []
        self.last_report = 0.0
        self.started = time.perf_counter()
        self.epoch = 0
        self.done_batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.done_batches += 1
        now = time.perf_counter()
        if now - self.last_report < PROGRESS_EVERY_S:
            return
        self.last_report = now
        if self.ctx.should_stop():
            self.model.stop_training = True
            self.ctx.notes.append("cancelled")
            return
        per_batch = (now - self.started) / self.done_batches
        remaining = self.n_batches * self.epochs - self.done_batches
        self.ctx.report(stage=self.stage, epoch=self.epoch + 1, epochs=self.epochs, batch=batch + 1,
                        batches=self.n_batches, loss=float((logs or {}).get("loss", np.nan)),
                        eta_s=round(per_batch * remaining, 1), history=self.history[-50:])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        scores = text.predict_scores(self.model, encode_rows(self.ctx, self.val_rows), max_len=self.ctx.encoder.max_len)
        y_val = self.ctx.data.y[self.val_rows]
        y_pred = self.ctx.head.default_decision().apply(self.ctx.head.proba(scores), self.ctx.head.raw(scores))
        logs["val_macro_f1"] = macro_f1(y_val, y_pred)
        value = None if self.ctx.data.target is None or self.ctx.head.kind != "regression" else \
            np.asarray(self.ctx.data.target)[self.val_rows]
        loss = self.model.loss(self.ctx.head.targets(y_val, value), scores)
        logs["val_loss"] = float(np.mean(keras.ops.convert_to_numpy(loss)))
        self.history.append({"stage": self.stage, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
        self.ctx.report(stage=self.stage, epoch=epoch + 1, epochs=self.epochs, batch=self.n_batches,
                        batches=self.n_batches, loss=float(logs.get("loss", np.nan)),
                        val_macro_f1=logs["val_macro_f1"], history=self.history[-50:],
                        eta_s=round((time.perf_counter() - self.started) / (epoch + 1) * (self.epochs - epoch - 1), 1))


def fit(ctx: RunContext, train_set: TrainingSet, *, stage: str = "fit", seed_offset: int = 0,
        epochs: int | None = None) -> Fitted:
    """Build a fresh model and fit it on ``train_set`` with early stopping on
    validation macro-F1 (best weights restored)."""
    model = new_model(ctx)
    epochs = epochs or ctx.settings.epochs
    seqs = encode_training_set(ctx, train_set)
    weights = train_set.weights if train_set.weights is not None else np.ones(len(train_set), np.float32)
    value = train_set.value if ctx.head.kind == "regression" else None
    targets = ctx.head.targets(train_set.y, value)
    dataset = text.training_dataset(seqs, targets, weights.astype(np.float32), batch_size=ctx.settings.batch_size,
                                    max_len=ctx.encoder.max_len, seed=ctx.seed * 1000 + seed_offset,
                                    balanced_y=train_set.y if train_set.balanced_batches else None)
    monitor = _Monitor(ctx, stage, text.n_batches(len(train_set), ctx.settings.batch_size), epochs)
    stopper = keras.callbacks.EarlyStopping(monitor="val_macro_f1", mode="max", patience=ctx.settings.patience,
                                            restore_best_weights=True)
    model.fit(dataset, epochs=epochs, verbose=0, shuffle=False, callbacks=[monitor, stopper])  # batches are shuffled by length_batches
    if "cancelled" in ctx.notes:
        raise Cancelled()
    return Fitted(model, monitor.history, {"trained_samples": len(train_set) * len(monitor.history),
                                           "epochs_run": len(monitor.history)})

"""Keras training for one run: seeding, threads, the encoder, the fit loop
with early stopping on validation macro-F1, progress and cancellation.

Imported only in worker-side processes."""

from __future__ import annotations

import math
import os
import sys
import time
from collections import OrderedDict

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from core.keras import text
from core.keras.losses import build_loss
from core.keras.models import build_model
from core.runs.evaluate import macro_f1
from core.runs.types import Cancelled, Fitted, Outputs, RunContext, TrainingSet

PROGRESS_EVERY_S = 1.0


def configure_threads(threads: int) -> None:
    """Pin TensorFlow's thread pools; must run before the first op."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process (tests); keep what is set
        pass


def seed_everything(seed: int) -> None:
    """Seed a run. A warm process trains runs one after another: clearing
    Keras's global state first (layer-name counters, the default seed stream)
    makes a run's result independent of what ran before it. Models already
    built keep working (their variables are their own).

    Op determinism is kept although it was not needed for identical results
    (measured on the fit loop, 4,000 clothing reviews, fused LSTM: without it
    a seed gave byte-identical weights run after run and across processes at
    1, 2, 4 and 8 threads); it cost nothing measurable there (CPU time of a
    fit within 1%), it turns a future op without a deterministic kernel into
    an error instead of a silent difference, and switching it on only for
    threads > 1 would change a seed's numbers between 1- and 2-thread slots
    (it selects other kernels; with it on or off throughout, 1, 2 and 4
    threads agree)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit_text_encoder(ctx: RunContext, train_rows: np.ndarray) -> text.Encoder:
    return text.fit_encoder([ctx.data.texts[r] for r in train_rows], vocab_size=ctx.settings.vocab_size,
                            max_len=ctx.settings.max_len, max_len_cap=ctx.settings.max_len_cap)


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
    return _compiled(ctx, _seeded_model(ctx))


class Trainable:
    """A compiled model with its traced train step (``_train_step``)."""

    def __init__(self, model: keras.Model, n_targets: int, key: tuple = ()):
        self.model, self.key = model, key
        self.step, self.mean_loss = _train_step(model, n_targets)
        self._optimizer_start = [v.numpy() for v in model.optimizer.variables]
        self._learning_rate = float(model.optimizer.learning_rate.numpy())

    def start_from(self, fresh: keras.Model) -> bool:
        """Take ``fresh``'s starting state (weights and random-seed states, the
        optimizer's as when new): the same numbers as training ``fresh`` itself.
        False when ``fresh`` is not built like this model."""
        mine, theirs = self.model.variables, fresh.variables
        if len(mine) != len(theirs) or any(a.shape != b.shape or a.dtype != b.dtype for a, b in zip(mine, theirs)):
            return False
        for a, b in zip(mine, theirs):
            a.assign(b)
        for v, start in zip(self.model.optimizer.variables, self._optimizer_start):
            v.assign(start)
        self.model.optimizer.learning_rate = self._learning_rate  # a schedule may have lowered it
        self.mean_loss(reset=True)
        return True


class ModelPool:
    """Trainables a warm process keeps between runs, so a run of the same
    architecture, head, loss and learning rate as an earlier one reuses its
    traced train and inference functions instead of tracing its own (≈0.3 s
    per run, ≈15% of a fit on SMS; ``tf.function`` cannot move a trace to
    another model's variables). A run takes one per fit (``take``) and gives
    them back when its result no longer needs them (``give_back``)."""

    def __init__(self, keep: int = 6):
        self.keep = keep
        self._idle: OrderedDict[tuple, list[Trainable]] = OrderedDict()
        self.reused = 0

    def take(self, ctx: RunContext, n_targets: int) -> Trainable:
        key = _pool_key(ctx, n_targets)
        idle = self._idle.get(key)
        if idle:
            trainable = idle.pop()
            fresh = _seeded_model(ctx)  # the very initial values a new model would get
            if trainable.start_from(fresh):
                self.reused += 1
                return trainable
        return Trainable(_compiled(ctx, _seeded_model(ctx)), n_targets, key)

    def give_back(self, trainables: list[Trainable]) -> None:
        for trainable in trainables:
            self._idle.setdefault(trainable.key, []).append(trainable)
            self._idle.move_to_end(trainable.key)
        while sum(map(len, self._idle.values())) > self.keep:
            oldest = next(iter(self._idle))
            self._idle[oldest].pop(0)
            if not self._idle[oldest]:
                del self._idle[oldest]

    def clear(self) -> None:
        """Forget every kept model: a run stopped by an interrupt (``ray.cancel``) may have left one half-way
        through a step."""
        self._idle.clear()


PROCESS_POOL = ModelPool()  # the warm process's pool (core.jobs.training.train_run)


def _pool_key(ctx: RunContext, n_targets: int) -> tuple:
    """Everything a traced train step bakes in besides variable values."""
    with np.printoptions(threshold=sys.maxsize):
        return (repr(ctx.spec), len(ctx.encoder.vocabulary), ctx.head.kind, ctx.head.n_outputs, n_targets,
                repr(ctx.loss_spec), float(ctx.settings.learning_rate), ctx.embedding_init is None)


def _seeded_model(ctx: RunContext) -> keras.Model:
    model = build_model(ctx.spec, len(ctx.encoder.vocabulary), ctx.head, output_bias=ctx.output_bias)
    if ctx.embedding_init is not None:
        model.get_layer("embedding").set_weights([ctx.embedding_init])
    return model


def _compiled(ctx: RunContext, model: keras.Model) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(ctx.settings.learning_rate, clipnorm=1.0),
                  loss=build_loss(ctx.loss_spec, ctx.head.kind))
    return model


def outputs(ctx: RunContext, model: keras.Model, rows: np.ndarray) -> Outputs:
    scores = text.predict_scores(model, encode_rows(ctx, rows), max_len=ctx.encoder.max_len)
    return Outputs(ctx.head.proba(scores), ctx.head.raw(scores), ctx.data.y[rows])


def _train_step(model: keras.Model, n_targets: int):
    """One optimisation step as one graph function, traced once per model.

    What ``model.fit``'s train step does, without its per-batch Python
    (callbacks, logs, metric objects): ``model(ids, training=True)`` (dropout
    on), the compiled loss with sample weights (``compute_loss``: Keras's
    "sum_over_batch_size", Σ wᵢ·lossᵢ / batch size), gradients, and
    ``optimizer.apply``, which clips each gradient to norm 1 (``clipnorm``) as
    in fit. The ``(None, None)`` signature serves every bucket width with one
    trace. The epoch's loss (fit's "loss": batch losses averaged, weighted by
    batch size) accumulates in two variables, read at most once a second."""
    optimizer = model.optimizer
    variables = model.trainable_variables
    optimizer.build(variables)  # its slots are created here, not inside the trace
    loss_sum = tf.Variable(0.0, trainable=False, dtype=tf.float32)
    seen = tf.Variable(0.0, trainable=False, dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, n_targets), tf.float32),
                                  tf.TensorSpec((None,), tf.float32)])
    def step(ids, targets, weights):
        with tf.GradientTape() as tape:
            predicted = model(ids, training=True)
            loss = model.compute_loss(x=ids, y=targets, y_pred=predicted, sample_weight=weights, training=True)
        optimizer.apply(tape.gradient(loss, variables), variables)
        n = tf.cast(tf.shape(ids)[0], tf.float32)
        loss_sum.assign_add(loss * n)
        seen.assign_add(n)

    def mean_loss(reset: bool = False) -> float:
        value = float(loss_sum.numpy() / max(float(seen.numpy()), 1.0))
        if reset:
            loss_sum.assign(0.0)
            seen.assign(0.0)
        return value

    return step, mean_loss


PLATEAU_EPOCHS, PLATEAU_FACTOR = 2, 0.5


def _lower_on_plateau(model: keras.Model, stale_epochs: int) -> None:
    """The "plateau" schedule (Keras's ``ReduceLROnPlateau(factor=0.5, patience=2)``
    on validation macro-F1): halve the learning rate after every 2 epochs in a
    row without a better score."""
    if stale_epochs and stale_epochs % PLATEAU_EPOCHS == 0:
        model.optimizer.learning_rate = float(model.optimizer.learning_rate.numpy()) * PLATEAU_FACTOR


class _EarlyStopping:
    """Keras's ``EarlyStopping(monitor, mode="max", patience, restore_best_weights=True)``:
    the first epoch is the best so far; a later one must beat it strictly;
    stop once ``patience`` epochs in a row have not, and keep the best weights."""

    def __init__(self, model: keras.Model, patience: int):
        self.model, self.patience = model, patience
        self.best: float | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.wait = 0

    def should_stop(self, epoch: int, value: float) -> bool:
        self.wait += 1
        if self.best is None or value > self.best:
            self.best, self.best_weights, self.wait = value, self.model.get_weights(), 0
            return False
        return self.wait >= self.patience and epoch > 0

    def restore(self) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _validate(ctx: RunContext, model: keras.Model, padded: text.PaddedRows, y_val: np.ndarray,
              targets: np.ndarray) -> tuple[float, float]:
    """Validation macro-F1 (the head's default decision) and loss (compiled loss, unweighted)."""
    scores = text.predict_padded(model, padded)
    y_pred = ctx.head.default_decision().apply(ctx.head.proba(scores), ctx.head.raw(scores))
    loss = model.loss(targets, scores)
    return macro_f1(y_val, y_pred), float(np.mean(keras.ops.convert_to_numpy(loss)))


class Countdown:
    """A run's time left as the Runs page shows it: never more than it said before, less the time since.

    The estimates it is fed jump (the first step traces the model; an epoch ends with validation), and a
    countdown that jumps from 514 s to 39 s in two seconds tells the user nothing."""

    def __init__(self) -> None:
        self._left, self._at = math.inf, 0.0

    def left(self, now: float, estimate: float) -> float | None:
        """Seconds left (None while nothing is known yet)."""
        if self._left != math.inf:
            self._left -= now - self._at
        self._left, self._at = max(0.0, min(self._left, estimate)), now
        return None if self._left == math.inf else round(self._left, 1)


def _steps_left_s(now: float, first_step_done: float, done: int, total: int) -> float:
    """Seconds for the steps left at the rate since the first step (which traced the model, so it is left out)."""
    if done <= 1:
        return math.inf
    return (now - first_step_done) / (done - 1) * (total - done)


def fit(ctx: RunContext, train_set: TrainingSet, *, stage: str = "fit", seed_offset: int = 0,
        epochs: int | None = None, pool: ModelPool | None = None, taken: list | None = None) -> Fitted:
    """Build a fresh model and fit it on ``train_set`` with early stopping on
    validation macro-F1 (best weights restored).

    The training rows are encoded and padded once (``text.PaddedRows``); each
    epoch draws length-grouped batches (class-balanced ones when the training
    set asks) and runs one traced train step per batch. With a ``pool`` the
    model and its traced step may be an earlier run's, started from this
    run's own initial values (appended to ``taken`` for giving back)."""
    epochs = epochs or ctx.settings.epochs
    batch_size = ctx.settings.batch_size
    padded = text.PaddedRows(encode_training_set(ctx, train_set), ctx.encoder.max_len)
    weights = (train_set.weights if train_set.weights is not None else np.ones(len(train_set))).astype(np.float32)
    value = train_set.value if ctx.head.kind == "regression" else None
    targets = ctx.head.targets(train_set.y, value)
    val_rows = ctx.split.validation
    val_padded = text.PaddedRows(encode_rows(ctx, val_rows), ctx.encoder.max_len)
    y_val = ctx.data.y[val_rows]
    val_value = None if ctx.data.target is None or ctx.head.kind != "regression" else \
        np.asarray(ctx.data.target)[val_rows]
    val_targets = ctx.head.targets(y_val, val_value)

    trainable = pool.take(ctx, targets.shape[1]) if pool is not None else \
        Trainable(new_model(ctx), targets.shape[1])
    if taken is not None:
        taken.append(trainable)
    model, step, mean_loss = trainable.model, trainable.step, trainable.mean_loss
    stopper = _EarlyStopping(model, ctx.settings.patience)
    rng = np.random.default_rng(ctx.seed * 1000 + seed_offset)  # the batches' order, as before
    n_batches = text.n_batches(len(train_set), batch_size)
    history: list[dict] = []
    started = time.perf_counter()
    fit_started = time.time()
    last_report, done_batches = 0.0, 0
    countdown, first_step_done = Countdown(), None
    for epoch in range(epochs):
        epoch_started = time.perf_counter()
        order = text.balanced_order(train_set.y, rng) if train_set.balanced_batches else None
        for batch, rows in enumerate(text.length_batches(padded.lengths, batch_size, rng, order=order)):
            step(padded.take(rows), targets[rows], weights[rows])
            now = time.perf_counter()
            if first_step_done is None:
                first_step_done = now
            if now - last_report < PROGRESS_EVERY_S:
                continue
            last_report = now
            if ctx.should_stop():
                ctx.notes.append("cancelled")
                raise Cancelled()
            done = done_batches + batch + 1
            ctx.report(stage=stage, epoch=epoch + 1, epochs=epochs, batch=batch + 1, batches=n_batches,
                       loss=mean_loss(), eta_s=countdown.left(now, _steps_left_s(now, first_step_done, done,
                                                                                 n_batches * epochs)),
                       history=history[-50:])
        done_batches += n_batches
        loss = mean_loss(reset=True)
        val_started = time.perf_counter()
        val_f1, val_loss = _validate(ctx, model, val_padded, y_val, val_targets)
        now = time.perf_counter()
        history.append({"stage": stage, "epoch": epoch + 1, "loss": loss, "val_macro_f1": val_f1,
                        "val_loss": val_loss, "learning_rate": float(model.optimizer.learning_rate.numpy()),
                        "train_s": val_started - epoch_started, "val_s": now - val_started})
        ctx.report(stage=stage, epoch=epoch + 1, epochs=epochs, batch=n_batches, batches=n_batches, loss=loss,
                   val_macro_f1=val_f1, history=history[-50:],
                   eta_s=countdown.left(now, (now - started) / (epoch + 1) * (epochs - epoch - 1)))
        if stopper.should_stop(epoch, val_f1):
            break
        if ctx.settings.lr_schedule == "plateau":
            _lower_on_plateau(model, stopper.wait)
    stopper.restore()
    return Fitted(model, history, {"trained_samples": len(train_set) * len(history), "epochs_run": len(history),
                                   "fit_started": fit_started})

"""The network: embedding → recurrent layers → optional dense layers → head.

Keras: imported only in worker-side processes. The spec it builds from is
``core.runs.types.ModelSpec``."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from core.keras.fused_lstm import FusedLSTM
from core.runs.heads import Head
from core.runs.types import ModelSpec


@keras.saving.register_keras_serializable(package="imbalance_lab")
class OrdinalBias(layers.Layer):
    """CORAL's rank-consistent output: one shared score minus K−1 learned biases.

    ``initial``: the starting thresholds (CORAL's strategy passes −logit of the
    training rows' P(y > k), so a zero score starts at the class priors; the
    thresholds then move by only ~learning-rate per step and could not get
    there by themselves). Hand-written because Keras has no cumulative-link layer."""

    def __init__(self, n_thresholds: int, initial=None, **kwargs):
        super().__init__(**kwargs)
        self.n_thresholds = n_thresholds
        self.initial = None if initial is None else [float(v) for v in initial]

    def build(self, input_shape):
        start = np.linspace(-1.0, 1.0, self.n_thresholds) if self.initial is None else np.asarray(self.initial)
        init = keras.initializers.Constant(start.astype("float32"))
        self.thresholds = self.add_weight(shape=(self.n_thresholds,), initializer=init, name="thresholds")

    def call(self, score):
        return score - self.thresholds

    def get_config(self):
        return {**super().get_config(), "n_thresholds": self.n_thresholds, "initial": self.initial}


@keras.saving.register_keras_serializable(package="imbalance_lab")
class MaskedMaxPool(layers.Layer):
    """Maximum over time of the real (unmasked) steps of a sequence.

    Hand-written because Keras's ``GlobalMaxPooling1D`` ignores the padding
    mask, so padded steps would take part in the maximum."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = keras.ops.where(keras.ops.expand_dims(mask, -1), inputs, -1e9)
        return keras.ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


def _recurrent(spec: ModelSpec, return_sequences: bool, name: str):
    """An LSTM is ``FusedLSTM`` (one fused TensorFlow op per sequence; Keras's
    own LSTM loops step by step on a CPU), with the weights, initial draws and
    outputs of ``layers.LSTM``; a GRU is Keras's. Models saved with Keras's
    LSTM still load as such."""
    cell = layers.GRU if spec.cell == "gru" else FusedLSTM
    layer = cell(spec.units, return_sequences=return_sequences, name=name)
    return layers.Bidirectional(layer, name=f"bi_{name}") if spec.bidirectional else layer


def build_model(spec: ModelSpec, vocab_size: int, head: Head, *, output_bias: np.ndarray | None = None) -> keras.Model:
    """A Keras model from token ids to raw head outputs (logits or values).

    The last hidden layer is named ``features``: two-stage strategies
    (feature-space SMOTE) read sentence representations from it."""
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocab_size, spec.embedding_dim, mask_zero=True, trainable=spec.embedding_trainable,
                         name="embedding")(ids)
    pooled = spec.pooling != "last"
    for i in range(spec.recurrent_layers):
        last = i == spec.recurrent_layers - 1
        x = _recurrent(spec, return_sequences=pooled or not last, name=f"recurrent_{i}")(x)
        if spec.dropout and not last:
            x = layers.Dropout(spec.dropout)(x)
    if spec.pooling == "max":
        x = MaskedMaxPool(name="max_pool")(x)
    elif spec.pooling == "mean_max":
        x = layers.Concatenate(name="mean_max")([layers.GlobalAveragePooling1D(name="mean_pool")(x),
                                                 MaskedMaxPool(name="max_pool")(x)])
    for i, width in enumerate(spec.dense_layers):
        if spec.dense_dropout:
            x = layers.Dropout(spec.dense_dropout)(x)
        x = layers.Dense(width, activation="relu", name=f"dense_{i}")(x)
    features = layers.Dropout(spec.dropout, name="features")(x) if spec.dropout else layers.Identity(name="features")(x)
    return keras.Model(ids, head_layers(head, output_bias)(features), name="text_classifier")


def head_layers(head: Head, output_bias: np.ndarray | None = None):
    """The output layer(s) for ``head``, as one callable (reused when a
    two-stage strategy retrains the head on other features)."""
    if head.kind == "coral":  # output_bias: the K−1 biases, logit P(y > k) at score 0 (thresholds = −bias)
        initial = None if output_bias is None else (-np.asarray(output_bias, dtype=float)).tolist()
        return keras.Sequential([layers.Dense(1, use_bias=False), OrdinalBias(head.n_outputs, initial=initial)],
                                name="head")
    bias = "zeros" if output_bias is None else keras.initializers.Constant(np.asarray(output_bias, dtype="float32"))
    return layers.Dense(head.n_outputs, bias_initializer=bias, name="head")


def feature_model(model: keras.Model) -> keras.Model:
    return keras.Model(model.inputs[0], model.get_layer("features").output)


def features_of(model: keras.Model) -> keras.Model:
    """``feature_model(model)``, made once and kept on ``model`` (its traced inference function with it), for
    a model whose features are read more than once (the validation, test and prediction rows of a detector)."""
    kept = getattr(model, "_lab_features", None)
    if kept is None:
        kept = feature_model(model)
        object.__setattr__(model, "_lab_features", kept)  # past Keras's attribute tracking
    return kept


@keras.saving.register_keras_serializable(package="imbalance_lab")
class SoftVote(layers.Layer):
    """Weighted soft vote of member outputs. For softmax heads it averages
    probabilities and returns their log, so a softmax of the output gives the
    averaged probabilities back; for other heads it averages raw outputs.

    Hand-written because Keras's ``Average`` has no member weights and a
    ``Lambda`` layer cannot be loaded in safe mode."""

    def __init__(self, member_weights, softmax: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.member_weights = [float(w) for w in member_weights]
        self.softmax = softmax

    def call(self, outputs):
        w = np.asarray(self.member_weights, dtype="float32") / sum(self.member_weights)
        if self.softmax:
            mean = sum(float(wi) * keras.ops.softmax(o, axis=-1) for wi, o in zip(w, outputs))
            return keras.ops.log(keras.ops.maximum(mean, 1e-12))
        return sum(float(wi) * o for wi, o in zip(w, outputs))

    def get_config(self):
        return {**super().get_config(), "member_weights": self.member_weights, "softmax": self.softmax}


def soft_vote(members: list[keras.Model], member_weights: list[float], *, softmax: bool) -> keras.Model:
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    for i, m in enumerate(members):
        m.name = f"member_{i}"  # unique names so the combined model saves
    return keras.Model(ids, SoftVote(member_weights, softmax)([m(ids) for m in members]), name="ensemble")


def load_model(path) -> keras.Model:
    """A stored model (``model.keras``), in safe mode, without its training
    configuration; the custom layers and losses above are registered with Keras
    by importing this module (which imports ``core.keras.fused_lstm``) and
    ``core.keras.losses``."""
    import core.keras.losses  # noqa: F401  registers LogitAdjustedLoss

    return keras.saving.load_model(path, compile=False, safe_mode=True)

"""FusedLSTM (core.keras.fused_lstm) against Keras's own LSTM: outputs,
gradients, initial weights, padding, saving and the models built with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from core.keras import models
from core.keras.fused_lstm import FusedLSTM
from core.keras.models import build_model, load_model
from core.keras.text import inference_function
from core.runs.heads import Head
from core.runs.types import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
BATCH, STEPS, FEATURES, UNITS = 4, 9, 3, 4
LENGTHS = np.array([9, 4, 1, 6])  # post-padded, one row full, one of a single step


def _inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    return x, np.arange(STEPS)[None, :] < LENGTHS[:, None]


def _pair(return_sequences: bool, go_backwards: bool):
    """Keras's LSTM and a FusedLSTM with the same (random, non-initial) weights.
    Keras's layer zeroes padded outputs as it does inside ``Bidirectional``."""
    keras.utils.set_random_seed(7)
    ref = keras.layers.LSTM(UNITS, return_sequences=return_sequences, go_backwards=go_backwards,
                            zero_output_for_mask=return_sequences)
    fused = FusedLSTM(UNITS, return_sequences=return_sequences, go_backwards=go_backwards)
    ref.build((None, None, FEATURES))
    fused.build((None, None, FEATURES))
    rng = np.random.default_rng(1)
    ref.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in ref.get_weights()])
    fused.set_weights(ref.get_weights())
    return ref, fused


DIRECTIONS = [(False, False), (False, True), (True, False), (True, True)]


@pytest.mark.parametrize("return_sequences,go_backwards", DIRECTIONS)
def test_outputs_match_keras_lstm_on_masked_variable_lengths(return_sequences, go_backwards):
    ref, fused = _pair(return_sequences, go_backwards)
    x, mask = _inputs()
    expected, got = np.asarray(ref(x, mask=mask)), np.asarray(fused(x, mask=mask))
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("return_sequences,go_backwards", DIRECTIONS)
def test_gradients_match_keras_lstm(return_sequences, go_backwards):
    """TensorFlow's registered BlockLSTMV2 gradient gets these wrong (V1 gate
    layout); the layer's own gradient must not."""
    ref, fused = _pair(return_sequences, go_backwards)
    x, mask = _inputs(2)
    grads = []
    for layer in (ref, fused):
        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.sin(3.0 * layer(inputs, mask=mask)))
        grads.append([np.asarray(g) for g in tape.gradient(loss, [inputs, *layer.trainable_weights])])
    for expected, got in zip(*grads):
        assert np.allclose(got, expected, atol=1e-5)


def test_without_a_mask_every_step_is_real():
    ref, fused = _pair(True, False)
    x, _ = _inputs(3)
    assert np.allclose(np.asarray(fused(x)), np.asarray(ref(x)), atol=1e-6)


def test_initial_weights_and_later_layers_are_drawn_as_with_keras_lstm():
    def initial(layer_class):
        keras.utils.set_random_seed(5)
        layer, dense = layer_class(UNITS), keras.layers.Dense(2)
        layer.build((None, None, FEATURES))
        dense.build((None, UNITS))
        return layer, [np.asarray(w) for w in layer.weights + dense.weights]

    _, expected = initial(keras.layers.LSTM)
    fused, got = initial(FusedLSTM)
    assert [w.name for w in fused.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    assert np.array_equal(got[2][UNITS:2 * UNITS], np.ones(UNITS))  # unit_forget_bias


@pytest.mark.parametrize("return_sequences,go_backwards", DIRECTIONS)
def test_what_follows_a_rows_end_never_changes_its_output(return_sequences, go_backwards):
    """The kernel runs past each row's end (up to the batch's longest row):
    whatever sits there, and however wide the padding, the row's output stays."""
    _, fused = _pair(return_sequences, go_backwards)
    row = np.random.default_rng(4).normal(size=(1, 3, FEATURES)).astype("float32")
    outputs = []
    for width, fill in ((3, 0.0), (8, 0.0), (8, 5.0), (20, -3.0)):
        x = np.full((2, width, FEATURES), fill, "float32")
        x[0, :3] = row[0]
        x[1] = np.random.default_rng(width).normal(size=(width, FEATURES))  # a longer neighbour
        mask = np.arange(width)[None, :] < np.array([3, width])[:, None]
        out = np.asarray(fused(x, mask=mask))[0]
        if return_sequences:
            out = out[width - 3:] if go_backwards else out[:3]  # the real steps (reversed order when backwards)
        outputs.append(out)
    assert all(np.allclose(out, outputs[0], atol=1e-6) for out in outputs[1:])


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_matches_keras_bidirectional_lstm(return_sequences):
    keras.utils.set_random_seed(8)
    ref = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=return_sequences))
    fused = keras.layers.Bidirectional(FusedLSTM(UNITS, return_sequences=return_sequences))
    ref.build((None, None, FEATURES))
    fused.build((None, None, FEATURES))
    assert isinstance(fused.backward_layer, FusedLSTM) and fused.backward_layer.go_backwards
    rng = np.random.default_rng(9)
    ref.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in ref.get_weights()])
    fused.set_weights(ref.get_weights())
    x, mask = _inputs(5)
    assert np.allclose(np.asarray(fused(x, mask=mask)), np.asarray(ref(x, mask=mask)), atol=1e-6)
    if return_sequences:
        assert np.array_equal(np.asarray(fused.compute_mask(x, tf.constant(mask))), mask)


SPECS = {
    "last": ModelSpec(embedding_dim=6, units=UNITS),
    "bidirectional": ModelSpec(embedding_dim=6, units=UNITS, bidirectional=True),
    "stacked_mean_max": ModelSpec(embedding_dim=6, units=UNITS, recurrent_layers=2, pooling="mean_max",
                                  bidirectional=True),
}
IDS = np.array([[4, 8, 15, 16, 23, 0, 0, 0], [42, 7, 0, 0, 0, 0, 0, 0], [5, 6, 7, 8, 9, 10, 11, 12]], np.int32)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_built_model_uses_it_and_saves_and_loads_in_safe_mode(tmp_path, name):
    keras.utils.set_random_seed(1)
    model = build_model(SPECS[name], 50, Head("softmax", 3))
    recurrent = [layer for layer in model.layers if layer.name.startswith(("recurrent_", "bi_recurrent_"))]
    inner = [getattr(layer, "forward_layer", layer) for layer in recurrent]
    assert inner and all(isinstance(layer, FusedLSTM) for layer in inner)
    model.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert np.array_equal(np.asarray(loaded(IDS)), np.asarray(model(IDS)))
    padded = np.pad(IDS, ((0, 0), (0, 13)))
    assert np.allclose(np.asarray(inference_function(loaded)(padded)), np.asarray(model(IDS)), atol=1e-6)


def test_a_gru_model_keeps_keras_gru():
    model = build_model(ModelSpec(embedding_dim=6, units=UNITS, cell="gru"), 50, Head("softmax", 3))
    assert isinstance(model.get_layer("recurrent_0"), keras.layers.GRU)


def test_training_follows_keras_lstm_step_for_step(monkeypatch):
    """model.fit (graph mode, op determinism on) from the same seed gives the
    losses a Keras-LSTM model gives: same initial draws, outputs and gradients."""
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    ids = np.zeros((16, 10), np.int32)
    for row, length in zip(ids, rng.integers(1, 11, size=16)):
        row[:length] = rng.integers(2, 50, size=length)
    y = keras.utils.to_categorical(rng.integers(0, 3, size=16), 3)

    def losses():
        keras.utils.set_random_seed(3)
        model = build_model(ModelSpec(embedding_dim=6, units=UNITS, bidirectional=True, pooling="max"), 50,
                            Head("softmax", 3))
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        return model.fit(ids, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]

    fused = losses()
    monkeypatch.setattr(models, "FusedLSTM", keras.layers.LSTM)
    keras_lstm = losses()
    assert fused[-1] < fused[0]
    assert np.allclose(fused, keras_lstm, atol=1e-5)


def test_a_fresh_process_loads_a_saved_model_through_core_keras_models(tmp_path):
    """Prediction processes and bundles load with ``core.keras.models.load_model``
    only: importing that module must register the layer."""
    keras.utils.set_random_seed(2)
    model = build_model(SPECS["bidirectional"], 50, Head("softmax", 3))
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "expected.npy", np.asarray(model(IDS)))
    script = (
        "import sys, numpy as np\n"
        "from core.keras.models import load_model\n"
        f"ids = np.array({IDS.tolist()!r}, dtype=np.int32)\n"
        "out = np.asarray(load_model(sys.argv[1] + '/model.keras')(ids))\n"
        "assert np.array_equal(out, np.load(sys.argv[1] + '/expected.npy')), 'outputs differ'\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]

"""The network's own layers: pooling ignores padding, saved models load in
safe mode, and graph inference gives the eager model's outputs."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from core.keras.models import build_model  # noqa: E402
from core.keras.text import predict_scores  # noqa: E402
from core.runs.heads import Head  # noqa: E402
from core.runs.types import ModelSpec  # noqa: E402


@pytest.mark.parametrize("pooling", ["last", "max", "mean_max"])
def test_extra_padding_does_not_change_the_output(pooling):
    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec(embedding_dim=6, units=5, pooling=pooling), 50, Head("softmax", 3))
    ids = np.array([[5, 9, 3, 7, 0, 0, 0, 0]], dtype=np.int32)
    short, padded = model(ids[:, :4]), model(np.pad(ids, ((0, 0), (0, 24))))
    assert np.allclose(np.asarray(short), np.asarray(padded), atol=1e-5)


def test_max_pooling_reads_every_word_not_only_the_last_state():
    keras.utils.set_random_seed(0)
    last = build_model(ModelSpec(embedding_dim=6, units=5), 50, Head("softmax", 3))
    pooled = build_model(ModelSpec(embedding_dim=6, units=5, pooling="max"), 50, Head("softmax", 3))
    assert "max_pool" in [layer.name for layer in pooled.layers]
    assert last.get_layer("features").output.shape == pooled.get_layer("features").output.shape


@pytest.mark.parametrize("pooling", ["max", "mean_max"])
def test_pooled_model_saves_and_loads_in_safe_mode(tmp_path, pooling):
    keras.utils.set_random_seed(1)
    model = build_model(ModelSpec(embedding_dim=6, units=5, pooling=pooling), 50, Head("softmax", 3))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False, safe_mode=True)
    ids = np.array([[4, 8, 15, 16, 23, 0]], dtype=np.int32)
    assert np.allclose(np.asarray(model(ids)), np.asarray(loaded(ids)), atol=1e-6)


def test_predict_scores_matches_the_eager_model_in_input_order():
    keras.utils.set_random_seed(2)
    model = build_model(ModelSpec(embedding_dim=6, units=5), 50, Head("softmax", 4))
    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 50, size=n).astype(np.int32) for n in (3, 40, 7, 1, 19, 33, 2)]
    scores = predict_scores(model, seqs, max_len=64, batch_size=3)
    eager = np.concatenate([np.asarray(model(s[None, :], training=False)) for s in seqs])
    assert np.allclose(scores, eager, atol=1e-5)


def test_a_model_that_has_predicted_still_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(3)
    model = build_model(ModelSpec(embedding_dim=6, units=5), 50, Head("softmax", 2))
    seqs = [np.array([3, 4, 5], dtype=np.int32), np.array([9], dtype=np.int32)]
    before = predict_scores(model, seqs, max_len=8)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False, safe_mode=True)
    assert np.allclose(predict_scores(loaded, seqs, max_len=8), before, atol=1e-6)

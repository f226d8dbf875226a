"""Where texts are cut (``core.runs.lengths``), counted as the encoder counts,
and training settings stored before a field existed."""

from __future__ import annotations

import numpy as np
import pytest

from core.runs.lengths import auto_max_len, length_cut, training_in_words, word_counts
from core.settings import TrainSettings


def test_auto_length_is_the_95th_percentile_at_least_8_at_most_the_cap():
    assert auto_max_len(np.arange(1, 101), cap=256) == 96  # ceil of 95.05
    assert auto_max_len(np.array([1, 2, 3]), cap=256) == 8
    assert auto_max_len(np.arange(1, 1001), cap=256) == 256
    assert auto_max_len(np.arange(1, 1001), cap=512) == 512
    assert auto_max_len(np.array([], dtype=int), cap=256) == 8


def test_words_are_counted_as_the_keras_encoder_counts_them():
    from keras.layers import TextVectorization

    texts = ["Hello, world!", "  spaced   out\ttabs\nnewline ", "don't stop-me now...", "", "ÜBER café 3.5 ¡sí!",
             "a_b (c) [d] {e} #f @g", "no\xa0break em\u2003space"]  # Keras splits on ASCII whitespace only
    layer = TextVectorization(output_mode="int", ragged=True)
    layer.adapt(np.asarray(texts, dtype=object))
    keras_counts = np.diff(layer(np.asarray(texts, dtype=object)).row_splits.numpy())
    assert word_counts(texts).tolist() == keras_counts.tolist()


def test_the_cut_counts_texts_and_words_beyond_the_length():
    texts = ["w " * n for n in (5, 10, 20, 40)]
    cut = length_cut(TrainSettings(max_len=10), texts)
    assert (cut.max_len, cut.auto, cut.texts_cut, cut.texts) == (10, False, 2, 4)
    assert cut.words_dropped_share == pytest.approx((10 + 30) / 75)
    auto = length_cut(TrainSettings(max_len=None, max_len_cap=16), texts)
    assert auto.auto and auto.max_len == 16 and auto.texts_cut == 2


def test_the_settings_in_words_follow_the_settings():
    texts = ["w " * n for n in range(1, 101)]
    plateau = " ".join(training_in_words(TrainSettings(epochs=30, patience=6, lr_schedule="plateau"), texts))
    assert "at most 30 epochs" in plateau and "improved for 6 epochs" in plateau and "halved" in plateau
    assert "cut after 96 words (the 95th percentile of the texts' lengths, at most 256): that cuts 4 of 100" in plateau
    constant = " ".join(training_in_words(TrainSettings(epochs=1, patience=1, lr_schedule="constant")))
    assert "at most 1 epoch " in constant and "stays at" in constant and "cut" not in constant


def test_settings_stored_before_a_field_existed_keep_the_old_behaviour():
    stored = {"epochs": 10, "batch_size": 128, "patience": 2, "vocab_size": 20000, "max_len": None,
              "embedding_dim": 64, "units": 64, "learning_rate": 0.003, "dropout": 0.2}
    old = TrainSettings.from_json(stored)
    assert old.lr_schedule == "constant" and old.max_len_cap == 256
    assert TrainSettings.from_json(TrainSettings(lr_schedule="plateau").to_json()).lr_schedule == "plateau"
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainSettings(lr_schedule="cosine")


def test_settings_a_user_writes_take_todays_defaults_and_bad_ones_are_named():
    from core.errors import InputError

    written = TrainSettings.from_user({"epochs": 2})
    assert written == TrainSettings(epochs=2)  # not the behaviour of stored settings before a field existed
    with pytest.raises(InputError, match=r"spec.toml: \[training\]: unknown setting epoch; known: epochs"):
        TrainSettings.from_user({"epoch": 2}, where="spec.toml: [training]")
    with pytest.raises(InputError, match="pooling must be one of last, max, mean_max"):
        TrainSettings.from_user({"pooling": "avg"})


def test_the_cut_from_the_profiles_token_counts_is_the_cut_of_the_texts():
    from core.data.profile import token_lengths
    from core.runs.lengths import cut_of_counts

    texts = ["w " * n for n in range(1, 41)] + ["no\xa0break\u2003here " * 30]
    settings = TrainSettings(max_len=None, max_len_cap=32)
    assert cut_of_counts(settings, token_lengths(texts)) == length_cut(settings, texts)

"""Pretrained word vectors: the file is checked with a clear message, its rows
become the embedding's starting point, and fixed vectors stay fixed."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.split import SplitSpec, make_split
from core.data.word_vectors import embedding_matrix, read_header
from core.errors import InputError
from core.keras.trainer import KerasTrainer
from core.runs.pipeline import run_recipe
from core.settings import TrainSettings
from core.strategies.registry import build
from tests.conftest import labeled

VOCAB = ("", "[UNK]", "refund", "card", "late")


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_glove_and_word2vec_files_give_the_same_rows_matched_case_insensitively(tmp_path):
    glove = write(tmp_path / "g.txt", ["Refund 1 2 3 ", "card 4 5 6", "other 7 8 9", "refund 0.5 0.5 0.5"])
    w2v = write(tmp_path / "w.vec", ["3 3", "Refund 1 2 3", "card 4 5 6", "refund 0.5 0.5 0.5"])
    assert read_header(glove).dim == 3 and not read_header(glove).has_count_line
    assert read_header(w2v).has_count_line
    for path in (glove, w2v):
        init = embedding_matrix(path, VOCAB, np.random.default_rng(0))
        assert init.found == 2 and init.matrix.shape == (5, 3)
        assert np.allclose(init.matrix[2], 0.5)  # the exact-case entry wins over "Refund"
        assert np.allclose(init.matrix[3], [4, 5, 6])
        assert not np.allclose(init.matrix[4], 0) and np.allclose(init.matrix[0], 0)  # "late": random; padding: 0


@pytest.mark.parametrize("lines,message", [
    (["refund 1 2 3", "card 4 5"], "line 2: 2 numbers where the file's first vector has 3"),
    (["refund 1 x 3"], "line 1: expected a word followed by numbers"),
    (["2 3", "refund 1 2"], "line 2: 2 numbers where the file says 3"),
    (["elsewhere 1 2 3"], "none of this dataset's 3 vocabulary words has a vector"),
])
def test_bad_vector_files_say_which_line_and_what_is_wrong(tmp_path, lines, message):
    path = write(tmp_path / "v.txt", lines)
    with pytest.raises(InputError, match=message):
        embedding_matrix(path, VOCAB, np.random.default_rng(0))


def test_a_missing_file_is_refused_when_the_experiment_is_submitted(tmp_path):
    from core.jobs.experiments import ExperimentSpec, submit
    from core.jobs.store import Store

    store = Store(tmp_path / "ws")
    dataset_id = store.add_dataset(labeled({"a": 30, "b": 60}), name="d")
    for recipe, message in ((f'pretrained_vectors(path="{tmp_path / "nope.txt"}")', "is not a file on this machine"),
                            ("pretrained_vectors", "give the path of a word-vectors file")):
        with pytest.raises(InputError, match=message):
            submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=(recipe,)))
    assert store.runs() == []


def test_fixed_pretrained_vectors_are_the_trained_models_embedding(tmp_path):
    data = labeled({"bad": 40, "ok": 80, "good": 200})
    split = make_split(data, SplitSpec(seed=0))
    settings = TrainSettings(epochs=2, batch_size=32, patience=2, vocab_size=200, max_len=16, embedding_dim=8,
                             units=8, learning_rate=1e-2, dropout=0.0)
    words = sorted({w for t in data.texts for w in t.lower().split()})[:40]
    rng = np.random.default_rng(5)
    table = {w: rng.normal(size=6).round(4) for w in words}
    path = write(tmp_path / "v.txt", [w + " " + " ".join(map(str, v)) for w, v in table.items()])

    fixed = run_recipe(data, split, build(f'pretrained_vectors(path="{path}",trainable=false)'), settings, 0, trainer=KerasTrainer())
    tuned = run_recipe(data, split, build(f'pretrained_vectors(path="{path}")'), settings, 0, trainer=KerasTrainer())
    vocabulary = fixed.encoder.vocabulary
    known = [(vocabulary.index(w), v) for w, v in table.items() if w in vocabulary]
    assert len(known) >= 10
    for model, same in ((fixed.fitted.model, True), (tuned.fitted.model, False)):
        weights = model.get_layer("embedding").get_weights()[0]
        assert weights.shape[1] == 6  # the file's width, not settings.embedding_dim
        assert all(np.allclose(weights[i], v, atol=1e-5) for i, v in known) == same
    assert any("pretrained vectors for" in note for note in fixed.notes)

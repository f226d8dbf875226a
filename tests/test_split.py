import numpy as np

from core.data.dataset import LabeledTexts, duplicate_groups
from core.data.split import SplitSpec, make_split
from tests.conftest import labeled


def test_split_is_disjoint_and_covers_every_row():
    data = labeled({"a": 50, "b": 150})
    split = make_split(data, SplitSpec(seed=0))
    rows = np.concatenate([split.train, split.validation, split.test])
    assert sorted(rows.tolist()) == list(range(len(data)))


def test_split_is_stratified_roughly_by_class():
    data = labeled({"a": 50, "b": 450})
    split = make_split(data, SplitSpec(seed=1, test_share=0.2))
    share = np.mean(data.y[split.test] == 0)
    assert 0.05 <= share <= 0.15
    assert 0.15 <= len(split.test) / len(data) <= 0.25


def test_same_seed_same_split_and_other_seed_differs():
    data = labeled({"a": 50, "b": 150})
    first, again = make_split(data, SplitSpec(seed=3)), make_split(data, SplitSpec(seed=3))
    other = make_split(data, SplitSpec(seed=4))
    assert np.array_equal(first.test, again.test)
    assert not np.array_equal(first.test, other.test)


def test_duplicates_after_normalisation_stay_in_one_split():
    texts = [f"text number {i}" for i in range(100)] + ["Same  TEXT"] * 5 + ["same text"] * 5
    y = np.array([i % 2 for i in range(100)] + [0] * 10)
    data = LabeledTexts(tuple(texts), y, ("a", "b"))
    assert len(set(duplicate_groups(texts)[100:])) == 1
    for seed in range(5):
        split = make_split(data, SplitSpec(seed=seed))
        homes = {name for name, rows in split.__dict__.items() for r in rows if r >= 100}
        assert len(homes) == 1


def test_user_split_column_fixes_the_test_rows():
    data = labeled({"a": 40, "b": 60})
    is_test = np.zeros(len(data), bool)
    is_test[::5] = True
    data = LabeledTexts(data.texts, data.y, data.classes, is_test=is_test)
    for seed in (0, 1):
        split = make_split(data, SplitSpec(seed=seed))
        assert np.array_equal(split.test, np.flatnonzero(is_test))
        assert not set(split.validation) & set(split.test)


def test_split_column_with_many_tiny_classes_still_draws_validation():
    texts, labels = [], []
    for c in range(30):
        for i in range(6):
            texts.append(f"class {c} text {i}")
            labels.append(c)
    y = np.array(labels)
    is_test = np.zeros(len(y), bool)
    is_test[::6] = True  # 5 training rows per class: fewer than the 10 folds a 10% share asks for
    data = LabeledTexts(tuple(texts), y, tuple(str(c) for c in range(30)), is_test=is_test)
    split = make_split(data, SplitSpec(seed=0))
    assert len(split.validation) > 0 and len(split.train) > 0


def test_cached_split_is_computed_once_and_recomputed_when_the_file_is_damaged(tmp_path, monkeypatch):
    import core.data.split as split_module

    data = labeled({"a": 40, "b": 120})
    calls = []
    real = split_module.make_split
    monkeypatch.setattr(split_module, "make_split", lambda d, s: calls.append(s) or real(d, s))
    first = split_module.cached_split(data, SplitSpec(seed=2), tmp_path, "ds")
    again = split_module.cached_split(data, SplitSpec(seed=2), tmp_path, "ds")
    assert len(calls) == 1
    assert all(np.array_equal(getattr(first, part), getattr(again, part)) for part in ("train", "validation", "test"))
    assert np.array_equal(again.test, real(data, SplitSpec(seed=2)).test)
    split_module.cached_split(data, SplitSpec(seed=3), tmp_path, "ds")
    assert len(calls) == 2  # another seed is another split
    (cached,) = [p for p in tmp_path.iterdir() if "-s2-" in p.name]
    cached.write_bytes(b"not an npz file")
    repaired = split_module.cached_split(data, SplitSpec(seed=2), tmp_path, "ds")
    assert len(calls) == 3 and np.array_equal(repaired.test, first.test)

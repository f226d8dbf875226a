from dataclasses import replace

import numpy as np

from core.data.dataset import (
    TEST,
    TRAIN,
    VALIDATION,
    LabeledTexts,
    duplicate_groups,
    repeats_of_test,
)
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


def with_parts(data: LabeledTexts, parts) -> LabeledTexts:
    return replace(data, parts=np.asarray(parts, dtype=np.int8))


def test_user_split_column_fixes_the_test_rows():
    data = labeled({"a": 40, "b": 60})
    parts = np.full(len(data), TRAIN)
    parts[::5] = TEST
    data = with_parts(data, parts)
    validations = []
    for seed in (0, 1):
        split = make_split(data, SplitSpec(seed=seed))
        assert np.array_equal(split.test, np.flatnonzero(parts == TEST))
        assert not set(split.validation) & set(split.test)
        trained_or_validated = np.concatenate([split.train, split.validation])
        assert sorted(trained_or_validated.tolist()) == np.flatnonzero(parts == TRAIN).tolist()
        validations.append(split.validation.tolist())
    assert validations[0] != validations[1]  # without validation rows, validation is drawn per seed


def test_validation_rows_of_the_split_column_are_the_validation_set_for_every_seed():
    data = labeled({"a": 40, "b": 60})
    parts = np.full(len(data), TRAIN)
    parts[::5] = TEST
    parts[1::7] = VALIDATION
    data = with_parts(data, parts)
    for seed in range(4):
        split = make_split(data, SplitSpec(seed=seed))
        assert split.validation.tolist() == np.flatnonzero(parts == VALIDATION).tolist()
        assert split.train.tolist() == np.flatnonzero(parts == TRAIN).tolist()
        assert split.test.tolist() == np.flatnonzero(parts == TEST).tolist()
        assert len(split.dropped) == 0


def test_training_and_validation_texts_repeating_a_test_text_are_dropped():
    texts = [f"text number {i}" for i in range(60)]
    texts[10] = " TEXT   number 0"  # training row repeating test row 0 (case and spacing ignored)
    texts[20] = "text number 5"  # validation row repeating test row 5
    texts[30] = "text number 31"  # training row repeating another training row: kept
    y = np.array([i % 2 for i in range(60)])
    parts = np.full(60, TRAIN)
    parts[[0, 5, 40, 41, 42, 43]] = TEST
    parts[[20, 21, 22, 23]] = VALIDATION
    data = LabeledTexts(tuple(texts), y, ("a", "b"), parts=parts)
    assert repeats_of_test(data.parts, duplicate_groups(texts)).nonzero()[0].tolist() == [10, 20]
    for seed in (0, 1):
        split = make_split(data, SplitSpec(seed=seed))
        assert split.dropped.tolist() == [10, 20]
        assert {10, 20}.isdisjoint(np.concatenate([split.train, split.validation, split.test]).tolist())
        assert 30 in split.train and 31 in split.train
        assert split.validation.tolist() == [21, 22, 23]
        assert split.n_rows() == len(data)
    # without validation rows the drop applies to the pool validation is drawn from
    data = replace(data, parts=np.where(parts == VALIDATION, TRAIN, parts))
    split = make_split(data, SplitSpec(seed=0))
    assert split.dropped.tolist() == [10, 20]
    assert {10, 20}.isdisjoint(np.concatenate([split.train, split.validation]).tolist())


def test_an_automatic_split_drops_nothing():
    data = labeled({"a": 40, "b": 60})
    split = make_split(data, SplitSpec(seed=0))
    assert len(split.dropped) == 0 and split.n_rows() == len(data)


def test_split_column_with_many_tiny_classes_still_draws_validation():
    texts, labels = [], []
    for c in range(30):
        for i in range(6):
            texts.append(f"class {c} text {i}")
            labels.append(c)
    y = np.array(labels)
    parts = np.full(len(y), TRAIN)
    parts[::6] = TEST  # 5 training rows per class: fewer than the 10 folds a 10% share asks for
    data = LabeledTexts(tuple(texts), y, tuple(str(c) for c in range(30)), parts=parts)
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


def test_the_split_version_is_bumped_so_splits_cached_by_older_code_are_not_reused(tmp_path):
    """Version 2 changed what a split column gives (validation rows, repeats of test texts dropped): a split
    cached under version 1 for the same dataset, seed and shares must be computed again."""
    import core.data.split as split_module

    texts = [f"text number {i}" for i in range(40)]
    texts[3] = "text number 0"  # a training row repeating test row 0
    parts = np.full(40, TRAIN)
    parts[::4] = TEST
    data = LabeledTexts(tuple(texts), np.array([i % 2 for i in range(40)]), ("a", "b"), parts=parts)
    spec = SplitSpec(seed=0)
    # what version 1 computed and cached: row 3 trained on, nothing dropped
    pool = np.flatnonzero(parts == TRAIN)
    np.savez(tmp_path / "ds-s0-t0.2-v0.1-1.npz", train=pool[4:], validation=pool[:4],
             test=np.flatnonzero(parts == TEST))
    assert split_module.SPLIT_VERSION == 3
    split = split_module.cached_split(data, spec, tmp_path, "ds")
    assert split.dropped.tolist() == [3] and 3 not in split.train and 3 not in split.validation
    assert (tmp_path / "ds-s0-t0.2-v0.1-3.npz").is_file()
    again = split_module.cached_split(data, spec, tmp_path, "ds")
    assert again.dropped.tolist() == [3] and np.array_equal(again.train, split.train)


def test_read_split_reads_splits_stored_by_older_versions(tmp_path):
    from core.data.split import read_split

    np.savez(tmp_path / "old.npz", train=np.array([0, 2]), validation=np.array([3]), test=np.array([1]))
    old = read_split(tmp_path / "old.npz")
    assert old.train.tolist() == [0, 2] and old.test.tolist() == [1] and old.dropped.tolist() == []
    assert old.n_rows() == 4


def test_take_keeps_the_part_of_every_row_taken():
    data = labeled({"a": 5, "b": 5})
    parts = np.array([TRAIN, VALIDATION, TEST, TRAIN, TEST, TRAIN, VALIDATION, TEST, TRAIN, TRAIN])
    taken = with_parts(data, parts).take([7, 1, 2])
    assert taken.texts == (data.texts[7], data.texts[1], data.texts[2])
    assert taken.y.tolist() == data.y[[7, 1, 2]].tolist() and taken.parts.tolist() == [TEST, VALIDATION, TEST]
    assert taken.classes == data.classes and data.take([0]).parts is None


def test_parts_refuse_test_flags_and_rows_of_another_length():
    import pytest

    data = labeled({"a": 5, "b": 5})
    with pytest.raises(TypeError, match="not test flags"):
        replace(data, parts=np.zeros(10, bool))
    with pytest.raises(ValueError, match="one of 0, 1, 2 per row"):
        replace(data, parts=np.zeros(9, np.int8))


def test_validation_rows_change_the_dataset_id_and_train_test_parts_do_not_need_them():
    data = labeled({"a": 5, "b": 5})
    train_test = with_parts(data, [TRAIN, TEST] * 5)
    with_validation = with_parts(data, [VALIDATION, TEST] + [TRAIN, TEST] * 4)
    assert len({data.fingerprint(), train_test.fingerprint(), with_validation.fingerprint()}) == 3


def test_each_class_is_held_out_in_proportion_and_small_classes_reach_every_part():
    data = labeled({"a": 1000, "b": 300, "c": 30, "d": 4, "e": 2})
    for seed in range(5):
        split = make_split(data, SplitSpec(seed=seed, test_share=0.2, validation_share=0.1))
        for c, n in enumerate((1000, 300, 30, 4, 2)):
            test, validation = np.sum(data.y[split.test] == c), np.sum(data.y[split.validation] == c)
            if n >= 30:  # as close to the shares as whole rows allow
                assert abs(test - 0.2 * n) <= 1 and abs(validation - 0.1 * n) <= 1, (seed, c, test, validation)
            assert test >= 1 and np.sum(data.y[split.train] == c) >= 1, (seed, c)
        assert sum(split.sizes().values()) == len(data)


def test_the_split_draws_differently_by_seed_for_every_class():
    data = labeled({"a": 200, "b": 40})
    tests = [make_split(data, SplitSpec(seed=seed)).test for seed in range(3)]
    for c in (0, 1):
        chosen = [set(t[data.y[t] == c].tolist()) for t in tests]
        assert chosen[0] != chosen[1] and chosen[1] != chosen[2]


def test_a_group_counts_for_its_most_common_label_and_stays_whole():
    texts = [f"text {i}" for i in range(200)] + ["noisy duplicate"] * 7
    y = np.array([i % 2 for i in range(200)] + [1, 1, 1, 1, 1, 0, 0])
    data = LabeledTexts(tuple(texts), y, ("a", "b"))
    for seed in range(10):
        split = make_split(data, SplitSpec(seed=seed))
        homes = [name for name in ("train", "validation", "test") if set(getattr(split, name)) & set(range(200, 207))]
        assert len(homes) == 1 and set(range(200, 207)) <= set(getattr(split, homes[0]))


def test_split_version_2_still_draws_what_it_drew(tmp_path):
    """Experiments submitted before version 3 keep their draw: sklearn's StratifiedGroupKFold, first fold."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    from core.data.split import cached_split

    data = labeled({"a": 60, "b": 140})
    groups = duplicate_groups(data.texts)
    rows = np.arange(len(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pool, test = next(StratifiedGroupKFold(5, shuffle=True, random_state=4).split(rows, data.y, groups))
        kept, held = next(StratifiedGroupKFold(8, shuffle=True, random_state=4 + 10_007).split(
            pool, data.y[pool], groups[pool]))
    old = make_split(data, SplitSpec(seed=4, version=2))
    assert old.test.tolist() == sorted(test) and old.validation.tolist() == sorted(pool[held])
    assert not np.array_equal(make_split(data, SplitSpec(seed=4)).test, old.test)
    cached = cached_split(data, SplitSpec(seed=4, version=2), tmp_path, "ds")
    assert (tmp_path / "ds-s4-t0.2-v0.1-2.npz").is_file() and np.array_equal(cached.test, old.test)


def test_a_split_version_the_code_cannot_draw_is_refused():
    import pytest

    with pytest.raises(ValueError, match="split version 9"):
        SplitSpec(version=9)

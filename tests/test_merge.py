"""Class merges: mappings, suggestions and the predicted effect."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.label_mapping import (
    apply_mapping,
    merge_probabilities,
    merged_classes,
    validate_mapping,
)
from core.errors import InputError
from core.results.merge_suggestions import (
    linkage_for,
    predicted_effect,
    suggest_merges,
    symmetric_confusion,
)

CLASSES = ("a", "b", "c", "d")


def test_mapping_maps_every_label_and_keeps_counts():
    y = np.array([0, 1, 1, 2, 3, 3, 3, 2, 0, 1])
    merged, names = apply_mapping(y, CLASSES, {"b": "bc", "c": "bc"})
    assert names == ("a", "bc", "d")
    assert merged.shape == y.shape
    assert np.bincount(merged, minlength=3).tolist() == [2, 3 + 2, 3]
    # every original class lands in exactly its group
    assert set(merged[y == 1]) == set(merged[y == 2]) == {1}
    assert set(merged[y == 3]) == {2}


def test_apply_mapping_accepts_label_names():
    merged, names = apply_mapping(np.array(["d", "b", "c"]), CLASSES, {"b": "bc", "c": "bc"})
    assert names == ("a", "bc", "d") and merged.tolist() == [2, 1, 1]


def test_validate_mapping_fills_identity_and_keeps_order():
    full = validate_mapping({"c": "low", "d": "low"}, ("a", "b", "c", "d"), ordinal=True)
    assert full == {"a": "a", "b": "b", "c": "low", "d": "low"}
    assert merged_classes(full, CLASSES) == ("a", "b", "low")


def test_ordinal_non_adjacent_merge_refused():
    with pytest.raises(InputError, match="adjacent"):
        validate_mapping({"a": "ac", "c": "ac"}, CLASSES, ordinal=True)
    # the same merge is fine for nominal labels
    assert validate_mapping({"a": "ac", "c": "ac"}, CLASSES, ordinal=False)["c"] == "ac"


def test_unknown_class_and_single_class_refused():
    with pytest.raises(InputError, match="unknown"):
        validate_mapping({"z": "x"}, CLASSES, ordinal=False)
    with pytest.raises(InputError, match="at least two"):
        validate_mapping({c: "all" for c in CLASSES}, CLASSES, ordinal=False)


def test_symmetric_confusion_is_symmetric_row_normalised():
    cm = np.array([[8, 2], [1, 9]])
    s = symmetric_confusion(cm)
    np.testing.assert_allclose(s, [[0.0, (0.2 + 0.1) / 2], [(0.2 + 0.1) / 2, 0.0]])


def _confused_cm() -> np.ndarray:
    # b and c are confused far more than any other pair
    return np.array([
        [50, 3, 1, 2],
        [2, 30, 18, 0],
        [1, 15, 30, 4],
        [3, 0, 2, 45],
    ])


def test_most_confused_pair_ranks_first():
    out = suggest_merges(_confused_cm(), CLASSES)
    assert out[0].classes == ("b", "c")
    assert out[0].merged_name == "b+c"
    assert np.isnan(out[0].predicted_macro_f1_gain)
    assert [m.confusion for m in out] == sorted((m.confusion for m in out), reverse=True)


def test_ordinal_suggestions_only_merge_neighbours():
    cm = _confused_cm()
    cm[0, 3] = cm[3, 0] = 40   # a and d very confused, but not adjacent
    for m in suggest_merges(cm, CLASSES, ordinal=True, top=100):
        idx = [CLASSES.index(c) for c in m.classes]
        assert idx == list(range(idx[0], idx[0] + len(idx)))
    nominal = suggest_merges(cm, CLASSES, ordinal=False)
    assert nominal[0].classes == ("a", "d")


def test_ranking_by_predicted_gain():
    # Perfect on a and d; b and c swapped half the time, so merging b+c fixes every error.
    y = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3])
    pred = np.array([0, 0, 1, 2, 1, 2, 2, 1, 2, 1, 3, 3])
    proba = np.full((len(y), 4), 0.1)
    proba[np.arange(len(y)), pred] = 0.7
    cm = np.zeros((4, 4))
    np.add.at(cm, (y, pred), 1)
    out = suggest_merges(cm, CLASSES, proba=proba, y_true=y)
    assert out[0].classes == ("b", "c")
    # unmerged macro-F1: a, d = 1, b, c = 0.5  -> 0.75; merged: all 1
    assert out[0].predicted_macro_f1_gain == pytest.approx(1.0 - 0.75)


def test_merge_probabilities_rows_still_sum_to_one():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=20)
    merged, names = merge_probabilities(proba, CLASSES, {"a": "ad", "d": "ad", "b": "bc", "c": "bc"})
    assert names == ("ad", "bc")
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)
    np.testing.assert_allclose(merged[:, 0], proba[:, 0] + proba[:, 3])


def test_predicted_effect_matches_hand_computation():
    classes = ("a", "b", "c")
    proba = np.array([
        [0.60, 0.20, 0.20],   # true a -> merged [0.60, 0.40]: a   (right)
        [0.40, 0.35, 0.25],   # true a -> merged [0.40, 0.60]: bc  (wrong)
        [0.45, 0.30, 0.25],   # true b -> merged [0.45, 0.55]: bc  (right)
        [0.10, 0.60, 0.30],   # true c -> merged [0.10, 0.90]: bc  (right)
        [0.70, 0.20, 0.10],   # true b -> merged [0.70, 0.30]: a   (wrong)
    ])
    y = np.array([0, 0, 1, 2, 1])
    eff = predicted_effect(proba, y, classes, {"b": "bc", "c": "bc"})
    # a: P = R = 1/2 -> F1 1/2; bc: P = R = 2/3 -> F1 2/3
    assert eff["macro_f1"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert eff["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert eff["accuracy"] == pytest.approx(3 / 5)
    assert eff["recall"] == pytest.approx({"a": 1 / 2, "bc": 2 / 3})
    assert eff["f1"] == pytest.approx({"a": 1 / 2, "bc": 2 / 3})


def test_linkage_joins_most_confused_first():
    z = linkage_for(_confused_cm())
    assert z.shape == (3, 4)
    assert sorted(z[0, :2].astype(int).tolist()) == [1, 2]

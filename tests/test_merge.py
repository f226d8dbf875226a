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
from core.results.merge_effects import (
    MergeInputs,
    effect_table,
    predicted_per_seed,
    suggestions,
    suggestions_frame,
)
from core.results.merge_suggestions import (
    SeedOutputs,
    linkage_for,
    merge_gain,
    predicted_effect,
    suggest_merges,
    symmetric_confusion,
)
from core.runs.evaluate import macro_f1

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


def test_gain_counts_only_rows_the_summed_probabilities_decide_differently():
    classes = ("a", "b", "c")
    proba = np.array([
        [0.80, 0.10, 0.10],   # true a, decided a
        [0.40, 0.35, 0.25],   # true b, decided a; b+c together 0.60 -> b+c
        [0.10, 0.70, 0.20],   # true b, decided b
        [0.10, 0.30, 0.60],   # true c, decided c
    ])
    y = np.array([0, 1, 1, 2])
    seed = SeedOutputs(0, proba, y, proba.argmax(axis=1))
    # merged labels a, bc, bc, bc. unmerged (decisions mapped): a, a, bc, bc -> F1 a 2/3, bc 4/5
    # predicted (summed, argmaxed): a, bc, bc, bc -> every row right
    assert merge_gain([seed], classes, {"b": "bc", "c": "bc"}) == pytest.approx(1.0 - (2 / 3 + 4 / 5) / 2)
    # Same rows, decided by a rule that already gets row 2 right: pooling changes nothing.
    tuned = SeedOutputs(0, proba, y, np.array([0, 1, 1, 2]))
    assert merge_gain([tuned], classes, {"b": "bc", "c": "bc"}) == pytest.approx(0.0)


# Four classes, three seeds: a and d small, never confused with each other; b and c large and confused;
# a few b rows taken for a and c rows for d (so a, d have a low precision).
LOGITS = np.array([[2.5, 0.5, -1.0, -4.0],
                   [0.9, 1.6, 0.8, -4.0],
                   [-4.0, 0.8, 1.6, 0.9],
                   [-4.0, -1.0, 0.5, 2.5]])
SIZES = (20, 200, 200, 20)


def _seed_outputs(seed: int, offsets=(0.0, 0.0, 0.0, 0.0)) -> SeedOutputs:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), SIZES)
    logits = LOGITS[y] + rng.normal(0.0, 0.5, (len(y), 4))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return SeedOutputs(seed, proba, y, np.argmax(np.log(proba) + np.asarray(offsets), axis=1))


def _inputs(offsets=(0.0, 0.0, 0.0, 0.0)) -> MergeInputs:
    seeds = tuple(_seed_outputs(s, offsets) for s in range(3))
    cm = np.zeros((4, 4))
    for s in seeds:
        np.add.at(cm, (s.y_true, s.y_pred), 1)
    return MergeInputs(1, "baseline", CLASSES, False, cm, seeds)


def _old_gain(inputs: MergeInputs, mapping: dict) -> float:
    """What suggestions used to rank by: merged macro-F1 minus the macro-F1 over the original (more) classes."""
    gains = []
    for s in inputs.seeds:
        merged, _ = merge_probabilities(s.proba, CLASSES, mapping)
        y, _ = apply_mapping(s.y_true, CLASSES, mapping)
        gains.append(macro_f1(y, merged.argmax(axis=1)) - macro_f1(s.y_true, s.y_pred))
    return float(np.mean(gains))


def test_merging_well_separated_classes_gains_nothing():
    inputs = _inputs()
    assert inputs.confusion[0, 3] == inputs.confusion[3, 0] == 0  # a and d are never taken for each other
    ad = next(m for m in suggest_merges(inputs.confusion, CLASSES, seeds=inputs.seeds, top=100)
              if m.classes == ("a", "d"))
    assert ad.confusion == 0.0
    assert abs(ad.predicted_macro_f1_gain) < 0.005  # -0.0002
    # the old difference of a 3-class and a 4-class macro-F1 rewarded the merge for having fewer classes
    assert _old_gain(inputs, {"a": "a+d", "d": "a+d"}) > 0.03


@pytest.mark.parametrize("offsets", [(0.0, 0.0, 0.0, 0.0), (0.3, 0.0, -0.2, 0.4)], ids=["argmax", "tuned rule"])
def test_suggestion_gain_is_the_effect_tables_predicted_minus_unmerged(offsets):
    inputs = _inputs(offsets)
    found = suggestions(inputs, top=100)
    assert len(found) >= 6
    for m in found:
        mapping = {c: m.merged_name for c in m.classes}
        names = tuple(dict.fromkeys(mapping.get(c, c) for c in CLASSES))
        table = effect_table(predicted_per_seed(inputs, mapping), names)
        row = table[(table["metric"] == "macro_f1") & (table["class"] == "")]
        assert m.predicted_macro_f1_gain == pytest.approx(row["predicted − unmerged"].item(), abs=1e-12)


def test_ranking_does_not_favour_a_low_confusion_merge_for_having_fewer_classes():
    inputs = _inputs()
    found = suggestions(inputs, top=100)
    most_confused = max(found, key=lambda m: m.confusion)
    assert most_confused.classes == ("b", "c")
    # The old gain put b+c+d first: two classes left, though its mean confusion is lower than b+c's.
    old = max(found, key=lambda m: _old_gain(inputs, {c: m.merged_name for c in m.classes}))
    assert old.classes == ("b", "c", "d") and old.confusion < most_confused.confusion
    assert found[0].classes == ("b", "c")
    gains = [m.predicted_macro_f1_gain for m in found]
    assert gains == sorted(gains, reverse=True)
    assert found[0].predicted_macro_f1_gain > 0.1  # b and c split their probability; summed, they beat a and d


def test_suggestions_show_the_confusion_behind_them():
    inputs = _inputs()
    found = suggestions(inputs, top=100)
    bc = next(m for m in found if m.classes == ("b", "c"))
    rates = {(a, b): share for a, b, share in bc.confused_as}
    assert rates[("b", "c")] == pytest.approx(inputs.confusion[1, 2] / inputs.confusion[1].sum())
    assert rates[("c", "b")] == pytest.approx(inputs.confusion[2, 1] / inputs.confusion[2].sum())
    assert bc.confusion == pytest.approx((rates[("b", "c")] + rates[("c", "b")]) / 2)
    frame = suggestions_frame(found)
    assert list(frame.columns) == ["classes", "confusion", "confused as", "macro-F1 gain (predicted − unmerged)"]
    text = frame.loc[frame["classes"] == "b + c", "confused as"].item()
    assert text.startswith(("b → c", "c → b")) and "%" in text


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

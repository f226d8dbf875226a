"""Statistics across seeds, checked against hand-computed values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from core.results.stats import (
    LOWER_IS_BETTER,
    compare_to_baseline,
    detectable_difference,
    holm,
    mcnemar,
    seeds_needed,
    summarise,
)


def test_summarise_matches_hand_computation():
    s = summarise([0.5, 0.6, 0.7])
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert s.n == 3
    assert s.mean == pytest.approx(0.6)
    assert s.std == pytest.approx(0.1)
    assert s.ci_low == pytest.approx(0.6 - half, abs=1e-6)
    assert s.ci_high == pytest.approx(0.6 + half, abs=1e-6)


def test_summarise_single_seed_has_no_spread():
    s = summarise([0.42])
    assert s.mean == pytest.approx(0.42) and s.n == 1
    assert math.isnan(s.std) and math.isnan(s.ci_low) and math.isnan(s.ci_high)


def test_holm_known_vector():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_ignores_nan_and_caps_at_one():
    out = holm([0.01, math.nan, 0.6])
    assert math.isnan(out[1])
    # m = 2, not 3: 0.01·2 and max(0.02, 0.6·1)
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.6])
    np.testing.assert_allclose(holm([0.4, 0.5, 0.6]), [1.0, 1.0, 1.0])


def test_paired_t_matches_scipy_and_pairs_on_shared_seeds():
    base = {0: 0.60, 1: 0.62, 2: 0.58, 3: 0.61, 9: 0.99}
    better = {0: 0.66, 1: 0.65, 2: 0.63, 3: 0.67}           # seed 9 missing: not paired
    (c,) = compare_to_baseline({"base": base, "up": better}, "base", "macro_f1")
    x, y = [0.66, 0.65, 0.63, 0.67], [0.60, 0.62, 0.58, 0.61]
    expected = sps.ttest_rel(x, y).pvalue
    assert c.recipe == "up" and c.n_pairs == 4
    assert c.p_value == pytest.approx(expected)
    assert c.p_adjusted == pytest.approx(expected)        # one test: Holm leaves it
    assert c.mean_diff == pytest.approx(np.mean(np.subtract(x, y)))
    assert c.mark == "better"


def test_holm_applied_across_recipes():
    base = {0: 0.60, 1: 0.62, 2: 0.58, 3: 0.61}
    a = {0: 0.66, 1: 0.65, 2: 0.63, 3: 0.67}
    b = {0: 0.61, 1: 0.60, 2: 0.60, 3: 0.62}
    out = {c.recipe: c for c in compare_to_baseline({"base": base, "a": a, "b": b}, "base", "macro_f1")}
    np.testing.assert_allclose([out["a"].p_adjusted, out["b"].p_adjusted],
                               holm([out["a"].p_value, out["b"].p_value]))
    assert out["a"].p_adjusted > out["a"].p_value


def test_marks_flip_for_lower_is_better_metrics():
    assert {"mae", "macro_mae", "brier", "ece"} <= LOWER_IS_BETTER
    base = {0: 0.60, 1: 0.62, 2: 0.58, 3: 0.61}
    up = {0: 0.66, 1: 0.65, 2: 0.63, 3: 0.67}
    scores = {"base": base, "up": up}
    assert compare_to_baseline(scores, "base", "macro_f1")[0].mark == "better"
    assert compare_to_baseline(scores, "base", "ece")[0].mark == "worse"
    down = {"base": up, "down": base}
    assert compare_to_baseline(down, "base", "brier")[0].mark == "better"
    assert compare_to_baseline(down, "base", "macro_f1")[0].mark == "worse"


def test_identical_inputs_give_p_one():
    base = {0: 0.5, 1: 0.6, 2: 0.7}
    (c,) = compare_to_baseline({"base": base, "same": dict(base)}, "base", "macro_f1")
    assert c.p_value == 1.0 and c.mark == "indistinguishable" and c.mean_diff == 0.0


def test_too_few_pairs_is_nan_with_note():
    (c,) = compare_to_baseline({"base": {0: 0.5, 1: 0.6}, "r": {0: 0.9, 5: 0.9}}, "base", "macro_f1")
    assert c.n_pairs == 1 and math.isnan(c.p_value) and math.isnan(c.p_adjusted)
    assert c.mark == "n/a" and "only 1 seed pairs with the baseline" in c.note


def test_references_are_not_tested():
    base = {0: 0.5, 1: 0.6, 2: 0.7}
    out = compare_to_baseline({"base": base, "ref:paper": {0: 0.9, 1: 0.9, 2: 0.9}}, "base", "macro_f1")
    assert out == []


def test_mcnemar_exact_matches_binomtest():
    a = np.array([1, 1, 1, 1, 1, 0, 0, 1, 1, 0], dtype=bool)
    b = np.array([0, 0, 0, 0, 1, 1, 0, 1, 1, 0], dtype=bool)
    r = mcnemar(a, b)
    assert (r.b, r.c) == (4, 1)
    assert r.exact
    assert r.p_value == pytest.approx(sps.binomtest(4, 5, 0.5).pvalue)


def test_mcnemar_chi_square_with_continuity_correction():
    a = np.array([True] * 30 + [False] * 10 + [True] * 50)
    b = np.array([False] * 30 + [True] * 10 + [True] * 50)
    r = mcnemar(a, b)
    assert (r.b, r.c) == (30, 10) and not r.exact
    assert r.statistic == pytest.approx((20 - 1) ** 2 / 40)
    assert r.p_value == pytest.approx(sps.chi2.sf((20 - 1) ** 2 / 40, 1))


def test_mcnemar_identical_predictions():
    a = np.array([True, False, True])
    r = mcnemar(a, a.copy())
    assert (r.b, r.c, r.p_value) == (0, 0, 1.0)


# ----- n/a, power -----
def test_no_baseline_run_makes_every_mark_na():
    out = compare_to_baseline({"base": {}, "up": {0: 0.7, 1: 0.8, 2: 0.75}}, "base", "macro_f1")
    assert [c.mark for c in out] == ["n/a"] and "baseline has no finished run" in out[0].note


def test_a_recipe_on_other_classes_is_na_not_tested():
    base, merged = {0: 0.5, 1: 0.52, 2: 0.51}, {0: 0.8, 1: 0.82, 2: 0.81}
    labels = {"base": frozenset("abc"), "m": frozenset({"a", "b+c"})}
    (c,) = compare_to_baseline({"base": base, "m": merged}, "base", "worst_class_recall", label_sets=labels)
    assert c.mark == "n/a" and "other classes" in c.note and math.isnan(c.p_value)


def test_na_recipes_do_not_count_in_the_holm_family():
    base = {0: 0.60, 1: 0.62, 2: 0.58, 3: 0.61}
    up = {0: 0.66, 1: 0.65, 2: 0.63, 3: 0.67}
    alone = {c.recipe: c for c in compare_to_baseline({"base": base, "up": up}, "base", "macro_f1")}
    with_na = {c.recipe: c for c in compare_to_baseline({"base": base, "up": up, "one": {0: 0.9}}, "base", "macro_f1")}
    assert with_na["up"].p_adjusted == alone["up"].p_adjusted and with_na["up"].family_size == 1


def test_seeds_needed_matches_the_textbook_sample_sizes():
    # Paired (one-sample) t-test, two-sided α = 0.05, power 0.8: effect size 0.5 needs 34, 0.8 needs 15
    # (Cohen 1988; G*Power gives the same).
    assert seeds_needed(1.0, 0.05, difference=0.5) == 34
    assert seeds_needed(1.0, 0.05, difference=0.8) == 15
    assert seeds_needed(0.0, 0.05) == 2
    assert seeds_needed(10.0, 0.05) is None  # more than MOST_SEEDS


def test_detectable_difference_has_power_0_8_by_simulation():
    d = detectable_difference(1.0, 10, 0.05)
    assert d == pytest.approx(0.996, abs=0.002)
    rng = np.random.default_rng(0)
    x = rng.normal(d, 1.0, size=(100_000, 10))
    t = x.mean(axis=1) / (x.std(axis=1, ddof=1) / math.sqrt(10))
    assert np.mean(np.abs(t) > sps.t.ppf(0.975, 9)) == pytest.approx(0.8, abs=0.01)
    assert math.isnan(detectable_difference(1.0, 1, 0.05))


def test_power_is_at_the_holm_familys_strictest_level():
    base = {s: 0.60 + 0.01 * (s % 3) for s in range(5)}
    recipes = {f"r{i}": {s: v + 0.02 + 0.004 * ((s + i) % 4) for s, v in base.items()} for i in range(4)}
    out = {c.recipe: c for c in compare_to_baseline({"base": base, **recipes}, "base", "macro_f1")}
    diffs = np.array([recipes["r0"][s] - base[s] for s in range(5)])
    sd = float(np.std(diffs, ddof=1))
    assert out["r0"].family_size == 4
    assert out["r0"].detectable == pytest.approx(detectable_difference(sd, 5, 0.05 / 4))
    assert out["r0"].seeds_needed == seeds_needed(sd, 0.05 / 4)
    assert out["r0"].detectable > detectable_difference(sd, 5, 0.05)


"""Statistics across seeds, checked against hand-computed values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from core.results.stats import (
    LOWER_IS_BETTER,
    compare_to_baseline,
    holm,
    leaderboard,
    mcnemar,
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
    assert c.mark == "indistinguishable" and c.note


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


def test_leaderboard_rows_columns_and_marks():
    base = {0: 0.60, 1: 0.62, 2: 0.58, 3: 0.61}
    up = {0: 0.66, 1: 0.65, 2: 0.63, 3: 0.67}
    scores = {
        "macro_f1": {"base": base, "up": up, "ref:paper": {0: 0.7}},
        "ece": {"base": base, "up": up},
    }
    df = leaderboard(scores, "base", ["macro_f1", "ece"])
    assert list(df.index) == ["base", "up", "ref:paper"]
    for m in ("macro_f1", "ece"):
        for suffix in ("mean", "std", "ci_low", "ci_high", "mark", "p_adj"):
            assert f"{m}_{suffix}" in df.columns
    assert "n_seeds" in df.columns
    assert df.loc["base", "macro_f1_mark"] == "baseline"
    assert df.loc["up", "macro_f1_mark"] == "better"
    assert df.loc["up", "ece_mark"] == "worse"
    assert df.loc["ref:paper", "macro_f1_mark"] == "reference"
    assert df.loc["ref:paper", "macro_f1_mean"] == pytest.approx(0.7)
    assert df.loc["up", "macro_f1_mean"] == pytest.approx(np.mean(list(up.values())))
    assert df.loc["up", "n_seeds"] == 4 and df.loc["ref:paper", "n_seeds"] == 1

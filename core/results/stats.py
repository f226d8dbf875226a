"""Statistics across seeds: summaries, paired tests against a baseline, McNemar.

An experiment runs every recipe on S seeds; seed ``s`` draws one split that all
recipes share, so recipe-versus-baseline comparisons are *paired by seed*.
Everything here is plain numpy/scipy so the dashboard can import it without
TensorFlow.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from core.runs.references import is_reference
from core.strategies.recipe import display_order

#: Metrics where a smaller value is the better one; the direction of a
#: "better"/"worse" mark flips for these.
LOWER_IS_BETTER: frozenset[str] = frozenset({"mae", "macro_mae", "brier", "ece"})

#: Recipes whose name starts with this prefix are references (e.g. a published
#: number or a trivial classifier): summarised, never tested.

#: Below this many discordant pairs McNemar uses the exact binomial test.
MCNEMAR_EXACT_BELOW = 25

BETTER, WORSE, SAME = "better", "worse", "indistinguishable"


@dataclass(frozen=True)
class Summary:
    """Mean, sample sd (ddof=1) and t-interval of one metric over seeds.

    ``std`` and the interval are NaN with fewer than two values; everything but
    ``n`` is NaN with none."""

    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """One recipe against the baseline on one metric, paired by seed.

    ``mean_diff`` is recipe minus baseline (so its sign is not flipped for
    lower-is-better metrics; ``mark`` is). ``note`` says why a test was not
    possible or not needed."""

    recipe: str
    metric: str
    mean_diff: float
    p_value: float
    p_adjusted: float
    mark: str  # "better" | "worse" | "indistinguishable"
    n_pairs: int = 0
    note: str = ""


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired correct/incorrect vectors.

    ``b``: rows A got right and B got wrong; ``c``: the reverse. ``statistic``
    is ``min(b, c)`` for the exact test and the continuity-corrected chi-square
    otherwise (``exact`` says which)."""

    statistic: float
    p_value: float
    b: int
    c: int
    exact: bool = True


def _finite(values: Sequence[float]) -> np.ndarray:
    """Values as floats with NaN (a metric undefined on a seed) dropped."""
    arr = np.asarray(list(values), dtype=float).ravel()
    return arr[~np.isnan(arr)]


def summarise(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean ± t_{(1+confidence)/2, S-1} · sd/√S over the seeds' values.

    NaN values are dropped first (``n`` counts the rest). The t-interval, not a
    normal one, because S is small (typically 3–10 seeds)."""
    arr = _finite(values)
    n = int(arr.size)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(arr.mean())
    if n == 1:
        return Summary(mean, math.nan, math.nan, math.nan, 1)
    sd = float(arr.std(ddof=1))
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1)) * sd / math.sqrt(n)
    return Summary(mean, sd, mean - half, mean + half, n)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input order.

    Sorted ascending, the k-th smallest (k = 1..m) gets (m - k + 1)·p, then a
    running maximum keeps the adjusted values monotone, capped at 1. NaNs stay
    NaN and do not count in m (an untestable recipe must not make the others
    look worse)."""
    p = np.asarray(list(p_values), dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]          # (m - k + 1) · p_(k), k from 1
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def _paired(a: Mapping[int, float], b: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Values on the seeds both recipes have, both finite, in seed order."""
    seeds = sorted(s for s in set(a) & set(b)
                   if not (np.isnan(float(a[s])) or np.isnan(float(b[s]))))
    return (np.array([float(a[s]) for s in seeds]), np.array([float(b[s]) for s in seeds]))


def _paired_p(x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """Two-sided paired t-test p-value of x against y, with a note for the
    cases where scipy's answer is not usable."""
    if x.size < 2:
        return math.nan, f"only {x.size} paired seed(s); a paired test needs 2"
    if np.array_equal(x, y):
        return 1.0, "identical on every seed"
    with warnings.catch_warnings():
        # Nearly constant differences trigger a precision warning; the p-value
        # is still the right one (tiny), so keep the log quiet.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_rel(x, y).pvalue)
    return p, ""


def _mark(mean_diff: float, p_adjusted: float, metric: str, alpha: float) -> str:
    """better/worse only when significant after Holm, direction by metric."""
    if np.isnan(p_adjusted) or p_adjusted >= alpha or mean_diff == 0:
        return SAME
    improved = mean_diff < 0 if metric in LOWER_IS_BETTER else mean_diff > 0
    return BETTER if improved else WORSE


def compare_to_baseline(scores: Mapping[str, Mapping[int, float]], baseline: str, metric: str,
                        alpha: float = 0.05) -> list[Comparison]:
    """Paired t-test of every recipe against ``baseline`` on ``metric``,
    Holm-corrected across the recipes tested here.

    ``scores`` maps recipe -> {seed: value}; only seeds both have are paired.
    The baseline and references (``ref:`` names) are left out of the output
    and of the correction. A missing baseline means no pairs, so every recipe
    is "indistinguishable" with a note."""
    base = scores.get(baseline, {})
    rows: list[tuple[str, float, float, int, str]] = []
    for recipe, values in scores.items():
        if recipe == baseline or is_reference(recipe):
            continue
        x, y = _paired(values, base)
        p, note = _paired_p(x, y)
        diff = float(np.mean(x - y)) if x.size else math.nan
        rows.append((recipe, diff, p, int(x.size), note))
    adjusted = holm([r[2] for r in rows])
    return [Comparison(recipe, metric, diff, p, float(p_adj), _mark(diff, p_adj, metric, alpha), n, note)
            for (recipe, diff, p, n, note), p_adj in zip(rows, adjusted)]


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarResult:
    """McNemar's test: do recipes A and B err on different rows of one seed's test set?

    Exact two-sided binomial test on b of b + c when b + c < 25, where the
    chi-square approximation is poor; otherwise chi-square with continuity
    correction, (|b - c| - 1)² / (b + c), on 1 degree of freedom."""
    a = np.asarray(correct_a, dtype=bool).ravel()
    bb = np.asarray(correct_b, dtype=bool).ravel()
    if a.shape != bb.shape:
        raise ValueError(f"McNemar needs the same rows: {a.size} vs {bb.size} predictions")
    b = int(np.sum(a & ~bb))
    c = int(np.sum(~a & bb))
    n = b + c
    if n == 0:
        return McNemarResult(0.0, 1.0, 0, 0, True)
    if n < MCNEMAR_EXACT_BELOW:
        p = float(stats.binomtest(b, n, 0.5, alternative="two-sided").pvalue)
        return McNemarResult(float(min(b, c)), min(p, 1.0), b, c, True)
    chi2 = (abs(b - c) - 1.0) ** 2 / n
    return McNemarResult(float(chi2), float(stats.chi2.sf(chi2, 1)), b, c, False)


def _recipes_in_order(scores: Mapping[str, Mapping[str, Mapping[int, float]]], baseline: str) -> list[str]:
    """Baseline first, then recipes by first appearance, references last."""
    others = display_order(r for per_recipe in scores.values() for r in per_recipe if r != baseline)
    return [baseline, *others]


def leaderboard(scores: Mapping[str, Mapping[str, Mapping[int, float]]], baseline: str,
                metrics: Sequence[str]) -> pd.DataFrame:
    """One row per recipe (index ``recipe``): per metric mean/std/CI, Holm-adjusted
    p against the baseline and its mark, plus ``n_seeds``.

    ``scores`` maps metric -> recipe -> seed -> value. The baseline row is
    marked "baseline", references "reference" (their ``p_adj`` is NaN).
    ``n_seeds`` counts the distinct seeds a recipe has over the given metrics."""
    recipes = _recipes_in_order({m: scores.get(m, {}) for m in metrics}, baseline)
    table: dict[str, dict[str, object]] = {r: {} for r in recipes}
    seeds: dict[str, set[int]] = {r: set() for r in recipes}
    for m in metrics:
        per_recipe = {r: scores.get(m, {}).get(r, {}) for r in recipes}
        tested = {c.recipe: c for c in compare_to_baseline(per_recipe, baseline, m)}
        for r in recipes:
            seeds[r].update(per_recipe[r])
            s = summarise(list(per_recipe[r].values()))
            row = table[r]
            row[f"{m}_mean"], row[f"{m}_std"] = s.mean, s.std
            row[f"{m}_ci_low"], row[f"{m}_ci_high"] = s.ci_low, s.ci_high
            if r == baseline:
                row[f"{m}_mark"], row[f"{m}_p_adj"] = "baseline", math.nan
            elif is_reference(r):
                row[f"{m}_mark"], row[f"{m}_p_adj"] = "reference", math.nan
            else:
                row[f"{m}_mark"], row[f"{m}_p_adj"] = tested[r].mark, tested[r].p_adjusted
    for r in recipes:
        table[r]["n_seeds"] = len(seeds[r])
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "recipe"
    return frame

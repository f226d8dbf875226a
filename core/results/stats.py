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
from scipy import stats
from scipy.optimize import brentq

from core.runs.references import is_reference

#: Metrics where a smaller value is the better one; the direction of a
#: "better"/"worse" mark flips for these.
LOWER_IS_BETTER: frozenset[str] = frozenset({"mae", "macro_mae", "brier", "ece"})

#: Recipes whose name starts with this prefix are references (e.g. a published
#: number or a trivial classifier): summarised, never tested.

#: Below this many discordant pairs McNemar uses the exact binomial test.
MCNEMAR_EXACT_BELOW = 25

BETTER, WORSE, SAME, NA = "better", "worse", "indistinguishable", "n/a"

#: Power of the paired test the "detectable difference" and "seeds needed" are for.
POWER = 0.8
#: The difference "seeds needed" is for (0.02 of the metric, e.g. macro-F1).
TARGET_DIFFERENCE = 0.02
#: "Seeds needed" above this many is reported as "more than".
MOST_SEEDS = 1000
#: Part of the n/a reason of a recipe trained on other classes than the baseline.
MERGE_NOTE = "trained on other classes than the baseline"


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
    mark: str  # "better" | "worse" | "indistinguishable" | "n/a" (``note`` says why)
    n_pairs: int = 0
    note: str = ""
    family_size: int = 0  # recipes in this metric's Holm family (tested against the baseline)
    detectable: float = math.nan  # smallest paired difference these seeds detect with power 0.8
    seeds_needed: int | None = None  # seeds to detect TARGET_DIFFERENCE with power 0.8 (None: more than MOST_SEEDS)


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


def paired_power(difference: float, sd: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t-test over ``n`` seeds to detect a true
    mean ``difference`` when the paired differences have sd ``sd`` (noncentral t)."""
    df = n - 1
    t_crit = float(stats.t.ppf(1.0 - alpha / 2.0, df))
    nc = difference * math.sqrt(n) / sd
    power = float(stats.nct.sf(t_crit, df, nc) + stats.nct.cdf(-t_crit, df, nc))
    if not math.isfinite(power):  # scipy's noncentral t gives NaN far in the tail, where power is ~1
        power = float(stats.norm.cdf(nc - t_crit) + stats.norm.cdf(-nc - t_crit))
    return power


def detectable_difference(sd: float, n: int, alpha: float, power: float = POWER) -> float:
    """The smallest true mean paired difference that ``n`` seeds detect with
    ``power`` at level ``alpha`` (two-sided), given the paired sd; NaN with
    fewer than 2 seeds or no sd."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 0.0
    high = sd
    while paired_power(high, sd, n, alpha) < power:
        high *= 2.0
    return float(brentq(lambda d: paired_power(d, sd, n, alpha) - power, 0.0, high, xtol=1e-6))


def seeds_needed(sd: float, alpha: float, difference: float = TARGET_DIFFERENCE, power: float = POWER,
                 most: int = MOST_SEEDS) -> int | None:
    """The fewest seeds whose paired test detects ``difference`` with
    ``power`` at level ``alpha``, taking the paired sd measured so far as the
    truth; None when more than ``most`` would be needed or no sd is known."""
    if not math.isfinite(sd):
        return None
    if sd == 0:
        return 2
    if paired_power(difference, sd, most, alpha) < power:
        return None
    low, high = 2, most  # power grows with n: bisect for the first n that reaches it
    while low < high:
        mid = (low + high) // 2
        if paired_power(difference, sd, mid, alpha) >= power:
            high = mid
        else:
            low = mid + 1
    return low


def compare_to_baseline(scores: Mapping[str, Mapping[int, float]], baseline: str, metric: str,
                        alpha: float = 0.05, *, label_sets: Mapping[str, frozenset[str]] | None = None
                        ) -> list[Comparison]:
    """Paired t-test of every recipe against ``baseline`` on ``metric``,
    Holm-corrected across the recipes tested here, with the power figures of
    the shared definitions.

    ``scores`` maps recipe -> {seed: value}; only seeds both have are paired.
    The baseline and references (``ref:`` names) are left out of the output
    and of the correction. The mark is "n/a", with the reason in ``note``,
    when no test is possible: the baseline has no finished run, fewer than 2
    seeds pair with it, or the recipe's label set (``label_sets``) differs
    from the baseline's (a merge). Power is at the Holm family's strictest
    level, ``alpha`` ÷ the number of recipes tested."""
    base = scores.get(baseline, {})
    label_sets = label_sets or {}
    rows: list[tuple[str, np.ndarray, np.ndarray, str]] = []
    for recipe, values in scores.items():
        if recipe == baseline or is_reference(recipe):
            continue
        x, y = _paired(values, base)
        if not base:
            note = "no test: the baseline has no finished run (its runs failed, were cancelled or have not finished)"
        elif label_sets.get(recipe) is not None and label_sets.get(baseline) is not None \
                and label_sets[recipe] != label_sets[baseline]:
            note = (f"no test: {MERGE_NOTE} (a merge), so its numbers are on another label set; the Merge explorer "
                    "compares merges on the merged classes")
        elif x.size < 2:
            note = f"no test: only {x.size} seed{'s' if x.size != 1 else ''} pair{'s' if x.size == 1 else ''} with " \
                   "the baseline; a paired test needs 2"
        else:
            note = ""
        rows.append((recipe, x, y, note))
    tested = [r for r in rows if not r[3]]
    family = max(1, len(tested))
    p_values = {}
    for recipe, x, y, _ in tested:
        p_values[recipe] = _paired_p(x, y)
    adjusted = dict(zip(p_values, holm([p for p, _ in p_values.values()])))
    out = []
    for recipe, x, y, note in rows:
        diff = float(np.mean(x - y)) if x.size else math.nan
        if note:
            out.append(Comparison(recipe, metric, diff, math.nan, math.nan, NA, int(x.size), note, len(tested)))
            continue
        p, p_note = p_values[recipe]
        sd = float(np.std(x - y, ddof=1))
        strict = alpha / family
        out.append(Comparison(recipe, metric, diff, p, float(adjusted[recipe]),
                              _mark(diff, adjusted[recipe], metric, alpha), int(x.size), p_note, len(tested),
                              detectable_difference(sd, x.size, strict), seeds_needed(sd, strict)))
    return out


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

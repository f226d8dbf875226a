"""The leaderboard and the verdict, on fixed results built here (no training):
intervals under 3 seeds, intervals cut at a metric's range, every n/a case,
the best recipe, references apart, and the verdict's sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.results.experiment_results import ExperimentResults
from core.results.leaderboard import build_leaderboard
from core.results.verdict import verdict

CLASSES = ("neg", "neu", "pos")


def results_from(scores: dict[str, dict[str, list[float]]], *, seeds: int | None = None,
                 classes: dict[str, tuple[str, ...]] | None = None,
                 class_recall: dict[str, dict[str, list[float]]] | None = None) -> ExperimentResults:
    """ExperimentResults whose finished runs have these overall scores
    (recipe -> metric -> one value per seed) and per-class recall rows for
    ``classes`` (0.5, or per seed from ``class_recall``: recipe -> class -> values)."""
    runs, metrics = [], []
    run_id = 0
    for recipe, per_metric in scores.items():
        n = len(next(iter(per_metric.values())))
        for seed in range(n):
            run_id += 1
            runs.append({"id": run_id, "recipe": recipe, "seed": seed, "status": "finished",
                         "result_dir": f"runs/{run_id}", "error": None, "progress": None, "reused_from": None})
            for metric, values in per_metric.items():
                metrics.append({"run_id": run_id, "scope": "overall", "name": metric, "value": values[seed],
                                "recipe": recipe, "seed": seed})
            for cls in (classes or {}).get(recipe, CLASSES):
                value = (class_recall or {}).get(recipe, {}).get(cls, [0.5] * n)[seed]
                metrics.append({"run_id": run_id, "scope": f"class:{cls}", "name": "recall", "value": value,
                                "recipe": recipe, "seed": seed})
    n_seeds = seeds or max(r["seed"] for r in runs) + 1
    return ExperimentResults({"id": 1, "name": "fixed", "dataset_id": "d", "spec": {"seeds": n_seeds}},
                             pd.DataFrame(runs), pd.DataFrame(metrics), CLASSES, False)


def five(mean: float, spread: float = 0.01) -> list[float]:
    return [mean + spread * d for d in (-2, -1, 0, 1, 2)]


BASE = {"macro_f1": five(0.50), "minority_recall": five(0.20), "worst_class_recall": five(0.10)}
FOCAL = {"macro_f1": [0.561, 0.569, 0.572, 0.580, 0.588], "minority_recall": five(0.40),
         "worst_class_recall": five(0.30)}
TFIDF = {"macro_f1": five(0.60), "minority_recall": five(0.30), "worst_class_recall": five(0.25)}


def test_under_three_seeds_a_cell_shows_the_seed_count_not_an_interval():
    results = results_from({"baseline": {"macro_f1": [0.2, 0.6]}, "focal": {"macro_f1": [0.1, 0.5]}})
    board = build_leaderboard(results, metrics=["macro_f1"])
    assert board.row("baseline").cells["macro_f1"].interval == "0.400 (2 seeds)"
    assert "±" not in board.text().split("\n* best")[0]


def test_an_interval_wider_than_the_metrics_range_is_cut_at_the_range():
    results = results_from({"baseline": {"macro_f1": [0.05, 0.95, 0.5]}})
    cell = build_leaderboard(results, metrics=["macro_f1"]).row("baseline").cells["macro_f1"]
    assert cell.ci_low < 0 and cell.ci_high > 1  # the t-interval itself leaves [0, 1] …
    assert cell.interval == "0.500 [0.000, 1.000]"  # … the cell never does


def test_one_seed_against_the_baseline_is_na_with_its_reason():
    results = results_from({"baseline": {"macro_f1": five(0.5)}, "threshold": {"macro_f1": [0.377]}})
    board = build_leaderboard(results, metrics=["macro_f1"])
    cell = board.row("threshold").cells["macro_f1"]
    assert cell.mark == "n/a" and "only 1 seed pairs" in cell.note
    assert board.cell_text(cell) == "0.377 (1 seed) n/a [1]"
    assert "≈" not in board.cell_text(cell)
    assert "[1] no test: only 1 seed pairs with the baseline" in board.text()
    assert 'title="no test: only 1 seed pairs' in board.html()


def test_without_a_finished_baseline_nothing_is_marked():
    results = results_from({"bidirectional": {"macro_f1": five(0.5)}, "focal": {"macro_f1": five(0.6)}})
    board = build_leaderboard(results, metrics=["macro_f1"])
    assert {c.mark for r in board.rows for c in r.cells.values()} == {"n/a"}
    assert board.baseline is None
    assert "The baseline has no finished run, so no recipe can be tested against it." in verdict(board)


def test_a_merge_recipe_is_na_and_never_the_best():
    merge = 'merge(mapping={"neu":"neg"})'
    results = results_from({"baseline": BASE, merge: {k: five(0.9) for k in BASE}},
                           classes={merge: ("neg", "pos")})
    board = build_leaderboard(results, metrics=list(BASE))
    assert all(c.mark == "n/a" and "other classes" in c.note for c in board.row(merge).cells.values())
    assert board.best.recipe == "baseline"
    assert any("merges classes" in s for s in verdict(board))


def test_rows_are_sorted_by_the_chosen_metric_with_references_apart():
    results = results_from({"baseline": BASE, "focal": FOCAL, "ref:tfidf_lr": TFIDF})
    board = build_leaderboard(results, sort_by="macro_f1")
    assert [r.recipe for r in board.rows] == ["focal", "baseline"]
    assert [r.recipe for r in board.references] == ["ref:tfidf_lr"]
    assert board.best.recipe == "focal"
    assert board.row("ref:tfidf_lr").cells["macro_f1"].mark == "reference"
    html = board.html()
    assert html.index("focal") < html.index("References") < html.index("ref:tfidf_lr")
    assert 'class="best"' in html and "macro-F1" in html and "worst-class recall" in html


def test_the_verdict_from_fixed_results():
    results = results_from({"baseline": BASE, "focal": FOCAL, "ref:tfidf_lr": TFIDF})
    board = build_leaderboard(results, sort_by="macro_f1")
    focal = board.row("focal").cells["macro_f1"]
    assert verdict(board) == [
        f"On macro-F1, the best LSTM recipe is focal: {focal.interval}.",
        f"It is better than the baseline ({board.row('baseline').cells['macro_f1'].interval}): a paired t-test over "
        "5 seeds, Holm-corrected across 1 recipe, says so.",
        f"The TF-IDF + logistic regression reference scores {board.row('ref:tfidf_lr').cells['macro_f1'].interval}, "
        "above the best LSTM recipe (references are not tested).",
        "Compared with the baseline, minority recall from 0.200 to 0.400 (better than the baseline) and worst-class "
        "recall from 0.100 to 0.300 (better than the baseline).",
    ]
    # every number of the verdict is in the leaderboard's text
    shown = board.text()
    for number in ("0.200", "0.400", "0.100", "0.300", focal.interval):
        assert number in shown


def test_an_indistinguishable_best_recipe_gets_the_power_caveat():
    noisy = {"macro_f1": [0.48, 0.56, 0.47, 0.57, 0.50]}
    results = results_from({"baseline": {"macro_f1": five(0.50)}, "gru": noisy})
    board = build_leaderboard(results, metrics=["macro_f1"])
    cell = board.row("gru").cells["macro_f1"]
    assert cell.mark == "indistinguishable"
    sentence = verdict(board)[1]
    assert sentence.startswith("It is not shown to differ from the baseline")
    assert f"{cell.detectable:.3f}" in sentence and f"{cell.seeds_needed} seeds would detect 0.02" in sentence
    assert f"{cell.detectable:.3f}" in board.text() and not math.isnan(cell.detectable)


def test_few_seeds_are_said_in_the_verdict():
    results = results_from({"baseline": {"macro_f1": [0.5, 0.6]}})
    assert verdict(build_leaderboard(results, metrics=["macro_f1"]))[-1].startswith(
        "With 2 seeds the numbers have no meaningful intervals")


def test_records_have_no_interval_under_three_seeds():
    results = results_from({"baseline": {"macro_f1": [0.5, 0.6]}, "focal": {"macro_f1": [0.55, 0.7]}})
    records = {r["recipe"]: r for r in build_leaderboard(results, metrics=["macro_f1"]).records()}
    assert records["focal"]["macro_f1"]["ci_low"] is None and records["focal"]["macro_f1"]["n"] == 2
    assert records["focal"]["macro_f1"]["mark"] == "indistinguishable"
    assert records["focal"]["macro_f1"]["seeds_needed"] == pytest.approx(records["focal"]["macro_f1"]["seeds_needed"])
    assert np.isfinite(records["focal"]["macro_f1"]["detectable_difference"])


def test_selecting_columns_keeps_every_cell_and_ranking():
    results = results_from({"baseline": BASE, "focal": FOCAL, "ref:tfidf_lr": TFIDF})
    full = build_leaderboard(results, metrics=list(BASE))
    picked = full.select(["worst_class_recall", "macro_f1"])
    assert picked.metrics == ("macro_f1", "worst_class_recall")
    assert [r.recipe for r in picked.rows] == [r.recipe for r in full.rows] and picked.best.recipe == "focal"
    assert picked.row("focal").cells["macro_f1"] == full.row("focal").cells["macro_f1"]
    assert "minority recall" not in picked.html()


def test_chosen_classes_add_per_class_columns_tested_against_the_baseline():
    results = results_from({"baseline": BASE, "focal": FOCAL, "ref:tfidf_lr": TFIDF},
                           class_recall={"baseline": {"neg": five(0.2)}, "focal": {"neg": five(0.6)}})
    board = build_leaderboard(results, metrics=list(BASE), classes=["neg", "pos"], class_metric="recall")
    assert board.metrics == (*BASE, "recall · neg", "recall · pos")
    neg = board.row("focal").cells["recall · neg"]
    assert neg.mean == pytest.approx(0.6) and neg.mark == "better"
    assert board.row("focal").cells["recall · pos"].mark == "indistinguishable"  # 0.5 on every seed for both
    assert board.row("ref:tfidf_lr").cells["recall · neg"].mean == pytest.approx(0.5)
    assert [r.recipe for r in board.rows] == ["focal", "baseline"]  # still ranked by macro-F1
    html = board.html()
    assert ">recall · neg</th>" in html and 'title="recall of class neg alone"' in html
    assert "recall · pos" in board.select(["macro_f1", "recall · pos"]).only(["baseline"]).text()

"""The quality benchmark's verdict (``benchmarks.quality``): the best LSTM recipe is chosen by validation
macro-F1 and only then compared with TF-IDF + LR on test (issue 16), and the baseline's spread is judged."""

from benchmarks.quality import summarise, verdict


def test_the_best_recipe_is_chosen_on_validation_rows_not_on_test_rows():
    test = {"macro_f1": {"baseline": {0: 0.60, 1: 0.64}, "focal": {0: 0.70, 1: 0.72},
                         "threshold": {0: 0.66, 1: 0.66}, "ref:tfidf_lr": {0: 0.65, 1: 0.65}}}
    validation = {"macro_f1": {"baseline": {0: 0.61, 1: 0.61}, "focal": {0: 0.62, 1: 0.60},
                               "threshold": {0: 0.80, 1: 0.78}}}
    table = summarise(test, ["baseline", "focal", "threshold", "ref:tfidf_lr"], ("macro_f1",), validation=validation)
    judged = verdict(table)
    assert judged["best_recipe"] == "threshold" and judged["best_val_macro_f1"] == 0.79
    assert judged["best_macro_f1"] == 0.66 and judged["best_beats_tfidf"] is True
    assert judged["best_by_test"] == "focal"  # what a choice on test rows would have flattered: shown, never used
    assert judged["baseline_macro_f1_std"] > 0.028 and judged["baseline_std_ok"] is True


def test_without_validation_scores_no_recipe_is_chosen():
    table = summarise({"macro_f1": {"baseline": {0: 0.6}, "ref:tfidf_lr": {0: 0.5}}}, ["baseline", "ref:tfidf_lr"],
                      ("macro_f1",))
    judged = verdict(table)
    assert judged["best_recipe"] is None and judged["best_beats_tfidf"] is False and judged["baseline_std_ok"] is None


def test_a_case_of_its_own_reports_the_rare_class_and_says_where_anomaly_detection_stands():
    """The extreme-imbalance case (issue 20): its rows carry the rare class's recall, precision and PR-AUC, the
    report compares the anomaly variant validation chooses with the other recipe it chooses and TF-IDF + LR."""
    from benchmarks.benchmarks_md import case_section
    from benchmarks.quality import case_summary

    class Results:
        def scores(self, scope="overall"):
            return {"overall": {"macro_f1": {"baseline": {0: 0.47, 1: 0.47}, "anomaly": {0: 0.70, 1: 0.74},
                                             "anomaly(features=tfidf)": {0: 0.80, 1: 0.78},
                                             "ref:tfidf_lr": {0: 0.90, 1: 0.92}},
                                "brier": {"anomaly": {0: 0.1, 1: 0.1}}},
                    "validation": {"macro_f1": {"baseline": {0: 0.5, 1: 0.5}, "anomaly": {0: 0.8, 1: 0.8},
                                                "anomaly(features=tfidf)": {0: 0.6, 1: 0.6}}},
                    "class:spam": {"recall": {"anomaly": {0: 0.5, 1: 0.7}}, "pr_auc": {"anomaly": {0: 0.4, 1: 0.6},
                                                                                  "baseline": {0: 0.2, 1: 0.2},
                                                                                  "ref:tfidf_lr": {0: 0.9, 1: 0.9}}},
                    }[scope]

    recipes = ["baseline", "anomaly", "anomaly(features=tfidf)", "ref:tfidf_lr"]
    case = case_summary(Results(), recipes, "spam")
    assert case["anomaly"]["rare_recall_mean"] == 0.6 and case["anomaly"]["rare_pr_auc_mean"] == 0.5
    assert case["best_recipe"] == "anomaly" and case["rare_class"] == "spam"
    text = case_section("sms_spam_1pct", {**case, "rows": 10, "classes": 2, "rare_share": 0.01, "split": "x"})
    assert "| `anomaly` ★ | 0.720 ± 0.028 | 0.600 ± 0.141 |" in text
    assert ("Chosen by validation macro-F1 among the anomaly variants: `anomaly` — test macro-F1 0.720, above "
            "`baseline` (0.470) and below TF-IDF + LR (0.910); the rare class's PR-AUC 0.500, above `baseline` "
            "(0.200) and below TF-IDF + LR (0.900)") in text
    assert "The best anomaly variant on test, `anomaly(features=tfidf)` (macro-F1 0.790)" in text

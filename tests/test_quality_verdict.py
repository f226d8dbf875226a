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

"""AppTest: the Compare page's leaderboard, confusion grid and cell reader,
curves, and the Classes filter in each view."""

import json
import re

from streamlit.testing.v1 import AppTest

from core.jobs.store import Store
from tests.apptest_pages import by_label, texts_of, through_app


def _page() -> AppTest:
    return through_app("pages/compare.py")


def test_empty_state_says_where_to_go(empty_workspace):
    at = _page()
    assert not at.exception
    assert any("No experiments yet" in i.value for i in at.info)


def test_leaderboard_has_a_verdict_recipes_references_and_no_interval_under_three_seeds(filled_copy):
    at = _page()
    assert not at.exception
    board = at.html[0].value
    for recipe in ("baseline", "class_weight", "ref:tfidf_lr", "ref:majority"):
        assert f">{recipe}" in board
    assert board.index("class_weight") < board.index("References") < board.index("ref:majority")
    table = board[board.index('<table class="leaderboard">'):board.index("</table>")]
    assert "(2 seeds)" in table and "±" not in table  # 2 seeds: no interval
    verdict = at.markdown[0].value.replace("\\", "") if at.markdown else ""  # shown escaped: data stays text
    assert "On macro-F1, the" in verdict and "With 2 seeds the numbers have no meaningful intervals" in verdict
    # The filter lists the baseline first and the references last.
    options = at.multiselect[0].options
    assert options[0] == "baseline" and options[1] == "class_weight"
    assert all(o.startswith("ref:") for o in options[2:]) and len(options) > 2


def test_confusion_view_shows_one_matrix_per_recipe_and_cell_texts(filled_copy):
    at = _page()
    at.segmented_control[0].set_value("Confusion").run()
    assert not at.exception
    recipes = at.multiselect[0].value
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) == len(recipes)
    assert any("test texts (over all seeds)" in c.value for c in at.caption)


def test_view_is_reflected_in_the_url_query(filled_copy):
    at = _page()
    at.segmented_control[0].set_value("Per class").run()
    assert at.query_params["view"] == "Per class"


def _chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_class_filter_adds_per_class_columns_and_says_the_rest_is_over_all_classes(filled_copy):
    at = _page()
    by_label(at.multiselect, "Classes").set_value(["bad"]).run()
    assert not at.exception
    board = at.html[0].value
    assert ">recall · bad</th>" in board and "recall · good" not in board
    assert any("macro-F1" in c.value and "are over all classes" in c.value for c in at.caption)
    by_label(at.radio, "Per-class columns").set_value("f1").run()
    assert ">f1 · bad</th>" in at.html[0].value


def test_class_filter_keeps_the_chosen_rows_in_the_matrices_and_the_cell_reader(filled_copy):
    at = _page()
    by_label(at.multiselect, "Classes").set_value(["bad", "good"]).run()
    at.segmented_control[0].set_value("Confusion").run()
    assert not at.exception
    for spec in _chart_specs(at):
        heatmap = spec["data"][0]
        assert heatmap["y"] == ["bad", "good"] and heatmap["x"] == ["bad", "ok", "good"]
    assert by_label(at.selectbox, "True class").options == ["bad", "good"]  # shown as the class names
    assert any("Rows: the chosen classes" in c.value for c in at.caption)


def test_curves_start_on_the_rarest_chosen_class_with_areas_and_every_seed(filled_copy):
    at = _page()
    by_label(at.multiselect, "Classes").set_value(["ok", "good"]).run()
    at.segmented_control[0].set_value("Curves").run()
    assert not at.exception
    assert by_label(at.selectbox, "Class").value == "ok"  # fewer test texts than "good"; "bad" is filtered out
    pr, roc, reliability, learning = _chart_specs(at)
    assert all(re.search(r" \(AP \d\.\d{3}\)$", t["name"]) for t in pr["data"])
    assert all(re.search(r" \(AUC \d\.\d{3}\)$", t["name"]) for t in roc["data"] if t.get("showlegend") is not False)
    assert all(re.search(r" \(Brier \d\.\d{3}\)$", t["name"]) for t in reliability["data"]
               if t.get("showlegend") is not False)
    legend = {t["name"] for t in learning["data"] if t.get("showlegend") is not False}
    assert legend == {"baseline (mean of 2 seeds, band: lowest to highest)",
                      "class_weight (mean of 2 seeds, band: lowest to highest)"}
    assert any("Learning curves are over all classes" in c.value for c in at.caption)


def test_a_cancelled_run_is_said_to_be_cancelled_not_unfinished(filled_copy):
    store = Store(filled_copy["root"])
    run_id = store.add_run(experiment_id=filled_copy["experiment_id"], recipe="class_weight", seed=7,
                           fingerprint="cancelled before training")
    store.cancel(run_id)
    at = _page()
    assert "1 run was cancelled; the numbers cover the 10 finished runs only." in texts_of(at.caption)
    assert "not finished" not in texts_of(at.caption)

"""AppTest: the Compare page's leaderboard, confusion grid and cell reader."""

from streamlit.testing.v1 import AppTest

from core.jobs.store import Store
from tests.apptest_pages import texts_of, through_app


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


def test_a_cancelled_run_is_said_to_be_cancelled_not_unfinished(filled_copy):
    store = Store(filled_copy["root"])
    run_id = store.add_run(experiment_id=filled_copy["experiment_id"], recipe="class_weight", seed=7,
                           fingerprint="cancelled before training")
    store.cancel(run_id)
    at = _page()
    assert "1 run was cancelled; the numbers cover the 10 finished runs only." in texts_of(at.caption)
    assert "not finished" not in texts_of(at.caption)

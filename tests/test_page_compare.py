"""AppTest: the Compare page's leaderboard, confusion grid and cell reader."""

from streamlit.testing.v1 import AppTest

from tests.apptest_pages import through_app


def _page() -> AppTest:
    return through_app("pages/compare.py")


def test_empty_state_says_where_to_go(empty_workspace):
    at = _page()
    assert not at.exception
    assert any("No experiments yet" in i.value for i in at.info)


def test_leaderboard_lists_recipes_and_references_with_intervals(filled_copy):
    at = _page()
    assert not at.exception
    board = at.dataframe[0].value
    assert {"baseline", "class_weight", "ref:tfidf_lr", "ref:majority"} <= set(board.index)
    assert "±" in board.loc["class_weight", "macro_f1"]
    assert (board["seeds"] == 2).all()
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

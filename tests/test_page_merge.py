"""Merge explorer page (AppTest) and the store-side merge effects it calls."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.errors import InputError
from core.jobs.store import Store
from core.results.merge_effects import (
    build_mapping,
    merge_effect,
    merge_inputs,
    merge_recipe,
    mergeable_recipes,
    predicted_per_seed,
)
from core.strategies.recipe import parse_recipe
from tests.apptest_pages import by_label, page_app, texts_of

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/merge.py"


def open_page(page: str = PAGE) -> AppTest:
    return page_app(page).run()


# ----- empty states -----
def test_empty_workspace_says_there_are_no_experiments(empty_workspace):
    at = open_page()
    assert not at.exception
    assert "No experiments yet" in texts_of(at.info)
    assert not at.error


def test_experiment_without_finished_runs_says_go_to_experiment(unfinished_experiment):
    at = open_page()
    assert not at.exception
    assert "No finished runs yet — go to Experiment" in texts_of(at.info)


# ----- populated -----
def test_suggestions_table_and_dendrogram_from_finished_runs(filled_copy):
    at = open_page()
    assert not at.exception
    suggestions = at.dataframe[0].value
    assert list(suggestions.columns) == ["classes", "confusion", "confused as", "macro-F1 gain (predicted − unmerged)"]
    assert suggestions["confused as"].str.contains("→").all()
    assert "predicted − unmerged" in texts_of(at.caption)
    # ordinal labels: only neighbours are suggested, never bad + good
    assert set(suggestions["classes"]) <= {"bad + ok", "ok + good", "bad + ok + good"}
    assert "bad + good" not in set(suggestions["classes"])
    assert len(at.get("plotly_chart")) >= 2  # the dendrogram and the effect bars
    tree = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]
    assert sorted(tree["ticktext"]) == ["bad", "good", "ok"]
    low, high = tree["range"]
    assert low < min(tree["tickvals"]) and max(tree["tickvals"]) < high  # no class label on the edge, hidden


def test_first_suggestions_gain_is_its_effect_tables_predicted_minus_unmerged(filled_copy):
    at = open_page()
    assert not at.exception
    first = at.dataframe[0].value.iloc[0]
    assert by_label(at.multiselect, "Classes to merge").value == first["classes"].split(" + ")  # its effect is shown
    effect = at.dataframe[1].value
    macro = effect[(effect["metric"] == "macro_f1") & (effect["class"] == "")]
    assert first["macro-F1 gain (predicted − unmerged)"] == pytest.approx(macro["predicted − unmerged"].item())


def test_symmetric_confusion_view_replaces_the_dendrogram(filled_copy):
    at = open_page()
    by_label(at.radio, "Show").set_value("Symmetric confusion").run()
    assert not at.exception
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["data"][0]["type"] == "heatmap"


def test_predicted_effect_shows_unmerged_and_predicted_on_the_merged_labels(filled_copy):
    at = open_page()
    start = by_label(at.selectbox, "Start from")
    start.set_value("(choose the classes yourself)").run()
    by_label(at.multiselect, "Classes to merge").set_value(["ok", "good"]).run()
    by_label(at.text_input, "Name of the merged class").input("positive").run()
    assert not at.exception
    effect = at.dataframe[1].value
    assert {"unmerged", "predicted", "predicted − unmerged"} <= set(effect.columns)
    assert "measured" not in effect.columns  # nothing retrained yet
    assert set(effect["class"]) == {"", "bad", "positive"}
    assert effect.loc[effect["metric"] == "macro_f1", "predicted"].between(0, 1).all()


def test_non_adjacent_ordinal_merge_shows_the_validation_message(filled_copy):
    at = open_page()
    by_label(at.selectbox, "Start from").set_value("(choose the classes yourself)").run()
    by_label(at.multiselect, "Classes to merge").set_value(["bad", "good"]).run()
    assert not at.exception
    message = texts_of(at.error)
    assert "non-adjacent" in message and "merge only neighbours" in message
    assert not [b for b in at.button if b.label == "Train this merge"]


def test_train_this_merge_submits_an_experiment_with_merge_recipes(filled_copy):
    store = Store(filled_copy["root"])
    before = {e["id"] for e in store.experiments()}
    at = open_page()
    by_label(at.selectbox, "Recipe").set_value("class_weight").run()
    by_label(at.selectbox, "Start from").set_value("(choose the classes yourself)").run()
    by_label(at.multiselect, "Classes to merge").set_value(["bad", "ok"]).run()
    by_label(at.text_input, "Name of the merged class").input("low").run()
    by_label(at.button, "Train this merge").click().run()
    assert not at.exception
    new = [e for e in store.experiments() if e["id"] not in before]
    assert len(new) == 1
    spec, source = new[0]["spec"], store.experiment(filled_copy["experiment_id"])["spec"]
    mapping = {"bad": "low", "ok": "low"}
    assert set(spec["recipes"]) == {"baseline", f"merge(mapping={json.dumps(mapping, separators=(',', ':'))})",
                                    f"class_weight+merge(mapping={json.dumps(mapping, separators=(',', ':'))})"}
    assert (spec["seeds"], spec["settings"], spec["dataset_id"]) == (source["seeds"], source["settings"],
                                                                      source["dataset_id"])
    queued = {r.recipe for r in store.runs(experiment=new[0]["id"]) if r.status == "queued"}
    assert queued == set(spec["recipes"]) - {"baseline"}  # baseline and references reuse finished runs
    assert f"Queued experiment #{new[0]['id']}" in texts_of(at.success)


def test_measured_effect_appears_beside_predicted_when_the_merge_has_trained(filled_copy):
    from conftest import run_queued

    store = Store(filled_copy["root"])
    at = open_page()
    by_label(at.multiselect, "Classes to merge").set_value(["bad", "ok"]).run()
    by_label(at.button, "Train this merge").click().run()
    run_queued(store)
    at.run()
    assert not at.exception
    effect = at.dataframe[1].value
    assert {"unmerged", "predicted", "measured", "measured − predicted"} <= set(effect.columns)
    assert effect["measured"].notna().all()
    assert "Measured by experiment #" in texts_of(at.success)


# ----- core.results.merge_effects -----
def test_group_name_of_another_class_is_refused():
    with pytest.raises(InputError, match="already the name of another class"):
        build_mapping(["bad", "ok"], "good", ("bad", "ok", "good"), ordinal=True)


def test_group_name_defaults_to_the_joined_classes():
    assert build_mapping(["ok", "bad"], "  ", ("bad", "ok", "good"), ordinal=True) == {"bad": "bad+ok",
                                                                                      "ok": "bad+ok"}


def test_merge_recipe_appends_a_json_merge_step():
    text = merge_recipe("class_weight(scheme=balanced)", {"b": "x", "a": "x"})
    steps = parse_recipe(text).steps
    assert [s.name for s in steps] == ["class_weight", "merge"]
    assert dict(steps[1].params)["mapping"] == {"a": "x", "b": "x"}
    assert merge_recipe("baseline", {"a": "x"}) == 'merge(mapping={"a":"x"})'


def test_unmerged_numbers_are_the_decided_predictions_mapped_onto_the_groups(filled_workspace):
    store = Store(filled_workspace["root"])
    inputs = merge_inputs(store, filled_workspace["experiment_id"], "baseline")
    mapping = {"bad": "low", "ok": "low"}
    table = predicted_per_seed(inputs, mapping)
    seed = inputs.seeds[0]
    merged_true = np.where(seed.y_true == 2, 1, 0)
    merged_pred = np.where(seed.y_pred == 2, 1, 0)
    accuracy = table.query("source == 'unmerged' and metric == 'accuracy' and seed == @seed.seed")["value"].item()
    assert accuracy == pytest.approx(float(np.mean(merged_true == merged_pred)))


def test_merged_recipes_are_not_offered_for_merging(filled_copy):
    store = Store(filled_copy["root"])
    assert mergeable_recipes(store, filled_copy["experiment_id"]) == ["baseline", "class_weight"]
    inputs = merge_inputs(store, filled_copy["experiment_id"], "baseline")
    assert merge_effect(store, inputs, {"ok": "hi", "good": "hi"}).merged_names == ("bad", "hi")

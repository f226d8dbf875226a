"""Predict page (AppTest): requests go into the store; the worker side answers them."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.jobs.predict_service import answer_request
from core.jobs.predictions import request_prediction
from core.jobs.store import Store
from tests.apptest_pages import by_label, page_app, texts_of

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/predict.py"
TEXTS = ["lovely perfect fabric", "awful broken refund", "=cmd|' /C calc'!A0"]


def open_page(page: str = PAGE) -> AppTest:
    return page_app(page).run()


def requests(store: Store) -> list[dict]:
    with store.connect() as db:
        rows = db.execute("SELECT id, status, request FROM predictions ORDER BY id").fetchall()
    return [{"id": r["id"], "status": r["status"], **json.loads(r["request"])} for r in rows]


def test_empty_workspace_says_there_are_no_experiments(empty_workspace):
    at = open_page()
    assert not at.exception
    assert "No experiments yet" in texts_of(at.info)
    assert not at.button


def test_experiment_without_finished_runs_says_go_to_experiment(unfinished_experiment):
    at = open_page()
    assert not at.exception
    assert "No finished runs yet — go to Experiment" in texts_of(at.info)


def test_only_lstm_recipes_with_finished_runs_are_offered(filled_copy):
    at = open_page()
    assert by_label(at.multiselect, "Recipes").options == ["baseline", "class_weight"]
    by_label(at.button, "Predict").click().run()  # no texts yet
    assert "Type at least one text" in texts_of(at.warning)
    assert not requests(Store(filled_copy["root"]))


def test_predict_writes_a_request_into_the_store_and_says_how_to_start_the_worker(filled_copy):
    store = Store(filled_copy["root"])
    at = open_page()
    by_label(at.text_area, "One text per line").input("\n".join(["  " + TEXTS[0], "", TEXTS[1]])).run()
    by_label(at.multiselect, "Recipes").set_value(["class_weight"]).run()
    by_label(at.button, "Predict").click().run()
    assert not at.exception
    [request] = requests(store)
    assert request["status"] == "queued"
    assert request == {"id": request["id"], "status": "queued", "experiment_id": filled_copy["experiment_id"],
                       "recipes": ["class_weight"], "texts": TEXTS[:2]}
    assert at.query_params["prediction"] == str(request["id"])
    # no worker runs in tests, so the page says so and how to start one
    assert "python -m core worker" in texts_of(at.warning)


def test_no_answer_after_a_minute_stops_waiting_with_the_worker_command(filled_copy):
    store = Store(filled_copy["root"])
    request_id = request_prediction(store, filled_copy["experiment_id"], ["baseline"], TEXTS[:1])
    at = page_app(PAGE)
    at.query_params["prediction"] = str(request_id)
    at.session_state[f"_prediction_asked_{request_id}"] = time.time() - 120
    at.run()
    assert not at.exception
    warning = texts_of(at.warning)
    assert "No answer after 60 s" in warning and "python -m core worker" in warning
    assert by_label(at.button, "Check again")


def test_answered_request_shows_each_recipes_class_and_probabilities(filled_copy):
    store = Store(filled_copy["root"])
    request_id = request_prediction(store, filled_copy["experiment_id"], ["baseline", "class_weight"], TEXTS)
    answer_request(store, request_id, {})  # what the worker's prediction process does
    at = page_app(PAGE)
    at.query_params["prediction"] = str(request_id)
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["text", "baseline", "baseline · p", "class_weight", "class_weight · p"]
    assert table["text"].tolist() == TEXTS
    assert set(table["baseline"]) <= {"bad", "ok", "good"}
    assert table["class_weight · p"].between(0, 1).all()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in figure["data"]] == ["baseline", "class_weight"]
    assert by_label(at.get("download_button"), "Download predictions (CSV)")


def test_failed_request_shows_its_message(filled_copy):
    store = Store(filled_copy["root"])
    request_id = request_prediction(store, filled_copy["experiment_id"], ["ref:tfidf_lr"], TEXTS[:1])
    answer_request(store, request_id, {})
    at = page_app(PAGE)
    at.query_params["prediction"] = str(request_id)
    at.run()
    assert "pick an LSTM recipe" in texts_of(at.error)


def test_export_writes_a_bundle_into_exports_and_shows_the_cli_command(filled_copy):
    store = Store(filled_copy["root"])
    at = open_page()
    by_label(at.selectbox, "Recipe to export").set_value("class_weight").run()
    by_label(at.button, "Export bundle").click().run()
    assert not at.exception
    [bundle] = list((store.root / "exports").glob("*.zip"))
    with zipfile.ZipFile(bundle) as zf:
        assert json.loads(zf.read("manifest.json"))["recipe"] == "class_weight"
    assert by_label(at.get("download_button"), "Download bundle (.zip)")
    assert f"python -m core predict {bundle}" in texts_of(at.code)

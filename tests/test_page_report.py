"""Report page (AppTest): three downloads of a finished experiment."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.jobs.store import Store
from tests.apptest_pages import page_app, texts_of

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/report.py"


def open_page(page: str = PAGE) -> AppTest:
    return page_app(page).run()


def test_empty_workspace_says_there_are_no_experiments(empty_workspace):
    at = open_page()
    assert not at.exception
    assert "No experiments yet" in texts_of(at.info)
    assert not at.get("download_button")


def test_experiment_without_finished_runs_offers_no_download(unfinished_experiment):
    at = open_page()
    assert not at.exception
    assert "No finished runs yet — go to Experiment" in texts_of(at.info)
    assert not at.get("download_button")


def test_finished_experiment_offers_html_csv_and_json(filled_copy):
    at = open_page()
    assert not at.exception
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == ["HTML report", "Metrics (CSV)", "Metrics (JSON)"]
    board = at.html[0].value
    assert board.index("class_weight") < board.index("References — shown for context, never tested") \
        < board.index("ref:majority") and ">ref:tfidf_lr<" in board
    assert any("On macro-F1, the" in m.value.replace("\\", "") for m in at.markdown)


def test_runs_without_a_result_are_said_to_be_waiting_or_cancelled(filled_copy):
    store = Store(filled_copy["root"])
    run = next(r for r in store.runs(experiment=filled_copy["experiment_id"]) if r.recipe == "class_weight")
    store.delete_run(run.id)
    store.add_run(experiment_id=filled_copy["experiment_id"], recipe="class_weight", seed=run.seed,
                  fingerprint="not-trained-yet")
    store.cancel(store.add_run(experiment_id=filled_copy["experiment_id"], recipe="class_weight", seed=7,
                               fingerprint="cancelled before training"))
    at = open_page()
    assert texts_of(at.warning) == ("1 run is waiting in the queue and 1 run was cancelled; the report shows the "
                                    "9 finished runs only.")

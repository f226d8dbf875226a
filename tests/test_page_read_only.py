"""Read-only mode in the app (AppTest): every page says the workspace is read-only and offers no action that
changes it; predictions and downloads stay; an empty workspace is not given the built-in sample."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from streamlit.testing.v1 import AppTest

from core.jobs import lease
from core.jobs.experiments import add_seeds
from core.jobs.records import Status
from core.jobs.store import Store
from core.settings import READ_ONLY_ENV
from tests.apptest_pages import APP, texts_of

PAGES = ("pages/data.py", "pages/experiment.py", "pages/runs.py", "pages/compare.py", "pages/merge.py",
         "pages/predict.py", "pages/report.py")
# The labels of every widget that changes datasets, experiments or runs, on any page.
WRITE_ACTIONS = ("Use this dataset", "Load the sample", "Archive this dataset", "Rename", "Submit experiment",
                 "Cancel", "Re-queue", "Add seeds", "Train this merge")


def no_process(*args, **kwargs):
    raise AssertionError("the read-only app started a process")


def database_rows(store: Store) -> list[str]:
    with closing(sqlite3.connect(store.db_path)) as db:
        return list(db.iterdump())


def write_actions(at: AppTest) -> list[str]:
    """The labels of the write widgets the page shows (buttons, the "Add seeds" expander, a file uploader on
    the Data page)."""
    labels = [b.label for b in at.button] + [e.label for e in at.expander]  # form submit buttons are buttons too
    found = [label for label in labels if label.startswith(WRITE_ACTIONS)]
    return found + (["file uploader"] if at.get("file_uploader") and not at.get("text_area") else [])


def test_no_page_offers_a_write_action_and_the_store_stays_as_it_was(filled_copy, monkeypatch):
    store = Store(filled_copy["root"])
    # Something on every page that a writable workspace offers to change: queued runs (cancel), an interrupted
    # one (re-queue), room for more seeds (Add seeds), finished runs to merge (Train this merge).
    add_seeds(store, filled_copy["experiment_id"], 3)
    interrupted = store.claim_next(worker_pid=1)
    store.end_run(interrupted.id, Status.INTERRUPTED, "killed")
    before = database_rows(store)
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    monkeypatch.setenv("IMBALANCE_LAB_NO_AUTOSTART", "0")  # even so, a read-only app starts no worker
    monkeypatch.setattr(lease.subprocess, "Popen", no_process)

    at = AppTest.from_file(APP, default_timeout=60).run()  # the Data page, under the banner
    # (AppTest drops what app.py draws around a page it switched to; tests/e2e/test_read_only.py sees the banner
    # on every page in a browser)
    assert "This workspace is read-only" in texts_of(at.info)
    offered = {}
    for page in PAGES:
        if page != PAGES[0]:
            at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        offered[page] = write_actions(at)
        if page == "pages/predict.py":
            assert "Predictions need a worker already running" in texts_of(at.warning)
            assert [b.label for b in at.button] == ["Predict", "Export bundle"]  # predictions and bundles stay
        if page == "pages/report.py":
            assert len(at.get("download_button")) == 3  # HTML report, CSV, JSON
    assert offered == {page: [] for page in PAGES}
    assert database_rows(store) == before

    at.switch_page("pages/predict.py").run()  # asking for a prediction is allowed: a request row, nothing else
    at.text_area[0].input("lovely fabric").run()
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert store.waiting_prediction_requests() == 1


def test_an_empty_read_only_workspace_is_not_given_the_sample(empty_workspace, monkeypatch):
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.error
    assert "This read-only workspace has no datasets." in texts_of(at.info)
    assert Store(empty_workspace).datasets(include_archived=True) == []

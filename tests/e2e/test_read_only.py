"""Read-only mode in a real browser: an app started with ``IMBALANCE_LAB_READ_ONLY=1`` on the shared trained
workspace shows the read-only banner on every page and offers no action that changes the workspace."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
from playwright.sync_api import expect

from benchmarks.app import PAGES, start_app

# Buttons (and the "Add seeds" expander) that change datasets, experiments or runs, on any page.
WRITE_ACTION = re.compile(r"^\W*(Use this dataset|Load the sample|Archive this dataset|Rename|Submit experiment|"
                          r"Cancel|Re-queue|Add seeds|Train this merge)")


@pytest.fixture(scope="module")
def read_only_url(workspace, tmp_path_factory) -> Iterator[str]:
    """A second app on the shared workspace, served read-only."""
    app, url = start_app(workspace, tmp_path_factory.mktemp("read-only-logs"), IMBALANCE_LAB_READ_ONLY="1")
    yield url
    app.stop()
    print(f"--- streamlit log (tail) ---\n{app.tail(2000)}")


def test_every_page_of_a_read_only_app_offers_no_write_action(ui, read_only_url, dataset_id, finished_experiment):
    ui.open(f"{read_only_url}/?dataset={dataset_id}&experiment={finished_experiment}")
    for title in PAGES:
        ui.nav(title)
        expect(ui.main.locator("h1")).to_be_visible()
        ui.assert_no_traceback()
        expect(ui.main.get_by_text("This workspace is read-only")).to_be_visible()
        offered = [ui.main.get_by_role("button", name=WRITE_ACTION), ui.main.get_by_text(WRITE_ACTION),
                   ui.main.locator("[data-testid='stFileUploader']")]
        assert [o.count() for o in offered] == [0, 0, 0], title

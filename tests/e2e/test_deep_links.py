"""Deep links in a real browser: a server whose very first request is a page's own URL (a bookmark, or a tab that
reconnects after a restart) serves that page inside the app — its navigation and sidebar — not the bare page
script with every file of ``pages/`` listed as a page (what plain ``streamlit run app.py`` did; scripts/serve.py)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from benchmarks.app import PAGES, start_app


def test_a_fresh_servers_first_request_for_a_page_gets_the_apps_navigation(ui, workspace, dataset_id,
                                                                           finished_experiment, tmp_path):
    app, url = start_app(workspace, tmp_path)  # a new server: nothing has run app.py yet
    try:
        for path, title in (("runs", "Runs"), ("compare", "Compare")):
            ui.open(f"{url}/{path}?dataset={dataset_id}&experiment={finished_experiment}")
            expect(ui.main.locator("h1")).to_have_text(title)
            links = ui.page.locator("[data-testid='stSidebarNav'] a")
            titles = [re.sub(r"^\W*", "", t).strip() for t in links.all_inner_texts()]
            assert titles == list(PAGES), titles  # not app / common / compare / … from the pages/ folder
            expect(ui.page.locator("[data-testid='stSidebar']").get_by_text("Workspace", exact=True)).to_be_visible()
            ui.assert_no_traceback()
    finally:
        app.stop()

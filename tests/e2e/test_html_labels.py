"""Labels and texts carrying HTML render as text on every page, in a real
browser: no element is created from them, no script runs, no alert opens, and
the charts show the markup literally. The browser tests' shared dataset (see
conftest.py) has HTML class names, texts and name, and a finished experiment
trained on it (``finished_experiment``)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.shared import CLASSES, DATASET_NAME

BOLD = CLASSES[0]
PAGES = ("Data", "Experiment", "Runs", "Compare", "Merge explorer", "Predict", "Report")


def test_html_in_labels_and_texts_is_shown_as_text_on_every_page(ui, app_url, dataset_id, finished_experiment):
    assert BOLD == "<b>bold</b>" and DATASET_NAME.startswith("<u>")  # the markup the checks below look for
    dialogs: list[str] = []
    ui.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.open(f"{app_url}/?dataset={dataset_id}&experiment={finished_experiment}")
    for title in PAGES:
        ui.nav(title)
        expect(ui.main.locator("h1")).to_be_visible()
        ui.assert_no_traceback()
        # Nothing was parsed into elements, nothing ran.
        for selector in ("b", "i", "u", "em", "img[src='x']", "main script"):
            assert ui.main.locator(selector).count() == 0, f"{title}: a <{selector}> element came from data"
        assert ui.page.evaluate("window.__pwned") is None, title
    assert dialogs == []

    ui.nav("Data")
    chart = ui.main.locator(".js-plotly-plot").first
    expect(chart.locator(".xtick").first).to_have_text(BOLD)  # the axis shows the markup, not bold text
    expect(ui.main.get_by_role("heading", name=DATASET_NAME)).to_be_visible()

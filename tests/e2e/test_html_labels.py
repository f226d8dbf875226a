"""Labels and texts carrying HTML render as text on every page, in a real
browser: no element is created from them, no script runs, no alert opens, and
the charts show the markup literally. The workspace holds one tiny dataset
whose class names are HTML and one finished experiment trained on it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from playwright.sync_api import expect

from core.dataset import LabeledTexts
from core.pipeline import TrainSettings
from core.store import Store

BOLD = "<b>bold</b>"
CLASSES = (BOLD, "<img src=x onerror=window.__pwned=1>", "<script>window.__pwned=2</script>")
COUNTS = (30, 60, 150)
PAGES = ("Data", "Experiment", "Runs", "Compare", "Merge explorer", "Predict", "Report")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A finished 1-seed, 1-epoch baseline (+ references) on the HTML-labelled data, trained in this process."""
    from core.experiments import ExperimentSpec, submit
    from core.runner import execute_run

    root = tmp_path_factory.mktemp("e2e-html") / "workspace"
    store = Store(root)
    texts = [f"<i>item</i> {i} of class {k} <script>window.__pwned=3</script>"
             for k, n in enumerate(COUNTS) for i in range(n)]
    y = np.array([k for k, n in enumerate(COUNTS) for _ in range(n)])
    dataset_id = store.add_dataset(LabeledTexts(tuple(texts), y, CLASSES, name="<u>html labels"),
                                   name="<u>html labels")  # no "/": the store reads a name with one as a path
    settings = TrainSettings(epochs=1, patience=1, vocab_size=100, max_len=8, embedding_dim=2, units=2)
    submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=1, settings=settings,
                                 name="<em>html</em> experiment"))
    while (run := store.claim_next(os.getpid())) is not None:
        execute_run(store, run.id)
    assert {r.status for r in store.runs()} == {"finished"}
    return root


def test_html_in_labels_and_texts_is_shown_as_text_on_every_page(ui, app_url):
    dialogs: list[str] = []
    ui.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.open(app_url)
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
    expect(ui.main.get_by_role("heading", name="<u>html labels")).to_be_visible()

"""From a submitted experiment to its confusion matrices, in a real browser with
a real worker: Experiment → (Data and Compare while a run trains) → Runs until
every run finished → Compare, then a refresh. Tiny settings: 2 recipes
(baseline + class weights) × 1 seed, 1 epoch, the smallest layers, on the
browser tests' shared dataset (HTML in its labels, see conftest.py). The
experiment it trains is the shared finished experiment of the tests after it."""

from __future__ import annotations

import html as html_text
import re
import time

from playwright.sync_api import expect

from core.jobs.store import Status, Store
from tests.e2e.shared import COUNTS, DATASET_NAME, EXPERIMENT_NAME, RECIPES

TINY = {"Seeds": 1, "Epochs (max, early stopping)": 1, "LSTM units": 2, "Embedding size": 2, "Vocabulary size": 100,
        "Sequence length (0 = auto, 95th percentile)": 8}
FINISH_TIMEOUT_MS = 150_000


def tick(ui, label: str) -> None:
    ui.main.locator("[data-testid='stCheckbox']").get_by_text(label, exact=True).click()
    ui.wait()
    expect(ui.page.get_by_role("checkbox", name=label)).to_be_checked()


def set_number(ui, label: str, value: int) -> None:
    box = ui.page.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    ui.wait()
    expect(ui.page.get_by_role("spinbutton", name=label)).to_have_value(str(value))


def confusion_matrices(ui, n: int) -> dict[str, list[str]]:
    """The Compare page's confusion heatmaps (``n`` expected): title → cell labels."""
    plots = ui.main.locator(".js-plotly-plot")
    expect(plots).to_have_count(n)
    found = {}
    for plot in plots.all():
        expect(plot.locator(".heatmap-label")).to_have_count(len(COUNTS) ** 2)  # drawn: one label per cell
        title = plot.locator(".gtitle").text_content()
        assert title not in found, f"two matrices titled {title!r}"
        found[title] = [t.text_content() for t in plot.locator(".heatmap-label").all()]
    return found


def running_lstm(store: Store, run_ids: list[int]) -> int | None:
    """The id of an LSTM run whose training process has started, if any."""
    for run_id in run_ids:
        run = store.run(run_id)
        if run.status == Status.RUNNING.value and run.pid:
            return run_id
    return None


def test_experiment_from_submit_to_confusion_matrices(ui, app_url, workspace, dataset_id, worker,
                                                     trained_experiments):
    store = Store(workspace)
    before = {e["id"] for e in store.experiments()}
    ui.open(f"{app_url}/?dataset={dataset_id}")  # the Data page tests may have added other datasets
    ui.nav("Experiment")
    tick(ui, "Class weights")
    for label, value in TINY.items():
        set_number(ui, label, value)
    name = ui.page.get_by_role("textbox", name="Name (optional)")
    name.fill(EXPERIMENT_NAME)
    name.press("Enter")
    ui.wait()
    expect(ui.main).to_contain_text("Recipes: " + ", ".join(RECIPES))
    ui.screenshot("experiment")
    ui.page.get_by_role("button", name="Submit experiment").click()
    ui.wait()
    success = ui.main.locator("[data-testid='stAlertContentSuccess']")
    expect(success).to_contain_text(re.compile(r"Experiment #\d+ submitted"))
    ui.assert_no_traceback()

    (experiment_id,) = {e["id"] for e in store.experiments()} - before
    expect(success).to_contain_text(f"Experiment #{experiment_id} submitted")
    experiment = store.experiment(experiment_id)
    assert experiment["dataset_id"] == dataset_id and experiment["name"] == EXPERIMENT_NAME, experiment
    settings = experiment["spec"]["settings"]
    assert {k: settings[k] for k in ("epochs", "units", "embedding_dim", "vocab_size", "max_len")} == dict(
        epochs=1, units=2, embedding_dim=2, vocab_size=100, max_len=8), settings
    runs = store.runs(experiment=experiment_id)
    recipes = sorted({r.recipe for r in runs})
    assert set(RECIPES) <= set(recipes)
    assert len(runs) == len(recipes)  # one seed
    lstm = [r.id for r in runs if not r.recipe.startswith("ref:")]
    assert len(lstm) == 2

    # While an LSTM trains in the worker, the other pages still render.
    deadline = time.monotonic() + 90
    while (training := running_lstm(store, lstm)) is None:
        worker.check_alive()
        assert time.monotonic() < deadline, [(r.recipe, r.status, r.error) for r in runs]
        time.sleep(0.3)
    ui.nav("Data")
    expect(ui.main.get_by_role("heading", name=DATASET_NAME)).to_be_visible()
    expect(ui.main.locator(".js-plotly-plot .bartext")).to_have_count(len(COUNTS))
    ui.assert_no_traceback()
    ui.nav("Compare")
    expect(ui.main.get_by_role("heading", name="Compare")).to_be_visible()
    expect(ui.main).to_contain_text(re.compile(r"No finished runs yet|still running|waiting in the queue"))
    ui.assert_no_traceback()
    assert store.run(training).status == Status.RUNNING.value, "the run ended before the pages were checked"

    # The Runs page follows the runs to the end by itself (its fragment polls; no reload).
    ui.nav("Runs")
    status_line = ui.main.locator("[data-testid='stMarkdownContainer']").filter(
        has_text=re.compile(r"^\W+(queued|running|finished) \d"))  # e.g. "🕒 queued 1 · 🏃 running 2"
    expect(status_line.first).to_contain_text(re.compile("running|queued"))
    expect(status_line.first).to_have_text(f"✅ finished {len(runs)}", timeout=FINISH_TIMEOUT_MS)
    assert [r.status for r in store.runs(experiment=experiment_id)] == [Status.FINISHED.value] * len(runs)
    ui.assert_no_traceback()
    ui.screenshot("runs")

    # Compare: one confusion matrix per recipe; a refresh shows the same results.
    ui.nav("Compare")
    ui.page.get_by_role("radiogroup", name="View").get_by_role("radio", name="Confusion").click()
    ui.wait()
    matrices = confusion_matrices(ui, len(recipes))
    assert sorted(matrices) == recipes
    ui.assert_no_traceback()
    ui.screenshot("compare")

    ui.reload()
    expect(ui.page.get_by_role("radiogroup", name="View").get_by_role("radio", name="Confusion")).to_be_checked()
    assert confusion_matrices(ui, len(recipes)) == matrices
    ui.assert_no_traceback()
    trained_experiments["flow"] = experiment_id  # the shared finished experiment of the tests after this one


def test_after_training_merge_predict_and_html_report(ui, app_url, dataset_id, finished_experiment, worker,
                                                     tmp_path):
    """The pages that read a finished experiment (the test above's, or one
    trained by the ``finished_experiment`` fixture when that test did not run):
    merge suggestions, predictions from the worker's prediction service, and
    the HTML report downloaded through the browser."""
    ui.open(f"{app_url}/?dataset={dataset_id}&experiment={finished_experiment}")

    # Compare opens on the verdict and the leaderboard; with 1 seed no recipe can be tested, so every
    # recipe's mark is "n/a" and hovering it tells why (never ≈, ▲ or ▼).
    ui.nav("Compare")
    expect(ui.main.get_by_text(re.compile(r"^On macro-F1, the "))).to_be_visible()
    expect(ui.main).to_contain_text("With 1 seed the numbers have no meaningful intervals")
    na = ui.main.locator("table.leaderboard td[data-mark='n/a']").first
    expect(na).to_contain_text(re.compile(r"\(1 seed\) n/a \[1\]"))
    expect(na).to_have_attribute("title", re.compile("only 1 seed pairs with the baseline"))
    expect(ui.main.locator("table.leaderboard")).not_to_contain_text(re.compile("[▲▼≈]"))
    expect(ui.main.locator("ol.na-notes")).to_contain_text("a paired test needs 2")
    ui.assert_no_traceback()

    ui.nav("Merge explorer")
    expect(ui.main.get_by_role("heading", name="Suggestions")).to_be_visible()
    expect(ui.main.locator(".js-plotly-plot").first).to_be_visible()  # the dendrogram
    expect(ui.main.get_by_role("heading", name="Try a merge")).to_be_visible()
    ui.assert_no_traceback()
    ui.screenshot("merge")

    ui.nav("Predict")
    ui.page.get_by_role("textbox", name="One text per line").fill("awful broken refund\nlovely perfect great")
    ui.page.get_by_role("button", name="Predict", exact=True).click()
    ui.wait()
    expect(ui.main.get_by_role("heading", name=re.compile(r"Prediction #\d+"))).to_be_visible()
    # The answer comes from the worker's prediction process; the page polls until it is there.
    expect(ui.main.locator("[data-testid='stDataFrame']")).to_be_visible(timeout=FINISH_TIMEOUT_MS)
    expect(ui.main.get_by_role("button", name="Download predictions (CSV)")).to_be_visible()
    ui.assert_no_traceback()
    ui.screenshot("predict")

    ui.nav("Report")
    with ui.page.expect_download() as download:
        ui.page.get_by_role("button", name="HTML report").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    html = target.read_text(encoding="utf-8")
    assert target.suffix == ".html" and html.lstrip().lower().startswith("<!doctype html")
    assert html_text.escape(DATASET_NAME) in html and "baseline" in html and "class_weight" in html
    assert "Plotly.newPlot" in html and not re.search(r"<script[^>]+src=[\"']https?:", html)  # opens offline
    ui.assert_no_traceback()
    ui.screenshot("report")

"""The Compare page in a real browser, on the browser tests' shared finished
experiment (see conftest.py): clicking a confusion-matrix cell points the
cell reader at that cell and shows its texts, and the curves' legends leave
the axis titles uncovered."""

from __future__ import annotations

import numpy as np
from playwright.sync_api import expect

from core.jobs.store import Store
from core.results.compare import cell_rows, pooled, pooled_confusions
from core.results.experiment_results import experiment_results


def _boxes_overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def open_view(ui, app_url: str, dataset_id: str, experiment_id: int, view: str) -> None:
    ui.open(f"{app_url}/?dataset={dataset_id}&experiment={experiment_id}")
    ui.nav("Compare")
    ui.page.get_by_role("radiogroup", name="View").get_by_role("radio", name=view).click()
    ui.wait()


def test_clicking_a_confusion_cell_reads_the_texts_behind_it(ui, app_url, workspace, dataset_id, finished_experiment):
    store = Store(workspace)
    results = experiment_results(store, finished_experiment)
    cm, classes = pooled_confusions(store, results)["baseline"]
    n = len(classes)
    # The fullest cell other than the one the reader opens on (true = first class, predicted = second).
    true_i, pred_i = max((c for c in np.ndindex(n, n) if c != (0, 1)), key=lambda c: cm[c])
    hits = cell_rows(pooled(results, store, "baseline"), true_i, pred_i)
    assert hits and len(hits) == cm[true_i, pred_i]
    first_text = store.load_dataset(dataset_id).texts[hits[0][1]]

    open_view(ui, app_url, dataset_id, finished_experiment, "Confusion")
    expect(ui.main).to_contain_text(f"test texts (over all seeds): true {classes[0]} → predicted {classes[1]}")
    plot = ui.main.locator(".js-plotly-plot").filter(has=ui.page.locator(".gtitle", has_text="baseline")).first
    area = plot.locator(".nsewdrag").first.bounding_box()  # the cells' area: rows true (first on top), columns predicted
    x = area["x"] + (pred_i + 0.5) * area["width"] / n
    y = area["y"] + (true_i + 0.5) * area["height"] / n
    ui.page.mouse.move(x, y)
    ui.page.wait_for_timeout(200)  # plotly picks the point under the mouse on hover, then the click selects it
    ui.page.mouse.click(x, y)
    ui.wait()

    expect(ui.page.get_by_role("combobox", name="Recipe", exact=True)).to_have_value("baseline")
    expect(ui.page.get_by_role("combobox", name="True class", exact=True)).to_have_value(classes[true_i])
    expect(ui.page.get_by_role("combobox", name="Predicted class", exact=True)).to_have_value(classes[pred_i])
    expect(ui.main).to_contain_text(
        f"{len(hits)} test texts (over all seeds): true {classes[true_i]} → predicted {classes[pred_i]}")
    # The texts themselves: the data grid's accessible table (the grid draws on a canvas) holds the header and one
    # row per text, the first row being the first text of the cell.
    table = ui.main.locator("[data-testid='stDataFrame'] table[role='grid']")
    expect(table).to_have_attribute("aria-rowcount", str(min(len(hits), 200) + 1))
    expect(table.locator("[data-testid='glide-cell-2-0']")).to_have_text(first_text)
    # The clicked cell is outlined (its marker selected), the others stay invisible.
    plot = ui.main.locator(".js-plotly-plot").filter(has=ui.page.locator(".gtitle", has_text="baseline")).first
    opacities = plot.locator(".scatterlayer .point").evaluate_all("ps => ps.map(p => getComputedStyle(p).opacity)")
    assert sorted(opacities) == ["0"] * (n * n - 1) + ["1"], opacities
    ui.assert_no_traceback()


def test_curve_legends_leave_the_axis_titles_uncovered(ui, app_url, dataset_id, finished_experiment):
    open_view(ui, app_url, dataset_id, finished_experiment, "Curves")
    plots = ui.main.locator(".js-plotly-plot")
    expect(plots).to_have_count(4)  # PR, ROC, reliability, learning curves
    for plot in plots.all():
        expect(plot.locator(".legend")).to_have_count(1)
        legend = plot.locator(".legend .bg").bounding_box()
        titles = plot.locator(".xtitle, .x2title, .ytitle, .y2title")
        assert titles.count() >= 2
        for title in titles.all():
            box = title.bounding_box()
            assert not _boxes_overlap(legend, box), (title.text_content(), legend, box)
        for area in plot.locator(".nsewdrag").all():
            assert not _boxes_overlap(legend, area.bounding_box()), "the legend covers a plotting area"
    ui.assert_no_traceback()

"""A sweep from the Experiment form to its grouped plot on Compare, in a real browser with the real worker: the
training-settings sweep ``units=8|64`` (64 is the form's value, so that point is the baseline itself) on the browser
tests' shared dataset, 1 seed and 1 epoch — one LSTM run besides the baseline."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from benchmarks.processes import wait_for
from core.jobs.store import Status, Store
from tests.e2e.test_experiment_flow import set_number

FINISH_TIMEOUT_S = 150


def test_a_settings_sweep_is_counted_before_submit_and_its_points_plotted_together(ui, app_url, workspace, dataset_id,
                                                                                   worker):
    store = Store(workspace)
    before = {e["id"] for e in store.experiments()}
    ui.open(f"{app_url}/?dataset={dataset_id}")
    ui.nav("Experiment")
    set_number(ui, "Seeds", 1)
    set_number(ui, "Epochs (max, early stopping)", 1)
    sweep = ui.page.get_by_role("textbox", name="Sweep training settings (optional)")
    sweep.fill("units=8|64")
    sweep.press("Enter")
    ui.wait()
    expect(ui.main).to_contain_text("Sweep train(units=8|64): 2 recipes (one of them is the baseline, which runs "
                                    "anyway) × 1 seed = 1 run, about")
    expect(ui.main).to_contain_text("Recipes: baseline, train(units=8)")
    ui.page.get_by_role("button", name="Submit experiment").click()
    ui.wait()
    expect(ui.main.locator("[data-testid='stAlertContentSuccess']")).to_contain_text(
        re.compile(r"Experiment #\d+ submitted"))
    (experiment_id,) = {e["id"] for e in store.experiments()} - before
    wait_for(lambda: worker.check_alive() or all(r.status.ended for r in store.runs(experiment=experiment_id)),
             FINISH_TIMEOUT_S, "the sweep's runs to end", every=0.3)
    runs = store.runs(experiment=experiment_id)
    assert all(r.status == Status.FINISHED for r in runs), [(r.recipe, r.status, r.error) for r in runs]

    ui.nav("Compare")
    expect(ui.main.get_by_role("heading", name="Sweeps")).to_be_visible()
    plot = ui.main.locator(".js-plotly-plot").filter(
        has=ui.page.locator(".gtitle", has_text="Sweep train(units=8|64)"))
    expect(plot).to_have_count(1)
    expect(plot.locator(".legendtext")).to_contain_text(["test macro-F1", "validation macro-F1",
                                                         "best on test", "chosen by validation"])
    expect(ui.main).to_contain_text("Choose on validation")
    ui.assert_no_traceback()

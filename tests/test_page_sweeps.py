"""AppTest: a sweep on the Experiment page (its recipes, runs and time before submit; the cap refused as an error)
and on Compare (its points together: the plot against the swept value, validation beside test, the note)."""

from __future__ import annotations

import json

from core.jobs.store import Store
from tests.apptest_pages import page_app, texts_of
from tests.conftest import labeled
from tests.run_states import sweep_experiment


def test_a_sweep_says_its_runs_and_time_before_submit_is_refused_over_the_cap_and_submits(empty_workspace,
                                                                                          monkeypatch):
    store = Store(empty_workspace)
    store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    at = page_app("pages/experiment.py").run()
    at.text_area(key="form.extra").input("focal(gamma=0.5|2)").run()
    at.text_input(key="form.sweep").input("units=8|16").run()
    assert not at.exception and not at.error
    said = texts_of(at.markdown)
    assert "Sweep `focal(gamma=0.5|2)+train(units=8|16)`: 4 recipes × 5 seeds = 20 runs, about" in said
    assert "Sweep `train(units=8|16)`: 2 recipes × 5 seeds = 10 runs, about" in said
    assert at.info[0].value.startswith("50 runs (7 recipes + 3 references × 5 seeds) · about ")

    monkeypatch.setenv("IMBALANCE_LAB_MAX_SWEEP_RECIPES", "5")
    at.run()
    assert any("the sweeps make 6 recipes (30 runs at 5 seeds), more than the cap of 5" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Submit experiment").disabled

    monkeypatch.delenv("IMBALANCE_LAB_MAX_SWEEP_RECIPES")
    at.number_input(key="form.seeds").set_value(1).run()
    next(b for b in at.button if b.label == "Submit experiment").click().run()
    assert not at.exception
    (experiment,) = store.experiments()
    assert [g["source"] for g in experiment["spec"]["sweeps"]] == ["train(units=8|16)",
                                                                   "focal(gamma=0.5|2)+train(units=8|16)"]
    assert len(store.runs(experiment=experiment["id"])) == 7 + 3


def test_compare_shows_a_sweeps_points_together_with_its_plot_and_the_validation_choice(empty_workspace):
    sweep_experiment(Store(empty_workspace))
    at = page_app("pages/compare.py").run()
    assert not at.exception
    assert "Sweeps" in [h.value for h in at.subheader]
    (chart,) = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    assert figure["layout"]["title"]["text"] == "Sweep focal(gamma=0.5|1|2)"
    assert [t["name"] for t in figure["data"]] == ["test macro-F1 (mean, 95% interval)", "validation macro-F1 (mean)",
                                                   "★ best on test (optimistic)", "◆ chosen by validation"]
    table = at.dataframe[0].value
    assert table["recipe"].tolist() == ["focal(gamma=0.5)", "focal(gamma=1.0)", "focal(gamma=2.0)"]
    assert table["gamma"].tolist() == ["0.5", "1", "2"] and "validation macro-F1" in table
    assert any("optimistic" in c.value and "Choose on validation" in c.value for c in at.caption)

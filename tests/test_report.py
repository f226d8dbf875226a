"""Exports: the self-contained HTML report, metrics CSV/JSON, prediction tables."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import labeled

from core.jobs.experiments import ExperimentSpec, submit
from core.jobs.predict_service import answer_request
from core.jobs.predictions import prediction_result, request_prediction
from core.jobs.store import Status, Store
from core.results.report import (
    build_html_report,
    export_name,
    metrics_csv,
    metrics_frame,
    metrics_json,
    neutralise,
    predictions_csv,
    predictions_long,
    predictions_wide,
    safe_csv,
)
from core.settings import TrainSettings

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A dataset whose class names are HTML and a spreadsheet formula, with
    finished reference runs (the LSTM runs are cancelled: nothing here needs them)."""
    from core.jobs.runner import execute_run

    store = Store(tmp_path_factory.mktemp("hostile") / "workspace")
    data = labeled({SCRIPT: 40, FORMULA: 40, "plain": 80})
    dataset_id = store.add_dataset(data, name="<b onclick=alert(3)>evil dataset")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, seeds=2, settings=TrainSettings(epochs=1),
                                                 name="<img src=x onerror=alert(2)>"))
    while (run := store.claim_next(os.getpid())) is not None:
        if run.recipe.startswith("ref:"):
            execute_run(store, run.id)
        else:
            store.end_run(run.id, Status.CANCELLED, "not needed")
    return store, experiment_id


@pytest.fixture(scope="module")
def filled_report(filled_workspace) -> str:
    return build_html_report(Store(filled_workspace["root"]), filled_workspace["experiment_id"])


# ----- HTML -----
def test_report_has_the_leaderboard_with_every_recipe_every_metric_and_marks(filled_report):
    board = re.search(r'<table class="leaderboard">.*?</table>', filled_report, re.S)
    assert board is not None
    rows = re.findall(r'<tr(?: class="\w+")?><td>([^<]*)', board.group(0))
    assert {r.strip() for r in rows[:2]} == {"baseline", "class_weight"}  # LSTM recipes first, best on top
    assert {"ref:majority", "ref:stratified", "ref:tfidf_lr"} <= {r.strip() for r in rows}
    for header in ("macro-F1", "balanced accuracy", "minority recall", "worst-class recall", "PR-AUC", "MCC", "MAE",
                   "macro MAE", "QWK"):  # every headline metric: the table is never cut off
        assert re.search(rf'<th title="[^"]+">{re.escape(header)}</th>', board.group(0)), header
    # 2 seeds: no interval, and class_weight's marks are those of a real paired test (≈, ▲ or ▼) or n/a
    assert re.search(r"\d\.\d{3} \(2 seeds\) [▲▼≈]", board.group(0))
    assert "±" not in board.group(0)


def test_report_holds_spec_profile_statistics_note_and_figures(filled_report):
    assert "<h2>Experiment</h2>" in filled_report and "training: epochs" in filled_report
    assert "<h2>Dataset</h2>" in filled_report and "imbalance ratio" in filled_report
    assert "This experiment has 2 seeds" in filled_report and "(this experiment: 2 seeds" in filled_report
    assert "With 3 seeds" not in filled_report and "only large effects" not in filled_report
    assert filled_report.index("<h2>Verdict</h2>") < filled_report.index("<h2>Leaderboard</h2>") \
        < filled_report.index("<h2>Experiment</h2>")
    assert "Per-class recall, precision and F1" in filled_report
    # one confusion matrix per recipe with finished runs, side by side in a grid
    grid = filled_report[filled_report.index('<div class="grid">'):]
    assert grid.count('class="plotly-graph-div"') == 5


def test_report_is_self_contained_with_plotly_embedded_once(filled_report):
    assert filled_report.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", filled_report)  # nothing fetched from a CDN
    assert not re.search(r"<link[^>]+href=", filled_report)
    assert filled_report.count("plotly.js v") == 1  # the library's banner: embedded exactly once


def test_class_and_dataset_names_are_escaped_in_the_report(hostile):
    store, experiment_id = hostile
    report = build_html_report(store, experiment_id)
    assert SCRIPT not in report and "alert(1)</script>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # shown as text in the class table
    assert "<b onclick" not in report and "&lt;b onclick=alert(3)&gt;evil dataset" in report
    assert "<img src=x" not in report
    # script tags are only plotly's own: the library and one call per figure
    assert report.count("<script") == report.count("</script>")
    assert report.count("<script") == 2 + report.count('class="plotly-graph-div"')


def spec_rows(report: str) -> dict[str, str]:
    """The report's experiment table, field → value (as HTML text)."""
    section = report[report.index("<h2>Experiment</h2>"):report.index("<h2>Dataset</h2>")]
    return {html.unescape(field): html.unescape(value)
            for field, value in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", section)}


def test_the_report_says_a_split_column_fixes_the_test_set_instead_of_a_test_share(tmp_path):
    from dataclasses import replace

    store = Store(tmp_path / "workspace")
    data = labeled({"bad": 20, "good": 40})
    parts = np.where(np.arange(60) % 4 == 0, 2, 0)  # every 4th row is a test row, the rest train
    dataset_id = store.add_dataset(replace(data, parts=parts), name="with a split column")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, seeds=1, test_share=0.2,
                                                 validation_share=0.1))
    rows = spec_rows(build_html_report(store, experiment_id))
    assert rows["test set"] == "fixed by the split column (15 rows)"
    assert rows["validation set"] == "10% of the split column's training rows, drawn per seed"
    assert "test share" not in rows  # the spec's 0.2 does not apply


# ----- CSV / JSON -----
def test_metrics_csv_is_long_form_with_one_row_per_run_and_metric(filled_workspace):
    store = Store(filled_workspace["root"])
    frame = pd.read_csv(io.StringIO(metrics_csv(store, filled_workspace["experiment_id"])), keep_default_na=False)
    assert list(frame.columns) == ["experiment_id", "run_id", "recipe", "seed", "scope", "class", "metric", "value"]
    finished = [r.id for r in store.runs(experiment=filled_workspace["experiment_id"]) if r.status == "finished"]
    assert sorted(frame["run_id"].unique()) == sorted(finished)
    assert not frame.duplicated(["run_id", "scope", "class", "metric"]).any()
    row = frame[(frame["recipe"] == "baseline") & (frame["seed"] == 0) & (frame["metric"] == "macro_f1")]
    # the test rows' macro-F1, and the validation rows' (what choosing between recipes may look at)
    assert sorted(row["scope"]) == ["overall", "validation"] and row["class"].tolist() == ["", ""]
    assert all(0 <= v <= 1 for v in row["value"])
    assert set(frame.loc[frame["scope"] == "class", "class"]) == {"bad", "ok", "good"}


def test_metrics_csv_neutralises_formula_class_names(hostile):
    store, experiment_id = hostile
    cells = [cell for row in csv.reader(io.StringIO(metrics_csv(store, experiment_id))) for cell in row]
    assert "'" + FORMULA in cells
    assert FORMULA not in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@")) or (c.startswith("-") and not _number(c))]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_safe_csv_neutralises_every_formula_start():
    frame = pd.DataFrame({"text": ["=1+2", "+1", "-1+A1", "@SUM(A1)", "\tx", "fine"], "n": [1, 2, 3, 4, 5, 6]})
    cells = list(csv.reader(io.StringIO(safe_csv(frame))))
    assert [row[0] for row in cells[1:]] == ["'=1+2", "'+1", "'-1+A1", "'@SUM(A1)", "'\tx", "fine"]
    assert neutralise(-1.5) == -1.5  # numbers stay numbers


def test_metrics_json_has_runs_and_leaderboard_without_nan(filled_workspace):
    store = Store(filled_workspace["root"])
    text = metrics_json(store, filled_workspace["experiment_id"])
    payload = json.loads(text)  # strict: NaN would not be valid JSON for most readers
    assert "NaN" not in text
    assert payload["dataset"]["classes"] == ["bad", "ok", "good"]
    assert {r["recipe"] for r in payload["runs"]} >= {"baseline", "class_weight", "ref:tfidf_lr"}
    run = next(r for r in payload["runs"] if r["recipe"] == "baseline")
    assert 0 <= run["overall"]["macro_f1"] <= 1 and set(run["per_class"]) == {"bad", "ok", "good"}
    assert 0 <= run["validation"]["macro_f1"] <= 1
    reference = next(r for r in payload["runs"] if r["recipe"] == "ref:tfidf_lr")
    assert reference["validation"] == {}  # references are never chosen between: no validation score
    board = {r["recipe"]: r for r in payload["leaderboard"]}
    assert board["baseline"]["macro_f1"]["mark"] == "baseline"
    assert board["class_weight"]["macro_f1"]["mark"] in {"better", "worse", "indistinguishable"}
    assert board["ref:majority"]["macro_f1"]["mark"] == "reference"


def test_metrics_json_error_is_null_for_runs_without_one_beside_runs_with_one(hostile):
    """Regression: with pandas 3 a run's error string made the other runs' None
    a NaN, and metrics_json refused to write it ("Out of range float values")."""
    store, experiment_id = hostile
    runs = json.loads(metrics_json(store, experiment_id))["runs"]
    assert {r["error"] for r in runs if r["status"] == "cancelled"} == {"not needed"}
    assert {r["error"] for r in runs if r["status"] == "finished"} == {None}


def test_metrics_frame_is_empty_without_finished_runs(tmp_path):
    store = Store(tmp_path / "workspace")
    dataset_id = store.add_dataset(labeled({"a": 20, "b": 20}), name="queued only")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, seeds=1, settings=TrainSettings(epochs=1)))
    frame = metrics_frame(store, experiment_id)
    assert frame.empty and "class" in frame.columns
    assert metrics_csv(store, experiment_id).strip() == "experiment_id,run_id,recipe,seed,scope,class,metric,value"
    assert "No finished runs yet" in build_html_report(store, experiment_id)


def test_export_names_are_safe_and_distinct():
    a = export_name(3, 'class_weight+merge(mapping={"a":"x","b":"x"})', "zip")
    b = export_name(3, 'class_weight+merge(mapping={"a":"x","c":"x"})', "zip")
    assert a != b and a.endswith(".zip") and re.fullmatch(r"[A-Za-z0-9._-]+", a)
    assert "/" not in export_name(1, "../../etc/passwd", "html")


# ----- predictions -----
def test_answer_request_format_and_prediction_tables(filled_copy):
    store = Store(filled_copy["root"])
    texts = ["lovely perfect", "awful refund broken", "=1+2 fine"]
    request_id = request_prediction(store, filled_copy["experiment_id"], ["baseline", "class_weight"], texts)
    answer_request(store, request_id, {})
    answer = prediction_result(store, request_id)
    assert answer["status"] == "finished" and answer["error"] is None
    assert [a["recipe"] for a in answer["result"]] == ["baseline", "class_weight"]
    for item in answer["result"]:
        assert set(item) == {"recipe", "classes", "proba", "predicted"}
        assert item["classes"] == ["bad", "ok", "good"]
        proba = np.asarray(item["proba"])
        assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-4)
        assert set(item["predicted"]) <= set(item["classes"]) and len(item["predicted"]) == 3

    long = predictions_long(texts, answer["result"])
    assert len(long) == 2 * 3 * 3 and long.groupby(["recipe", "text_index"])["predicted"].sum().eq(1).all()
    wide = predictions_wide(texts, answer["result"])
    assert list(wide.columns) == ["text", "baseline", "baseline · p", "class_weight", "class_weight · p"]
    cells = [row[1] for row in csv.reader(io.StringIO(predictions_csv(texts, answer["result"])))]
    assert "'=1+2 fine" in cells and "=1+2 fine" not in cells


def test_the_report_shows_each_sweep_as_compare_does_and_no_sweep_section_without_one(tmp_path, filled_report,
                                                                                       monkeypatch):
    from core.results import compare
    from tests.run_states import sweep_experiment

    store = Store(tmp_path / "workspace")
    monkeypatch.setattr(compare, "pooled_confusions", lambda *_: {})  # made-up runs: scores, no predictions
    report = build_html_report(store, sweep_experiment(store))
    section = report[report.index("<h2>Sweeps</h2>"):report.index("<h2>Experiment</h2>")]
    assert report.index("<h2>Leaderboard</h2>") < report.index("<h2>Sweeps</h2>")
    assert "<h3>focal(gamma=0.5|1|2)</h3>" in section and section.count('class="plotly-graph-div"') == 1
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td>", section)
    assert [r[1] for r in rows] == ["focal(gamma=0.5)", "focal(gamma=1.0)", "focal(gamma=2.0)"]
    # test favours gamma=2, validation gamma=1: both marked, and the note says which to trust
    assert rows[2][3].endswith("★") and rows[1][3].endswith("◆")
    assert "Choose on validation" in section
    assert "<h2>Sweeps</h2>" not in filled_report

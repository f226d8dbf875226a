"""Workspaces survive upgrades: ``tests/fixtures/workspace_v0`` was written by
the code before the restructure (see ``tests/fixtures/README.md`` for what is
in it). Every test works on a copy: opening a workspace writes to it."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.jobs.predictions import prediction_result
from core.jobs.run_files import load_predictions, load_result
from core.jobs.schema import SCHEMA_VERSION
from core.jobs.store import Store
from core.results.experiment_results import experiment_results
from core.results.leaderboard import build_leaderboard
from core.results.merge_effects import merge_effect, merge_inputs
from core.results.report import (
    build_html_report,
    metrics_csv,
    metrics_json,
    prediction_texts,
    predictions_csv,
)
from tests.apptest_pages import by_label, texts_of
from tests.test_boundaries import page_views, render

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "workspace_v0"
DATASET = "a727b4e2ffa4ad1d"
CLASSES = ["bad", "poor", "ok", "good"]
MAPPING = {"bad": "negative", "poor": "negative"}
MERGED = 'merge(mapping={"bad":"negative","poor":"negative"})'

# The README's inventory: run id -> (experiment, recipe, seed, status, result_dir, reused_from)
RUNS = {
    1: (1, "ref:majority", 0, "finished", "runs/1", None),
    2: (1, "ref:stratified", 0, "finished", "runs/2", None),
    3: (1, "ref:tfidf_lr", 0, "finished", "runs/3", None),
    4: (1, "baseline", 0, "finished", "runs/4", None),
    5: (1, "class_weight", 0, "finished", "runs/5", None),
    6: (1, "threshold", 0, "interrupted", None, None),
    7: (1, "ref:majority", 1, "finished", "runs/7", None),
    8: (1, "ref:stratified", 1, "finished", "runs/8", None),
    9: (1, "ref:tfidf_lr", 1, "finished", "runs/9", None),
    10: (1, "baseline", 1, "finished", "runs/10", None),
    11: (1, "class_weight", 1, "failed", None, None),
    12: (1, "threshold", 1, "cancelled", None, None),
    13: (2, "ref:majority", 0, "finished", "runs/1", 1),
    14: (2, "ref:stratified", 0, "finished", "runs/2", 2),
    15: (2, "ref:tfidf_lr", 0, "finished", "runs/3", 3),
    16: (2, "baseline", 0, "finished", "runs/4", 4),
    17: (2, MERGED, 0, "finished", "runs/17", None),
    18: (2, "ref:majority", 1, "finished", "runs/7", 7),
    19: (2, "ref:stratified", 1, "finished", "runs/8", 8),
    20: (2, "ref:tfidf_lr", 1, "finished", "runs/9", 9),
    21: (2, "baseline", 1, "finished", "runs/10", 10),
    22: (2, MERGED, 1, "finished", "runs/22", None),
}
FINISHED = {run_id for run_id, row in RUNS.items() if row[3] == "finished"}


def copy_v0(target: Path) -> Path:
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return target


def user_version(workspace: Path) -> int:
    db = sqlite3.connect(workspace / "lab.sqlite")
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def v0(tmp_path) -> Path:
    """A fresh copy of the fixture, not opened yet."""
    return copy_v0(tmp_path / "workspace")


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory) -> Store:
    """One copy opened (so migrated) by the new Store, shared by the read-only tests."""
    return Store(copy_v0(tmp_path_factory.mktemp("upgraded") / "workspace"))


def test_the_fixture_is_untouched():
    """Nobody opened the fixture in place (that leaves -wal/-shm files and may migrate it)."""
    assert not list(FIXTURE.glob("lab.sqlite-*"))
    db = sqlite3.connect(f"file:{FIXTURE / 'lab.sqlite'}?mode=ro&immutable=1", uri=True)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    finally:
        db.close()


def test_a_v0_workspace_is_migrated_on_open_and_keeps_its_rows(v0):
    assert user_version(v0) == 0
    db = sqlite3.connect(v0 / "lab.sqlite")
    tables = ("datasets", "experiments", "runs", "metrics", "predictions")
    before = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    db.close()
    assert before["runs"] == len(RUNS) and before["metrics"] > 0

    store = Store(v0)
    assert store.opened_at_version == 0
    assert user_version(v0) == SCHEMA_VERSION
    assert store.integrity_ok()
    with store.connect() as conn:
        after = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert after == before
    assert "runs_experiment_recipe" in indexes  # migration 0 -> 1
    with store.connect() as conn:
        assert "serves" in {r[1] for r in conn.execute("PRAGMA table_info(worker_lease)")}  # migration 1 -> 2
    assert Store(v0).opened_at_version == SCHEMA_VERSION  # migrated once, not again


def test_every_run_keeps_its_status(upgraded):
    found = {r.id: (r.experiment_id, r.recipe, r.seed, str(r.status), r.result_dir, r.reused_from)
             for r in upgraded.runs()}
    assert found == RUNS
    assert upgraded.run(6).error.startswith("its worker stopped while it ran")
    assert upgraded.run(11).error.startswith("training failed: _Boom: fixture: simulated crash inside training")
    assert upgraded.run(12).error is None and upgraded.run(12).attempts == 0
    assert [d["id"] for d in upgraded.datasets()] == [DATASET]
    assert upgraded.dataset_info(DATASET)["classes"] == CLASSES


def test_every_finished_run_loads_its_result_and_predictions(upgraded):
    for run_id in sorted(FINISHED):
        run = upgraded.run(run_id)
        result = load_result(upgraded, run.result_dir)
        predictions = load_predictions(upgraded, run.result_dir)
        classes = ["negative", "ok", "good"] if run.recipe == MERGED else CLASSES
        assert result["recipe"] == run.recipe and result["seed"] == run.seed, run_id
        assert result["classes"] == classes, run_id
        n = len(predictions["y_true"])
        assert n > 0 and predictions["proba"].shape == (n, len(classes)), run_id
        assert np.allclose(predictions["proba"].sum(axis=1), 1, atol=1e-3), run_id


def test_experiment_results_of_both_experiments(upgraded):
    first = experiment_results(upgraded, 1)
    assert len(first.runs) == 12 and len(first.finished) == 9
    assert set(first.finished["recipe"]) == {"ref:majority", "ref:stratified", "ref:tfidf_lr", "baseline",
                                             "class_weight"}
    board = build_leaderboard(first)
    assert [r.recipe for r in board.rows] == ["baseline", "class_weight"]
    assert board.row("class_weight").cells["macro_f1"].mark == "n/a"  # 1 of its 2 seeds finished
    second = experiment_results(upgraded, 2)
    assert len(second.runs) == len(second.finished) == 10
    assert MERGED in set(second.finished["recipe"])


@pytest.mark.parametrize("experiment_id", [1, 2])
def test_html_report_and_metrics_of_both_experiments(upgraded, experiment_id):
    finished = {run_id for run_id in FINISHED if RUNS[run_id][0] == experiment_id}
    html = build_html_report(upgraded, experiment_id)
    assert upgraded.experiment(experiment_id)["name"].split(" ")[0] in html and "baseline" in html
    rows = list(csv.DictReader(io.StringIO(metrics_csv(upgraded, experiment_id))))
    assert {int(r["run_id"]) for r in rows} == finished
    text = metrics_json(upgraded, experiment_id)
    payload = json.loads(text)  # strict JSON: no NaN (experiment 1 has runs with and without errors)
    assert {r["run_id"]: r["status"] for r in payload["runs"]} == {
        run_id: row[3] for run_id, row in RUNS.items() if row[0] == experiment_id}
    errors = {r["run_id"]: r["error"] for r in payload["runs"]}
    if experiment_id == 1:
        assert errors[11].startswith("training failed") and errors[4] is None and errors[12] is None


def test_the_prediction_request_keeps_its_answer(upgraded):
    answer = prediction_result(upgraded, 1)
    assert answer["status"] == "finished" and answer["error"] is None
    (item,) = answer["result"]
    assert item["recipe"] == "baseline" and item["classes"] == CLASSES
    assert np.asarray(item["proba"]).shape == (4, 4) and len(item["predicted"]) == 4
    texts = prediction_texts(upgraded, 1)
    assert len(texts) == 4
    rows = list(csv.DictReader(io.StringIO(predictions_csv(texts, answer["result"]))))
    assert len(rows) == 4 * 4 and {r["text"] for r in rows} == set(texts)


def test_merge_effect_finds_the_merge_experiment(upgraded):
    inputs = merge_inputs(upgraded, 1, "baseline")
    assert list(inputs.classes) == CLASSES
    effect = merge_effect(upgraded, inputs, MAPPING)
    assert [(e.experiment_id, e.finished, e.total) for e in effect.experiments] == [(2, 2, 2)]
    assert set(effect.per_seed["source"]) >= {"unmerged", "predicted", "measured"}
    assert effect.merged_names == ("negative", "ok", "good")


def test_the_stored_dataset_and_splits_of_old_experiments_stay_readable(v0):
    """The fixture's dataset (stored before split parts; no split column) loads and profiles, and the splits
    its experiments cached under SPLIT_VERSION 1 still read: they hold the very test rows its runs scored,
    and the split today's worker gives those experiments' runs (drawn by split version 2, which they keep
    although new experiments draw by a later version) has the same rows, so runs added to those experiments
    stay paired by seed with the old ones."""
    from core.data.profile import compute_profile, parts_table
    from core.data.split import SPLIT_VERSION, read_split
    from core.jobs.experiments import ExperimentSpec
    from core.jobs.runner import task_for

    upgraded = Store(v0)
    data = upgraded.load_dataset(DATASET)
    assert len(data) == 220 and data.parts is None and data.fingerprint() == DATASET
    profile = compute_profile(data, test_share=0.2, validation_share=0.1)
    assert profile.parts.fixed == () and parts_table(profile)[-1] == {
        "class": "all", "train ≈": 154, "validation ≈10%": 22, "test ≈20%": 44}
    assert SPLIT_VERSION > 2 and ExperimentSpec.from_json(upgraded.experiment(1)["spec"]).split_version == 2
    for seed in (0, 1):
        old = read_split(upgraded.root / "splits" / f"{DATASET}-s{seed}-t0.2-v0.1-1.npz")
        assert old.n_rows() == len(data) and len(old.dropped) == 0
        for run in upgraded.runs(experiment=1, status="finished"):
            if run.seed == seed:
                predictions = load_predictions(upgraded, run.result_dir)
                assert np.array_equal(predictions["test_rows"], old.test), run.id
                assert np.array_equal(predictions["y_true"], data.y[old.test]), run.id
        new = task_for(upgraded, next(r.id for r in upgraded.runs(experiment=1) if r.seed == seed)).split
        assert (upgraded.root / "splits" / f"{DATASET}-s{seed}-t0.2-v0.1-2.npz").is_file()
        for part in ("train", "validation", "test"):
            assert np.array_equal(getattr(new, part), getattr(old, part)), (seed, part)


def test_the_data_page_shows_the_parts_of_the_upgraded_dataset(v0, monkeypatch):
    monkeypatch.setenv("IMBALANCE_LAB_WORKSPACE", str(v0))
    at = render("pages/data.py", {"dataset": DATASET})
    (table,) = [frame.value for frame in at.dataframe if "class" in frame.value.columns]
    assert list(table["class"]) == CLASSES + ["all"]
    assert list(table.columns) == ["class", "train ≈", "validation ≈10%", "test ≈20%"]
    assert table.iloc[-1, 1:].tolist() == [154, 22, 44]
    assert any("each seed draws test (20% of the rows)" in c.value for c in at.caption)


def test_every_page_renders_the_upgraded_workspace(v0, monkeypatch):
    monkeypatch.setenv("IMBALANCE_LAB_WORKSPACE", str(v0))
    for experiment_id in (1, 2):
        query = {"dataset": DATASET, "experiment": str(experiment_id)}
        for page, extra in page_views():
            at = render(page, {**query, **extra})
            pickers = [s.value for s in at.selectbox if s.label == "Experiment"]
            if page not in ("app.py", "pages/data.py", "pages/experiment.py"):  # pages with an experiment picker
                assert pickers == [experiment_id], (page, extra)  # the query chose it
            if page == "app.py":
                sidebar = texts_of(at.sidebar.text)
                assert "fixture reviews" in sidebar and f"#{experiment_id} " in sidebar, sidebar
    assert Store(v0).opened_at_version == SCHEMA_VERSION  # the pages migrated it

    query = {"dataset": DATASET, "experiment": "1"}
    at = render("pages/predict.py", {**query, "prediction": "1"})
    assert at.dataframe and "Prediction #1" in texts_of(at.subheader)
    at = render("pages/runs.py", query)
    by_label(at.selectbox, "Run").set_value(11).run()
    assert "_Boom" in texts_of(at.error) and "_Boom" in texts_of(at.code)
    at = render("pages/merge.py", query)
    assert by_label(at.selectbox, "Recipe").value == "baseline"
    by_label(at.multiselect, "Classes to merge").set_value(["bad", "poor"]).run()
    by_label(at.text_input, "Name of the merged class").input("negative").run()
    assert not at.exception and "Measured by experiment #2 (2 seeds)." in texts_of(at.success)


NEWER = "made by a newer Imbalance Lab"


def test_a_workspace_from_a_newer_version_is_refused_on_every_page(v0, monkeypatch):
    db = sqlite3.connect(v0 / "lab.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InputError, match=NEWER) as refused:
        Store(v0)
    assert "Update Imbalance Lab" in str(refused.value) and str(v0) in str(refused.value)
    assert user_version(v0) == SCHEMA_VERSION + 1  # left as it was

    monkeypatch.setenv("IMBALANCE_LAB_WORKSPACE", str(v0))
    for page in dict.fromkeys(page for page, _ in page_views()):  # app.py (sidebar first) and every page
        at = render(page, {}, clean=False)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert [e.value for e in at.error] == [str(refused.value)], page


OPEN_WHEN_TOLD = """
import sys, time
from pathlib import Path
from core.jobs.store import Store
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
print("opened", Store(sys.argv[1]).opened_at_version, flush=True)
"""


def test_two_processes_opening_a_v0_workspace_at_once_both_succeed(v0, tmp_path):
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_WHEN_TOLD, str(v0), str(go)], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()[-3000:]
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err[-3000:] for _, err in outputs]
    versions = sorted(int(out.split()[-1]) for out, _ in outputs)
    assert versions == [0, SCHEMA_VERSION]  # exactly one of them migrated
    store = Store(v0)
    assert store.opened_at_version == SCHEMA_VERSION and store.integrity_ok() and len(store.runs()) == len(RUNS)

"""core.results.compare and the Compare page's figures (core.results.figures),
on pooled predictions and histories built here (no training): clickable
confusion cells, curve legends with their areas, where legends sit, learning
curves over every seed, whole-epoch ticks, the default class of the curves
and the classes a filter keeps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from core.jobs.store import Store
from core.results import compare, figures
from core.results.experiment_results import ExperimentResults


def pooled(y_true, proba, classes=("spam", "ham")) -> compare.Pooled:
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    return compare.Pooled("baseline", tuple(classes), rows=np.arange(len(y_true)), seeds=np.zeros(len(y_true), int),
                          y_true=y_true, y_pred=proba.argmax(axis=1), proba=proba)


def binary(n_major: int = 40, n_minor: int = 8, *, seed: int = 0) -> compare.Pooled:
    """Binary predictions whose class 0 ("ham") is the majority: the old default."""
    rng = np.random.default_rng(seed)
    y = np.array([0] * n_major + [1] * n_minor)
    p1 = np.clip(0.3 * y + rng.uniform(0, 0.7, len(y)), 0, 1)
    return pooled(y, np.stack([1 - p1, p1], axis=1), classes=("ham", "spam"))


def test_confusion_heatmap_has_one_selectable_marker_per_cell_naming_true_and_predicted():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 3, 9]])
    fig = figures.confusion_heatmap(cm, ["a", "<b>b</b>", "c"], title="baseline", normalise=True, zmax=1.0)
    heatmap, markers = fig.data
    assert heatmap.type == "heatmap" and heatmap.hoverinfo == "skip"  # the markers answer hover and clicks
    assert markers.type == "scatter" and markers.mode == "markers" and markers.showlegend is False
    assert len(markers.x) == len(markers.customdata) == 9
    cells = {tuple(d): (y, x) for d, x, y in zip(markers.customdata, markers.x, markers.y)}
    assert cells[(1, 2)] == ("&lt;b&gt;b&lt;/b&gt;", "c")  # (true, predicted) indices at the cell's centre
    assert markers.marker.opacity == 0 and markers.selected.marker.opacity == 1  # invisible until clicked
    assert fig.layout.hoverdistance == -1  # a click anywhere in a cell reaches its marker


def test_confusion_heatmap_rows_keep_the_classes_indices_and_whole_row_shares():
    cm = np.array([[5, 1, 0], [2, 6, 2], [0, 3, 9]])
    fig = figures.confusion_heatmap(cm, ["a", "b", "c"], title="r", normalise=True, rows=[1, 2])
    heatmap, markers = fig.data
    assert list(heatmap.y) == ["b", "c"] and list(heatmap.x) == ["a", "b", "c"]
    assert np.allclose(np.asarray(heatmap.z)[0], [0.2, 0.6, 0.2])
    assert sorted({d[0] for d in markers.customdata}) == [1, 2]


def test_clicked_cell_reads_the_markers_customdata_from_a_streamlit_selection():
    points = [{"curve_number": 1, "point_number": 5, "point_index": 5, "x": "c", "y": "b", "customdata": [1, 2]}]
    assert compare.clicked_cell(points) == (1, 2)
    assert compare.clicked_cell([]) is None
    assert compare.clicked_cell([{"x": "c", "y": "b"}]) is None  # not a cell marker


@pytest.mark.parametrize("kind, name, score", [
    ("pr", "AP", lambda y, s: average_precision_score(y, s)),
    ("roc", "AUC", lambda y, s: roc_auc_score(y, s)),
    ("calibration", "Brier", lambda y, s: brier_score_loss(y, s)),
])
def test_curve_legends_carry_the_area_or_brier_score_of_the_class(kind, name, score):
    p = binary()
    found = compare.curve(p, 1, kind)
    expected = score(p.y_true == 1, p.proba[:, 1])
    assert found.summary == pytest.approx(expected)
    fig = figures.curves({"baseline": found}, kind=kind, title="spam")
    assert fig.data[0].name == f"baseline ({name} {expected:.3f})"


def test_curve_of_a_class_missing_from_the_test_texts_is_none():
    assert compare.curve(pooled([0, 0], [[0.9, 0.1], [0.8, 0.2]]), 1, "roc") is None


def test_legends_sit_at_the_foot_of_the_figure_below_the_axis_titles():
    p = binary()
    for fig in (figures.curves({"baseline": compare.curve(p, 1, "pr")}, kind="pr", title="spam"),
                figures.learning_curves({"baseline": {0: [{"loss": 1.0, "val_macro_f1": 0.5}]}})):
        legend = fig.layout.legend
        # Container coordinates: plotly keeps the strip for the legend and puts the axis titles above it
        # (a legend placed in plot coordinates below the axes, as before, landed on the x-axis title).
        assert (legend.yref, legend.y, legend.yanchor, legend.orientation) == ("container", 0, "bottom", "h")


def test_learning_curves_show_every_seed_as_a_labelled_mean_and_band():
    histories = {"baseline": {0: [{"loss": 1.0, "val_loss": 1.2, "val_macro_f1": 0.30},
                                  {"loss": 0.6, "val_loss": 1.0, "val_macro_f1": 0.50}],
                              1: [{"loss": 0.8, "val_loss": 1.1, "val_macro_f1": 0.40}]},
                 "focal": {3: [{"loss": 0.9, "val_loss": 1.3, "val_macro_f1": 0.2}]}}
    fig = figures.learning_curves(histories)
    named = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in named] == ["baseline (mean of 2 seeds, band: lowest to highest)", "focal (1 seed)"]
    f1 = next(t for t in fig.data if t.name == named[0].name and t.xaxis == "x2" and t.fill is None)
    assert list(f1.x) == [1, 2] and list(f1.y) == pytest.approx([0.35, 0.50])  # epoch 2: the one seed still training
    assert list(f1.customdata) == [2, 1]  # seeds behind each mean, shown on hover
    band = next(t for t in fig.data if t.fill == "toself" and t.xaxis == "x2" and t.legendgroup == named[0].name)
    assert max(band.y) == pytest.approx(0.50) and min(band.y) == pytest.approx(0.30)
    assert not any(t.fill == "toself" and t.legendgroup == "focal (1 seed)" for t in fig.data)  # no band for one seed


def test_learning_curve_ticks_are_whole_epochs():
    short = figures.learning_curves({"r": {0: [{"loss": 1.0}] * 4}})
    long = figures.learning_curves({"r": {0: [{"loss": 1.0}] * 25}})
    for fig, dtick in ((short, 1), (long, 3)):
        for axis in (fig.layout.xaxis, fig.layout.xaxis2):
            assert axis.tickmode == "linear" and axis.dtick == dtick and axis.tick0 == 0


def test_the_curves_start_on_the_minority_class_of_binary_data():
    p = binary()  # "ham" (index 0) is the majority
    assert compare.minority_class(p, p.classes) == "spam"
    assert compare.minority_class(p, ["ham"]) == "ham"  # the filter's choice wins
    assert compare.minority_class(p, ["other"]) is None


def test_shown_classes_keep_the_chosen_ones_and_a_merges_groups():
    experiment = ("bad", "ok", "good")
    assert compare.shown_classes(experiment, ["good", "bad"], experiment) == [0, 2]
    assert compare.shown_classes(("bad+ok", "good"), ["bad"], experiment) == [0]  # the group: its name says nothing


def test_histories_are_read_for_every_finished_seed(tmp_path):
    store = Store(tmp_path / "workspace")
    runs = []
    for run_id, seed, status in ((1, 0, "finished"), (2, 1, "finished"), (3, 2, "failed")):
        folder = store.root / "runs" / str(run_id)
        folder.mkdir(parents=True)
        (folder / "history.json").write_text(json.dumps([{"loss": 1.0 / (seed + 1)}]), encoding="utf-8")
        runs.append({"id": run_id, "recipe": "baseline", "seed": seed, "status": status,
                     "result_dir": f"runs/{run_id}", "error": None, "progress": None, "reused_from": None})
    results = ExperimentResults({"id": 1, "dataset_id": "d", "spec": {"seeds": 3}}, pd.DataFrame(runs),
                                pd.DataFrame(), ("a", "b"), False)
    assert compare.histories(results, store, "baseline") == {0: [{"loss": 1.0}], 1: [{"loss": 0.5}]}

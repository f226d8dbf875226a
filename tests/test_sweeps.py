"""Sweeps (issue 18): an unquoted ``a|b|c`` value expands one recipe into a family of recipes — strategy
parameters in recipes, training settings through a settings step (the form's field, ``--sweep``, a spec file's
string) — capped by a setting, fingerprinted like the recipe written by hand, tested against the baseline in the
experiment's one Holm family, and shown on Compare as one group. No training: runs are finished by hand
(``tests/run_states.py``)."""

from __future__ import annotations

import argparse
import math
import re

import numpy as np
import pytest

from core import cli
from core.errors import InputError
from core.jobs.estimate import DataShape, estimate, sweeps_in_words
from core.jobs.experiments import ExperimentSpec, expand_sweeps, review, run_fingerprint, submit
from core.jobs.records import Status
from core.jobs.runner import task_for
from core.results.experiment_results import experiment_results
from core.results.figures import sweep_plot
from core.results.leaderboard import build_leaderboard
from core.results.stats import detectable_difference
from core.results.sweeps import sweep_views
from core.settings import Settings, TrainSettings
from core.strategies.recipe import Recipe, Sweep, expand, parse_recipe
from core.strategies.sweeps import parse_settings_sweep, split_settings, with_settings_sweep
from tests.conftest import TINY_TRAINING, labeled, make_texts
from tests.run_states import SWEEP_TEST, finish_all, sweep_experiment

TINY = TrainSettings(**TINY_TRAINING)  # learning rate 0.01, 8 units


# ------------------------------------------------------------------ parsing

def test_an_unquoted_bar_is_a_sweep_of_typed_values_that_reads_back():
    recipe = parse_recipe("focal(gamma=0.5|1|2)+bidirectional")
    assert dict(recipe.steps[0].params)["gamma"] == Sweep((0.5, 1, 2))
    assert recipe.is_sweep and recipe.size == 3
    assert parse_recipe(recipe.text()) == recipe and recipe.text() == "focal(gamma=0.5|1|2)+bidirectional"


def test_json_lists_quoted_bars_and_toml_arrays_are_values_not_sweeps():
    assert dict(parse_recipe('augment(classes=["a","b"])').steps[0].params)["classes"] == ["a", "b"]
    assert dict(parse_recipe('merge(mapping={"a":"x|y","b":"x|y"})').steps[0].params)["mapping"]["a"] == "x|y"
    assert dict(parse_recipe('pretrained_vectors(path="a|b.txt")').steps[0].params)["path"] == "a|b.txt"
    assert not parse_recipe('augment(classes=["a|b"])').is_sweep
    toml_style = Recipe.from_json([{"name": "augment", "classes": ["a", "b"]}, {"name": "focal", "gamma": "0.5|2"}])
    assert dict(toml_style.steps[0].params)["classes"] == ["a", "b"]
    assert dict(toml_style.steps[1].params)["gamma"] == Sweep((0.5, 2))


@pytest.mark.parametrize("text, message", [
    ("focal(gamma=0.5||2)", r"focal\(gamma=…\): the sweep '0.5\|\|2' has an empty value"),
    ("focal(gamma=1|)", r"focal\(gamma=…\): the sweep '1\|' has an empty value"),
    ("focal(gamma=1|1.0)", r"focal\(gamma=…\): the sweep '1\|1.0' repeats 1.0"),
    ("focal(gamma=0.5|big)", r"focal\(gamma=…\): expected a float value, got 'big'"),
    ("focal(gamma=0.5|-1)", r"focal\(gamma=…\): -1.0 is outside the allowed range"),
])
def test_a_bad_sweep_value_is_refused_naming_the_parameter(text, message):
    _, problems = review(ExperimentSpec(dataset_id="d", recipes=(text,)))
    assert len(problems) == 1 and re.search(message, problems[0]), problems


# ------------------------------------------------------------------ expansion

def test_a_sweep_expands_into_the_product_of_its_swept_parameters():
    points = expand(parse_recipe("class_weight(scheme=effective,beta=0.9|0.99)+focal(gamma=1|2|5)"))
    assert len(points) == 6
    assert [p.text() for p, _ in points[:3]] == ["class_weight(beta=0.9,scheme=effective)+focal(gamma=1)",
                                                 "class_weight(beta=0.9,scheme=effective)+focal(gamma=2)",
                                                 "class_weight(beta=0.9,scheme=effective)+focal(gamma=5)"]
    assert [values for _, values in points][-1] == (("beta", 0.99), ("gamma", 5))
    named_twice = expand(parse_recipe("focal(gamma=1|2)+cb_focal(gamma=1|2)"))
    assert named_twice[0][1] == (("focal.gamma", 1), ("cb_focal.gamma", 1))


def test_submitting_expands_sweeps_into_canonical_recipes_and_remembers_each_sweep(store):
    dataset_id = store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    spec = ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=0.5|1)", "class_weight", "focal(gamma=1)"),
                          seeds=1, settings=TINY)
    stored = ExperimentSpec.from_json(store.experiment(submit(store, spec))["spec"])
    assert stored.recipes == ("baseline", "focal(gamma=0.5)", "focal(gamma=1.0)", "class_weight")
    (group,) = stored.sweeps
    assert group.source == "focal(gamma=0.5|1)" and group.parameters == ("gamma",)
    assert [(p.recipe, p.values) for p in group.points] == [("focal(gamma=0.5)", (("gamma", 0.5),)),
                                                            ("focal(gamma=1.0)", (("gamma", 1),))]
    assert stored.recipes_as_written() == ("baseline", "class_weight", "focal(gamma=0.5|1)")
    assert ExperimentSpec.from_json({k: v for k, v in stored.to_json().items() if k != "sweeps"}).sweeps == ()


def test_a_settings_sweep_runs_every_recipe_at_each_value_and_the_base_value_is_the_plain_recipe():
    sweep = parse_settings_sweep("learning_rate=0.003|0.01; units=8|16")
    recipes = with_settings_sweep(("focal(gamma=2)",), sweep)
    assert recipes == ("train(learning_rate=0.003|0.01,units=8|16)",
                       "focal(gamma=2)+train(learning_rate=0.003|0.01,units=8|16)")
    planned = expand_sweeps(ExperimentSpec(dataset_id="d", recipes=recipes, settings=TINY))
    assert len(planned.recipes) == 8  # the baseline once, 3 more settings points, 4 focal points
    assert planned.recipes[:4] == ("baseline", "train(learning_rate=0.003)", "train(learning_rate=0.003,units=16)",
                                   "train(units=16)")
    assert "focal(gamma=2.0)" in planned.recipes  # at the base settings: the recipe as typed by hand
    assert split_settings("focal(gamma=2.0)+train(units=16)", TINY) == ("focal(gamma=2.0)", TrainSettings(
        **{**TINY_TRAINING, "units": 16}))


@pytest.mark.parametrize("text, message", [
    ("dropout=0.1|0.2", "dropout cannot be swept; these training settings can: learning_rate, units"),
    ("units=16", "units=16 has one value; a sweep takes two or more"),
    ("units=16|0", r"train\(units=…\): 0 is outside the allowed range"),
])
def test_a_bad_settings_sweep_is_refused_naming_the_setting(text, message):
    with pytest.raises(InputError, match=message):
        parse_settings_sweep(text)


def test_a_settings_points_runs_train_with_the_overridden_settings(store):
    dataset_id = store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=2)+train(units=8|16)",),
                                                 seeds=1, settings=TINY))
    runs = {r.recipe: r for r in store.runs(experiment=experiment_id)}
    assert task_for(store, runs["focal(gamma=2.0)+train(units=16)"].id).settings.units == 16
    assert task_for(store, runs["focal(gamma=2.0)"].id).settings == TINY


def test_a_sweep_over_the_cap_is_refused_naming_its_size_and_the_cap(store, monkeypatch):
    monkeypatch.setenv("IMBALANCE_LAB_MAX_SWEEP_RECIPES", "4")
    dataset_id = store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    spec = ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=0.5|1|2)+train(units=8|16)",), seeds=2)
    with pytest.raises(InputError, match=r"make 6 recipes \(12 runs at 2 seeds\), more than the cap of 4 recipes .*"
                                         r"IMBALANCE_LAB_MAX_SWEEP_RECIPES"):
        submit(store, spec)
    assert store.experiments() == []
    assert review(ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=0.5|1|2|5)",)))[1] == []


# ------------------------------------------------------------------ fingerprints

def test_a_sweep_point_is_the_same_run_as_its_recipe_written_by_hand_and_is_reused(store):
    dataset_id = store.add_dataset(labeled({"bad": 10, "good": 30}), name="tiny")
    by_hand = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=2)",), seeds=1, settings=TINY))
    finish_all(store, by_hand, lambda recipe, seed: {("overall", "macro_f1"): 0.5})
    # Another experiment at another learning rate, sweeping γ at TINY's rate and the baseline at both rates.
    other = TrainSettings(**{**TINY_TRAINING, "learning_rate": 0.003})
    swept = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("focal(gamma=0.5|2)+train(learning_rate=0.01)",
                                                                         "train(learning_rate=0.003|0.01)"),
                                         seeds=1, settings=other))
    runs = {r.recipe: r for r in store.runs(experiment=swept)}
    assert runs["focal(gamma=2.0)+train(learning_rate=0.01)"].reused_from is not None  # = focal(gamma=2) by hand
    assert runs["train(learning_rate=0.01)"].reused_from is not None  # = the first experiment's baseline
    assert runs["focal(gamma=0.5)+train(learning_rate=0.01)"].status is Status.QUEUED
    assert runs["baseline"].status is Status.QUEUED  # at 0.003: not trained before
    spec = ExperimentSpec(dataset_id=dataset_id, settings=other)
    assert run_fingerprint(spec, "focal(gamma=2.0)+train(learning_rate=0.01)", 0) == run_fingerprint(
        ExperimentSpec(dataset_id=dataset_id, settings=TINY), "focal(gamma=2.0)", 0)


# ------------------------------------------------------------------ statistics and Compare

def test_every_sweep_point_counts_in_the_holm_family_and_the_power_uses_its_size(store):
    experiment_id = sweep_experiment(store)
    results = experiment_results(store, experiment_id)
    board = build_leaderboard(results)
    scores = results.scores()["macro_f1"]
    tested = [r for r in SWEEP_TEST if r != "baseline"]
    for recipe in tested:
        cell = board.row(recipe).cells["macro_f1"]
        assert cell.family_size == 4  # three sweep points and class_weight
        differences = np.array([scores[recipe][s] - scores["baseline"][s] for s in range(3)])
        assert cell.detectable == pytest.approx(detectable_difference(float(np.std(differences, ddof=1)), 3, 0.05 / 4))


def test_compare_groups_a_sweeps_points_with_validation_beside_test_and_both_choices_marked(store):
    results = experiment_results(store, sweep_experiment(store))
    board = build_leaderboard(results)
    (view,) = sweep_views(results, board, "macro_f1")
    assert view.source == "focal(gamma=0.5|1|2)" and view.parameters == ("gamma",)
    assert view.table["recipe"].tolist() == ["focal(gamma=0.5)", "focal(gamma=1.0)", "focal(gamma=2.0)"]
    assert view.best == "focal(gamma=2.0)" and view.chosen == "focal(gamma=1.0)"  # test flatters γ=2
    assert "optimistic" in view.note and "Choose on validation" in view.note
    shown = view.display()
    assert shown["validation macro-F1"].tolist() == ["0.521", "0.581", "0.501"]
    assert shown["test macro-F1"].iloc[2].endswith("★") and shown["test macro-F1"].iloc[1].endswith("◆")
    figure = sweep_plot(view, baseline=board.baseline.cells["macro_f1"].mean)
    test, validation, best, chosen = figure.data
    assert list(test.x) == [0.5, 1, 2] and not any(math.isnan(v) for v in test.error_y.array)
    assert validation.name == "validation macro-F1 (mean)"
    assert list(best.x) == [2] and list(chosen.x) == [1]
    assert figure.layout.xaxis.type == "linear" and figure.layout.shapes  # the baseline's line


def test_experiment_show_prints_each_sweep_with_its_choices(store, capsys):
    experiment_id = sweep_experiment(store)
    assert cli.main(["--workspace", str(store.root), "experiment", "show", str(experiment_id)]) == 0
    out = capsys.readouterr().out
    sweep = out[out.index("sweep focal(gamma=0.5|1|2)"):]
    assert re.search(r"^\s+2 focal\(gamma=2\.0\)\s+3\s+0\.601 ± 0\.\d+ ▲ ★\s+0\.501$", sweep, re.M), sweep
    assert "Choose on validation" in sweep


# ------------------------------------------------------------------ estimate, CLI and spec files

def test_before_submit_each_point_is_priced_at_its_settings_and_each_sweep_is_counted():
    spec = expand_sweeps(ExperimentSpec(dataset_id="d", recipes=("train(units=8|128)", "focal(gamma=1|2)"), seeds=2,
                                        settings=TINY))
    texts, _ = make_texts({"a": 40, "b": 60})
    guess = estimate(spec, DataShape((40, 60), np.array([len(t.split()) for t in texts])), slots=2)
    assert guess.seconds_by_recipe["train(units=128)"] > guess.seconds_by_recipe["baseline"]
    lines = sweeps_in_words(spec, guess)
    assert lines[0].startswith("Sweep `train(units=8|128)`: 2 recipes (one of them is the baseline, which runs "
                               "anyway) × 2 seeds = 2 runs, about ")
    assert lines[1].startswith("Sweep `focal(gamma=1|2)`: 2 recipes × 2 seeds = 4 runs")


def test_the_cli_sweep_flag_says_the_runs_and_time_then_submits_and_refuses_over_the_cap(tmp_path, capsys,
                                                                                         monkeypatch):
    texts, labels = make_texts({"bad": 12, "good": 30})
    csv = tmp_path / "reviews.csv"
    csv.write_text("text,label\n" + "\n".join(f"{t},{y}" for t, y in zip(texts, labels)), encoding="utf-8")
    args = ["--workspace", str(tmp_path / "ws"), "train", str(csv), "--text-col", "text", "--label-col", "label",
            "--seeds", "1", "--recipe", "focal(gamma=0.5|2)", "--sweep", "learning_rate=0.001|0.003", "--no-wait"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "Sweep focal(gamma=0.5|2)+train(learning_rate=0.001|0.003): 4 recipes × 1 seed = 4 runs, about" in err
    assert "Sweep train(learning_rate=0.001|0.003): 2 recipes (one of them is the baseline" in err
    assert re.search(r"6 recipes \+ 3 references × 1 seed: 9 runs · about .* on \d+ slots?", err), err
    from core.jobs.store import Store

    (experiment,) = Store(tmp_path / "ws").experiments()
    assert len(experiment["spec"]["sweeps"]) == 2
    monkeypatch.setenv("IMBALANCE_LAB_MAX_SWEEP_RECIPES", "5")
    assert cli.main(args) == cli.EXIT_INPUT
    assert "make 6 recipes (6 runs at 1 seed), more than the cap of 5" in capsys.readouterr().err
    assert len(Store(tmp_path / "ws").experiments()) == 1


def test_a_spec_files_string_sweeps_a_setting_and_an_array_stays_a_list(store, tmp_path):
    texts, labels = make_texts({"bad": 12, "good": 30})
    (tmp_path / "reviews.csv").write_text("text,label\n" + "\n".join(f"{t},{y}" for t, y in zip(texts, labels)),
                                          encoding="utf-8")
    path = tmp_path / "spec.toml"
    head = '[data]\nfile = "reviews.csv"\ntext_col = "text"\nlabel_col = "label"\n'
    path.write_text(head + '[training]\nunits = 8\nlearning_rate = "0.001|0.003"\n[[recipes]]\n'
                    'steps = [{name = "augment", classes = ["bad", "good"]}, {name = "focal", gamma = "0.5|2"}]\n',
                    encoding="utf-8")
    args = argparse.Namespace(recipe=[], seeds=None, name="", sweep=[])
    spec = cli._spec_from_toml(path, store, Settings(), args)
    assert spec.settings.units == 8 and spec.settings.learning_rate == TrainSettings().learning_rate
    assert spec.recipes == ("train(learning_rate=0.001|0.003)",
                            'augment(classes=["bad","good"])+focal(gamma=0.5|2)+train(learning_rate=0.001|0.003)')
    assert dict(parse_recipe(spec.recipes[1]).steps[0].params)["classes"] == ["bad", "good"]
    assert len(expand_sweeps(spec).recipes) == 6
    path.write_text(head + "[training]\nunits = [8, 16]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r'units = \[8, 16\] is a list; .* write the values as one string: '
                                         r'units = "a\|b"'):
        cli._spec_from_toml(path, store, Settings(), args)

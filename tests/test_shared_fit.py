"""Fit once, decide twice (``core.jobs.shared_fit``): a recipe that only adds a
decision rule tuned on validation decides on the finished model of the recipe
without it, and gets exactly what training that model again would give."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest

from core.jobs import shared_fit
from core.jobs.estimate import COSTS, DataShape, estimate
from core.jobs.experiments import ExperimentSpec, canonical_recipe, submit
from core.jobs.records import Status
from core.jobs.runner import execute_run, task_for, write_result
from core.jobs.store import Store
from core.jobs.training import train_run
from core.settings import TrainSettings
from tests.conftest import TINY_TRAINING, labeled


@pytest.mark.parametrize("recipe, base", [
    ("threshold", "baseline"),
    ("threshold(objective=class_recall,precision_floor=0.3)", "baseline"),
    ("class_weight(scheme=balanced)+threshold", "class_weight(scheme=balanced)"),
    ("threshold+train(units=4)", "train(units=4)"),
    ("focal", None), ("baseline", None), ("ref:tfidf_lr", None), ("ordinal_regression", None),
])
def test_the_base_recipe_drops_only_the_steps_that_decide(recipe, base):
    assert shared_fit.base_recipe(recipe) == base


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    """baseline, threshold and class_weight+threshold at 1 seed, run in queue order: the threshold runs find the
    model they decide on finished."""
    store = Store(tmp_path_factory.mktemp("shared") / "workspace")
    data = labeled({"bad": 30, "ok": 60, "good": 150}, signal_rate=0.6)
    dataset_id = store.add_dataset(data, name="tiny")
    recipes = ("class_weight(scheme=balanced)", "threshold(objective=class_recall,precision_floor=0.3)",
               "class_weight(scheme=balanced)+threshold")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=recipes, seeds=1, references=(),
                                                 settings=TrainSettings(**{**TINY_TRAINING, "epochs": 2})))
    tasks = {}
    while (run := store.claim_next(os.getpid())) is not None:
        tasks[run.recipe] = task_for(store, run.id)
        write_result(store, run.id, train_run(tasks[run.recipe]))
    runs = {r.recipe: r for r in store.runs(experiment=experiment_id)}
    return store, runs, tasks


def _result(store, run):
    return json.loads((store.path_inside(run.result_dir) / "result.json").read_text())


def test_a_threshold_run_decides_on_the_finished_model_of_its_base(decided):
    store, runs, tasks = decided
    assert all(r.status is Status.FINISHED for r in runs.values())
    for recipe, base in (("threshold(objective=class_recall,precision_floor=0.3)", "baseline"),
                         ("class_weight(scheme=balanced)+threshold", "class_weight(scheme=balanced)")):
        assert tasks[recipe].shared_fit is not None and tasks[recipe].shared_fit.run_id == runs[base].id
        result = _result(store, runs[recipe])
        assert result["model_from_run"] == runs[base].id and result["trained_samples"] == 0
        model, base_model = (store.path_inside(r.result_dir) / "model.keras" for r in (runs[recipe], runs[base]))
        assert model.read_bytes() == base_model.read_bytes()  # Predict applies the same model with its own rule
    assert tasks["baseline"].shared_fit is None and tasks["class_weight(scheme=balanced)"].shared_fit is None


def test_deciding_on_the_shared_model_gives_what_training_again_gives(decided):
    store, runs, tasks = decided
    for recipe in ("threshold(objective=class_recall,precision_floor=0.3)", "class_weight(scheme=balanced)+threshold"):
        shared = _result(store, runs[recipe])
        trained = train_run(replace(tasks[recipe], shared_fit=None))  # the same run, trained from scratch
        assert trained.summary["decision"] == shared["decision"]
        assert trained.summary["decision"]["kind"] == "offsets" and any(trained.summary["decision"]["values"])
        assert trained.summary["validation_macro_f1"] == pytest.approx(shared["validation_macro_f1"], abs=1e-9)
        assert trained.evaluation["overall"] == pytest.approx(shared["evaluation"]["overall"], abs=1e-6)
        stored = np.load(store.path_inside(runs[recipe].result_dir) / "predictions.npz")
        assert np.array_equal(trained.predictions["y_pred"], stored["y_pred"])


def test_a_run_without_stored_validation_outputs_trains_as_before(decided):
    """Runs stored before validation outputs were kept (or another head) cannot be decided on."""
    store, runs, _ = decided
    base = runs["baseline"]
    folder = store.path_inside(base.result_dir)
    with np.load(folder / "predictions.npz") as npz:
        kept = {k: npz[k] for k in npz.files}
    try:
        np.savez_compressed(folder / "predictions.npz", **{k: v for k, v in kept.items()
                                                            if not k.startswith("validation")})
        threshold = runs["threshold(objective=class_recall,precision_floor=0.3)"]
        spec = ExperimentSpec.from_json(store.experiment(threshold.experiment_id)["spec"])
        assert shared_fit.find(store, spec, threshold, task_for(store, threshold.id).split) is None
    finally:
        np.savez_compressed(folder / "predictions.npz", **kept)


def test_the_estimate_counts_a_shared_fit_as_a_start_but_the_worst_case_as_training():
    shape = DataShape.of(labeled({"bad": 300, "ok": 600, "good": 1500}))
    base = ExperimentSpec(dataset_id="d", recipes=("baseline",), seeds=2, references=())
    alone = estimate(base, shape, slots=1)
    both = estimate(replace(base, recipes=("baseline", canonical_recipe("threshold"))), shape, slots=1)
    assert both.seconds_by_recipe["threshold"] == COSTS.run_start_s < 0.5 * both.seconds_by_recipe["baseline"]
    assert both.seconds - alone.seconds == pytest.approx(2 * COSTS.run_start_s)
    worst_baseline_run = (alone.upper_seconds - COSTS.worker_start_s) / 2
    assert both.upper_seconds - alone.upper_seconds == pytest.approx(2 * worst_baseline_run, rel=0.01)


def test_execute_run_of_a_threshold_without_its_base_trains_it(tmp_path):
    store = Store(tmp_path / "workspace")
    dataset_id = store.add_dataset(labeled({"a": 20, "b": 80}), name="two")
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=("threshold",), seeds=1, references=(),
                                                 settings=TrainSettings(**TINY_TRAINING)))
    threshold = next(r for r in store.runs(experiment=experiment_id) if r.recipe == "threshold")
    while (claimed := store.claim_next(os.getpid())).id != threshold.id:
        pass  # the references and the baseline: claimed, never finished
    execute_run(store, threshold.id)
    result = _result(store, store.run(threshold.id))
    assert "model_from_run" not in result and result["trained_samples"] > 0


def test_a_run_whose_base_model_was_deleted_meanwhile_fails_saying_so_and_trains_once_requeued(tmp_path):
    from core.jobs.runner import store_result

    store = Store(tmp_path / "workspace")
    data = labeled({"bad": 30, "good": 90}, signal_rate=0.6)
    experiment_id = submit(store, ExperimentSpec(dataset_id=store.add_dataset(data, name="tiny"),
                                                 recipes=("threshold",), seeds=1, references=(),
                                                 settings=TrainSettings(**TINY_TRAINING)))
    decider = None
    while (run := store.claim_next(os.getpid())) is not None:
        if run.recipe == "threshold":
            decider = run
        else:
            execute_run(store, run.id)  # the baseline (and the references) finish first
    (base,) = store.runs(experiment=experiment_id, recipe="baseline")
    result = train_run(task_for(store, decider.id))
    assert result.model_from == base.result_dir
    os.remove(store.path_inside(result.model_from) / "model.keras")  # its experiment deleted while it decided
    store_result(store, decider.id, result)
    failed = store.run(decider.id)
    assert failed.status is Status.FAILED and "was deleted meanwhile; re-queue the run" in failed.error
    assert not store.path_inside(f"runs/{decider.id}").exists()  # nothing partial kept
    store.requeue(decider.id)
    execute_run(store, store.claim_next(os.getpid()).id)
    again = store.run(decider.id)
    assert again.status is Status.FINISHED and (store.path_inside(again.result_dir) / "model.keras").is_file()
    assert "model_from_run" not in json.loads((store.path_inside(again.result_dir) / "result.json").read_text())

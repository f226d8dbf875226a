"""core.jobs.run_views: readable run names, runs grouped by recipe and paged,
a run's per-epoch log, and the words of the experiment actions."""

from __future__ import annotations

import math

import pytest

from core.jobs.run_views import (
    cancel_words,
    default_run,
    delete_question,
    epoch_log,
    page_labels,
    requeue_kinds,
    run_detail,
    run_history,
    run_name,
    run_notes,
    runs_page,
    runs_table,
)
from core.jobs.store import ExperimentFiles, Status
from tests.run_states import (
    HISTORY,
    add_run,
    cancelled,
    end,
    finish,
    new_experiment,
    start,
)


def test_a_run_has_a_readable_name(store):
    experiment_id = new_experiment(store)
    run = store.run(add_run(store, experiment_id, "class_weight", 2))
    assert run_name(run) == f"class_weight · seed 2 (#{run.id})"


def test_runs_are_grouped_by_recipe_in_display_order_and_paged(store):
    experiment_id = new_experiment(store)
    for seed in range(10):  # submitted interleaved, references first
        for recipe in ("ref:tfidf_lr", "focal", "baseline"):
            add_run(store, experiment_id, recipe, seed)
    finish(store, store.runs(experiment=experiment_id, recipe="focal")[0].id)
    runs = store.runs(experiment=experiment_id)
    first, second = runs_page(runs, 1, per_page=15), runs_page(runs, 2, per_page=15)
    assert first.pages == 2 and [g.recipe for g in first.groups] == ["baseline", "focal"]
    assert [len(g.runs) for g in first.groups] == [10, 5] and [g.runs[0].seed for g in first.groups] == [0, 0]
    assert first.groups[1].heading == "focal — 10 runs: 🕒 queued 9 · ✅ finished 1 (5 on this page)"
    assert [g.recipe for g in second.groups] == ["focal", "ref:tfidf_lr"]
    assert [len(g.runs) for g in second.groups] == [5, 10] and second.groups[0].runs[0].seed == 5
    assert second.groups[1].heading == "ref:tfidf_lr — 10 runs: 🕒 queued 10"
    assert runs_page(runs, 9, per_page=15).page == 2  # out of range: the nearest page
    assert page_labels(90, 50) == ["runs 1–50 of 90", "runs 51–90 of 90"]


def test_the_runs_table_says_where_each_run_is(store):
    experiment_id = new_experiment(store)
    finished = finish(store, add_run(store, experiment_id, "baseline", 0), took=42)
    running = start(store, add_run(store, experiment_id, "baseline", 1), pid=3,
                    progress={"stage": "fit", "epoch": 2, "epochs": 4, "batch": 1, "batches": 2})
    stopped = cancelled(store, experiment_id, "baseline", 2)
    table = runs_table(store.runs(experiment=experiment_id))
    assert table["run"].tolist() == [f"baseline · seed 0 (#{finished})", f"baseline · seed 1 (#{running})",
                                     f"baseline · seed 2 (#{stopped})"]
    assert table["status"].tolist() == ["✅ finished", "🏃 running", "⛔ cancelled"]
    assert table["detail"].tolist() == ["finished in 42 s", "fit · epoch 2/4", "cancelled before it started"]
    # a run that ended without a result gets no bar (a full one would read as done)
    assert table["progress"].tolist()[:2] == [1.0, 0.375] and math.isnan(table["progress"][2])


def test_the_epoch_log_of_a_finished_run_comes_from_its_history_file(store):
    experiment_id = new_experiment(store)
    run = store.run(finish(store, add_run(store, experiment_id, "baseline", 0)))
    log = epoch_log(run_history(store, run))
    assert list(log.columns) == ["epoch", "loss", "validation loss", "validation macro-F1", "learning rate",
                                 "seconds"]
    assert log["epoch"].tolist() == [1, 2] and log["validation macro-F1"].tolist() == [0.42, 0.57]
    assert log["seconds"].tolist() == [2.0, 1.5]


def test_a_reused_run_shows_the_epochs_of_the_run_it_reused(store):
    experiment_id = new_experiment(store)
    original = finish(store, add_run(store, experiment_id, "baseline", 0, fingerprint="same"))
    reused = store.run(add_run(store, new_experiment(store, "again"), "baseline", 0, fingerprint="same"))
    assert reused.reused_from == original and run_detail(reused) == f"reused the identical finished run #{original}"
    assert epoch_log(run_history(store, reused))["loss"].tolist() == [0.91, 0.63]


def test_the_epoch_log_of_a_running_run_comes_from_its_progress(store):
    experiment_id = new_experiment(store)
    run_id = start(store, add_run(store, experiment_id, "baseline", 0), pid=3,
                   progress={"stage": "fit", "epoch": 2, "epochs": 9, "history": HISTORY[:1]})
    log = epoch_log(run_history(store, store.run(run_id)))
    assert log["epoch"].tolist() == [1] and log["loss"].tolist() == [0.91]


def test_the_epoch_log_names_the_stage_only_when_a_run_fitted_several_models_and_leaves_old_keys_empty():
    members = [{"stage": "member 1/2", "epoch": 1, "loss": 0.5}, {"stage": "member 2/2", "epoch": 1, "loss": 0.4}]
    log = epoch_log(members)
    assert log["stage"].tolist() == ["member 1/2", "member 2/2"]
    assert log["validation loss"].isna().all() and log["seconds"].isna().all()
    assert epoch_log([]).empty


def test_cancel_words():
    assert cancel_words(3, 1) == "3 queued runs cancelled and 1 running run stops at the next batch."
    assert cancel_words(1, 0) == "1 queued run cancelled."
    assert cancel_words(0, 2) == "2 running runs stop at the next batch."
    assert cancel_words(0, 0) == "Nothing to cancel: no run is queued or running."


@pytest.mark.parametrize("kept, tail", [(0, ""), (1, " 1 result folder stays: other experiments reuse it."),
                                        (2, " 2 result folders stay: other experiments reuse them.")])
def test_the_delete_question_says_what_it_frees(tmp_path, kept, tail):
    files = ExperimentFiles(folders=(tmp_path, tmp_path), logs=(tmp_path,), kept=kept, bytes=3 * 1024 ** 2)
    question = delete_question({"id": 4, "name": "stars"}, 12, files)
    assert question == (f"Delete experiment #4 “stars” and its 12 runs? This frees 3 MB (2 result folders and 1 log)."
                        f"{tail} It cannot be undone; Archive only hides it.")


def test_the_run_log_opens_on_a_running_run_else_the_last_finished_one(store):
    experiment_id = new_experiment(store)
    first = finish(store, add_run(store, experiment_id, "baseline", 0))
    last = finish(store, add_run(store, experiment_id, "baseline", 1))
    end(store, add_run(store, experiment_id, "gru", 0), Status.FAILED, "boom")  # ended after both
    assert default_run(store.runs(experiment=experiment_id)).id == last != first
    running = start(store, add_run(store, experiment_id, "gru", 1))
    assert default_run(store.runs(experiment=experiment_id)).id == running


def test_the_run_log_says_what_a_finished_run_noted_and_a_reused_run_says_the_same(store):
    experiment_id = new_experiment(store)
    note = "decided on the model of run 1 (baseline, seed 0): the same training, so it was not trained again"
    shared = store.run(finish(store, add_run(store, experiment_id, "threshold", 0, fingerprint="same"),
                              notes=[note, "cancelled"]))
    assert run_notes(store, shared) == [note]  # the fit loop's own "cancelled" marker is not a user's note
    reused = store.run(add_run(store, new_experiment(store, "again"), "threshold", 0, fingerprint="same"))
    assert run_notes(store, reused) == [note]
    running = store.run(start(store, add_run(store, experiment_id, "baseline", 1), pid=3))
    assert run_notes(store, running) == []


def test_a_bulk_requeue_names_what_ended_the_runs_it_puts_back(store):
    experiment_id = new_experiment(store)
    stopped = store.run(cancelled(store, experiment_id, "baseline", 0))
    lost = store.run(end(store, add_run(store, experiment_id, "baseline", 1), Status.INTERRUPTED, "worker died"))
    broken = store.run(end(store, add_run(store, experiment_id, "baseline", 2), Status.FAILED, "boom"))
    assert requeue_kinds([stopped]) == "cancelled"
    assert requeue_kinds([broken, stopped]) == "cancelled or failed"
    assert requeue_kinds([lost, broken, stopped]) == "cancelled, interrupted or failed"

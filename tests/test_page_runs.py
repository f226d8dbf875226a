"""AppTest: the Runs page shows an experiment's progress and its runs by
recipe, paged, with readable names and each run's epochs; it cancels and
re-queues runs, and cancels, archives and deletes whole experiments."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.jobs.store import Status, Store
from tests.apptest_pages import page_app, texts_of, through_app
from tests.run_states import (
    HISTORY,
    add_run,
    cancelled,
    end,
    finish,
    new_experiment,
    queue_many,
    start,
)

PAGE = "pages/runs.py"


def _page() -> AppTest:
    return page_app(PAGE).run()


def _headings(at: AppTest) -> list[str]:
    return [m.value.replace("\\", "") for m in at.markdown if m.value.startswith("**")]


def test_no_experiment_gives_a_readable_empty_state(empty_workspace):
    at = through_app(PAGE)
    assert not at.exception
    assert any("No experiments yet" in i.value for i in at.info)


def test_finished_runs_are_listed_by_recipe_with_the_epochs_they_trained(filled_copy):
    at = through_app(PAGE)
    assert not at.exception
    assert _headings(at)[:2] == ["**baseline — 2 runs: ✅ finished 2**", "**class_weight — 2 runs: ✅ finished 2**"]
    assert "10 of 10 runs done" in at.get("progress")[0].proto.text
    run = next(r for r in Store(filled_copy["root"]).runs(experiment=filled_copy["experiment_id"])
               if r.recipe == "class_weight")
    at.selectbox(key=f"runs.log.{filled_copy['experiment_id']}").set_value(run.id).run()
    epochs = at.dataframe[-1].value  # written by real training: history.json
    assert epochs["epoch"].tolist() == [1] and 0 <= epochs["validation macro-F1"][0] <= 1


def _mixed_experiment(store: Store) -> dict[str, int]:
    experiment_id = new_experiment(store)
    return {"experiment": experiment_id,
            "finished": finish(store, add_run(store, experiment_id, "class_weight", 0), took=40,
                               notes=["augment: 12 new texts"]),
            "training": start(store, add_run(store, experiment_id, "class_weight", 1), pid=11, progress={
                "stage": "fit", "epoch": 2, "epochs": 10, "batch": 5, "batches": 10, "loss": 0.5, "eta_s": 80,
                "history": HISTORY[:1]}),
            "preparing": start(store, add_run(store, experiment_id, "baseline", 0), pid=12,
                               progress={"stage": "building the vocabulary"}),
            "failed": end(store, add_run(store, experiment_id, "baseline", 1), Status.FAILED, "ValueError: boom",
                          trace="Traceback (most recent call last): boom"),
            "cancelled": cancelled(store, experiment_id, "ref:tfidf_lr", 0),
            "queued": add_run(store, experiment_id, "ref:majority", 0)}


def test_progress_bar_groups_by_recipe_readable_names_and_what_each_run_does(empty_workspace):
    ids = _mixed_experiment(Store(empty_workspace))
    at = _page()
    assert not at.exception
    assert at.get("progress")[0].proto.text == \
        "3 of 6 runs done (1 cancelled, 1 failed) · 2 running · 1 queued · about 1 min left"
    assert _headings(at) == ["**baseline — 2 runs: 🏃 running 1 · ❌ failed 1**",
                             "**class_weight — 2 runs: 🏃 running 1 · ✅ finished 1**",
                             "**ref:tfidf_lr — 1 run: ⛔ cancelled 1**", "**ref:majority — 1 run: 🕒 queued 1**"]
    tables = [d.value for d in at.dataframe[:4]]
    assert tables[0].to_dict("list")["run"] == [f"baseline · seed 0 (#{ids['preparing']})",
                                                f"baseline · seed 1 (#{ids['failed']})"]
    assert tables[0]["detail"].tolist() == ["building the vocabulary", "ValueError: boom"]
    assert tables[1]["detail"].tolist() == ["finished in 40 s", "fit · epoch 2/10 · loss 0.500 · ≤ 80 s left"]
    assert tables[3]["detail"].tolist() == ["waiting in the queue"]


def test_the_run_log_shows_each_epoch_of_a_running_or_finished_run_and_a_failed_runs_trace(empty_workspace):
    ids = _mixed_experiment(Store(empty_workspace))
    at = _page()
    log = at.selectbox(key=f"runs.log.{ids['experiment']}")
    assert log.value == ids["training"]  # the first running run that trains
    assert at.dataframe[-1].value["loss"].tolist() == [0.91]
    log.set_value(ids["finished"]).run()
    epochs = at.dataframe[-1].value
    assert epochs["epoch"].tolist() == [1, 2] and epochs["validation macro-F1"].tolist() == [0.42, 0.57]
    assert [i.value for i in at.info] == ["augment: 12 new texts"]  # what the run noted about itself
    at.selectbox(key=f"runs.log.{ids['experiment']}").set_value(ids["preparing"]).run()
    assert "No epoch has ended yet: building the vocabulary." in texts_of(at.caption)
    at.selectbox(key=f"runs.log.{ids['experiment']}").set_value(ids["failed"]).run()
    assert "boom" in at.code[-1].value and "(no log" not in texts_of(at.code)


def test_hundreds_of_runs_are_paged_and_drawn_as_one_table_per_recipe(empty_workspace):
    store = Store(empty_workspace)
    experiment_id = new_experiment(store)
    queue_many(store, experiment_id, ("baseline", "focal", "gru", "ref:tfidf_lr"), seeds=60)
    at = _page()
    assert not at.exception
    pages = at.selectbox(key=f"runs.page.{experiment_id}")
    assert pages.options == ["runs 1–50 of 240", "runs 51–100 of 240", "runs 101–150 of 240",
                             "runs 151–200 of 240", "runs 201–240 of 240"]
    shown = [d.value for d in at.dataframe]  # queued runs: the run log has no epoch table
    assert len(shown) == 1 and len(shown[0]) == 50
    pages.set_value(3).run()
    assert _headings(at) == ["**focal — 60 runs: 🕒 queued 60 (20 on this page)**",
                             "**gru — 60 runs: 🕒 queued 60 (30 on this page)**"]


def test_cancel_a_queued_run_then_requeue_it(empty_workspace):
    store = Store(empty_workspace)
    run_id = add_run(store, new_experiment(store), "baseline", 0)
    at = _page()  # the run log shows the only run
    at.button(key=f"cancel.{run_id}").click().run()
    assert store.run(run_id).status is Status.CANCELLED
    at.button(key=f"rq.{run_id}").click().run()
    assert store.run(run_id).status is Status.QUEUED


def test_cancel_every_run_of_the_experiment(empty_workspace):
    store = Store(empty_workspace)
    ids = _mixed_experiment(store)
    at = _page()
    assert at.button(key="experiment.cancel").label == "Cancel 3 queued or running"
    at.button(key="experiment.cancel").click().run()
    assert "1 queued run cancelled and 2 running runs stop at the next batch." in texts_of(at.success)
    assert store.run(ids["queued"]).status is Status.CANCELLED
    assert all(store.run(ids[k]).cancel_requested for k in ("training", "preparing"))


def test_archiving_an_experiment_that_trains_says_what_it_stopped_and_one_button_requeues_them(empty_workspace):
    store = Store(empty_workspace)
    ids = _mixed_experiment(store)
    at = _page()
    assert at.button(key="experiment.requeue").label == "Re-queue 2 cancelled or failed"
    at.button(key="experiment.archive").click().run()
    assert (f"Experiment #{ids['experiment']} archived. 1 queued run cancelled and 2 running runs stop at the "
            "next batch.") in texts_of(at.success)
    assert store.run(ids["queued"]).status is Status.CANCELLED
    at.button(key=f"restore.{ids['experiment']}").click().run()
    assert at.button(key="experiment.requeue").label == "Re-queue 3 cancelled or failed"
    at.button(key="experiment.requeue").click().run()
    assert [store.run(ids[k]).status for k in ("queued", "cancelled", "failed")] == [Status.QUEUED] * 3


def test_archive_hides_the_experiment_and_restore_brings_it_back(empty_workspace):
    store = Store(empty_workspace)
    older, newer = new_experiment(store, "older"), new_experiment(store, "newer")
    at = _page()
    at.button(key="experiment.archive").click().run()
    assert f"Experiment #{newer} archived." in texts_of(at.success)
    assert [o.split(" — ")[-1] for o in at.selectbox[0].options] == [f"#{older} older"]
    at.button(key=f"restore.{newer}").click().run()
    assert at.selectbox[0].value == newer and f"Experiment #{newer} restored." in texts_of(at.success)


def test_delete_says_the_space_it_frees_before_and_deletes_only_when_confirmed(empty_workspace):
    store = Store(empty_workspace)
    experiment_id = new_experiment(store)
    finish(store, add_run(store, experiment_id, "baseline", 0), payload=300_000)
    at = _page()
    at.button(key="experiment.delete").click().run()
    files = store.experiment_files(experiment_id)
    assert "and its 1 run? This frees 293 KB (1 result folder and 0 logs)." in texts_of(at.warning)
    assert store.runs(experiment=experiment_id)  # asked, not deleted
    at.button(key="experiment.delete.yes").click().run()
    assert f"Experiment #{experiment_id} deleted; 293 KB freed." in texts_of(at.success)
    assert store.experiments(include_archived=True) == [] and not files.folders[0].exists()
    assert any("No experiments yet" in i.value for i in at.info)

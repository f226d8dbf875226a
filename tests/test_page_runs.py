"""AppTest: the Runs page shows run states from the store, cancels and re-queues."""

from streamlit.testing.v1 import AppTest

from core.jobs.experiments import ExperimentSpec, submit
from core.jobs.store import Status, Store
from core.settings import TrainSettings
from tests.apptest_pages import through_app


def _page() -> AppTest:
    return through_app("pages/runs.py")


def test_no_experiment_gives_a_readable_empty_state(empty_workspace):
    at = _page()
    assert not at.exception
    assert any("No experiments yet" in i.value for i in at.info)


def test_finished_runs_are_listed_with_their_recipes(filled_copy):
    at = _page()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "`class_weight`" in text and "`ref:tfidf_lr`" in text
    assert "finished" in text


def test_cancel_a_queued_run_and_requeue_an_interrupted_one(filled_copy):
    store = Store(filled_copy["root"])
    experiment_id = submit(store, ExperimentSpec(dataset_id=filled_copy["dataset_id"], recipes=("focal",), seeds=1,
                                                 settings=TrainSettings(epochs=1, units=4, embedding_dim=4)))
    queued = [r for r in store.runs(experiment=experiment_id) if r.status == "queued"]
    at = _page()
    at.button(key=f"cancel.{queued[0].id}").click().run()
    assert store.run(queued[0].id).status == "cancelled"
    at.button(key=f"rq.{queued[0].id}").click().run()
    assert store.run(queued[0].id).status == "queued"
    # an interrupted run gets a re-queue button too
    claimed = store.claim_next(worker_pid=1)
    store.end_run(claimed.id, Status.INTERRUPTED, "killed")
    at.run()
    at.button(key=f"rq.{claimed.id}").click().run()
    assert store.run(claimed.id).status == "queued"

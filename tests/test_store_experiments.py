"""The store's actions on a whole experiment: cancel its runs, archive it,
delete it with the space that frees, never removing a result another
experiment reuses."""

from __future__ import annotations

import os

import pytest

from core.errors import InputError
from core.jobs.store import Status
from tests.run_states import add_run, cancelled, end, finish, new_experiment, start


def _sqlite_free_size(store) -> int:
    """The workspace's bytes outside the database (whose size SQLite keeps as it likes)."""
    return sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file() and not p.name.startswith("lab.sqlite"))


def test_deleting_an_experiment_frees_the_bytes_it_reported_and_removes_its_rows(store):
    keep = new_experiment(store, "kept")
    kept_run = finish(store, add_run(store, keep, "baseline", 0), payload=500)
    gone = new_experiment(store, "gone")
    finished = finish(store, add_run(store, gone, "baseline", 0), payload=4000)
    failed = end(store, add_run(store, gone, "gru", 0), Status.FAILED, "boom", trace="Traceback\n" * 50)
    cancelled(store, gone, "gru", 1)
    add_run(store, gone, "gru", 2)
    files = store.experiment_files(gone)
    assert [p.name for p in files.folders] == [str(finished)] and [p.name for p in files.logs] == [f"run-{failed}.log"]
    before = _sqlite_free_size(store)

    assert store.delete_experiment(gone) == files.bytes > 4000
    assert before - _sqlite_free_size(store) == files.bytes
    assert [e["id"] for e in store.experiments(include_archived=True)] == [keep]
    assert store.runs(experiment=gone) == [] and store.metrics([finished]).empty
    with pytest.raises(InputError, match="not in this workspace"):
        store.experiment(gone)
    assert store.run(kept_run).status is Status.FINISHED and (store.root / "runs" / str(kept_run)).is_dir()


def test_deleting_keeps_results_another_experiment_reuses_and_hands_their_reuse_over(store):
    first = new_experiment(store, "first")
    original = finish(store, add_run(store, first, "baseline", 0, fingerprint="same"), payload=3000)
    own = finish(store, add_run(store, first, "gru", 0), payload=2000)
    second, third = new_experiment(store, "second"), new_experiment(store, "third")
    heir = add_run(store, second, "baseline", 0, fingerprint="same")
    other = add_run(store, third, "baseline", 0, fingerprint="same")
    assert store.run(heir).reused_from == store.run(other).reused_from == original
    files = store.experiment_files(first)
    assert [p.name for p in files.folders] == [str(own)] and files.kept == 1

    freed = store.delete_experiment(first)
    assert freed == files.bytes and 2000 < freed < 3000
    assert (store.root / "runs" / str(original) / "result.json").is_file()  # second and third still read it
    assert store.run(heir).reused_from is None and store.run(other).reused_from == heir
    again = store.run(add_run(store, new_experiment(store, "fourth"), "baseline", 0, fingerprint="same"))
    assert again.status is Status.FINISHED and again.reused_from == heir  # still served, not trained again
    # the folder passes from experiment to experiment until the last one holding it is deleted
    store.delete_experiment(second)
    store.delete_experiment(third)
    assert store.run(again.id).reused_from is None
    assert store.experiment_files(again.experiment_id).folders == (store.root / "runs" / str(original),)
    store.delete_experiment(again.experiment_id)
    assert not (store.root / "runs" / str(original)).exists()


def test_an_experiment_with_a_running_run_is_not_deleted(store):
    experiment_id = new_experiment(store)
    start(store, add_run(store, experiment_id, "baseline", 0))
    with pytest.raises(InputError, match="1 run still running; cancel them"):
        store.delete_experiment(experiment_id)
    assert len(store.runs(experiment=experiment_id)) == 1


def test_cancelling_an_experiment_ends_its_queued_runs_and_flags_its_running_ones_only(store):
    experiment_id, other = new_experiment(store), new_experiment(store, "other")
    queued = [add_run(store, experiment_id, "baseline", seed) for seed in range(3)]
    running = start(store, add_run(store, experiment_id, "gru", 0))
    done = finish(store, add_run(store, experiment_id, "gru", 1))
    untouched = add_run(store, other, "baseline", 0)
    assert store.cancel_experiment(experiment_id) == (3, 1)
    assert [store.run(r).status for r in queued] == [Status.CANCELLED] * 3
    assert store.run(running).status is Status.RUNNING and store.run(running).cancel_requested
    assert store.run(done).status is Status.FINISHED and store.run(untouched).status is Status.QUEUED


def test_an_archived_experiment_is_left_out_of_the_list_until_restored(store):
    experiment_id = new_experiment(store)
    assert store.archive_experiment(experiment_id) == (0, 0)
    assert store.experiments() == [] and store.experiments(include_archived=True)[0]["archived"] == 1
    store.archive_experiment(experiment_id, archived=False)
    assert [e["id"] for e in store.experiments()] == [experiment_id]


def test_archiving_cancels_the_experiments_queued_runs_and_stops_its_running_ones(store):
    experiment_id, other = new_experiment(store), new_experiment(store, "other")
    queued = [add_run(store, experiment_id, "baseline", seed) for seed in range(2)]
    running = start(store, add_run(store, experiment_id, "gru", 0), pid=3)
    done = finish(store, add_run(store, experiment_id, "gru", 1))
    untouched = add_run(store, other, "baseline", 0)
    assert store.archive_experiment(experiment_id) == (2, 1)
    assert [store.run(r).status for r in queued] == [Status.CANCELLED] * 2 and store.run(running).cancel_requested
    assert store.run(done).status is Status.FINISHED and store.run(untouched).status is Status.QUEUED
    assert store.archive_experiment(experiment_id, archived=False) == (0, 0)
    assert [store.run(r).status for r in queued] == [Status.CANCELLED] * 2  # re-queued only when the user asks


def _bytes_on_disk(store) -> int:
    """The workspace's bytes outside the database, a hard-linked file once."""
    files = {(p.stat().st_dev, p.stat().st_ino): p.stat().st_size for p in store.root.rglob("*")
             if p.is_file() and not p.name.startswith("lab.sqlite")}
    return sum(files.values())


def test_a_model_file_linked_by_a_shared_fit_counts_once_and_only_when_every_link_goes(store):
    first, second = new_experiment(store, "first"), new_experiment(store, "second")
    base = finish(store, add_run(store, first, "baseline", 0), payload=6000)
    shared = finish(store, add_run(store, first, "threshold", 0), payload=0)
    elsewhere = finish(store, add_run(store, second, "threshold", 1), payload=0)
    model = store.root / "runs" / str(base) / "model.keras"
    for run in (shared, elsewhere):  # as core.jobs.runner links a shared fit's model
        (store.root / "runs" / str(run) / "model.keras").unlink()
        os.link(model, store.root / "runs" / str(run) / "model.keras")
    # while the second experiment links the model, deleting the first would not free it
    assert store.experiment_files(first).bytes < 6000
    second_files = store.experiment_files(second)
    assert second_files.bytes < 6000  # nor would deleting the second alone
    before = _bytes_on_disk(store)
    assert store.delete_experiment(second) == second_files.bytes == before - _bytes_on_disk(store)
    # now both links are the first experiment's: the model counts, once
    first_files = store.experiment_files(first)
    assert 6000 < first_files.bytes < 2 * 6000
    before = _bytes_on_disk(store)
    assert store.delete_experiment(first) == first_files.bytes == before - _bytes_on_disk(store)

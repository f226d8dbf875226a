"""The store: datasets, the run queue and its states, reuse of identical runs,
atomic results, and the paths it hands out."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
import sqlite3
import time

import numpy as np
import pytest

from core.errors import InputError
from core.jobs.store import ENDED, Status, Store

N_CLAIMERS = 4
N_CONTENDED_RUNS = 120


def labeled(*args, **kwargs):
    # imported here, not at the top: the spawned claimers import this module and should start fast
    from conftest import labeled

    return labeled(*args, **kwargs)


def _experiment(store: Store, n_runs: int) -> tuple[int, list[int]]:
    dataset_id = store.add_dataset(labeled({"a": 10, "b": 5}), name="queue test")
    experiment_id = store.add_experiment(name="queue", dataset_id=dataset_id, spec={"dataset_id": dataset_id})
    run_ids = [store.add_run(experiment_id=experiment_id, recipe="baseline", seed=i, fingerprint=f"fp-{i}")
               for i in range(n_runs)]
    return experiment_id, run_ids


def test_dataset_round_trip_keeps_texts_labels_and_order(store):
    data = labeled({"bad": 7, "ok": 11, "good": 19}, ordinal=True)
    dataset_id = store.add_dataset(data, name="reviews.csv")
    loaded = store.load_dataset(dataset_id)
    assert loaded.texts == data.texts
    assert np.array_equal(loaded.y, data.y)
    assert loaded.classes == ("bad", "ok", "good")
    assert loaded.ordinal is True
    assert loaded.fingerprint() == dataset_id
    info = store.dataset_info(dataset_id)
    assert info["n_rows"] == len(data) and info["classes"] == ["bad", "ok", "good"]


def test_adding_the_same_dataset_again_gives_the_same_id_and_one_row(store):
    data = labeled({"a": 8, "b": 4})
    first = store.add_dataset(data, name="one")
    second = store.add_dataset(labeled({"a": 8, "b": 4}), name="two")
    assert first == second
    assert [d["id"] for d in store.datasets()] == [first]
    assert len(list((store.root / "datasets").glob("*.parquet"))) == 1
    assert store.add_dataset(labeled({"a": 8, "b": 5}), name="other") != first


def _with_parts(data, parts):
    from dataclasses import replace

    return replace(data, parts=np.asarray(parts, dtype=np.int8))


def test_dataset_round_trip_keeps_the_part_of_every_row(store):
    import pandas as pd

    from core.data.dataset import TEST, TRAIN, VALIDATION

    data = labeled({"a": 8, "b": 7})
    parts = [TRAIN, VALIDATION, TEST] * 5
    dataset_id = store.add_dataset(_with_parts(data, parts), name="parts.csv")
    loaded = store.load_dataset(dataset_id)
    assert loaded.parts.tolist() == parts
    assert loaded.fingerprint() == dataset_id
    assert store.dataset_info(dataset_id)["has_split"] == 1
    stored = pd.read_parquet(store.root / "datasets" / f"{dataset_id}.parquet")
    assert stored["part"].tolist() == ["train", "validation", "test"] * 5
    assert store.load_dataset(store.add_dataset(data, name="no split")).parts is None


def _old_fingerprint(data, is_test) -> str:
    """``LabeledTexts.fingerprint`` as the code before validation parts computed it."""
    h = hashlib.sha256()
    for text in data.texts:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    h.update(np.asarray(data.y, dtype=np.int64).tobytes())
    h.update("\x1f".join(data.classes).encode())
    h.update(b"ordinal" if data.ordinal else b"nominal")
    h.update(np.asarray(is_test, dtype=bool).tobytes())
    return h.hexdigest()[:16]


def test_a_dataset_stored_with_old_is_test_flags_loads_as_train_and_test_parts(store):
    """Datasets stored before validation parts have an `is_test` column; they load as train/test parts and
    keep their id, so uploading the same file again finds them."""
    import pandas as pd

    from core.data.dataset import TEST, TRAIN

    data = labeled({"a": 6, "b": 6})
    is_test = np.array([False, True] * 6)
    dataset_id = _old_fingerprint(data, is_test)
    frame = pd.DataFrame({"text": list(data.texts), "label": data.labels.astype(str), "is_test": is_test})
    frame.to_parquet(store.root / "datasets" / f"{dataset_id}.parquet", index=False)
    with store.connect(immediate=True) as db:
        db.execute("INSERT INTO datasets (id, name, created, n_rows, classes, ordinal, has_target, has_split, meta) "
                   "VALUES (?, 'old.csv', 0, 12, '[\"a\", \"b\"]', 0, 0, 1, '{\"warnings\": []}')", (dataset_id,))
    loaded = store.load_dataset(dataset_id)
    assert loaded.parts.tolist() == [TRAIN, TEST] * 6
    assert loaded.is_test.tolist() == is_test.tolist()
    assert loaded.fingerprint() == dataset_id
    again = _with_parts(data, np.where(is_test, TEST, TRAIN))
    assert store.add_dataset(again, name="old.csv") == dataset_id  # the same upload finds the stored dataset
    assert len(store.datasets()) == 1 and store.load_dataset(dataset_id).parts.tolist() == [TRAIN, TEST] * 6


def test_claims_take_the_oldest_queued_run_first(store):
    _, run_ids = _experiment(store, 4)
    store.cancel(run_ids[1])
    claimed = [store.claim_next(worker_pid=4242) for _ in range(4)]
    assert [r.id for r in claimed[:3]] == [run_ids[0], run_ids[2], run_ids[3]]
    assert claimed[3] is None
    first = store.run(run_ids[0])
    assert first.status == "running" and first.worker_pid == 4242 and first.attempts == 1
    assert first.started is not None and first.heartbeat is not None


def _claim_until_empty(workspace: str, start, results, most: int) -> None:
    store = Store(workspace)
    start.wait()
    claimed = []
    while len(claimed) < most and (run := store.claim_next(os.getpid())) is not None:
        claimed.append(run.id)
        time.sleep(0.001)  # let the others in
    results.put((os.getpid(), claimed))


def test_claims_are_exclusive_across_processes(store):
    _, run_ids = _experiment(store, N_CONTENDED_RUNS)
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    # each takes at most 40, so that at least three take part even if one gets all the CPU
    claimers = [ctx.Process(target=_claim_until_empty, args=(str(store.root), start, results, 40))
                for _ in range(N_CLAIMERS)]
    for p in claimers:
        p.start()
    start.set()
    by_pid = dict(results.get(timeout=60) for _ in claimers)
    for p in claimers:
        p.join(timeout=10)
        assert p.exitcode == 0
    claimed = [run_id for ids in by_pid.values() for run_id in ids]
    assert sum(1 for ids in by_pid.values() if ids) >= 3
    assert sorted(claimed) == run_ids  # every run exactly once
    for run in store.runs():
        assert run.status == "running" and run.attempts == 1
        assert run.id in by_pid[run.worker_pid]
    for ids in by_pid.values():  # each claimer took runs in queue order
        assert ids == sorted(ids)


@pytest.mark.parametrize("ended", [Status.INTERRUPTED, Status.FAILED, Status.CANCELLED])
def test_an_ended_run_can_be_requeued_and_claimed_again(store, ended):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    store.set_child(run_id, 99999)
    assert store.end_run(run_id, ended, "it stopped")
    assert store.requeue(run_id)
    run = store.run(run_id)
    assert run.status == "queued" and run.pid is None and run.finished is None and run.cancel_requested == 0
    again = store.claim_next(worker_pid=2)
    assert again.id == run_id and again.attempts == 2 and again.error is None and again.worker_pid == 2


def test_queued_running_and_finished_runs_cannot_be_requeued(store, tmp_path):
    _, (queued, running, finished) = _experiment(store, 3)
    store.claim_next(worker_pid=1)  # queued's turn: it is the oldest
    store.requeue(queued)
    assert store.run(queued).status == "running"
    assert not store.requeue(queued)  # running
    store.claim_next(worker_pid=1)
    store.claim_next(worker_pid=1)
    stage = store.staging_dir(finished)
    (stage / "result.json").write_text("{}")
    store.finish_run(finished, staged_dir=stage, metrics={("overall", "macro_f1"): 0.5})
    assert not store.requeue(finished)
    assert store.run(finished).status == "finished"
    assert not store.requeue(12345)  # does not exist
    fresh_id = store.add_run(experiment_id=store.run(queued).experiment_id, recipe="baseline", seed=9,
                             fingerprint="fresh")
    assert not store.requeue(fresh_id)  # still queued
    assert store.run(fresh_id).status == "queued"


def test_cancelling_a_queued_run_ends_it_at_once_and_it_is_never_claimed(store):
    _, (run_id, other) = _experiment(store, 2)
    assert store.cancel(run_id) == "cancelled"
    run = store.run(run_id)
    assert run.status == "cancelled" and run.finished is not None
    assert store.claim_next(worker_pid=1).id == other
    assert store.claim_next(worker_pid=1) is None


def test_cancelling_a_running_run_flags_it_for_its_heartbeat(store):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    assert store.heartbeat(run_id, {"epoch": 1}) is False
    assert store.cancel(run_id) == "cancelling"
    assert store.run(run_id).status == "running"
    assert store.heartbeat(run_id) is True
    assert store.end_run(run_id, Status.CANCELLED, "cancelled by the user")
    assert store.cancel(run_id) == "cancelled"  # already ended: unchanged
    with pytest.raises(InputError):
        store.cancel(999)


def test_identical_resubmission_is_served_from_the_store(filled_copy):
    """``filled_workspace`` submitted its spec and ran it with ``run_queued``;
    submitting the very same spec again trains nothing."""
    from core.jobs.experiments import ExperimentSpec, submit

    store = Store(filled_copy["root"])
    first = filled_copy["experiment_id"]
    spec = ExperimentSpec.from_json(store.experiment(first)["spec"])
    first_runs = store.runs(experiment=first)
    assert {r.status for r in first_runs} == {"finished"} and all(r.reused_from is None for r in first_runs)

    second = submit(store, spec)
    assert second != first
    assert store.runs(status=Status.QUEUED) == []
    second_runs = store.runs(experiment=second)
    assert len(second_runs) == len(first_runs)
    by_key = {(r.recipe, r.seed): r for r in first_runs}
    for run in second_runs:
        original = by_key[(run.recipe, run.seed)]
        assert run.status == "finished" and run.reused_from == original.id
        assert run.result_dir == original.result_dir and run.fingerprint == original.fingerprint
        mine = store.metrics([run.id]).drop(columns="run_id").sort_values(["scope", "name"])
        theirs = store.metrics([original.id]).drop(columns="run_id").sort_values(["scope", "name"])
        assert len(mine) > 5
        assert mine.reset_index(drop=True).equals(theirs.reset_index(drop=True))
    assert list((store.root / "tmp").iterdir()) == []


def test_a_finished_run_whose_folder_is_gone_is_trained_again(store):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    stage = store.staging_dir(run_id)
    (stage / "result.json").write_text("{}")
    store.finish_run(run_id, staged_dir=stage, metrics={("overall", "macro_f1"): 0.5})
    experiment_id = store.run(run_id).experiment_id
    served = store.add_run(experiment_id=experiment_id, recipe="baseline", seed=0, fingerprint="fp-0")
    assert store.run(served).reused_from == run_id
    shutil.rmtree(store.root / "runs" / str(run_id))
    again = store.add_run(experiment_id=experiment_id, recipe="baseline", seed=0, fingerprint="fp-0")
    assert store.run(again).status == "queued" and store.run(again).reused_from is None


@pytest.mark.parametrize("escape", ["../outside.txt", "runs/../../outside.txt", "/etc/passwd", "..", "runs/../.."])
def test_path_inside_refuses_paths_that_leave_the_workspace(store, escape):
    with pytest.raises(InputError, match="outside the workspace"):
        store.path_inside(escape)


def test_path_inside_refuses_a_symlink_out_of_the_workspace(store, tmp_path):
    (store.root / "runs" / "sneaky").symlink_to(tmp_path)
    with pytest.raises(InputError):
        store.path_inside("runs/sneaky/file.txt")


def test_path_inside_accepts_paths_within_the_workspace(store):
    assert store.path_inside("runs/7") == store.root / "runs" / "7"
    assert store.path_inside("runs/7/../8") == store.root / "runs" / "8"


def test_finish_moves_the_staging_folder_into_place_and_leaves_nothing_in_tmp(store):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    stage = store.staging_dir(run_id)
    assert stage.parent == store.root / "tmp"
    (stage / "result.json").write_text('{"ok": true}')
    store.finish_run(run_id, staged_dir=stage, metrics={("overall", "macro_f1"): 0.75, ("class:a", "recall"): 1.0})
    run = store.run(run_id)
    assert run.status == "finished" and run.result_dir == f"runs/{run_id}"
    assert (store.root / "runs" / str(run_id) / "result.json").read_text() == '{"ok": true}'
    assert list((store.root / "tmp").iterdir()) == []
    assert store.metrics([run_id]).set_index(["scope", "name"])["value"].to_dict() == {
        ("overall", "macro_f1"): 0.75, ("class:a", "recall"): 1.0}


def test_a_finish_whose_row_update_fails_keeps_no_folder(store):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    stage = store.staging_dir(run_id)
    (stage / "result.json").write_text("{}")
    with pytest.raises(ValueError):
        store.finish_run(run_id, staged_dir=stage, metrics={("overall", "macro_f1"): "not a number"})
    assert store.run(run_id).status == "running" and store.metrics([run_id]).empty
    assert list((store.root / "runs").iterdir()) == []
    assert list((store.root / "tmp").iterdir()) == []


def test_discard_staging_removes_what_killed_runs_left_and_nothing_else(store):
    _, (done, killed_early, killed_late) = _experiment(store, 3)
    for _ in range(3):
        store.claim_next(worker_pid=1)
    stage = store.staging_dir(done)
    (stage / "result.json").write_text("{}")
    store.finish_run(done, staged_dir=stage, metrics={})
    (store.staging_dir(killed_early) / "model.keras").write_bytes(b"half")
    (store.root / "runs" / str(killed_late)).mkdir()  # renamed into place, killed before the row was updated
    (store.root / "runs" / str(killed_late) / "result.json").write_text("{}")
    assert store.discard_staging(killed_early) == 1
    assert store.discard_staging() == 1
    assert list((store.root / "tmp").iterdir()) == []
    assert [p.name for p in (store.root / "runs").iterdir()] == [str(done)]
    assert (store.root / "runs" / str(done) / "result.json").is_file()


def test_a_result_for_a_run_that_was_cancelled_meanwhile_is_not_kept(store):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    store.end_run(run_id, Status.INTERRUPTED, "its worker stopped")
    stage = store.staging_dir(run_id)
    (stage / "result.json").write_text("{}")
    with pytest.raises(InputError):
        store.finish_run(run_id, staged_dir=stage, metrics={})
    assert store.run(run_id).status == "interrupted"
    assert not (store.root / "runs" / str(run_id)).exists()


def test_in_process_runs_leave_complete_folders_and_no_staging(filled_copy):
    store = Store(filled_copy["root"])
    runs = store.runs(experiment=filled_copy["experiment_id"])
    assert runs and all(r.status == "finished" for r in runs)
    assert list((store.root / "tmp").iterdir()) == []
    folders = sorted(p.name for p in (store.root / "runs").iterdir())
    assert folders == sorted(str(r.id) for r in runs if r.reused_from is None)
    for run in runs:
        names = {p.name for p in store.result_dir(run).iterdir()}
        assert {"result.json", "predictions.npz"} <= names
        assert not any(n.endswith(".tmp") for n in names)
        if not run.recipe.startswith("ref:"):
            assert {"model.keras", "encoder.json", "history.json"} <= names


def test_integrity_ok_on_a_used_store(filled_copy):
    assert Store(filled_copy["root"]).integrity_ok()


def test_integrity_ok_is_false_for_a_damaged_database(store):
    _experiment(store, 3)
    with sqlite3.connect(store.db_path) as db:
        db.executemany("INSERT INTO metrics (run_id, scope, name, value) VALUES (1, 'overall', ?, 0.5)",
                       [(f"metric {i:05d} " * 8,) for i in range(3000)])
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        n_pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    assert n_pages > 4
    with open(store.db_path, "r+b") as fh:  # scribble over the pages after the schema
        fh.seek(2 * page_size)
        fh.write(os.urandom((n_pages - 2) * page_size))
    assert store.integrity_ok() is False


def test_ended_statuses_are_the_four_terminal_states():
    assert {s.value for s in Status if s.ended} == {"finished", "failed", "cancelled", "interrupted"}
    assert ENDED == {s for s in Status if s.ended}
    assert not Status.QUEUED.ended and not Status.RUNNING.ended


def test_heartbeat_records_progress_and_time(store):
    _, (run_id,) = _experiment(store, 1)
    store.claim_next(worker_pid=1)
    before = time.time()
    store.heartbeat(run_id, {"epoch": 2, "epochs": 5})
    run = store.run(run_id)
    assert run.progress == {"epoch": 2, "epochs": 5} and run.heartbeat >= before

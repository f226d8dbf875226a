"""The Ray executor's pieces that need no cluster: choosing the executor,
Ray missing, a user's file shipped to a node or refused, Ray's errors in the
words of the local executor, the progress board. (Training on a private Ray
instance: ``tests/test_ray_worker.py``.)"""

from __future__ import annotations

import os
import sys

import pytest

from core.errors import InputError
from core.jobs.records import Status
from core.settings import Settings


def test_an_unknown_executor_is_refused_with_the_choices(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("IMBALANCE_LAB_EXECUTOR", "spark")
    assert main(["--workspace", str(tmp_path / "ws"), "worker", "--until-idle"]) == 2
    err = capsys.readouterr().err
    assert "unknown executor 'spark'" in err and "local or ray" in err and "Traceback" not in err


def test_without_ray_the_ray_executor_says_how_to_install_it_and_leaves_no_lease(tmp_path, monkeypatch):
    from core.jobs.store import Store
    from core.jobs.worker import run_worker

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as where it is not installed
    with pytest.raises(InputError, match=r"pip install -r requirements-ray.txt"):
        run_worker(tmp_path / "ws", executor="ray", until_idle=True)
    assert Store(tmp_path / "ws").lease() is None  # the next worker is not told that one already serves


def test_a_shipped_file_is_read_from_its_copy_under_the_users_path(tmp_path):
    from core.data.word_vectors import read_header
    from core.files import local_copies
    from core.jobs.ray_executor import files_read_by

    original = tmp_path / "on-the-worker" / "glove.txt"  # not on this "node"
    recipe = f'pretrained_vectors(path="{original}")+class_weight'
    assert files_read_by(recipe) == (str(original),)
    assert files_read_by("baseline") == () and files_read_by("ref:tfidf_lr") == ()
    with pytest.raises(InputError, match="is not a file on this machine"):
        read_header(str(original))
    copy = tmp_path / "node-copy.txt"
    copy.write_text("lovely 0.1 0.2 0.3\nawful -0.1 0.0 0.5\n")
    with local_copies({str(original): copy}):
        assert read_header(f" {original} ").dim == 3
    with pytest.raises(InputError):  # the copy is the run's only
        read_header(str(original))


def test_a_file_too_big_to_ship_is_refused_with_what_to_do(tmp_path, monkeypatch):
    import core.jobs.ray_executor as ray_executor

    vectors = tmp_path / "glove.txt"
    vectors.write_text("lovely 0.1 0.2\n" * 100)
    path, key = ray_executor.shippable(str(vectors), "pretrained_vectors")
    assert path == vectors and key[:2] == (str(vectors), vectors.stat().st_size)
    monkeypatch.setattr(ray_executor, "SHIP_MAX_BYTES", 1000)
    with pytest.raises(InputError, match=r"glove.txt .* up to 0 MiB.*local executor"):
        ray_executor.shippable(str(vectors), "pretrained_vectors")


def test_rays_errors_end_runs_as_the_local_executor_would():
    import ray.exceptions as rayerr

    from core.jobs.ray_executor import ended_by

    cancelled = ended_by(1, rayerr.TaskCancelledError())
    assert (cancelled.status, cancelled.kind, cancelled.message) == (Status.CANCELLED, "cancelled", "cancelled by the user")
    for lost in (rayerr.WorkerCrashedError(), rayerr.NodeDiedError("node 10.0.0.7 died"), rayerr.LocalRayletDiedError()):
        ended = ended_by(2, lost)
        assert ended.status is Status.INTERRUPTED and "re-queue it" in ended.message, ended
    assert "node 10.0.0.7 died" in ended_by(3, rayerr.NodeDiedError("node 10.0.0.7 died")).message
    setup = ended_by(4, rayerr.RuntimeEnvSetupError("No module named 'keras'"))
    assert setup.status is Status.FAILED and "requirements-ray.txt" in setup.message


def test_the_board_keeps_each_runs_latest_report_until_the_worker_takes_it():
    from core.jobs.ray_executor import RunBoard

    board = RunBoard()
    board.beat(7, 101, {"stage": "fit", "epoch": 1})
    board.beat(7, 101, None)  # a plain beat after a report keeps the report
    board.beat(8, 102, None)
    assert sorted(board.take()) == [(7, 101, {"stage": "fit", "epoch": 1}), (8, 102, None)]
    assert board.take() == []
    board.beat(7, 101, None)
    assert board.take() == [(7, 101, None)]  # taken reports are not repeated


def test_where_runs_train_follows_the_executor_setting():
    from core.jobs.executors import where_runs_train

    assert where_runs_train(Settings(worker_slots=3)) == "Runs train on this machine, 3 at a time (the local executor)."
    assert "the Ray cluster at `head:6379`" in where_runs_train(Settings(executor="ray", ray_address="head:6379"))
    assert "a Ray instance the worker starts on this machine" in where_runs_train(Settings(executor="ray"))


def test_a_process_gets_its_own_temporary_folder_and_removes_those_of_processes_gone(tmp_path, monkeypatch):
    """A killed worker (or Ray worker process) never removes its staged code or shipped files: the next one does."""
    import subprocess

    from core.jobs.ray_executor import own_folder

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    left = tmp_path / "imbalance-lab-files" / str(gone.pid)
    left.mkdir(parents=True)
    (left / "glove.txt").write_text("x")
    alive = tmp_path / "imbalance-lab-files" / "1"  # init: alive
    alive.mkdir()
    own = own_folder("files")
    assert own == tmp_path / "imbalance-lab-files" / str(os.getpid()) and own.is_dir()
    assert not left.exists() and alive.exists()

"""core.jobs.progress: what a run is doing, an experiment's progress and time
left, and the note on runs without a result, with correct plurals."""

from __future__ import annotations

import pytest

from core.data.wording import and_join, plural
from core.jobs.progress import (
    experiment_progress,
    run_activity,
    run_progress,
    time_words,
    unfinished_note,
)
from core.jobs.records import RunRow, Status

NOW = 10_000.0


def row(run_id: int = 1, recipe: str = "baseline", status: Status = Status.QUEUED, *, started: float | None = None,
        finished: float | None = None, pid: int | None = None, progress: dict | None = None,
        reused_from: int | None = None) -> RunRow:
    return RunRow(id=run_id, experiment_id=1, recipe=recipe, seed=0, fingerprint=f"fp{run_id}", status=status,
                  created=0.0, started=started, finished=finished, heartbeat=None, pid=pid, worker_pid=None,
                  cancel_requested=0, progress=progress, error=None, result_dir=None, reused_from=reused_from,
                  attempts=0)


def done(run_id: int, recipe: str, took: float, **kwargs) -> RunRow:
    return row(run_id, recipe, Status.FINISHED, started=NOW - 1000, finished=NOW - 1000 + took, **kwargs)


def test_plural_and_and_join():
    assert [plural(1, "run"), plural(2, "run"), plural(0, "run"), plural(2, "class", "classes")] == \
        ["1 run", "2 runs", "0 runs", "2 classes"]
    assert [and_join([]), and_join(["a"]), and_join(["a", "b"]), and_join(["a", "b", "c"])] == \
        ["", "a", "a and b", "a, b and c"]


@pytest.mark.parametrize("statuses, note", [
    (["finished"] * 15 + ["cancelled"], "1 run was cancelled; the numbers cover the 15 finished runs only."),
    (["finished", "failed", "failed"], "2 runs failed; the numbers cover the 1 finished run only."),
    (["finished", "running", "cancelled", "cancelled", "queued"],
     ("1 run is still running, 1 run is waiting in the queue and 2 runs were cancelled; the numbers cover the "
      "1 finished run only.")),
    ([Status.FINISHED, Status.INTERRUPTED, Status.RUNNING, Status.RUNNING],
     "2 runs are still running and 1 run was interrupted; the numbers cover the 1 finished run only."),
])
def test_unfinished_note_says_what_happened_to_each_run_with_correct_plurals(statuses, note):
    assert unfinished_note(statuses) == note


def test_unfinished_note_is_none_when_every_run_finished_and_names_what_the_page_shows():
    assert unfinished_note(["finished", "finished"]) is None
    assert unfinished_note(["finished", "cancelled"], covers="the report shows") == \
        "1 run was cancelled; the report shows the 1 finished run only."


def test_a_running_run_before_its_first_epoch_shows_its_stage_not_epoch_zero():
    run = row(status=Status.RUNNING, pid=7, progress={"stage": "building the vocabulary"})
    assert run_progress(run).text == "building the vocabulary" and run_progress(run).fraction == 0.0


def test_a_run_that_has_not_started_training_says_what_it_is_doing():
    assert run_activity(row(status=Status.QUEUED)) == "waiting in the queue"
    assert run_activity(row(status=Status.RUNNING)) == \
        "the worker is reading the dataset and drawing this seed's split"
    assert run_activity(row(status=Status.RUNNING, pid=7)) == "starting in a training process"
    assert run_activity(row(status=Status.RUNNING, pid=7, progress={"stage": "loading TensorFlow"})) == \
        "loading TensorFlow"
    training = row(status=Status.RUNNING, pid=7, progress={"stage": "fit", "epoch": 2, "epochs": 10, "batch": 5,
                                                          "batches": 10, "loss": 0.5})
    assert run_activity(training) == "fit · epoch 2/10 · loss 0.500"


def test_experiment_progress_counts_ended_runs_as_done_and_running_ones_by_their_epochs():
    runs = [done(1, "baseline", 30), row(2, "baseline", Status.CANCELLED), row(3, "baseline", Status.FAILED),
            row(4, "baseline", Status.RUNNING, started=NOW - 10, pid=1,
                progress={"epoch": 3, "epochs": 4, "batch": 0, "batches": 10, "eta_s": 20}),
            row(5, "baseline")]
    progress = experiment_progress(runs, now=NOW)
    assert progress.fraction == pytest.approx((3 + 0.5) / 5)
    assert progress.counts == {Status.FINISHED: 1, Status.CANCELLED: 1, Status.FAILED: 1, Status.RUNNING: 1,
                               Status.QUEUED: 1}
    assert progress.text.startswith("3 of 5 runs done (1 cancelled, 1 failed) · 1 running · 1 queued · ")


def test_experiment_time_left_shares_the_queue_between_the_running_runs():
    """Two runs running (20 s and 40 s left by their own ETA), four queued
    LSTM runs at the 60 s their recipe's finished runs took, and a queued
    reference that nobody timed: (20 + 40 + 4 × 60) / 2 = 150 s."""
    runs = [done(1, "focal", 50), done(2, "focal", 70),
            row(3, "focal", Status.RUNNING, started=NOW - 5, pid=1, progress={"epoch": 1, "epochs": 9, "eta_s": 20}),
            row(4, "focal", Status.RUNNING, started=NOW - 5, pid=2, progress={"epoch": 1, "epochs": 9, "eta_s": 40}),
            *[row(i, "focal") for i in range(5, 9)], row(9, "ref:tfidf_lr")]
    progress = experiment_progress(runs, now=NOW)
    assert progress.eta_s == pytest.approx(150)
    assert progress.text.endswith("· 2 running · 5 queued · about 2 min left")


def test_a_recipe_nobody_has_timed_takes_as_long_as_the_other_lstm_runs_and_reused_results_do_not_count():
    runs = [done(1, "baseline", 100), done(2, "baseline", 1, reused_from=1), row(3, "gru")]
    assert experiment_progress(runs, now=NOW).eta_s == pytest.approx(100)


def test_time_left_is_unknown_until_an_lstm_run_has_been_timed():
    runs = [row(1, "baseline", Status.RUNNING, started=NOW - 5, pid=1), row(2, "baseline")]
    progress = experiment_progress(runs, now=NOW)
    assert progress.eta_s is None and progress.text.endswith("time left: known once a run has finished")
    # once the running run reports its own ETA, that sets the queued one's expected time too
    runs[0] = row(1, "baseline", Status.RUNNING, started=NOW - 10, pid=1, progress={"epoch": 1, "eta_s": 50})
    assert experiment_progress(runs, now=NOW).eta_s == pytest.approx(50 + 60)


def test_a_finished_experiment_says_so_without_a_time():
    progress = experiment_progress([done(1, "baseline", 3), done(2, "gru", 4)], now=NOW)
    assert (progress.fraction, progress.eta_s, progress.text) == (1.0, None, "2 of 2 runs done")


@pytest.mark.parametrize("seconds, words", [(12, "under a minute"), (150, "about 2 min"), (4800, "about 1 h 20 min")])
def test_time_words(seconds, words):
    assert time_words(seconds) == words


class _StopAtFit:
    """A trainer that ends the run where training would start (no TensorFlow)."""

    def seed_everything(self, seed: int) -> None:
        pass

    def fit_text_encoder(self, ctx, rows):
        return None

    def fit(self, ctx, train_set, **kwargs):
        raise StopIteration


def test_a_run_reports_its_steps_before_its_first_epoch(imbalanced, tiny_settings):
    """What the Runs page shows while a run prepares (``run_activity`` reads the stage)."""
    from core.data.split import SplitSpec, make_split
    from core.runs.pipeline import run_recipe
    from core.strategies.registry import build

    reported: list[dict] = []
    with pytest.raises(StopIteration):
        run_recipe(imbalanced, make_split(imbalanced, SplitSpec(seed=0)), build("baseline"), tiny_settings, 0,
                   trainer=_StopAtFit(), progress=reported.append)
    assert reported == [{"stage": "preparing the training set"}, {"stage": "building the vocabulary"}]


def test_before_any_run_is_timed_the_submit_time_estimate_gives_the_time_left():
    """The Runs page passes one run's estimated seconds per recipe (core.jobs.estimate); measured runs replace it."""
    runs = [row(1, "baseline", Status.RUNNING, started=NOW - 5, pid=1), row(2, "baseline"), row(3, "focal")]
    progress = experiment_progress(runs, now=NOW, prior={"baseline": 30.0, "focal": 40.0})
    assert progress.eta_s == pytest.approx(25 + 30 + 40) and progress.text.endswith("about 2 min left")
    # A finished baseline took 100 s, not 30: this machine is slower than estimated, and so will focal be.
    runs[1] = done(2, "baseline", 100)
    assert experiment_progress(runs, now=NOW, prior={"baseline": 30.0, "focal": 40.0}).eta_s == pytest.approx(
        95 + 40 * 100 / 30)

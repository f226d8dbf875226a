"""The time estimate the Experiment page and the CLI show before a submit (``core.jobs.estimate``), and the run's
countdown on the Runs page (``core.keras.train.Countdown``): what they grow with, and that neither jumps up."""

from __future__ import annotations

import numpy as np
import pytest

from core.jobs.estimate import DataShape, duration, estimate, expected_epochs
from core.jobs.experiments import ExperimentSpec
from core.settings import TrainSettings

SETTINGS = TrainSettings(epochs=10, patience=2)


def shape(counts=(900, 100), words=20, rows=None) -> DataShape:
    n = sum(counts) if rows is None else rows
    return DataShape(tuple(counts), np.full(n, words))


def seconds(recipes=(), seeds=3, settings=SETTINGS, data=None, slots=2, **kw) -> float:
    spec = ExperimentSpec(dataset_id="d", recipes=tuple(recipes) or ("baseline",), seeds=seeds, settings=settings, **kw)
    return estimate(spec, data or shape(), slots=slots).seconds


def test_a_run_costs_more_with_more_rows_longer_texts_and_a_larger_model():
    base = seconds()
    assert seconds(data=shape((1800, 200))) > 1.8 * base - 10  # twice the rows: about twice the training
    assert seconds(data=shape(words=80)) > 2 * base - 10
    assert seconds(settings=TrainSettings(epochs=10, patience=2, units=128)) > 1.5 * base - 10
    # Texts are cut: beyond the cap, longer texts cost an LSTM run nothing more (TF-IDF reads every word).
    capped = ExperimentSpec(dataset_id="d", settings=TrainSettings(epochs=10, patience=2, max_len=40))
    long, longer = (estimate(capped, shape(words=w), slots=2).seconds_by_recipe for w in (80, 400))
    assert long["baseline"] == pytest.approx(longer["baseline"]) and long["ref:tfidf_lr"] < longer["ref:tfidf_lr"]


def test_resampling_changes_the_rows_a_recipe_trains_on():
    spec = ExperimentSpec(dataset_id="d", recipes=("random_oversample", "random_undersample"), seeds=1,
                          settings=SETTINGS)
    per_run = estimate(spec, shape((9000, 1000)), slots=1).seconds_by_recipe
    assert per_run["random_oversample"] > 1.3 * per_run["baseline"] > 1.3 * per_run["random_undersample"]


def test_runs_share_the_slots_and_early_stopping_is_expected_but_not_promised():
    spec = ExperimentSpec(dataset_id="d", recipes=("baseline", "focal"), seeds=4, settings=TrainSettings())
    one, two = (estimate(spec, shape(), slots=s) for s in (1, 2))
    assert one.runs == two.runs == 4 * (2 + len(spec.references))
    assert two.seconds < 0.7 * one.seconds
    assert expected_epochs(TrainSettings()) < TrainSettings().epochs
    assert one.upper_seconds > one.seconds


def test_durations_read_as_people_say_them():
    assert [duration(s) for s in (0.2, 40, 150, 3600 + 20 * 60)] == ["1 s", "40 s", "2 min", "1 h 20 min"]


def test_the_countdown_never_goes_up():
    """The rate of the first steps includes tracing the model: a countdown fed those estimates jumped from
    514 s to 39 s; fed a later, higher estimate it must not go back up either."""
    pytest.importorskip("tensorflow")
    from core.keras.train import Countdown

    countdown = Countdown()
    assert countdown.left(0.0, float("inf")) is None
    shown = [countdown.left(t, e) for t, e in ((1.0, 514.0), (2.0, 39.0), (3.0, 80.0), (4.0, 36.0), (50.0, 9.0))]
    assert shown == [514.0, 39.0, 38.0, 36.0, 0.0]

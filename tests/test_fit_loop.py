"""The custom fit loop (``core.keras.train.fit``): what ``model.fit`` with the
lab's callbacks did — early stopping with the best weights restored, sample
weights, progress and cancellation, seeds — on rows padded once per run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.data.split import SplitSpec, make_split
from core.keras import text, train
from core.keras.trainer import KerasTrainer
from core.runs.heads import Head
from core.runs.pipeline import run_recipe
from core.runs.types import Cancelled, ModelSpec, RunContext, TrainingSet
from core.settings import TrainSettings
from core.strategies.registry import build
from tests.conftest import TINY_TRAINING, labeled

REPO = Path(__file__).resolve().parent.parent
SETTINGS = TrainSettings(**{**TINY_TRAINING, "epochs": 2})


@pytest.fixture(scope="module")
def data():
    return labeled({"bad": 60, "ok": 60, "good": 120}, ordinal=True)


def _context(data, settings: TrainSettings = SETTINGS, *, seed: int = 0, progress=None, should_stop=None):
    """A run's context up to the fit, as ``run_recipe`` prepares it for the baseline."""
    train.seed_everything(seed)
    split = make_split(data, SplitSpec(seed=0))
    ctx = RunContext(data=data, split=split, seed=seed, settings=settings, progress=progress, trainer=KerasTrainer())
    if should_stop is not None:
        ctx.should_stop = should_stop
    ctx.encoder = train.fit_text_encoder(ctx, split.train)
    ctx.head = Head("softmax", data.n_classes)
    ctx.spec = ModelSpec.from_settings(settings)
    return ctx, TrainingSet.from_rows(data, split.train)


def _digest(out) -> str:
    return hashlib.sha1(np.ascontiguousarray(out.test.proba).tobytes()).hexdigest()


def test_padded_rows_match_padding_each_batch():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 90, size=n).astype(np.int32) for n in rng.integers(1, 70, size=200)]
    padded = text.PaddedRows(seqs, max_len=48)
    for rows in (np.arange(200), rng.permutation(200)[:37], np.array([5]), np.argsort(padded.lengths)[:20]):
        width = text.bucket_length(int(max(min(len(seqs[r]), 48) for r in rows)), 48)
        expected = np.zeros((len(rows), width), np.int32)
        for i, r in enumerate(rows):
            ids = seqs[r][:width]
            expected[i, : len(ids)] = ids
        assert np.array_equal(padded.take(rows), expected)


def test_a_train_step_is_the_step_keras_fit_takes(data):
    """The same loss (compiled loss with sample weights, Keras's
    "sum_over_batch_size": Σ wᵢ·lossᵢ / batch size) and the same updates
    (Adam, each gradient clipped to norm 1) as Keras's ``train_on_batch``."""
    ctx, _ = _context(data)
    ours, theirs = train.new_model(ctx), train.new_model(ctx)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(1)
    ids = rng.integers(2, len(ctx.encoder.vocabulary), size=(16, 12)).astype(np.int32)
    ids[:, 9:] = text.PAD
    y = np.eye(data.n_classes, dtype=np.float32)[rng.integers(0, data.n_classes, size=16)]
    w = rng.uniform(0, 3, size=16).astype(np.float32)
    logits = np.asarray(ours(ids, training=True), dtype=np.float64)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    by_hand = float(np.sum(w * -(y * log_p).sum(axis=1)) / len(w))

    step, mean_loss = train._train_step(ours, data.n_classes)
    step(ids, y, w)
    keras_loss = theirs.train_on_batch(ids, y, sample_weight=w)
    assert mean_loss() == pytest.approx(by_hand, rel=1e-5)
    assert keras_loss == pytest.approx(by_hand, rel=1e-5)
    for _ in range(3):
        step(ids, y, w)
        theirs.train_on_batch(ids, y, sample_weight=w)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert np.allclose(a, b, atol=1e-5)


def test_early_stopping_keeps_the_best_epochs_weights(data, monkeypatch):
    """Validation macro-F1 scripted per epoch: the second epoch is the best,
    two worse ones in a row (patience 2) stop the fit, its weights come back."""
    scripted = iter([0.2, 0.6, 0.4, 0.5, 0.9, 0.95])
    snapshots = []
    validate = train._validate

    def scripted_validate(ctx, model, *args):
        snapshots.append(model.get_weights())
        return next(scripted), validate(ctx, model, *args)[1]

    monkeypatch.setattr(train, "_validate", scripted_validate)
    ctx, train_set = _context(data, TrainSettings(**{**TINY_TRAINING, "epochs": 6, "patience": 2}))
    fitted = train.fit(ctx, train_set)
    assert [h["epoch"] for h in fitted.history] == [1, 2, 3, 4]
    assert [h["val_macro_f1"] for h in fitted.history] == [0.2, 0.6, 0.4, 0.5]
    assert fitted.info["epochs_run"] == 4 and fitted.info["trained_samples"] == 4 * len(train_set)
    assert not np.array_equal(snapshots[1][0], snapshots[3][0])  # training went on after the best epoch
    for restored, best in zip(fitted.model.get_weights(), snapshots[1]):
        assert np.array_equal(restored, best)


@pytest.mark.parametrize("schedule,expected", [
    ("plateau", [1e-2, 1e-2, 1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3]),
    ("constant", [1e-2] * 7)])
def test_the_plateau_schedule_halves_the_learning_rate_after_two_stale_epochs(data, monkeypatch, schedule, expected):
    """Scripted validation: epoch 2 is the best, then none better. The plateau
    schedule halves the rate after epochs 4 and 6 (2 and 4 stale epochs), so
    epochs 5–6 train at half and 7 at a quarter; patience 5 stops after epoch 7.
    A later run on the same pooled model starts from the set rate again."""
    scripted = iter([0.2, 0.6, 0.4, 0.5, 0.3, 0.5, 0.1])
    rates = []
    validate = train._validate

    def scripted_validate(ctx, model, *args):
        rates.append(float(model.optimizer.learning_rate.numpy()))  # the rate the epoch trained at
        return next(scripted), validate(ctx, model, *args)[1]

    monkeypatch.setattr(train, "_validate", scripted_validate)
    settings = TrainSettings(**{**TINY_TRAINING, "epochs": 9, "patience": 5, "lr_schedule": schedule})
    pool = train.ModelPool()
    ctx, train_set = _context(data, settings)
    taken = []
    fitted = train.fit(ctx, train_set, pool=pool, taken=taken)
    assert len(fitted.history) == 7 and np.allclose(rates, expected), rates
    assert np.allclose([h["learning_rate"] for h in fitted.history], expected)  # the rate each epoch trained at
    pool.give_back(taken)
    monkeypatch.setattr(train, "_validate", lambda ctx, model, *args: (
        rates.append(float(model.optimizer.learning_rate.numpy())) or 0.5, 0.0))
    again, _ = _context(data, TrainSettings(**{**TINY_TRAINING, "epochs": 1}))
    train.fit(again, train_set, pool=pool)
    assert pool.reused == 1 and rates[-1] == pytest.approx(1e-2)


def test_history_has_losses_and_timings_per_epoch(data):
    import time

    before = time.time()
    ctx, train_set = _context(data)
    fitted = train.fit(ctx, train_set, stage="member 1/2")
    assert len(fitted.history) == 2
    for epoch, entry in enumerate(fitted.history, start=1):
        assert set(entry) == {"stage", "epoch", "loss", "val_macro_f1", "val_loss", "learning_rate", "train_s",
                              "val_s"}
        assert entry["stage"] == "member 1/2" and entry["epoch"] == epoch
        assert all(np.isfinite(entry[k]) and entry[k] >= 0 for k in ("loss", "val_macro_f1", "val_loss", "train_s", "val_s"))
        assert entry["learning_rate"] == pytest.approx(1e-2)
    assert before <= fitted.info["fit_started"] <= time.time()
    json.dumps(fitted.history)  # stored as history.json


def test_progress_reports_carry_the_keys_and_are_throttled(data, monkeypatch):
    reports: list[dict] = []
    ctx, train_set = _context(data, progress=reports.append)
    monkeypatch.setattr(train, "PROGRESS_EVERY_S", 0.0)  # every batch reports
    train.fit(ctx, train_set)
    n_batches = text.n_batches(len(train_set), SETTINGS.batch_size)
    batch_reports = [r for r in reports if "val_macro_f1" not in r]
    epoch_reports = [r for r in reports if "val_macro_f1" in r]
    assert len(batch_reports) == 2 * n_batches and len(epoch_reports) == 2
    for r in batch_reports:
        assert set(r) == {"stage", "epoch", "epochs", "batch", "batches", "loss", "eta_s", "history"}
        assert r["batches"] == n_batches and 1 <= r["batch"] <= n_batches and np.isfinite(r["loss"])
    assert batch_reports[-1]["eta_s"] >= 0 and len(epoch_reports[-1]["history"]) == 2
    assert epoch_reports[-1]["eta_s"] == 0

    reports.clear()
    monkeypatch.setattr(train, "PROGRESS_EVERY_S", 3600.0)
    train.fit(*_context(data, progress=reports.append))
    assert len([r for r in reports if "val_macro_f1" not in r]) == 1  # the first batch only


def test_a_cancel_request_stops_the_fit(data):
    ctx, train_set = _context(data, should_stop=lambda: True)
    with pytest.raises(Cancelled):
        train.fit(ctx, train_set)
    assert "cancelled" in ctx.notes


def test_sample_weights_change_training(data, monkeypatch):
    """A class weighted zero is never learnt: its rows end up with a lower
    probability of their own class than with equal weights (the last epoch's
    weights kept: every epoch scores better than the one before)."""
    epochs = iter(range(1000))
    monkeypatch.setattr(train, "_validate", lambda *args: (float(next(epochs)), 0.0))

    def own_class_probability(weights):
        ctx, train_set = _context(data, TrainSettings(**{**TINY_TRAINING, "epochs": 4}))
        train_set.weights = weights(train_set).astype(np.float32)
        model = train.fit(ctx, train_set).model
        proba = ctx.head.proba(KerasTrainer().training_scores(ctx, model, train_set))
        return proba[train_set.y == 0, 0].mean()

    equal = own_class_probability(lambda t: np.ones(len(t)))
    zero_weighted = own_class_probability(lambda t: (t.y != 0).astype(float))
    assert zero_weighted < 0.5 * equal


def test_same_seed_same_outputs_whatever_ran_before(data):
    """Run A, then B (another recipe and seed), then A again in one process:
    both A's give byte-identical predictions and history."""
    split = make_split(data, SplitSpec(seed=0))
    a1 = run_recipe(data, split, build("baseline"), SETTINGS, 0, trainer=KerasTrainer())
    b = run_recipe(data, split, build("class_weight"), SETTINGS, 1, trainer=KerasTrainer())
    a2 = run_recipe(data, split, build("baseline"), SETTINGS, 0, trainer=KerasTrainer())
    assert np.array_equal(a1.test.proba, a2.test.proba)
    assert [{k: v for k, v in h.items() if not k.endswith("_s")} for h in a1.fitted.history] == \
        [{k: v for k, v in h.items() if not k.endswith("_s")} for h in a2.fitted.history]
    assert not np.array_equal(a1.test.proba, b.test.proba)
    # A's first model still predicts after later runs cleared Keras's session.
    again = KerasTrainer().outputs(_context(data)[0], a1.fitted.model, split.test)
    assert np.allclose(again.proba, a1.test.proba, atol=1e-6)


def test_a_pooled_model_trains_exactly_as_a_new_one(data):
    """A warm process's pool hands a later run an earlier run's model and traced
    step, started from the later run's own initial values: the same history and
    predictions as a new model, for runs of the same seed (recipes of one seed
    share the encoder, hence the model's shape) and the same one again. A model
    taken and not given back is never handed out twice, even within a run
    (an ensemble's members each get their own)."""
    split = make_split(data, SplitSpec(seed=0))

    def history(out):
        return [{k: v for k, v in h.items() if not k.endswith("_s")} for h in out.fitted.history]

    pool = train.ModelPool()
    fresh = {r: run_recipe(data, split, build(r), SETTINGS, 0, trainer=KerasTrainer()) for r in ("baseline", "random_oversample")}
    for recipe in ("baseline", "random_oversample", "baseline"):
        trainer = KerasTrainer(pool=pool)
        out = run_recipe(data, split, build(recipe), SETTINGS, 0, trainer=trainer)
        assert np.array_equal(out.test.proba, fresh[recipe].test.proba), recipe
        assert history(out) == history(fresh[recipe]), recipe
        trainer.give_back()
    assert pool.reused == 2
    trainer = KerasTrainer(pool=pool)
    members = run_recipe(data, split, build("easy_ensemble(members=2)"), SETTINGS, 0, trainer=trainer)
    models = [t.model for t in trainer._taken]
    assert len(models) == 2 and models[0] is not models[1] and members.test.proba.shape[0] == len(split.test)
    trainer.give_back()
    assert pool.reused == 3  # one idle model for two members: the second is new


CHILD = """
import hashlib, sys
import numpy as np
sys.path.insert(0, {repo!r})
from core.data.split import SplitSpec, make_split
from core.keras.trainer import KerasTrainer
from core.runs.pipeline import run_recipe
from core.settings import TrainSettings
from core.strategies.registry import build
from tests.conftest import labeled
data = labeled({{"bad": 60, "ok": 60, "good": 120}}, ordinal=True)
out = run_recipe(data, make_split(data, SplitSpec(seed=0)), build("baseline"), TrainSettings(**{settings!r}), 0,
                 trainer=KerasTrainer())
print(hashlib.sha1(np.ascontiguousarray(out.test.proba).tobytes()).hexdigest())
"""


def test_same_seed_same_outputs_in_another_process(data):
    here = run_recipe(data, make_split(data, SplitSpec(seed=0)), build("baseline"), SETTINGS, 0,
                      trainer=KerasTrainer())
    code = CHILD.format(repo=str(REPO), settings=SETTINGS.to_json())
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                           timeout=300, check=True)
    assert child.stdout.split()[-1] == _digest(here)


@pytest.mark.parametrize("recipe,head", [("balanced_batches", "softmax"), ("ordinal_regression", "regression"),
                                         ("coral", "coral")])
def test_balanced_batches_and_other_heads_train(data, recipe, head):
    split = make_split(data, SplitSpec(seed=0))
    out = run_recipe(data, split, build(recipe), SETTINGS, 0, trainer=KerasTrainer())
    assert out.head.kind == head
    losses = [h["loss"] for h in out.fitted.history]
    assert len(losses) == 2 and all(np.isfinite(losses)) and losses[1] < losses[0]
    assert out.test.proba.shape == (len(split.test), data.n_classes)


@pytest.mark.parametrize("recipe", ["baseline", "threshold"])
def test_a_run_reports_its_validation_macro_f1_with_its_own_decision_rule(data, recipe):
    """What choosing between recipes may look at: the final model and decision rule scored on the validation rows,
    stored with the run's metrics under the scope "validation". A rule tuned on those rows (threshold) is scored
    cross-fitted: each half by the rule tuned on the other half."""
    from core.jobs.tasks import RunTask
    from core.jobs.training import train_run
    from core.runs.evaluate import macro_f1
    from core.runs.pipeline import cross_fitted_predictions

    split = make_split(data, SplitSpec(seed=0))
    task = RunTask(run_id=1, experiment_id=1, recipe=recipe, seed=0, fingerprint="f", dataset_id="d",
                   settings=SETTINGS, data=data, split=split)
    result = train_run(task)
    out = run_recipe(data, split, build(recipe), SETTINGS, 0, trainer=KerasTrainer())
    ctx = _context(data)[0]
    validation = KerasTrainer().outputs(ctx, out.fitted.model, split.validation)
    if recipe == "threshold":
        ctx.head = out.head
        pred = cross_fitted_predictions(build(recipe), ctx, validation, 0)
    else:
        pred = out.decision.apply(validation.proba, validation.raw)
    expected = macro_f1(validation.y, pred)
    assert out.validation_macro_f1 == pytest.approx(expected)
    assert result.metrics[("validation", "macro_f1")] == pytest.approx(expected)
    assert result.summary["validation_macro_f1"] == pytest.approx(expected)


def test_a_tuned_rule_is_scored_on_validation_rows_it_was_not_tuned_on():
    """Offsets tuned on noise fit the noise: scored on the rows they were tuned on they look better than chance,
    cross-fitted they do not — which is why the quality benchmark's choice by validation stopped picking the
    tuned thresholds everywhere. The halves are stratified and seeded."""
    from types import SimpleNamespace

    from core.runs.evaluate import macro_f1
    from core.runs.pipeline import cross_fitted_predictions
    from core.runs.types import Outputs

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), 200)
    validation = Outputs(proba, None, y)
    ctx = SimpleNamespace(n_classes=4, head=Head("softmax", 4))
    recipe = build("threshold")
    in_sample = macro_f1(y, recipe[0].decide(ctx, validation).apply(proba))
    crossed = cross_fitted_predictions(recipe, ctx, validation, seed=3)
    assert in_sample > macro_f1(y, crossed) + 0.05
    assert np.array_equal(crossed, cross_fitted_predictions(recipe, ctx, validation, seed=3))

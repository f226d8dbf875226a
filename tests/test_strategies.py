"""Every strategy must really change training: each test fails if it silently does nothing."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.split import SplitSpec, make_split
from core.keras.trainer import KerasTrainer
from core.runs.evaluate import evaluate
from core.runs.pipeline import run_recipe
from core.runs.types import RunContext, TrainingSet
from core.strategies.registry import build
from core.strategies.weights import class_weights
from tests.conftest import labeled


@pytest.fixture(scope="session")
def setup():
    from core.settings import TrainSettings

    data = labeled({"bad": 50, "ok": 120, "good": 720}, ordinal=True)
    split = make_split(data, SplitSpec(seed=0))
    settings = TrainSettings(epochs=4, batch_size=32, patience=4, vocab_size=200, max_len=16, embedding_dim=8,
                             units=8, learning_rate=1e-2, dropout=0.0, lr_schedule="constant", pooling="last")
    return data, split, settings


def _run(setup, recipe: str, seed: int = 0):
    data, split, settings = setup
    out = run_recipe(data, split, build(recipe), settings, seed, trainer=KerasTrainer())
    ev = evaluate(out.test.y, out.test.proba, out.y_pred, out.classes, train_counts=np.array(out.split_class_counts))
    return out, ev


@pytest.fixture(scope="session")
def strategy_run(setup):
    """``strategy_run(recipe)``: the recipe trained on ``setup`` and evaluated,
    once per test run (cached by recipe text); tests only read the result.
    ``strategy_run(recipe, on)`` trains on another (data, split, settings)
    instead, e.g. one of ``scored``'s (cached per recipe and ``on``)."""
    trained: dict[tuple, tuple] = {}

    def run(recipe: str, on: tuple | None = None):
        key = (recipe, None if on is None else id(on))
        if key not in trained:
            trained[key] = _run(setup if on is None else on, recipe) + (on,)  # keeps ``on`` (its id) alive
        return trained[key][:2]

    return run


@pytest.fixture(scope="session")
def scored(setup):
    """``setup`` with a continuous score whose rounding is the label
    (label = round(score): a monotone function of it) as the target column,
    as ``"score"``; and the same score moved onto a narrow scale far from 0,
    3 + 0.15·score (like a 1–5 rating with sd ≈ 0.1), as ``"moved"``."""
    from dataclasses import replace

    data, split, settings = setup
    score = data.y + np.random.default_rng(0).uniform(-0.45, 0.45, size=len(data.y))
    assert np.array_equal(np.rint(score), data.y)
    return {"score": (replace(data, target=score), split, settings),
            "moved": (replace(data, target=3 + 0.15 * score), split, settings)}


@pytest.fixture(scope="session")
def baseline(strategy_run):
    return strategy_run("baseline")


def test_baseline_ignores_the_minority_class_on_this_data(baseline):
    assert baseline[1].overall["minority_recall"] == 0.0


def _minority_probability(out) -> float:
    """Mean predicted probability of the smallest class on its own test rows:
    a continuous measure of how much a model attends to that class."""
    minority = int(np.argmin(out.split_class_counts))
    rows = out.test.y == minority
    return float(out.test.proba[rows, minority].mean())


@pytest.mark.parametrize("recipe", ["class_weight", "class_weight(scheme=effective,beta=0.999)", "focal",
                                    "cb_focal(beta=0.999)", "random_oversample", "balanced_batches",
                                    "threshold(objective=class_recall,precision_floor=0.2)"])
def test_strategy_raises_minority_recall(strategy_run, baseline, recipe):
    _, ev = strategy_run(recipe)
    assert ev.overall["minority_recall"] >= baseline[1].overall["minority_recall"] + 0.25, ev.overall


@pytest.mark.parametrize("recipe", ["class_weight", "focal", "cb_focal(beta=0.999)", "logit_adjusted",
                                    "random_oversample", "random_undersample", "over_under", "balanced_batches",
                                    "augment"])
def test_strategy_shifts_probability_toward_the_minority_class(strategy_run, baseline, recipe):
    out, _ = strategy_run(recipe)
    assert _minority_probability(out) >= _minority_probability(baseline[0]) + 0.05


def test_same_seed_gives_identical_outputs(setup, baseline):
    again, _ = _run(setup, "baseline")  # trained afresh (not the cached run) on purpose
    assert np.array_equal(again.test.proba, baseline[0].test.proba)


def test_class_weight_schemes_match_their_formulas():
    counts = np.array([10, 30, 60])
    balanced = class_weights(counts, "balanced")
    assert np.allclose(balanced / balanced[2], (100 / (3 * counts)) / (100 / (3 * 60)))
    sqrt = class_weights(counts, "inverse_sqrt")
    assert np.allclose(sqrt / sqrt[0], np.sqrt(10 / counts))
    beta = 0.9
    effective = class_weights(counts, "effective", beta=beta)
    raw = (1 - beta) / (1 - beta ** counts)
    assert np.allclose(effective / effective[0], raw / raw[0])
    for w in (balanced, sqrt, effective):
        assert np.isclose(w @ counts / counts.sum(), 1.0)  # mean row weight stays 1
    custom = class_weights(counts, "custom", custom={"a": 5}, classes=("a", "b", "c"))
    assert custom[0] / custom[1] == pytest.approx(5.0)


def _context(setup):
    data, split, settings = setup
    return RunContext(data=data, split=split, seed=0, settings=settings), TrainingSet.from_rows(data, split.train)


@pytest.mark.parametrize("recipe,expected", [
    ("random_oversample", lambda c: [c.max()] * 3),
    ("random_oversample(ratio=0.5)", lambda c: [max(n, int(np.ceil(c.max() / 2))) for n in c]),
    ("random_undersample", lambda c: [c.min()] * 3),
    ("over_under(quantile=0.5)", lambda c: [int(np.median(c))] * 3),
])
def test_samplers_give_requested_counts_from_training_rows_only(setup, recipe, expected):
    ctx, train = _context(setup)
    before = train.class_counts(3)
    after = build(recipe)[0].resample(ctx, train)
    assert after.class_counts(3).tolist() == expected(before)
    assert set(after.source_rows) <= set(ctx.split.train)
    assert (after.class_counts(3) > 0).all()  # no class ever dropped


def test_augmentation_adds_changed_texts_for_requested_classes_only(setup):
    ctx, train = _context(setup)
    out = build('augment(n_new=20,classes=["bad"])')[0].resample(ctx, train)
    new = np.flatnonzero(out.synthetic)
    assert len(new) == 20
    assert set(out.y[new]) == {ctx.data.classes.index("bad")}
    assert set(out.source_rows[new]) <= set(ctx.split.train)
    for pos in new:
        assert out.texts[pos] != ctx.data.texts[out.source_rows[pos]]
    again = build('augment(n_new=20,classes=["bad"])')[0].resample(*_context(setup))
    assert [again.texts[p] for p in new] == [out.texts[p] for p in new]
    assert len(ctx.artifacts["augmented"]) == 20


def test_feature_smote_adds_points_to_minority_classes_and_retrains_the_head(strategy_run, baseline):
    out, _ = strategy_run("feature_smote(head_epochs=5)")
    counts = out.artifacts["feature_smote"]
    majority = int(np.argmax(counts["before"]))
    assert counts["after"][majority] == counts["before"][majority]
    grew = [a > b for a, b in zip(counts["after"], counts["before"])]
    assert grew == [c != majority for c in range(3)]
    assert not np.allclose(out.test.proba, baseline[0].test.proba)


def test_easy_ensemble_trains_k_members_on_balanced_subsets(strategy_run):
    out, ev = strategy_run("easy_ensemble(members=3)")
    assert sorted({h["member"] for h in out.fitted.history}) == [1, 2, 3]
    assert np.allclose(out.test.proba.sum(axis=1), 1.0, atol=1e-4)
    assert ev.overall["minority_recall"] > 0


def test_boosting_weights_rounds_by_their_error(strategy_run):
    out, _ = strategy_run("boosting(rounds=2)")
    alphas = out.artifacts["boosting"]["alphas"]
    assert len(alphas) in (1, 2) and all(a > 0 for a in alphas)


@pytest.mark.parametrize("recipe,layer_type", [("bidirectional", "Bidirectional"), ("gru", "GRU"),
                                               ("stacked(layers=3)", "FusedLSTM"), ("dense_head(units=16,layers=2)", "Dense"),
                                               ("pool", "MaskedMaxPool"),
                                               ("pool(mode=mean_max)", "GlobalAveragePooling1D")])
def test_architecture_strategies_change_the_network(setup, recipe, layer_type):
    from core.keras.models import build_model
    from core.runs.heads import Head
    from core.runs.types import ModelSpec

    ctx, _ = _context(setup)
    spec = ModelSpec.from_settings(ctx.settings)
    for s in build(recipe):
        spec = s.model(ctx, spec)
    model = build_model(spec, 100, Head("softmax", 3))
    names = [type(layer).__name__ for layer in model.layers]
    plain = [type(layer).__name__ for layer in build_model(ModelSpec.from_settings(ctx.settings), 100, Head("softmax", 3)).layers]
    assert names.count(layer_type) > plain.count(layer_type)


def test_prior_bias_starts_the_output_at_log_priors(setup):
    ctx, train = _context(setup)
    bias = build("prior_bias")[0].output_bias(ctx, train)
    assert np.allclose(np.exp(bias), train.class_counts(3) / len(train))


def test_ordinal_regression_tunes_monotone_cutpoints(strategy_run):
    out, ev = strategy_run("ordinal_regression(objective=qwk)")
    assert out.decision.kind == "cutpoints"
    assert list(out.decision.values) == sorted(out.decision.values)
    assert out.head.kind == "regression"
    assert 0 <= ev.overall["macro_f1"] <= 1


def test_coral_head_gives_proper_probabilities(strategy_run):
    out, _ = strategy_run("coral")
    assert out.head.kind == "coral"
    assert np.allclose(out.test.proba.sum(axis=1), 1.0, atol=1e-5)


# coral never reads the target, so its run on ``setup`` is its run on ``scored``'s data.
@pytest.mark.parametrize("recipe,on", [("coral", None), ("ordinal_regression(objective=qwk)", None),
                                       ("ordinal_regression", "score"), ("ordinal_regression", "moved")])
def test_ordinal_strategies_beat_the_majority_reference(strategy_run, scored, recipe, on):
    from sklearn.metrics import cohen_kappa_score

    from core.runs.evaluate import macro_f1

    out, ev = strategy_run(recipe, None if on is None else scored[on])
    majority = np.full_like(out.test.y, int(np.argmax(out.split_class_counts)))  # ref:majority's prediction
    qwk = cohen_kappa_score(out.test.y, out.y_pred, weights="quadratic")  # the majority reference's QWK is 0
    assert ev.overall["macro_f1"] >= macro_f1(out.test.y, majority) + 0.15, (ev.overall, np.bincount(out.y_pred))
    assert qwk >= 0.4, (qwk, np.bincount(out.y_pred))


def test_a_shifted_and_scaled_target_gives_the_same_decisions(strategy_run, scored):
    plain, _ = strategy_run("ordinal_regression", scored["score"])
    moved, _ = strategy_run("ordinal_regression", scored["moved"])
    assert np.array_equal(moved.y_pred, plain.y_pred)
    assert np.allclose(moved.decision.values, 3 + 0.15 * np.array(plain.decision.values))
    assert np.allclose(moved.head.centres, 3 + 0.15 * np.array(plain.head.centres))
    assert (moved.head.shift, moved.head.scale) == pytest.approx((3 + 0.15 * plain.head.shift, 0.15 * plain.head.scale))


def test_stored_regression_head_predicts_what_the_run_decided(strategy_run, scored):
    """The Predict page's path (core.jobs.predict_service) from the stored head
    and decision: the model's standardised output is read back in target units."""
    from core.jobs.predict_service import RecipeModel, SeedModel, predict_recipe
    from core.runs.decision_rules import Decision
    from core.runs.heads import Head

    out, _ = strategy_run("ordinal_regression", scored["moved"])
    data = scored["moved"][0]
    seed = SeedModel(out.fitted.model, out.encoder, Head.from_json(out.head.to_json()),
                     Decision.from_json(out.decision.to_json()))
    answer = predict_recipe(RecipeModel("ordinal_regression", data.classes, [seed]), [data.texts[r] for r in out.test_rows])
    assert answer["predicted"] == [data.classes[c] for c in out.y_pred]


def test_ordinal_strategies_need_ordinal_labels():
    from core.errors import InputError
    from core.runs.pipeline import check_label_type

    with pytest.raises(InputError, match="ordinal"):
        check_label_type(build("coral"), labeled({"a": 10, "b": 10}))


def test_threshold_offsets_are_tuned_on_validation_and_change_decisions(strategy_run, baseline):
    out, _ = strategy_run("threshold")
    assert out.decision.kind == "offsets" and any(v != 0 for v in out.decision.values)
    assert not np.array_equal(out.y_pred, baseline[0].y_pred)


def test_anomaly_on_the_lstms_features_flags_the_rare_class_against_the_merged_rest(setup, strategy_run):
    """One rare class against the rest (merge first): the detector reads the sentence representation of a
    network trained as the baseline is, learned from the normal rows only, and the stored detector predicts
    what the run decided (the Predict page's path)."""
    from sklearn.metrics import roc_auc_score

    from core.jobs.predict_service import RecipeModel, SeedModel, predict_recipe
    from core.runs.anomaly import NoveltyScorer
    from core.runs.decision_rules import Decision
    from core.runs.heads import Head

    out, ev = strategy_run('merge(mapping={"ok":"rest","good":"rest"})+anomaly')
    scorer = out.fitted.model
    assert out.classes == ("bad", "rest") and scorer.rare == 0 and scorer.features == "lstm"
    assert out.fitted.history and out.trained_samples > 0  # a network was trained, epoch by epoch
    assert scorer.estimator[-1].n_features_in_ == 8  # the 8-unit LSTM's sentence representation
    assert roc_auc_score(out.test.y == 0, out.test.proba[:, 0]) >= 0.75
    assert np.allclose(out.test.proba.sum(axis=1), 1.0)
    seed = SeedModel(scorer.network, out.encoder, Head.from_json(out.head.to_json()),
                     Decision.from_json(out.decision.to_json()),
                     NoveltyScorer.from_bytes(scorer.to_bytes(), network=scorer.network))
    answer = predict_recipe(RecipeModel("anomaly", out.classes, [seed]), [setup[0].texts[r] for r in out.test_rows])
    assert answer["predicted"] == [out.classes[c] for c in out.y_pred]


def test_merge_maps_every_label_and_keeps_counts(setup, strategy_run):
    out, _ = strategy_run('merge(mapping={"bad":"bad+ok","ok":"bad+ok"})')
    data, split, _ = setup
    assert out.classes == ("bad+ok", "good")
    assert len(out.test.y) == len(split.test)
    merged_minority = np.isin(data.y[split.test], [0, 1]).sum()
    assert (out.test.y == 0).sum() == merged_minority


def test_merge_of_non_adjacent_ordinal_classes_is_refused(setup):
    from core.errors import InputError

    with pytest.raises(InputError):
        _run(setup, 'merge(mapping={"bad":"x","good":"x"})')


def test_augment_preview_shows_generated_examples_of_smaller_classes(setup):
    data, _, _ = setup
    rows = build("augment")[0].preview(data, seed=0, n=4)
    assert len(rows) == 4
    assert all(r["generated"] != r["original"] for r in rows)
    assert {r["class"] for r in rows} <= {"bad", "ok"}


def test_minority_recall_is_of_the_rarest_class_in_the_split_even_after_oversampling(tmp_path):
    """Oversampling to equal sizes ties every class; the minority must still
    be the rarest class of the training split ("bad"), not the first label."""
    from core.jobs.experiments import ExperimentSpec, submit
    from core.jobs.store import Store
    from core.results.experiment_results import experiment_results
    from core.settings import TrainSettings
    from tests.conftest import run_queued

    store = Store(tmp_path / "ws")
    data = labeled({"good": 300, "ok": 90, "bad": 30})  # the most frequent label comes first
    settings = TrainSettings(epochs=1, patience=1, vocab_size=100, max_len=8, embedding_dim=4, units=4)
    experiment_id = submit(store, ExperimentSpec(dataset_id=store.add_dataset(data, name="d"),
                                                 recipes=("random_oversample",), seeds=1, settings=settings,
                                                 references=()))
    run_queued(store)
    results = experiment_results(store, experiment_id)
    minority = results.scores()["minority_recall"]["random_oversample"][0]
    bad = results.scores("class:bad")["recall"]["random_oversample"][0]
    good = results.scores("class:good")["recall"]["random_oversample"][0]
    assert minority == bad
    assert bad != good  # otherwise the check above could not tell the two apart


def test_a_pool_mode_the_settings_already_use_is_refused_at_submit(store):
    """Max pooling is the default since issue 16, so ``pool`` (mode max) would train the baseline again: refused
    with what to choose instead; the final state (``pool(mode=last)``) is a real alternative."""
    from core.errors import InputError
    from core.jobs.experiments import ExperimentSpec, validate
    from core.settings import TrainSettings

    dataset_id = store.add_dataset(labeled({"a": 20, "b": 20}), name="two classes")
    with pytest.raises(InputError, match=r"already pool by max.*\(last, mean_max\)"):
        validate(store, ExperimentSpec(dataset_id=dataset_id, recipes=("pool",)))
    assert validate(store, ExperimentSpec(dataset_id=dataset_id, recipes=("pool(mode=last)",))).recipes == (
        "baseline", "pool(mode=last)")
    last = ExperimentSpec(dataset_id=dataset_id, recipes=("pool",), settings=TrainSettings(pooling="last"))
    assert validate(store, last).recipes == ("baseline", "pool")

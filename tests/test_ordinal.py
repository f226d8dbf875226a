"""The ordinal heads without training: CORAL's rank rule and prior-initialised
thresholds, the regression head's standardisation (and its undoing wherever a
raw value is read), and a cut-point search that does not care about the
target's offset or scale. Trained checks on generated ordinal data are in
tests/test_strategies.py."""

from __future__ import annotations

import numpy as np
import pytest

from core.runs.decision_rules import Decision, objective, tune_cutpoints
from core.runs.heads import Head
from core.strategies.ordinal import cumulative_prior_logits, standardisation


def test_coral_default_decision_is_the_rank_rule_not_the_argmax():
    # Thresholds close together: P(y>k) = 0.60, 0.52, 0.45 → rank 2, while the
    # differenced class probabilities (0.40, 0.08, 0.07, 0.45) peak at an extreme.
    head = Head("coral", 4)
    logits = np.log(np.array([[0.60, 0.52, 0.45]]) / (1 - np.array([[0.60, 0.52, 0.45]])))
    proba = head.proba(logits)
    assert np.argmax(proba, axis=1).tolist() == [3]
    assert head.default_decision().apply(proba, head.raw(logits)).tolist() == [2]
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 1)) * 3 - np.sort(rng.normal(size=3))[None, :]
    assert np.array_equal(head.default_decision().apply(head.proba(scores), head.raw(scores)), (scores > 0).sum(axis=1))


def test_coral_prior_logits_follow_the_weighted_training_rows():
    y = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    assert np.allclose(1 / (1 + np.exp(-cumulative_prior_logits(y, None, 3))), [7 / 8, 5 / 8])
    weights = np.where(y == 0, 3.0, 1.0)  # class 0 counts three times
    assert np.allclose(1 / (1 + np.exp(-cumulative_prior_logits(y, weights, 3))), [7 / 10, 5 / 10])


def test_coral_model_starts_at_the_class_priors_and_keeps_its_thresholds_when_saved(tmp_path):
    keras = pytest.importorskip("keras")
    from core.keras.models import build_model, load_model
    from core.runs.types import ModelSpec

    y = np.repeat([0, 1, 2, 3], [5, 15, 60, 20])
    bias = cumulative_prior_logits(y, None, 4)
    head = Head("coral", 4)
    keras.utils.set_random_seed(0)
    model = build_model(ModelSpec(embedding_dim=4, units=3), 30, head, output_bias=bias)
    dense = model.get_layer("head").layers[0]
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])  # a zero score
    ids = np.array([[3, 4, 5, 0]], dtype=np.int32)
    assert np.allclose(head.proba(np.asarray(model(ids))), [np.bincount(y) / len(y)], atol=1e-5)
    model.save(tmp_path / "model.keras")
    assert np.allclose(np.asarray(load_model(tmp_path / "model.keras")(ids)), np.asarray(model(ids)), atol=1e-6)


def test_regression_head_trains_on_standardised_values_and_reads_them_back_in_target_units():
    values = 3 + 0.15 * np.random.default_rng(1).normal(size=200)
    shift, scale = standardisation(values)
    head = Head("regression", 3, (2.85, 3.0, 3.15), shift, scale)
    z = head.targets(np.zeros(200, dtype=int), values).ravel()
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4
    assert np.allclose(head.raw(z), values, atol=1e-5)
    again = Head.from_json(head.to_json())
    assert again == head
    assert again.default_decision().values == pytest.approx((2.925, 3.075))
    # A head stored before standardisation: its model predicts the value itself.
    old = Head.from_json({"kind": "regression", "n_classes": 3, "centres": [0.0, 1.0, 2.0]})
    assert np.array_equal(old.raw(np.array([[0.4], [1.7]])), [0.4, 1.7])
    assert standardisation(np.full(5, 2.0)) == (2.0, 1.0)  # constant values: sd 1, no division by zero


def test_regression_probabilities_do_not_depend_on_the_target_scale():
    centres = np.array([0.0, 1.0, 2.0])
    z = np.random.default_rng(2).normal(size=(20, 1))
    plain = Head("regression", 3, tuple(centres), 1.0, 0.8)
    moved = Head("regression", 3, tuple(3 + 0.15 * centres), 3 + 0.15 * 1.0, 0.15 * 0.8)
    assert np.allclose(plain.proba(z), moved.proba(z))


@pytest.mark.parametrize("name", ["macro_f1", "qwk"])
def test_cutpoint_search_gives_the_same_decisions_on_a_shifted_and_scaled_output(name):
    rng = np.random.default_rng(3)
    y = rng.choice(4, size=300, p=[0.1, 0.2, 0.5, 0.2])
    raw = y + rng.normal(scale=0.8, size=300)
    score = objective(name, n_classes=4)
    start = Decision("cutpoints", (0.5, 1.5, 2.5))
    tuned = tune_cutpoints(raw, y, 4, score, start, candidates=40)
    moved = tune_cutpoints(3 + 0.15 * raw, y, 4, score, Decision("cutpoints", tuple(3 + 0.15 * np.array(start.values))),
                           candidates=40)
    assert np.array_equal(tuned.apply(None, raw), moved.apply(None, 3 + 0.15 * raw))
    assert np.allclose(moved.values, 3 + 0.15 * np.array(tuned.values))
    assert list(tuned.values) == sorted(tuned.values)
    assert score(y, tuned.apply(None, raw)) >= score(y, start.apply(None, raw))


def test_prediction_undoes_the_standardisation(monkeypatch):
    """predict_service reads raw values through the stored head: cut-points in
    target units apply to the model's standardised output."""
    import core.keras.text as text
    from core.jobs import predict_service

    z = np.array([[-1.0], [0.2], [1.5]])
    monkeypatch.setattr(text, "predict_scores", lambda model, seqs, max_len: z)

    class Encoder:
        max_len = 4

        def encode(self, texts):
            return [np.array([2], dtype=np.int32) for _ in texts]

    head = Head("regression", 3, (2.8, 3.0, 3.2), 3.0, 0.15)
    seed = predict_service.SeedModel(None, Encoder(), Head.from_json(head.to_json()), Decision("cutpoints", (2.9, 3.1)))
    answer = predict_service.predict_recipe(predict_service.RecipeModel("ordinal_regression", ("a", "b", "c"), [seed]),
                                            ["x", "y", "z"])
    assert answer["predicted"] == ["a", "b", "c"]  # raw 2.85, 3.03, 3.225

"""core.runs.decision_rules: the tuners' scores, computed from one confusion matrix for speed, equal
scikit-learn's metric functions on every kind of input they meet (absent classes, a class never predicted,
one class only), so a tuned rule is the one scikit-learn's scores would have chosen."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score

from core.runs.decision_rules import objective, tune_offsets


def _pairs(n_classes: int, rows: int = 60, draws: int = 40):
    """Random (y, p) pairs, with some classes absent from y or p, and the extremes."""
    rng = np.random.default_rng(n_classes)
    for _ in range(draws):
        y_classes = rng.choice(n_classes, size=rng.integers(1, n_classes + 1), replace=False)
        p_classes = rng.choice(n_classes, size=rng.integers(1, n_classes + 1), replace=False)
        yield rng.choice(y_classes, rows), rng.choice(p_classes, rows)
    yield np.zeros(rows, dtype=int), np.zeros(rows, dtype=int)
    yield np.arange(rows) % n_classes, (np.arange(rows) + 1) % n_classes


@pytest.mark.parametrize("n_classes", [2, 5])
def test_macro_f1_is_scikit_learns_over_the_classes_present(n_classes):
    score = objective("macro_f1", n_classes=n_classes)
    for y, p in _pairs(n_classes):
        expected = f1_score(y, p, labels=np.unique(y), average="macro", zero_division=0)
        assert score(y, p) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("n_classes", [3, 7])
def test_qwk_is_scikit_learns(n_classes):
    score = objective("qwk", n_classes=n_classes)
    for y, p in _pairs(n_classes):
        if len(set(y)) > 1:
            expected = cohen_kappa_score(y, p, labels=list(range(n_classes)), weights="quadratic")
            assert score(y, p) == pytest.approx(expected, abs=1e-12)
        else:
            assert score(y, p) == 0.0


@pytest.mark.parametrize("floor", [0.0, 0.4, 0.9])
def test_class_recall_at_a_precision_floor_uses_scikit_learns_precision_and_recall(floor):
    score = objective("class_recall", n_classes=4, target_class=2, precision_floor=floor)
    for y, p in _pairs(4):
        prec = precision_score(y == 2, p == 2, zero_division=0)
        rec = recall_score(y == 2, p == 2, zero_division=0)
        assert score(y, p) == pytest.approx(rec + 1.0 if prec >= floor else prec, abs=1e-12)


def test_tuned_offsets_raise_the_validation_score_of_a_model_biased_against_a_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3)) + 2.0 * np.eye(3)[y]
    logits[:, 2] -= 3.0  # the model rarely says class 2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    score = objective("macro_f1", n_classes=3)
    decision = tune_offsets(proba, y, score)
    assert decision.values[2] > decision.values[0]
    assert score(y, decision.apply(proba)) > score(y, proba.argmax(axis=1)) + 0.1


def test_the_one_macro_f1_is_scikit_learns_on_the_labels_present_even_with_a_class_only_predicted():
    from core.runs.evaluate import macro_f1

    for y, p in _pairs(6):
        expected = f1_score(y, p, labels=np.unique(y), average="macro", zero_division=0)
        assert macro_f1(y, p) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(macro_f1(np.array([], dtype=int), np.array([], dtype=int)))
    assert macro_f1([0, 0, 1], [0, 2, 1]) == pytest.approx(f1_score([0, 0, 1], [0, 2, 1], labels=[0, 1],
                                                                     average="macro", zero_division=0))

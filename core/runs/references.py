"""Reference models, always computed beside the LSTMs so a degenerate network
is obvious: majority class, stratified random, TF-IDF + logistic regression
(class_weight="balanced"); optional imbalanced-learn ensembles on TF-IDF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

REFERENCE_PREFIX = "ref:"
ALWAYS = ("ref:majority", "ref:stratified", "ref:tfidf_lr")


def tfidf_vectorizer() -> TfidfVectorizer:
    """The references' TF-IDF features (1–2-grams, sublinear term frequency, rows of unit length); the
    ``anomaly`` strategy's TF-IDF features too."""
    return TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, max_features=200_000)


def _tfidf_lr(seed: int):
    return make_pipeline(tfidf_vectorizer(), LogisticRegression(class_weight="balanced", max_iter=2000, C=4.0))


def _tfidf_smote(seed: int):
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline as imb_pipeline

    return imb_pipeline(tfidf_vectorizer(), SMOTE(random_state=seed, k_neighbors=3), LogisticRegression(max_iter=2000, C=4.0))


def _balanced_bagging(seed: int):
    from imblearn.ensemble import BalancedBaggingClassifier

    return make_pipeline(tfidf_vectorizer(), BalancedBaggingClassifier(estimator=LogisticRegression(max_iter=1000, C=4.0),
                                                             n_estimators=10, random_state=seed))


def _easy_ensemble(seed: int):
    from imblearn.ensemble import EasyEnsembleClassifier

    return make_pipeline(tfidf_vectorizer(), EasyEnsembleClassifier(n_estimators=10, random_state=seed))


def _rusboost(seed: int):
    from imblearn.ensemble import RUSBoostClassifier

    return make_pipeline(tfidf_vectorizer(), RUSBoostClassifier(n_estimators=50, random_state=seed))


@dataclass(frozen=True)
class Reference:
    name: str
    label: str
    build: Callable[[int], object]


REFERENCES: dict[str, Reference] = {r.name: r for r in (
    Reference("ref:majority", "Majority class", lambda seed: DummyClassifier(strategy="most_frequent")),
    Reference("ref:stratified", "Stratified random", lambda seed: DummyClassifier(strategy="stratified", random_state=seed)),
    Reference("ref:tfidf_lr", "TF-IDF + logistic regression (balanced)", _tfidf_lr),
    Reference("ref:tfidf_smote", "TF-IDF + SMOTE + logistic regression", _tfidf_smote),
    Reference("ref:balanced_bagging", "TF-IDF + balanced bagging", _balanced_bagging),
    Reference("ref:easy_ensemble", "TF-IDF + EasyEnsemble", _easy_ensemble),
    Reference("ref:rusboost", "TF-IDF + RUSBoost", _rusboost),
)}


def is_reference(recipe: str) -> bool:
    return recipe.startswith(REFERENCE_PREFIX)


def fit_predict(name: str, train_texts: list[str], train_y: np.ndarray, test_texts: list[str], n_classes: int,
                seed: int):
    """Fitted model's test probabilities (n_test × n_classes) and the model itself."""
    model = REFERENCES[name].build(seed)
    model.fit(np.asarray(train_texts, dtype=object), train_y)
    proba_known = model.predict_proba(np.asarray(test_texts, dtype=object))
    proba = np.zeros((len(test_texts), n_classes))
    proba[:, model.classes_] = proba_known  # classes absent from training keep probability 0
    return proba, model

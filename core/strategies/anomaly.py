"""Anomaly detection for extreme imbalance: learn the normal class only, flag texts that do not fit it.

Where the rare class has a handful of rows (fraud, spam at 1%), practitioners often stop classifying and model
what "normal" looks like instead. The detector, its features, the map of its score to probabilities and the
tuning of the cut are in ``core.runs.anomaly``; this is the strategy that puts them into a run."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from core.data.label_mapping import one_against_rest
from core.errors import InputError
from core.runs.anomaly import (
    DETECTORS,
    FEATURES,
    NoveltyScorer,
    fit_detector,
    fit_log_odds,
    fit_text_features,
    margin_of,
    tune_cut,
)
from core.runs.decision_rules import Decision, objective
from core.runs.types import Fitted
from core.strategies.base import LabelSet, Param, Strategy


def rare_class(ctx) -> int:
    """The class with the fewest rows in the training split (ties: the first): ``minority_recall``'s class."""
    return int(np.argmin(np.bincount(ctx.data.y[ctx.split.train], minlength=ctx.n_classes)))


class Anomaly(Strategy):
    name = "anomaly"
    label = "Anomaly detection (learn the normal class)"
    family = "Anomaly detection"
    help = ("For a rare class under 1–2% of the rows against one normal class: two classes (on more, merge the "
            "others into one first, merge(...)+anomaly). Learns what the normal class looks like — a scikit-learn "
            "novelty detector fitted on its training rows only, on the LSTM's sentence representation (a network "
            "trained as the baseline) or on TF-IDF features —, scores how unusual every text is, and calls a text "
            "rare above a cut tuned on validation (macro-F1, or the rare class's recall at a precision floor). "
            "Probabilities: the score through an increasing sigmoid fitted on validation.")
    params = (
        Param("detector", "choice", "lof", "lof: LocalOutlierFactor(novelty=True), how much sparser a text's "
              "neighbourhood is than its neighbours' own; isolation_forest: IsolationForest, how few random splits "
              "set it apart (LSTM features only: on TF-IDF it never splits on words the normal texts lack); "
              "one_class_svm: OneClassSVM (RBF kernel), how far outside the region of the normal texts it lies.",
              choices=DETECTORS, label="Detector"),
        Param("features", "choice", "lstm", "lstm: the LSTM's sentence representation (the layer its softmax reads), "
              "from a network trained as the baseline is; tfidf: TF-IDF of words and word pairs (the TF-IDF "
              "reference's), no network trained.", choices=FEATURES, label="Sentence features"),
        Param("objective", "choice", "macro_f1", "What the cut maximises on validation.",
              choices=("macro_f1", "class_recall"), label="What to maximise"),
        Param("precision_floor", "float", 0.5, "For class_recall: minimum precision of the rare class.", 0.0, 1.0,
              label="Lowest precision allowed for the rare class", when=("objective", ("class_recall",))),
    )
    uses = frozenset({"fit", "decide"})
    softmax_only = True

    def __init__(self, **values):
        super().__init__(**values)
        if self["detector"] == "isolation_forest" and self["features"] == "tfidf":
            # Measured (tests/test_anomaly.py, and SMS spam at 1%): it ranked unusual texts below normal ones.
            raise InputError(
                f"{self._text()}: an isolation forest only splits on words the normal texts use, so a text made of "
                "other words looks typical to it, not unusual; use it on the LSTM's features "
                "(anomaly(detector=isolation_forest)), or lof or one_class_svm on TF-IDF.")

    def time_factor(self) -> float:
        # features=lstm trains the baseline's network, then fits the detector (seconds); tfidf trains none
        return 1.05 if self["features"] == "lstm" else 0.05

    def check_labels(self, labels: LabelSet) -> None:
        if len(labels.classes) == 2:
            return
        shown = ", ".join(labels.classes[:8]) + (", …" if len(labels.classes) > 8 else "")
        flagged, mapping = one_against_rest(labels.classes, labels.counts, ordinal=labels.ordinal)
        why = "the smallest class" if flagged == labels.smallest else (
            f'the smaller end of the scale: ordinal labels merge only neighbours, so "{labels.smallest}", the '
            "smallest class, cannot stand alone against one group")
        mapping = json.dumps(mapping, separators=(",", ":"), ensure_ascii=False)
        raise InputError(
            f"{self._text()} learns one normal class and flags one rare class, so it needs two classes; this "
            f'recipe has {len(labels.classes)} ({shown}). To flag "{flagged}" ({why}) against all the others, '
            f"merge them first: merge(mapping={mapping})+{self._text()} — or pick a dataset with two classes.")

    def _text(self) -> str:
        changed = {p.name: self[p.name] for p in self.params if self[p.name] != p.default}
        return self.name + (f"({','.join(f'{k}={v}' for k, v in changed.items())})" if changed else "")

    def fit(self, ctx, train):
        if ctx.n_classes != 2:  # refused at submit (check_labels); a run given more classes says the same
            self.check_labels(LabelSet(ctx.data.classes, tuple(np.bincount(ctx.data.y, minlength=ctx.n_classes)),
                                       ctx.data.ordinal))
        rare = rare_class(ctx)
        # the normal class's training rows, each once (an oversampler's copies and generated texts left out)
        normal_rows = np.unique(train.source_rows[(train.y != rare) & ~train.synthetic])
        if self["features"] == "lstm":
            base = ctx.trainer.fit(ctx, train)  # the baseline's network: same rows, settings and seed
            scorer = NoveltyScorer(self["detector"], "lstm", rare, ctx.n_classes, None, network=base.model)
            history, info = base.history, dict(base.info)
        else:
            ctx.report(stage="fitting TF-IDF features")
            vectorizer = fit_text_features([ctx.data.texts[r] for r in ctx.split.train])  # no label read
            scorer = NoveltyScorer(self["detector"], "tfidf", rare, ctx.n_classes, None, text_features=vectorizer)
            history, info = [], {"trained_samples": 0}
        ctx.report(stage="fitting the detector")
        scorer.estimator = fit_detector(self["detector"], scorer.row_features(ctx, normal_rows), seed=ctx.seed)
        validation = ctx.split.validation
        unusual = scorer.unusualness(scorer.row_features(ctx, validation)) if len(validation) else np.zeros(0)
        scorer.log_odds = fit_log_odds(unusual, ctx.data.y[validation] == rare)
        ctx.artifacts["anomaly"] = {
            "rare_class": ctx.data.classes[rare], "normal_rows": int(len(normal_rows)),
            "validation_rare_rows": int(np.sum(ctx.data.y[validation] == rare)),
            "log_odds": dataclasses.asdict(scorer.log_odds)}
        return Fitted(scorer, history, info)

    def decide(self, ctx, validation):
        rare = rare_class(ctx)
        score = objective(self["objective"], n_classes=ctx.n_classes, target_class=rare,
                          precision_floor=self["precision_floor"])
        cut = tune_cut(margin_of(validation.proba, rare), validation.y, rare, score)
        offsets = np.zeros(ctx.n_classes)
        offsets[rare] = -cut  # rare when log P(rare) − log P(normal) > cut
        return Decision("offsets", tuple(float(v) for v in offsets))

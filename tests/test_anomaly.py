"""Anomaly detection (core.runs.anomaly, core.strategies.anomaly): detectors learn the normal class only and
rank unusual texts above normal ones; the score's map to probabilities keeps that order; the tuned cut keeps
the precision floor; a run's detector is stored, read back safely and predicts what the run decided; label
sets it cannot take are refused at submit, saying what to do."""

from __future__ import annotations

import io
import pickle
import re

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from core.data.dataset import LabeledTexts
from core.data.split import SplitSpec, make_split
from core.errors import InputError
from core.runs.anomaly import (
    DETECTORS,
    MIN_SLOPE,
    LogOddsMap,
    NoveltyScorer,
    cut_candidates,
    fit_detector,
    fit_log_odds,
    fit_text_features,
    margin_of,
    tune_cut,
)
from core.runs.decision_rules import Decision, objective
from core.runs.heads import Head
from tests.conftest import FILLER, labeled

# Words the normal texts never use: an injected text made of them does not fit the normal class.
UNUSUAL = ("wire", "transfer", "urgent", "bitcoin", "password", "verify", "account", "prize", "winner", "claim",
           "click", "link", "casino", "bonus", "crypto", "wallet")


def normal_texts(n: int, rng: np.random.Generator) -> list[str]:
    return [" ".join(rng.choice(FILLER, size=8)) + f" n{i % 50}" for i in range(n)]


def unusual_texts(n: int, rng: np.random.Generator) -> list[str]:
    return [" ".join([*rng.choice(UNUSUAL, size=5), *rng.choice(FILLER, size=3)]) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus():
    """TF-IDF features of 400 normal training texts, and of 200 normal and 40 injected unusual texts to score."""
    rng = np.random.default_rng(0)
    train, held, unusual = normal_texts(400, rng), normal_texts(200, rng), unusual_texts(40, rng)
    vectorizer = fit_text_features(train + unusual_texts(4, rng))  # a training split holds a few rare texts
    scored = held + unusual
    return vectorizer.transform(train), vectorizer.transform(scored), np.r_[np.zeros(200), np.ones(40)]


@pytest.mark.parametrize("detector", ["lof", "one_class_svm"])
def test_a_detector_learned_on_normal_texts_ranks_injected_unusual_ones_above_them(corpus, detector):
    train, scored, is_unusual = corpus
    scorer = NoveltyScorer(detector, "tfidf", 1, 2, fit_detector(detector, train, seed=0))
    assert roc_auc_score(is_unusual, scorer.unusualness(scored)) >= 0.9


def test_an_isolation_forest_on_tfidf_is_refused_because_unknown_words_look_typical_to_it(corpus):
    """Why the strategy refuses it: its trees never split on a word the normal texts lack, so texts made of other
    words sit where normal texts with few words do — it ranks them below normal ones."""
    from core.strategies.registry import build

    train, scored, is_unusual = corpus
    forest = fit_detector("isolation_forest", train, seed=0)
    assert roc_auc_score(is_unusual, -forest.score_samples(scored)) < 0.5
    with pytest.raises(InputError, match=r"only splits on words the normal texts use.*lof or one_class_svm on TF-IDF"):
        build("anomaly(detector=isolation_forest,features=tfidf)")


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_detector_on_dense_sentence_features_ranks_points_off_the_normal_cloud_higher(detector):
    """The LSTM's features are dense: standardised, then the detector (a pipeline)."""
    rng = np.random.default_rng(1)
    normal = rng.normal(size=(400, 16)) * np.linspace(0.5, 5, 16)  # features on different scales
    held, unusual = rng.normal(size=(200, 16)) * np.linspace(0.5, 5, 16), rng.normal(3.0, 1.0, size=(40, 16))
    scorer = NoveltyScorer(detector, "lstm", 1, 2, fit_detector(detector, normal, seed=0))
    assert roc_auc_score(np.r_[np.zeros(200), np.ones(40)], scorer.unusualness(np.vstack([held, unusual]))) >= 0.9


def test_a_detector_learns_from_a_seeded_sample_above_the_row_cap(monkeypatch):
    import core.runs.anomaly as anomaly

    monkeypatch.setattr(anomaly, "MAX_FIT_ROWS", 50)
    rows = np.random.default_rng(2).normal(size=(80, 4))
    first, again = fit_detector("lof", rows, seed=3), fit_detector("lof", rows, seed=3)
    assert first[-1].n_samples_fit_ == 50
    assert np.array_equal(first.score_samples(rows), again.score_samples(rows))


def scores_and_labels(seed: int = 0, n_rare: int = 30, n_normal: int = 970, shift: float = 1.5):
    """Detector scores of rare rows (``shift`` standard deviations up) and normal rows, and the labels."""
    rng = np.random.default_rng(seed)
    return (np.r_[rng.normal(shift, 1.0, n_rare), rng.normal(0.0, 1.0, n_normal)],
            np.r_[np.ones(n_rare), np.zeros(n_normal)])


def test_the_map_to_probabilities_is_increasing_and_calibrated():
    unusual, rare = scores_and_labels()
    log_odds = fit_log_odds(unusual, rare)
    p = 1 / (1 + np.exp(-log_odds(unusual)))
    assert log_odds.slope > 0 and np.all(np.diff(log_odds(np.sort(unusual))) > 0)
    assert p.mean() == pytest.approx(rare.mean(), abs=0.01)  # Platt's fit matches the rare share
    assert np.mean((p - rare) ** 2) < np.mean((rare.mean() - rare) ** 2)  # better Brier than the share alone


def test_the_map_keeps_the_detectors_order_when_validation_says_the_opposite():
    """A detector whose validation rows rank the rare class lower still gets an increasing map (its slope at the
    floor), so its probabilities rank texts as its scores do."""
    unusual, rare = scores_and_labels()
    backwards = fit_log_odds(-unusual, rare)
    assert backwards.slope == pytest.approx(MIN_SLOPE)
    assert np.all(np.diff(backwards(np.sort(unusual))) > 0)
    assert fit_log_odds(np.zeros(0), np.zeros(0, bool)) == LogOddsMap()  # no validation rows: the squash alone


def test_a_text_repeated_many_times_is_learned_once_so_texts_near_it_score_as_usual():
    """LOF's density at a point with more copies than neighbours is infinite: without learning each distinct row
    once, a text near 30 copies of "Ok" would score ~10⁸ and flatten the map to probabilities for everything else."""
    rng = np.random.default_rng(6)
    normal = np.vstack([rng.normal(size=(300, 4)), np.ones((30, 4))])  # one text 30 times
    lof = fit_detector("lof", normal, seed=0)
    assert lof[-1].n_samples_fit_ == 301
    assert -lof.score_samples(np.full((1, 4), 1.01))[0] < 10


def test_scores_give_a_probability_distribution_whose_order_is_the_detectors(corpus):
    train, scored, is_unusual = corpus
    scorer = NoveltyScorer("lof", "tfidf", 1, 2, fit_detector("lof", train, seed=0),
                           log_odds=LogOddsMap(0.7, -3.0, 1.0, 0.5))
    proba = Head("softmax", 2).proba(scorer.scores(scored))
    assert proba.shape == (scored.shape[0], 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(is_unusual, proba[:, 1]) == roc_auc_score(is_unusual, scorer.unusualness(scored))


@pytest.mark.parametrize("floor", [0.5, 0.8])
def test_the_tuned_cut_keeps_the_precision_floor_at_the_highest_recall_it_allows(floor):
    unusual, rare = scores_and_labels(seed=1, n_normal=470, shift=3.0)
    y = rare.astype(int)
    proba = Head("softmax", 2).proba(np.c_[np.zeros_like(unusual), 1.3 * unusual - 4.0])
    margin = margin_of(proba, 1)
    cut = tune_cut(margin, y, 1, objective("class_recall", n_classes=2, target_class=1, precision_floor=floor))
    pred = Decision("offsets", (0.0, -cut)).apply(proba)  # the rule a run stores
    assert precision_score(y, pred) >= floor
    reachable = [recall_score(y, margin > c) for c in cut_candidates(margin)
                 if precision_score(y, margin > c, zero_division=0) >= floor]
    assert recall_score(y, pred) == max(reachable) > 0


def test_the_cut_searched_covers_every_small_count_of_flagged_rows():
    """Candidates flag the k most unusual rows; every k up to 100 is tried (where a rare class's cut falls),
    then fewer, up to every row."""
    margin = np.random.default_rng(4).normal(size=5000)
    flagged = sorted({int((margin > c).sum()) for c in cut_candidates(margin)})
    assert flagged[:101] == list(range(101)) and flagged[-1] == 5000 and len(flagged) <= 256
    assert sorted({int((margin[:40] > c).sum()) for c in cut_candidates(margin[:40])}) == list(range(41))


# ----- storing and reading a detector

@pytest.mark.parametrize("detector", DETECTORS)
def test_a_detector_read_back_from_its_bytes_scores_as_before(corpus, detector):
    train, scored, _ = corpus
    rng = np.random.default_rng(5)
    vectorizer = fit_text_features(normal_texts(100, rng))
    sparse = NoveltyScorer(detector, "tfidf", 1, 2, fit_detector(detector, train, seed=0), text_features=vectorizer,
                           log_odds=LogOddsMap(0.5, -2.0, 1.2, 0.3))
    dense_rows = rng.normal(size=(60, 8))
    dense = NoveltyScorer(detector, "lstm", 0, 2, fit_detector(detector, dense_rows, seed=0))
    for scorer, rows in ((sparse, scored), (dense, dense_rows)):
        again = NoveltyScorer.from_bytes(scorer.to_bytes())
        assert np.array_equal(again.scores(rows), scorer.scores(rows))
        assert (again.detector, again.features, again.rare, again.log_odds, again.text_features is None) == (
            scorer.detector, scorer.features, scorer.rare, scorer.log_odds, scorer.text_features is None)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_detector_file_that_would_run_code_is_refused_unread(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"format": "imbalance-lab-detector/1", "estimator": _Exploit(marker)})
    with pytest.raises(InputError, match=r"detector\.pkl: it names (posix|os)\.system"):
        NoveltyScorer.from_bytes(payload)
    assert not marker.exists()
    with pytest.raises(InputError, match="not a detector saved by Imbalance Lab"):
        NoveltyScorer.from_bytes(b"not a pickle")
    with pytest.raises(InputError, match="not a detector saved by Imbalance Lab"):
        NoveltyScorer.from_bytes(pickle.dumps({"format": "other"}))
    assert isinstance(pickle.load(io.BytesIO(pickle.dumps([1]))), list)  # the plain unpickler is untouched


# ----- the strategy in a run (TF-IDF features: no network trained)

def _extreme_data(seed: int = 0) -> LabeledTexts:
    """1,000 normal texts and 16 injected unusual ones (1.6%) as the rare class."""
    rng = np.random.default_rng(seed)
    texts = normal_texts(1000, rng) + unusual_texts(16, rng)
    return LabeledTexts(tuple(texts), np.r_[np.zeros(1000, int), np.ones(16, int)], ("normal", "rare"), name="fraud")


@pytest.fixture(scope="module")
def tfidf_run():
    from core.keras.trainer import KerasTrainer
    from core.runs.pipeline import run_recipe
    from core.settings import TrainSettings
    from core.strategies.registry import build

    data = _extreme_data()
    split = make_split(data, SplitSpec(seed=0))
    settings = TrainSettings(epochs=1, vocab_size=200, max_len=16, embedding_dim=8, units=8)
    recipe = "anomaly(features=tfidf,objective=class_recall,precision_floor=0.6)"
    return data, split, run_recipe(data, split, build(recipe), settings, 0, trainer=KerasTrainer())


def test_an_anomaly_run_learns_the_normal_rows_only_and_ranks_the_rare_test_rows_first(tfidf_run):
    data, split, out = tfidf_run
    scorer = out.fitted.model
    assert scorer.estimator.n_samples_fit_ == int(np.sum(data.y[split.train] == 0))  # the normal rows only (all distinct)
    assert out.fitted.history == [] and out.trained_samples == 0  # no network trained for TF-IDF features
    assert out.test.proba.shape == (len(split.test), 2) and np.allclose(out.test.proba.sum(axis=1), 1.0)
    assert roc_auc_score(out.test.y, out.test.proba[:, 1]) >= 0.9
    assert out.decision.kind == "offsets" and out.decision.values[0] == 0.0
    assert out.validation_macro_f1 is not None  # cross-fitted like threshold's
    assert out.artifacts["anomaly"]["rare_class"] == "rare" and out.artifacts["anomaly"]["log_odds"]["slope"] > 0


def test_an_anomaly_runs_cut_keeps_the_precision_floor_on_validation(tfidf_run):
    data, split, out = tfidf_run
    proba = out.fitted.model.scores(out.fitted.model.text_features.transform(
        np.asarray([data.texts[r] for r in split.validation], dtype=object)))
    pred = out.decision.apply(Head("softmax", 2).proba(proba))
    y = data.y[split.validation]
    assert pred.sum() > 0 and precision_score(y, pred) >= 0.6


def test_a_stored_anomaly_run_predicts_new_texts_as_the_run_decided(tfidf_run):
    """The Predict page's path (core.jobs.predict_service) from the stored detector, head and decision."""
    from core.jobs.predict_service import RecipeModel, SeedModel, predict_recipe

    data, split, out = tfidf_run
    seed = SeedModel(None, out.encoder, Head.from_json(out.head.to_json()), Decision.from_json(out.decision.to_json()),
                     NoveltyScorer.from_bytes(out.fitted.model.to_bytes()))
    answer = predict_recipe(RecipeModel("anomaly", data.classes, [seed]), [data.texts[r] for r in split.test])
    assert answer["predicted"] == [data.classes[c] for c in out.y_pred]
    assert np.allclose(answer["proba"], out.test.proba, atol=1e-6)


# ----- label sets, at submit

def test_anomaly_on_more_than_two_classes_is_refused_at_submit_with_a_merge_that_works(store):
    from core.jobs.experiments import ExperimentSpec, validate

    dataset_id = store.add_dataset(labeled({"spam": 8, "promo": 40, "ham": 300}), name="three")
    with pytest.raises(InputError, match=r"needs two classes; this recipe has 3 \(spam, promo, ham\)\. To flag "
                                         r'"spam" \(the smallest class\)') as refused:
        validate(store, ExperimentSpec(dataset_id=dataset_id, recipes=("anomaly(features=tfidf)",)))
    suggested = re.search(r"(merge\(mapping=\{.*?\}\)\+anomaly\(features=tfidf\))", str(refused.value)).group(1)
    assert suggested == 'merge(mapping={"promo":"other","ham":"other"})+anomaly(features=tfidf)'
    assert validate(store, ExperimentSpec(dataset_id=dataset_id, recipes=(suggested,))).recipes[1].startswith("merge")
    two = store.add_dataset(labeled({"ham": 300, "spam": 5}), name="two")
    assert validate(store, ExperimentSpec(dataset_id=two, recipes=("anomaly",))).recipes == ("baseline", "anomaly")


def test_on_ordinal_labels_the_suggested_merge_keeps_neighbours_together(store):
    from dataclasses import replace

    from core.jobs.experiments import ExperimentSpec, validate

    dataset_id = store.add_dataset(replace(labeled({"1": 30, "2": 5, "3": 150}), ordinal=True), name="stars")
    with pytest.raises(InputError, match=r'To flag "1" \(the smaller end of the scale.*"2", the smallest class') as e:
        validate(store, ExperimentSpec(dataset_id=dataset_id, recipes=("anomaly",)))
    suggested = re.search(r"(merge\(mapping=\{.*?\}\)\+anomaly)", str(e.value)).group(1)
    validate(store, ExperimentSpec(dataset_id=dataset_id, recipes=(suggested,)))  # a merge of neighbours


def test_a_threshold_target_class_that_is_not_a_class_is_refused_at_submit(store):
    from core.jobs.experiments import ExperimentSpec, validate

    dataset_id = store.add_dataset(labeled({"ham": 30, "spam": 10}), name="two")
    with pytest.raises(InputError, match="'hma' is not a class; the classes are ham, spam"):
        validate(store, ExperimentSpec(dataset_id=dataset_id,
                                       recipes=("threshold(objective=class_recall,target_class=hma)",)))


def test_an_anomaly_run_is_stored_predicted_and_exported_like_any_run(store, tmp_path):
    """Through the store and the worker's code: a TF-IDF anomaly run keeps its detector (detector.pkl, no
    network), the Predict service answers with it, and a bundle exported from it predicts the same."""
    from core.jobs.experiments import ExperimentSpec, submit
    from core.jobs.predict_service import answer_request, load_bundle, predict_recipe
    from core.jobs.predictions import export_bundle, prediction_result, request_prediction
    from core.jobs.store import Status
    from core.results.experiment_results import experiment_results
    from core.settings import TrainSettings
    from tests.conftest import TINY_TRAINING, run_queued

    dataset_id = store.add_dataset(_extreme_data(seed=1), name="fraud")
    recipe = "anomaly(features=tfidf)"
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=(recipe,), seeds=1,
                                                 settings=TrainSettings(**TINY_TRAINING)))
    run_queued(store)
    (run,) = store.runs(experiment=experiment_id, recipe=recipe)
    assert run.status == Status.FINISHED.value
    folder = store.path_inside(run.result_dir)
    assert (folder / "detector.pkl").exists() and not (folder / "model.keras").exists()
    assert experiment_results(store, experiment_id).scores()["pr_auc_macro"][recipe][0] > 0.5

    texts = ["the item arrived today and it was really quite fine",
             "urgent wire transfer verify your bitcoin wallet password"]
    request_id = request_prediction(store, experiment_id, [recipe], texts)
    store.claim_prediction_request()
    answer_request(store, request_id, {})
    (answer,) = prediction_result(store, request_id)["result"]
    assert answer["predicted"][0] == "normal" and answer["proba"][1][1] > answer["proba"][0][1]
    bundle = export_bundle(store, experiment_id, recipe, tmp_path / "anomaly.zip")
    assert predict_recipe(load_bundle(bundle), texts) == answer


def test_the_cli_refuses_anomaly_on_three_classes_before_it_plans_or_queues_anything(tmp_path, capsys):
    from core import cli
    from core.jobs.store import Store
    from tests.conftest import make_texts

    texts, labels = make_texts({"a": 12, "b": 20, "c": 30})
    csv = tmp_path / "reviews.csv"
    csv.write_text("text,label\n" + "\n".join(f"{t},{y}" for t, y in zip(texts, labels)), encoding="utf-8")
    args = ["--workspace", str(tmp_path / "ws"), "train", str(csv), "--text-col", "text", "--label-col", "label",
            "--seeds", "1", "--recipe", "anomaly", "--no-wait"]
    assert cli.main(args) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert 'merge them first: merge(mapping={"b":"other","c":"other"})+anomaly' in err
    assert " runs · about " not in err  # no plan printed for runs that will not exist
    assert Store(tmp_path / "ws").experiments() == []

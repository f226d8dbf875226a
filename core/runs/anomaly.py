"""Novelty detection for extreme imbalance: learn what the normal class looks like, flag what does not fit.

A scikit-learn detector (``IsolationForest``, ``OneClassSVM``, ``LocalOutlierFactor(novelty=True)``) is
fitted on the normal class's training rows only, on sentence features: the LSTM's sentence representation
(the layer the softmax reads, from a network trained as the baseline is) or TF-IDF (the vectorizer of the
TF-IDF + logistic regression reference, fitted on every training text — it reads no label). How unusual a
text is, ``−score_samples``, becomes the rare class's log-odds through an increasing map fitted on the
validation rows (Platt scaling of a squashed score, ``LogOddsMap``), so a run has class probabilities for
PR-AUC, calibration and the Brier score; a text is called rare when those log-odds pass a cut tuned on
validation with the objectives of ``threshold``.

TensorFlow-free: the LSTM's features come through the run's trainer (``RunContext.trainer.features``).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from core.errors import InputError

DETECTORS = ("lof", "isolation_forest", "one_class_svm")
FEATURES = ("lstm", "tfidf")
# Normal rows a detector learns from at most (a seeded sample above): OneClassSVM's fit grows with the
# square of the rows and LocalOutlierFactor keeps every row it learned from, in memory and in the run's files.
MAX_FIT_ROWS = 10_000
# The increasing map's smallest slope, in log-odds per unit of the squashed score (``LogOddsMap``): a detector
# that ranks validation's rare rows below the normal ones still keeps its order of texts.
MIN_SLOPE = 1e-3
# The cut is searched among "flag the k most unusual rows": every k up to EVERY_K (where a rare class's cut
# falls), then k on a geometric grid up to every row, CUT_CANDIDATES in all (one score each, ≈1–3 ms).
EVERY_K, CUT_CANDIDATES = 100, 256
DETECTOR_FORMAT = "imbalance-lab-detector/1"


def make_detector(kind: str, *, seed: int, rows: int, sparse: bool):
    """A new, unfitted scikit-learn novelty detector at the library's defaults.

    ``rows``: how many it will learn from (LOF needs fewer neighbours than rows). On TF-IDF rows (``sparse``)
    LOF measures cosine distance by brute force; on the LSTM's dense features it sees standardised features
    (``fit_detector``) with Euclidean distance."""
    if kind == "isolation_forest":
        from sklearn.ensemble import IsolationForest

        return IsolationForest(random_state=seed)
    if kind == "one_class_svm":
        from sklearn.svm import OneClassSVM

        return OneClassSVM(gamma="scale")  # deterministic: no seed to give
    if kind == "lof":
        from sklearn.neighbors import LocalOutlierFactor

        neighbours = max(1, min(20, rows - 1))
        return LocalOutlierFactor(n_neighbors=neighbours, novelty=True,
                                  **({"metric": "cosine", "algorithm": "brute"} if sparse else {}))
    raise ValueError(f"unknown detector {kind!r}; known: {', '.join(DETECTORS)}")


def distinct_rows(features):
    """``features`` with each distinct row once, in first-seen order. Repeated texts (SMS has "Ok" dozens of
    times) give identical rows, and LOF's density of a point with more copies than neighbours is infinite (k-th
    neighbour at distance 0): every text near them would score ~10⁸."""
    from scipy import sparse as sp

    if sp.issparse(features):
        rows = sp.csr_matrix(features)
        rows.sort_indices()
        keys = [(rows.indices[a:b].tobytes(), rows.data[a:b].tobytes())
                for a, b in zip(rows.indptr[:-1], rows.indptr[1:])]
    else:
        rows = np.ascontiguousarray(features)
        keys = [r.tobytes() for r in rows]
    first: dict = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    return rows[np.fromiter(first.values(), dtype=np.int64, count=len(first))]


def fit_detector(kind: str, features, *, seed: int):
    """``kind`` fitted on ``features`` (the normal class's rows: each distinct row once, at most ``MAX_FIT_ROWS``
    of them — a seeded sample above); dense features are standardised first (a pipeline, so scoring
    standardises too)."""
    from scipy import sparse as sp

    features = distinct_rows(features)
    rows = features.shape[0]
    if rows > MAX_FIT_ROWS:
        features = features[np.sort(np.random.default_rng([seed, 97]).choice(rows, MAX_FIT_ROWS, replace=False))]
    is_sparse = sp.issparse(features)
    detector = make_detector(kind, seed=seed, rows=features.shape[0], sparse=is_sparse)
    if not is_sparse:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        detector = make_pipeline(StandardScaler(), detector)
    return detector.fit(features)


def fit_text_features(texts: list[str]):
    """The TF-IDF reference's vectorizer (``core.runs.references.tfidf_vectorizer``) fitted on ``texts``."""
    from core.runs.references import tfidf_vectorizer

    return tfidf_vectorizer().fit(np.asarray(texts, dtype=object))


@dataclass(frozen=True)
class LogOddsMap:
    """The increasing map from a detector's unusualness u to the rare class's log-odds:
    ``slope × asinh((u − centre) / spread) + intercept``. ``asinh`` is a strictly increasing squash — linear near
    the middle, logarithmic in the tails — so the few extreme scores a detector gives (LOF's for a text that
    repeats a training text reach 10⁸) do not flatten the map for every other text; ``centre`` and ``spread``
    are the validation rows' median and interquartile range."""

    slope: float = 1.0
    intercept: float = 0.0
    centre: float = 0.0
    spread: float = 1.0

    def squashed(self, unusualness: np.ndarray) -> np.ndarray:
        return np.arcsinh((np.asarray(unusualness, dtype=float) - self.centre) / self.spread)

    def __call__(self, unusualness: np.ndarray) -> np.ndarray:
        return self.slope * self.squashed(unusualness) + self.intercept


def fit_log_odds(unusualness: np.ndarray, is_rare: np.ndarray) -> LogOddsMap:
    """The ``LogOddsMap`` of a detector's scores on the validation rows, fitted by Platt scaling (Platt 1999, as
    scikit-learn's ``CalibratedClassifierCV(method="sigmoid")``): a logistic regression of the label on the
    squashed score, with Platt's targets (N₊+1)/(N₊+2) and 1/(N₋+2) instead of 1 and 0, which keeps a handful of
    rare rows from making the map a step. Unlike Platt's, the slope is kept at least ``MIN_SLOPE``: a text more
    unusual is never less likely rare, so the detector's order of texts (and so PR-AUC and ROC-AUC) is what the
    probabilities keep. Rows without either class still get a map (the targets pull it to the class shares); no
    rows give the squash alone."""
    from scipy.optimize import minimize

    u = np.asarray(unusualness, dtype=float)
    rare = np.asarray(is_rare, dtype=bool)
    if len(u) == 0:
        return LogOddsMap()
    low, centre, high = np.percentile(u, [25, 50, 75])
    spread = float(high - low) or float(np.abs(u - centre).max()) or 1.0
    squash = LogOddsMap(centre=float(centre), spread=spread)
    z = squash.squashed(u)
    n_rare, n_normal = int(rare.sum()), int((~rare).sum())
    target = np.where(rare, (n_rare + 1) / (n_rare + 2), 1.0 / (n_normal + 2))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        f = params[0] * z + params[1]
        p = 0.5 * (1.0 + np.tanh(f / 2.0))  # the logistic function, without overflow
        residual = p - target
        return float(np.sum(np.logaddexp(0.0, f) - target * f)), np.array([residual @ z, residual.sum()])

    prior = (n_rare + 1) / (len(u) + 2)
    fitted = minimize(loss, x0=np.array([1.0, np.log(prior / (1 - prior))]), jac=True, method="L-BFGS-B",
                      bounds=[(MIN_SLOPE, None), (None, None)])
    return LogOddsMap(float(fitted.x[0]), float(fitted.x[1]), squash.centre, squash.spread)


def cut_candidates(margin: np.ndarray) -> np.ndarray:
    """Cuts that flag the k highest ``margin`` rows — every k up to ``EVERY_K``, then a geometric grid up to every
    row, ``CUT_CANDIDATES`` at most —: between the k-th and the (k+1)-th value, or beyond either end."""
    ordered = np.sort(np.asarray(margin, dtype=float))[::-1]
    n = len(ordered)
    first = np.arange(min(n, EVERY_K) + 1)
    further = np.geomspace(EVERY_K, n, CUT_CANDIDATES - EVERY_K) if n > EVERY_K else np.zeros(0)
    ks = np.unique(np.concatenate([first, np.round(further).astype(int)]))
    above = np.where(ks == 0, ordered[0] + 1.0, ordered[np.maximum(ks - 1, 0)])
    below = np.where(ks == n, ordered[-1] - 1.0, ordered[np.minimum(ks, n - 1)])
    return (above + below) / 2.0


def tune_cut(margin: np.ndarray, y: np.ndarray, rare: int, score: Callable[[np.ndarray, np.ndarray], float]
             ) -> float:
    """The cut on the rare class's ``margin`` (its log-probability minus the normal class's) that maximises
    ``score`` (``core.runs.decision_rules.objective``) on these rows: a text is rare above it. Of cuts that
    score the same, the middle one."""
    margin = np.asarray(margin, dtype=float)
    if len(margin) == 0:
        return 0.0
    normal = 1 - rare
    cuts = cut_candidates(margin)
    scores = np.array([score(y, np.where(margin > c, rare, normal)) for c in cuts])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(cuts[best[len(best) // 2]])


def margin_of(proba: np.ndarray, rare: int) -> np.ndarray:
    """The rare class's log-probability minus the normal class's, as ``Decision("offsets")`` compares them."""
    log_p = np.log(np.clip(proba, 1e-12, 1.0))
    return log_p[:, rare] - log_p[:, 1 - rare]


@dataclass
class NoveltyScorer:
    """A fitted detector on sentence features and its map to the rare class's log-odds: a run's model when
    the ``anomaly`` strategy trains it (``core.strategies.anomaly``). It scores rows itself
    (``row_scores``, the pipeline's ``RowScorer``); ``scores`` are raw outputs a softmax head turns into
    class probabilities — 0 for the normal class, the log-odds for the rare one."""

    detector: str
    features: str
    rare: int
    n_classes: int
    estimator: Any  # the fitted scikit-learn detector (after a StandardScaler on dense features)
    text_features: Any = None  # features=tfidf: the fitted TfidfVectorizer
    log_odds: LogOddsMap = LogOddsMap()  # fitted on the validation rows (fit_log_odds)
    network: Any = None  # features=lstm: the network whose ``features`` layer it reads (stored as model.keras)

    def unusualness(self, features) -> np.ndarray:
        """How unusual each row is: the detector's ``−score_samples`` (higher: less like the normal class)."""
        return -np.asarray(self.estimator.score_samples(features), dtype=float)

    def scores(self, features) -> np.ndarray:
        out = np.zeros((features.shape[0], self.n_classes))
        out[:, self.rare] = self.log_odds(self.unusualness(features))
        return out

    def text_scores(self, texts: list[str], network_features: Callable[[Any, list[str]], np.ndarray]) -> np.ndarray:
        """``scores`` of new texts; ``network_features(network, texts)`` gives the network's features."""
        if self.features == "tfidf":
            return self.scores(self.text_features.transform(np.asarray(texts, dtype=object)))
        return self.scores(network_features(self.network, texts))

    def row_features(self, ctx, rows: np.ndarray):
        """The sentence features of the dataset's ``rows`` in a run (the LSTM's through ``ctx.trainer``)."""
        if self.features == "tfidf":
            return self.text_features.transform(np.asarray([ctx.data.texts[r] for r in rows], dtype=object))
        return ctx.trainer.features(ctx, self.network, rows)

    def row_scores(self, ctx, rows: np.ndarray) -> np.ndarray:
        """``scores`` of the dataset's ``rows`` in a run."""
        return self.scores(self.row_features(ctx, rows))

    def to_bytes(self) -> bytes:
        """Everything but the network (stored on its own as model.keras), as a pickle ``from_bytes`` reads."""
        return pickle.dumps({"format": DETECTOR_FORMAT, "detector": self.detector, "features": self.features,
                             "rare": self.rare, "n_classes": self.n_classes,
                             "log_odds": dataclasses.asdict(self.log_odds), "estimator": self.estimator,
                             "text_features": self.text_features}, protocol=5)

    @classmethod
    def from_bytes(cls, payload: bytes, *, network: Any = None, where: str = "detector.pkl") -> "NoveltyScorer":
        """A scorer saved by ``to_bytes``, read by an unpickler that builds only the scikit-learn, SciPy and
        NumPy types a detector is made of (``_SAFE_GLOBALS``): a bundle from elsewhere cannot run code when it
        is read, as Keras's safe mode keeps model.keras from doing."""
        try:
            state = _DetectorUnpickler(io.BytesIO(payload)).load()
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        except Exception as exc:  # truncated or not a pickle at all
            raise InputError(f"{where}: not a detector saved by Imbalance Lab ({type(exc).__name__}).") from None
        if not isinstance(state, dict) or state.get("format") != DETECTOR_FORMAT:
            raise InputError(f"{where}: not a detector saved by Imbalance Lab (format "
                             f"{state.get('format') if isinstance(state, dict) else None!r}).")
        fields = {k: state[k] for k in ("detector", "features", "rare", "n_classes", "estimator", "text_features")}
        return cls(**fields, log_odds=LogOddsMap(**{k: float(v) for k, v in state["log_odds"].items()}),
                   network=network)


# What a pickled detector may name (module, name): the types of the detectors, their scaler and the TF-IDF
# vectorizer, and how NumPy and SciPy rebuild arrays. Anything else (os.system, builtins.eval, …) is refused.
_SAFE_GLOBALS = frozenset({
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    *(("numpy", t) for t in ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint64",
                             "uint32", "uint16", "uint8", "bool_", "intp", "object_", "str_")),
    ("scipy.sparse._csr", "csr_matrix"), ("scipy.sparse._csc", "csc_matrix"),
    ("sklearn.pipeline", "Pipeline"), ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.feature_extraction.text", "TfidfVectorizer"), ("sklearn.feature_extraction.text", "TfidfTransformer"),
    ("sklearn.ensemble._iforest", "IsolationForest"), ("sklearn.tree._classes", "ExtraTreeRegressor"),
    ("sklearn.tree._tree", "Tree"), ("sklearn.svm._classes", "OneClassSVM"),
    ("sklearn.neighbors._lof", "LocalOutlierFactor"),
    ("sklearn.neighbors._kd_tree", "KDTree"), ("sklearn.neighbors._kd_tree", "newObj"),
    ("sklearn.neighbors._ball_tree", "BallTree"), ("sklearn.neighbors._ball_tree", "newObj"),
    ("sklearn.metrics._dist_metrics", "newObj"),
})
_DISTANCE_MODULE = "sklearn.metrics._dist_metrics"  # its distance classes (EuclideanDistance64, …) too


class _DetectorUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        found = super().find_class(module, name) if (module, name) in _SAFE_GLOBALS or module == _DISTANCE_MODULE \
            else None
        if found is None or (module == _DISTANCE_MODULE and name != "newObj" and not isinstance(found, type)):
            raise InputError(f"it names {module}.{name}, which no detector is made of; it was saved by another "
                             "version of scikit-learn, or is not an Imbalance Lab detector. Train the recipe again "
                             "(or export the bundle again) with this installation.")
        return found

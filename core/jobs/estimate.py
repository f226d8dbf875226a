"""How long an experiment should take on this machine, before it is submitted.

A run costs what its parts cost: a fixed start (split, encoding, building or
reusing the model, predictions, writing the result), then per epoch a cost per
training row and per word it reads (texts cut at the run's maximum length),
scaled by the LSTM's size, for as many epochs as early stopping usually lets it
run. Resamplers change the rows a recipe trains on (``Strategy.class_sizes``);
the other strategies' extra work is their registry ``cost``. References cost
per training word. Runs share the worker's slots; a cold worker's start counts.

The constants were measured on the 2-core reference machine (the benchmark's
quality and protocol workspaces: ``scripts/calibrate_estimate.py`` prints them)
and checked against whole experiments by the benchmark's experiment section
(``experiment.estimate_ratio``, ``experiment.estimate_ratio_small``: estimate ÷
measured). TensorFlow-free, so the Experiment page and the CLI can call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.data.wording import duration, plural
from core.runs.lengths import auto_max_len, word_counts
from core.settings import TrainSettings
from core.strategies.recipe import BASELINE

if TYPE_CHECKING:
    from core.data.dataset import LabeledTexts
    from core.jobs.experiments import ExperimentSpec

REFERENCE_UNITS, REFERENCE_EMBEDDING = 64, 64  # the size the per-word cost was measured at
RESAMPLED_EXPONENT = 0.6


@dataclass(frozen=True)
class MachineCosts:
    """Seconds per unit of work on one slot of the reference machine (two slots busy).

    The fit's shape (29.2 µs per row + 4.82 µs per word and epoch) is the line through the five quality
    datasets' medians (``scripts/calibrate_estimate.py benchmarks/workspace``); those runs trained while the
    machine did other work too, so it is scaled by 0.79, the clothing baseline's fit time in the experiment
    section on a quiet machine (26.6 s a run) over the same run in the quality workspace (33.7 s)."""

    us_per_row: float = 23.0  # per training row and epoch, beside its words (batching, the step's fixed work)
    us_per_word: float = 3.8  # per word read and epoch at 64 units and a 64-wide embedding (validation included)
    run_start_s: float = 0.8  # split, encoder, model, writing
    us_per_predicted_word: float = 1.5  # predicting the validation and test rows, per word of the whole dataset
    worker_start_s: float = 6.0  # a cold worker: run processes start and import TensorFlow
    reference_start_s: float = 0.3  # majority / stratified references: no fitting to speak of
    # TF-IDF + logistic regression per training word: 37 µs in the experiment section on a quiet machine
    # (BENCHMARKS.md, run seconds of ref:tfidf_lr); the quality workspace's runs, trained under load, show 26–118.
    tfidf_us_per_word: float = 37.0


COSTS = MachineCosts()


def expected_epochs(settings: TrainSettings) -> float:
    """Epochs a run usually trains: early stopping ends most runs a couple of patience windows in (measured:
    at patience 6, 11–26 of 30 epochs on the five benchmark datasets; at patience 2, 6–10 of 10)."""
    return float(min(settings.epochs, 2 * settings.patience + 3))


@dataclass(frozen=True)
class DataShape:
    """What the estimate needs to know about a dataset: its class sizes and its texts' word counts."""

    class_counts: tuple[int, ...]
    words: np.ndarray = field(repr=False)

    @classmethod
    def of(cls, data: "LabeledTexts") -> "DataShape":
        return cls(tuple(int(c) for c in np.bincount(data.y, minlength=data.n_classes)), word_counts(data.texts))

    @property
    def n_rows(self) -> int:
        return int(sum(self.class_counts))

    def words_per_row(self, settings: TrainSettings) -> float:
        """Mean words a run reads per text, after the cut at the maximum length."""
        if len(self.words) == 0:
            return 0.0
        max_len = settings.max_len or auto_max_len(self.words, settings.max_len_cap)
        return float(np.minimum(self.words, max_len).mean())


@dataclass(frozen=True)
class Estimate:
    runs: int
    seconds: float  # expected wall time from submit to the last run's end
    upper_seconds: float  # if every run trained all its epochs
    seconds_by_recipe: dict[str, float]  # one run's expected seconds, per recipe (references included)
    slots: int

    def in_words(self) -> str:
        return f"{self.runs} runs · about {duration(self.seconds)} (at most {duration(self.upper_seconds)})"


def lstm_run_seconds(recipe: str, shape: DataShape, train_share: float, settings: TrainSettings, epochs: float,
                     costs: MachineCosts = COSTS) -> float:
    """One run of ``recipe``: its start, ``epochs`` epochs over the rows it trains on, and its predictions."""
    from core.strategies.registry import class_sizes, cost

    split_rows = np.asarray(shape.class_counts) * train_share
    # A resampled epoch repeats (or drops) rows, so early stopping comes sooner (or later): measured on the
    # benchmark experiment, oversampling clothing to 2.8× its rows cost 1.84× the baseline's time (2.8^0.6).
    ratio = float(np.sum(class_sizes(recipe, split_rows))) / max(1.0, float(np.sum(split_rows)))
    rows = float(np.sum(split_rows)) * ratio ** RESAMPLED_EXPONENT
    words = shape.words_per_row(settings)
    size = settings.units * (settings.embedding_dim + settings.units) / (
        REFERENCE_UNITS * (REFERENCE_EMBEDDING + REFERENCE_UNITS))
    per_epoch = rows * (costs.us_per_row + costs.us_per_word * words * size) * 1e-6
    predict = costs.us_per_predicted_word * shape.n_rows * words * 1e-6
    return costs.run_start_s + cost(recipe) * epochs * per_epoch + predict


def reference_seconds(reference: str, shape: DataShape, train_share: float, settings: TrainSettings,
                      costs: MachineCosts = COSTS) -> float:
    if reference.endswith("tfidf_lr"):
        words = float(np.mean(shape.words)) if len(shape.words) else 0.0
        return costs.reference_start_s + costs.tfidf_us_per_word * shape.n_rows * train_share * words * 1e-6
    return costs.reference_start_s


def estimate(spec: "ExperimentSpec", shape: DataShape, *, slots: int, costs: MachineCosts = COSTS) -> Estimate:
    """Expected and worst-case wall time of ``spec`` (its sweeps expanded: ``core.jobs.experiments.review``) on
    ``slots`` parallel slots, from submit to the last run. A recipe with a settings step is estimated at the
    settings it trains with (a sweep over units or epochs changes what each point costs)."""
    from core.jobs.shared_fit import shares_model
    from core.strategies.sweeps import split_settings

    train_share = 1.0 - spec.test_share - spec.validation_share
    recipes = list(dict.fromkeys((BASELINE, *spec.recipes)))  # the baseline always runs
    trains_with = {r: split_settings(r, spec.settings) for r in recipes}
    # Runs that decide on another recipe's model of the same seed cost a run's start (queued after it, they
    # find it finished); the worst case still counts their training, in case they do not.
    shared = shares_model(recipes, spec.settings)
    slots = max(1, slots)

    def total(upper: bool) -> tuple[float, dict[str, float]]:
        per_run = {r: costs.run_start_s if r in shared and not upper else
                   lstm_run_seconds(strategies, shape, train_share, settings,
                                    float(settings.epochs) if upper else expected_epochs(settings), costs)
                   for r, (strategies, settings) in trains_with.items()}
        per_run |= {r: reference_seconds(r, shape, train_share, spec.settings, costs) for r in spec.references}
        busy = sum(per_run.values()) * spec.seeds
        # The last runs rarely end together: on average one slot idles for half a run at the end.
        tail = 0.5 * busy / (spec.seeds * len(per_run)) if slots > 1 else 0.0
        return costs.worker_start_s + busy / slots + tail, per_run

    seconds, by_recipe = total(upper=False)
    upper, _ = total(upper=True)
    return Estimate(runs=spec.seeds * (len(recipes) + len(spec.references)), seconds=seconds,
                    upper_seconds=upper, seconds_by_recipe=by_recipe, slots=slots)


def sweeps_in_words(spec: "ExperimentSpec", guess: Estimate) -> list[str]:
    """One sentence per sweep of an expanded ``spec``: the recipes and runs it makes and about how long they take
    on the estimate's slots (their share of the expected time), said before submit."""
    lines = []
    for group in spec.sweeps:
        recipes = list(dict.fromkeys(p.recipe for p in group.points))
        new = [r for r in recipes if r != BASELINE]
        runs = len(new) * spec.seeds
        seconds = sum(guess.seconds_by_recipe.get(r, 0.0) for r in new) * spec.seeds / guess.slots
        at_base = " (one of them is the baseline, which runs anyway)" if len(new) < len(recipes) else ""
        lines.append(f"Sweep `{group.source}`: {plural(len(recipes), 'recipe')}{at_base} × "
                     f"{plural(spec.seeds, 'seed')} = {plural(runs, 'run')}, about {duration(seconds)} of the "
                     "experiment's time.")
    return lines

"""Imbalance Lab benchmarks: ``python -m benchmarks [--quick] [--out DIR] [--datasets DIR] [--fresh]
[--sections a,b,...]``.

Writes ``BENCHMARKS.md`` (human-readable) and ``benchmarks/results.json``
(machine-readable, merged across invocations) under ``--out``. Every LSTM run
goes through the product itself: ``core.jobs.store`` + ``core.jobs.worker`` (spawned run
children) + ``core.jobs.runner``. The one deliberate exception is the *naive*
tutorial pipeline of the throughput section, the thing we compare against.

Sections (one module each): ``throughput`` (incl. fraction of peak and the
bare step), ``fit_profile`` (where one run's time goes), ``experiment``, ``ui``
(incl. the 100k-row profile), ``memory``, ``quality``, ``scaling``, ``protocol``
(how the training defaults were chosen, on validation rows). Every section but
quality trains at the fixed ``benchmarks.config.BENCHMARK_SETTINGS`` (the
protocol's candidates start from them); quality at the product defaults. Definitions of throughput, FLOPs and peak are those of
docs/architecture.md ("Definitions").
"""

# The fixed benchmark recipes (registry syntax); every other hyper-parameter is the product default.
RECIPES = (
    "baseline",
    "class_weight(scheme=balanced)",
    "class_weight(scheme=effective)",
    "focal",
    "logit_adjusted",
    "random_oversample",
    "augment",
    "threshold",
)

# Extra quality rows: product strategies worth seeing next to the fixed recipes.
# They are reported, but never count towards the fixed recipes' verdict
# (``best_recipe``, ``best_beats_tfidf``), so the benchmark stays comparable.
EXTRA_RECIPES = (
    "pool(mode=last)",  # the final state, as the baseline read it before issue 16 made max pooling the default
    "coral",
    "ordinal_regression",
)

# Extras that run on some datasets only (the ordinal strategies need ordinal
# labels): recipe -> dataset keys. Every other extra runs on every dataset.
EXTRA_RECIPE_DATASETS = {
    "coral": ("clothing_stars", "vader_tweets"),
    "ordinal_regression": ("clothing_stars", "vader_tweets"),
}


def extra_recipes_for(dataset_key: str) -> tuple[str, ...]:
    """The extra recipes the quality section runs on ``dataset_key``."""
    return tuple(r for r in EXTRA_RECIPES if dataset_key in EXTRA_RECIPE_DATASETS.get(r, (dataset_key,)))


# Cases of their own (issue 20): datasets with their own recipes, reported beside the five datasets and never
# counted in their verdict. Extreme imbalance (a rare class at 1% of the training rows): the baseline, the usual
# remedy, the threshold tuned for the rare class's recall, and anomaly detection with every detector on either
# feature (an isolation forest on TF-IDF is refused by the strategy: texts of unknown words look typical to it).
CASE_RECIPES = {
    "sms_spam_1pct": (
        "baseline",
        "class_weight(scheme=balanced)",
        "threshold(objective=class_recall)",
        "anomaly(detector=lof,features=lstm)",
        "anomaly(detector=lof,features=tfidf)",
        "anomaly(detector=one_class_svm,features=lstm)",
        "anomaly(detector=one_class_svm,features=tfidf)",
        "anomaly(detector=isolation_forest,features=lstm)",
    ),
}


def recipes_for(dataset_key: str) -> tuple[str, ...]:
    """The recipes the quality section runs on ``dataset_key``: a case's own, or the fixed recipes and extras."""
    return CASE_RECIPES.get(dataset_key, RECIPES + extra_recipes_for(dataset_key))


SECTIONS = ("throughput", "fit_profile", "experiment", "ui", "memory", "quality", "scaling", "protocol")

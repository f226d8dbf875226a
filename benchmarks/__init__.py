"""Imbalance Lab benchmarks: ``python -m benchmarks [--quick] [--out DIR] [--datasets DIR] [--fresh]
[--sections a,b,...]``.

Writes ``BENCHMARKS.md`` (human-readable) and ``benchmarks/results.json``
(machine-readable, merged across invocations) under ``--out``. Every LSTM run
goes through the product itself: ``core.jobs.store`` + ``core.jobs.worker`` (spawned run
children) + ``core.jobs.runner``. The one deliberate exception is the *naive*
tutorial pipeline of the throughput section, the thing we compare against.

Sections (one module each): ``throughput`` (incl. fraction of peak),
``experiment``, ``ui`` (incl. the 100k-row profile), ``memory``, ``quality``,
``scaling``. Definitions of throughput, FLOPs and peak are those of
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
    "pool",
)

SECTIONS = ("throughput", "experiment", "ui", "memory", "quality", "scaling")

"""Sizes of every section: the full benchmark, and ``--quick`` (tiny samples,
a tiny model — 1 epoch, 16 units —, one seed, 2 experiment recipes, quality
runs executed in-process: every key is still produced, but the numbers mean
nothing beyond "every part runs").

Training settings: the timing sections (throughput, naive, experiment,
scaling, memory, ui, fit_profile) train at ``BENCHMARK_SETTINGS``, fixed here
(the product defaults of 2026-11, written out), so that a later change of the
product defaults cannot move their figures; quality follows the product
defaults (``TrainSettings()``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from benchmarks import RECIPES
from core.settings import Settings, TrainSettings

# The fixed settings of every timing section: ``TrainSettings()`` as it was when
# issue 15 pinned them, field by field. Never change them to follow the product;
# a deliberate change of the benchmark is a new baseline for every timing figure.
BENCHMARK_SETTINGS = TrainSettings(epochs=10, batch_size=128, patience=2, vocab_size=20_000, max_len=None,
                                   embedding_dim=64, units=64, learning_rate=3e-3, dropout=0.2,
                                   lr_schedule="constant", max_len_cap=256, pooling="last")

# Small enough that a run child spends most of its time starting up.
TINY = TrainSettings(epochs=1, batch_size=64, patience=1, vocab_size=2000, max_len=48, embedding_dim=16, units=16,
                     lr_schedule="constant", pooling="last")


@dataclass(frozen=True)
class Config:
    quick: bool
    settings: TrainSettings  # every timing section's LSTM runs (BENCHMARK_SETTINGS in the full run)
    quality_settings: TrainSettings  # the quality section (the product defaults in the full run)
    throughput_rows: int  # stratified sample of the clothing reviews (also the fit profile's)
    sms_rows: int | None  # None: every SMS
    throughput_seeds_per_slot: int  # the lab trains slots × this many seeds; the naive pipeline the same seeds
    bare_step_epochs: int  # timed epochs of the bare step (after one warm-up epoch)
    naive_batch: int
    naive_length_cap: int
    peak_n: int
    peak_min_seconds: float
    experiment_rows: int
    experiment_seeds: int
    experiment_recipes: tuple[str, ...]
    profile_rows: int  # the "100k-row upload"
    ui_loads_per_target: int
    ui_display_settings: TrainSettings  # the finished experiment the Compare page shows
    ui_display_seeds: int
    ui_display_references: bool
    ui_display_recipes: tuple[str, ...]
    ui_rows: int
    memory_rows: int
    quality_seeds: int
    quality_caps: dict[str, int | None]  # dataset key -> stratified sample size (None: all rows)
    scaling_sizes: dict[str, int]  # label -> rows
    scaling_seeds: int = 2
    worker_timeout_s: float = 4 * 3600
    protocol_seeds: int = 2  # the training-defaults protocol (issue 16): seeds per candidate and dataset
    protocol_datasets: tuple[str, ...] | None = None  # None: every quality dataset
    protocol_candidates: tuple[str, ...] | None = None  # None: every candidate of benchmarks.protocol


FULL = Config(
    quick=False, settings=BENCHMARK_SETTINGS, quality_settings=TrainSettings(), throughput_rows=10_000, sms_rows=None,
    throughput_seeds_per_slot=4, bare_step_epochs=3,
    naive_batch=64, naive_length_cap=200, peak_n=4096, peak_min_seconds=2.0,
    experiment_rows=10_000, experiment_seeds=3, experiment_recipes=RECIPES,
    profile_rows=100_000, ui_loads_per_target=25, ui_display_settings=replace(BENCHMARK_SETTINGS, epochs=2, patience=2),
    ui_display_seeds=2, ui_display_references=True,
    ui_display_recipes=("baseline", "class_weight(scheme=balanced)"),
    ui_rows=10_000, memory_rows=10_000,
    quality_seeds=5,  # the default seed count (issue 16)
    quality_caps={"sms_spam": None, "clothing_stars": 10_000, "vader_tweets": None, "banking77": None,
                  "reuters_r8": None, "sms_spam_1pct": None},
    scaling_sizes={"1k": 1_000, "5k": 5_000, "20k": 20_000},
)

QUICK = Config(
    quick=True, settings=TINY, quality_settings=replace(TINY, pooling=TrainSettings().pooling),  # as the defaults
    throughput_rows=600, sms_rows=400, throughput_seeds_per_slot=1,
    bare_step_epochs=1,
    naive_batch=64, naive_length_cap=200, peak_n=1024, peak_min_seconds=0.3,
    experiment_rows=400, experiment_seeds=1, experiment_recipes=RECIPES[:2],
    profile_rows=20_000, ui_loads_per_target=1, ui_display_settings=TINY,
    ui_display_seeds=1, ui_display_references=False, ui_display_recipes=("baseline",), ui_rows=400, memory_rows=400,
    quality_seeds=1,
    # --quick checks that every section runs and writes its keys, not the figures: an ordinal dataset split by
    # the product and one with its own split column take every code path of the quality section (the ordinal
    # extras included), one scaling size with its one-slot twin every path of the scaling section (the full
    # run: 5 datasets, 3 sizes).
    quality_caps={"vader_tweets": 200, "reuters_r8": 200},
    scaling_sizes={"5k": 300}, scaling_seeds=1,
    worker_timeout_s=900,
    protocol_seeds=1, protocol_datasets=("vader_tweets", "reuters_r8"), protocol_candidates=("current", "long_plateau"),
)


def config(quick: bool) -> Config:
    return QUICK if quick else FULL


def lab_slots() -> int:
    """The slots the benchmark's worker trains with: the product's default
    (``Settings().slots``, one per core). The worker runs with ``child_env``,
    which drops every ``IMBALANCE_LAB_*`` variable, so the caller's environment
    cannot change it."""
    return Settings().slots


def throughput_seeds(cfg: Config) -> tuple[int, ...]:
    """Seeds of the throughput section: ``throughput_seeds_per_slot`` per slot of the lab (8 on 2 slots)."""
    return tuple(range(lab_slots() * cfg.throughput_seeds_per_slot))

"""Sizes of every section: the full benchmark, and ``--quick`` (tiny samples,
a tiny model — 1 epoch, 16 units —, one seed, 2 experiment recipes, quality
runs executed in-process: every key is still produced, but the numbers mean
nothing beyond "every part runs")."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks import RECIPES
from core.settings import TrainSettings

# Small enough that a run child spends most of its time starting up.
TINY = TrainSettings(epochs=1, batch_size=64, patience=1, vocab_size=2000, max_len=48, embedding_dim=16, units=16)


@dataclass(frozen=True)
class Config:
    quick: bool
    settings: TrainSettings  # training settings of every LSTM run (product defaults in the full run)
    throughput_rows: int  # stratified sample of the clothing reviews
    sms_rows: int | None  # None: every SMS
    throughput_seeds: tuple[int, ...]
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


FULL = Config(
    quick=False, settings=TrainSettings(), throughput_rows=10_000, sms_rows=None, throughput_seeds=(0, 1),
    naive_batch=64, naive_length_cap=200, peak_n=4096, peak_min_seconds=2.0,
    experiment_rows=10_000, experiment_seeds=3, experiment_recipes=RECIPES,
    profile_rows=100_000, ui_loads_per_target=25, ui_display_settings=TrainSettings(epochs=2, patience=2),
    ui_display_seeds=2, ui_display_references=True,
    ui_display_recipes=("baseline", "class_weight(scheme=balanced)"),
    ui_rows=10_000, memory_rows=10_000,
    quality_seeds=3,
    quality_caps={"sms_spam": None, "clothing_stars": 10_000, "vader_tweets": None, "banking77": None,
                  "reuters_r8": None},
    scaling_sizes={"1k": 1_000, "5k": 5_000, "20k": 20_000},
)

QUICK = Config(
    quick=True, settings=TINY, throughput_rows=600, sms_rows=400, throughput_seeds=(0, 1),
    naive_batch=64, naive_length_cap=200, peak_n=1024, peak_min_seconds=0.3,
    experiment_rows=400, experiment_seeds=1, experiment_recipes=RECIPES[:2],
    profile_rows=20_000, ui_loads_per_target=2, ui_display_settings=TINY,
    ui_display_seeds=1, ui_display_references=False, ui_display_recipes=("baseline",), ui_rows=400, memory_rows=400,
    quality_seeds=1,
    quality_caps={"sms_spam": 200, "clothing_stars": 200, "vader_tweets": 200, "banking77": 1000, "reuters_r8": 200},
    scaling_sizes={"1k": 150, "5k": 300, "20k": 600}, scaling_seeds=1,
    worker_timeout_s=900,
)


def config(quick: bool) -> Config:
    return QUICK if quick else FULL

"""The shared evaluation datasets, loaded through the product's own table
reader (``core.data.readers`` + ``core.data.validation``) so the benchmark sees exactly what a user's upload
would give, plus the stratified samples the sections train on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from core.data.dataset import ColumnChoice, LabeledTexts
from core.data.readers import read_table
from core.data.validation import to_labeled_texts

R8 = ("earn", "acq", "crude", "trade", "money-fx", "interest", "ship", "grain")


@dataclass(frozen=True)
class SharedDataset:
    key: str  # used in result keys, e.g. quality.<key>.<recipe>.macro_f1_mean
    title: str
    path: str  # relative to the datasets folder
    choice: ColumnChoice
    split: str  # how test rows are chosen, for BENCHMARKS.md
    keep_labels: tuple[str, ...] | None = None  # e.g. Reuters R8


DATASETS: dict[str, SharedDataset] = {d.key: d for d in (
    SharedDataset("sms_spam", "SMS Spam Collection (ham/spam)", "sms-spam-collection/sms_spam.csv",
                  ColumnChoice(text="text", label="label"), "product's seeded split (20% test, 10% validation)"),
    SharedDataset("clothing_stars", "Women's clothing reviews (stars 1–5, ordinal)", "womens-clothing-reviews/reviews.csv",
                  ColumnChoice(text="text", label="label", ordinal_order=("1", "2", "3", "4", "5")),
                  "product's seeded split (20% test, 10% validation)"),
    SharedDataset("vader_tweets", "VADER tweets (sentiment −3…3, ordinal)", "vader-sentiment-intensity/tweets.csv",
                  ColumnChoice(text="text", label="label", ordinal_order=tuple(str(i) for i in range(-3, 4))),
                  "product's seeded split (20% test, 10% validation)"),
    SharedDataset("banking77", "Banking77 intents (77 classes)", "banking77-intents/banking77.csv",
                  ColumnChoice(text="text", label="label", split="split"),
                  "its own split column (official test set); validation drawn per seed from its training rows"),
    SharedDataset("reuters_r8", "Reuters-21578 R8 (8 most frequent single-label topics)",
                  "reuters21578-single-label/reuters_single_label.csv",
                  ColumnChoice(text="text", label="label", split="split"),
                  "its own split column (ModApte test set); validation drawn per seed from its training rows",
                  keep_labels=R8),
)}


def resolve_datasets_dir(given: str | None, repo_root: Path) -> Path:
    """``--datasets`` (relative paths resolve against the repo root), default ``../shared/datasets``."""
    path = Path(given) if given else Path("../shared/datasets")
    return (path if path.is_absolute() else repo_root / path).resolve()


@lru_cache(maxsize=None)
def load(key: str, datasets_dir: str) -> LabeledTexts:
    """A whole shared dataset, validated by ``core.data.validation`` (cached per process)."""
    spec = DATASETS[key]
    table = read_table(Path(datasets_dir) / spec.path)
    if spec.keep_labels:
        frame = table.frame[table.frame[spec.choice.label].astype(str).isin(spec.keep_labels)]
        table = replace(table, frame=frame)
    return replace(to_labeled_texts(table, spec.choice), name=spec.title)


def subset(data: LabeledTexts, rows: np.ndarray, name: str) -> LabeledTexts:
    """The rows ``rows`` of ``data`` (classes and their order kept)."""
    return replace(data.take(np.sort(np.asarray(rows, dtype=int))), name=name, warnings=())


def stratified_sample(data: LabeledTexts, n: int | None, seed: int = 0) -> LabeledTexts:
    """A stratified sample of ``n`` rows (all rows when ``n`` is None or too large).
    Classes too small to stratify keep their rows in proportion as best they can."""
    if n is None or n >= len(data):
        return data
    rows = np.arange(len(data))
    counts = np.bincount(data.y)
    stratify = data.y if counts[counts > 0].min() >= 2 and n >= data.n_classes else None
    picked, _ = train_test_split(rows, train_size=n, stratify=stratify, random_state=seed)
    return subset(data, picked, f"{data.name} — {n:,}-row stratified sample (seed {seed})")


def resampled_frame(key: str, datasets_dir: str, n_rows: int, seed: int = 0) -> pd.DataFrame:
    """``n_rows`` rows drawn with replacement from a shared CSV (text and label
    columns only): a large synthetic upload for the profiling benchmark."""
    spec = DATASETS[key]
    frame = pd.read_csv(Path(datasets_dir) / spec.path, usecols=[spec.choice.text, spec.choice.label])
    return frame.sample(n=n_rows, replace=True, random_state=seed).reset_index(drop=True)

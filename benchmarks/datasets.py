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

from core.data.dataset import TEST, TRAIN, ColumnChoice, LabeledTexts
from core.data.split import SplitSpec, make_split
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
    rare_share: float | None = None  # an extreme case: the rarest class cut to this share of the non-test rows


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
    SharedDataset("sms_spam_1pct", "SMS Spam Collection, spam cut to 1% of the training rows (extreme imbalance)",
                  "sms-spam-collection/sms_spam.csv", ColumnChoice(text="text", label="label"),
                  "a split column: the test rows `sms_spam` tests on at seed 0, untouched (13% spam); the other rows "
                  "keep every ham and a seeded 1% of spam; validation drawn per seed from them",
                  rare_share=0.01),
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
    data = replace(to_labeled_texts(table, spec.choice), name=spec.title)
    return data if spec.rare_share is None else rare_cut(data, spec.rare_share, name=spec.title)


def rare_cut(data: LabeledTexts, share: float, *, name: str, seed: int = 0) -> LabeledTexts:
    """An extreme-imbalance case made from ``data``: its test rows are the ones the product's split draws from
    ``data`` at seed 0 (default shares and split version), kept whole — so the case is scored on the plain
    dataset's test rows, drawn before anything was cut —; of the other rows every row of the other classes stays
    and a seeded sample of the rarest class, sized to ``share`` of them. A split column fixes the test rows for
    every seed; validation is drawn per seed from the rest, as the product draws it."""
    split = make_split(data, SplitSpec(seed=0))
    pool = np.concatenate([split.train, split.validation])
    rare = int(np.argmin(np.bincount(data.y)))
    normal, candidates = pool[data.y[pool] != rare], pool[data.y[pool] == rare]
    kept = np.random.default_rng(seed).choice(candidates, round(share * len(normal) / (1 - share)), replace=False)
    rows = np.sort(np.concatenate([normal, kept, split.test]))
    return replace(data.take(rows), parts=np.where(np.isin(rows, split.test), TEST, TRAIN).astype(np.int8),
                   name=name, warnings=())


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

"""Seeded, stratified, duplicate-aware train/validation/test splits.

Seed *s* fixes one split that every recipe shares at that seed, so recipe
comparisons are paired by seed. Texts identical after normalising case and
whitespace share a group and always land in the same split.

With a user's split column (``LabeledTexts.parts``) its test rows are the test
set for every seed, and its validation rows, if any, the validation set for
every seed; otherwise validation is drawn per seed from its training rows.
Training and validation rows whose text repeats a test text are left out
(``Split.dropped``), so no test text is seen before it is scored.

How rows are drawn is versioned (``SPLIT_VERSION``): an experiment keeps the
version it was submitted with (``SplitSpec.version``), so runs added to it
later (more seeds, a re-queued run) stay paired with its earlier runs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from core.data.dataset import (
    TEST,
    TRAIN,
    VALIDATION,
    LabeledTexts,
    duplicate_groups,
    repeats_of_test,
)
from core.files import atomic_path


# Bump when make_split's output for the same data and spec changes, so cached
# splits from older code are not reused. 2: a split column's validation rows,
# and training/validation rows repeating a test text dropped. 3: groups drawn
# class by class in one seeded shuffle (``_shuffled_holdout``) instead of
# sklearn's StratifiedGroupKFold, ≈100× faster on 10,000 rows.
SPLIT_VERSION = 3
OLDEST_SPLIT_VERSION = 2  # version 1 drew the same rows as 2 without a split column


@dataclass(frozen=True)
class SplitSpec:
    seed: int = 0
    test_share: float = 0.2
    validation_share: float = 0.1  # share of all rows (of the training rows with a split column)
    version: int = SPLIT_VERSION  # how rows are drawn; an experiment keeps the version it was submitted with

    def __post_init__(self):
        if not OLDEST_SPLIT_VERSION <= self.version <= SPLIT_VERSION:
            raise ValueError(f"split version {self.version} is not one of {OLDEST_SPLIT_VERSION}–{SPLIT_VERSION}")


_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    # rows of a split column's training or validation part whose text repeats a test text: in no part
    dropped: np.ndarray = field(default_factory=lambda: _NO_ROWS.copy())

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}

    def n_rows(self) -> int:
        """Rows of the dataset this split was drawn from (the dropped ones included)."""
        return len(self.train) + len(self.validation) + len(self.test) + len(self.dropped)


def _kfold_holdout(rows: np.ndarray, y: np.ndarray, groups: np.ndarray, share: float,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` into (kept, held out) with about ``share`` held out, stratified by
    ``y`` and never separating a group; the first fold of a grouped k-fold
    (split versions 1–2: experiments submitted before version 3 keep drawing this)."""
    # sklearn refuses more folds than the largest class has rows; fewer folds
    # only make the held-out part larger for very small data.
    largest = int(np.bincount(y[rows]).max()) if len(rows) else 2
    n_splits = max(2, min(int(round(1.0 / share)), largest))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # sklearn warns when a class has fewer rows than folds; that class simply
        # lands in fewer folds, which is what we want for tiny classes.
        warnings.simplefilter("ignore", UserWarning)
        kept, held = next(splitter.split(np.zeros(len(rows)), y[rows], groups[rows]))
    return rows[kept], rows[held]


def _shuffled_holdout(rows: np.ndarray, y: np.ndarray, groups: np.ndarray, share: float,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` into (kept, held out): each class's duplicate groups in one
    seeded random order, held out from the front until that class's held-out
    rows come closest to ``share`` of its rows. A group counts for the label
    most of its rows carry and is never separated. A class with two or more
    groups has at least one on each side, so small classes reach both parts.

    Hand-written rather than sklearn's StratifiedGroupKFold, whose fold
    assignment loops over every group in Python (≈1.7 s per holdout of 10,000
    rows, twice per split, once per seed): this is a few vectorised passes."""
    if len(rows) == 0:
        return rows, rows
    _, group_of = np.unique(groups[rows], return_inverse=True)
    counts = np.zeros((group_of.max() + 1, int(y.max()) + 1), dtype=np.int64)
    np.add.at(counts, (group_of, y[rows]), 1)
    label, size = counts.argmax(axis=1), counts.sum(axis=1)
    order = np.random.default_rng(seed).permutation(len(label))
    held = np.zeros(len(label), dtype=bool)
    for c in np.unique(label):
        members = order[label[order] == c]
        reached = np.concatenate([[0], np.cumsum(size[members])])  # rows held out after taking k groups
        k = int(np.argmin(np.abs(reached - share * reached[-1])))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        held[members[:k]] = True
    mask = held[group_of]
    return rows[~mask], rows[mask]


def _holdout(version: int):
    return _kfold_holdout if version < 3 else _shuffled_holdout


def make_split(data: LabeledTexts, spec: SplitSpec) -> Split:
    """The split for one seed. With a user split column its test rows (and its
    validation rows, when it has any) are fixed, and training or validation rows
    repeating a test text are dropped."""
    groups = duplicate_groups(data.texts)
    holdout = _holdout(spec.version)
    all_rows = np.arange(len(data))
    if data.parts is None:
        pool, test = holdout(all_rows, data.y, groups, spec.test_share, spec.seed)
        val_share = spec.validation_share / max(1e-9, 1.0 - spec.test_share)
        train, validation = holdout(pool, data.y, groups, val_share, spec.seed + 10_007)
        return Split(np.sort(train), np.sort(validation), np.sort(test))
    parts = data.parts
    dropped = repeats_of_test(parts, groups)
    test = all_rows[parts == TEST]
    if (parts == VALIDATION).any():
        train, validation = all_rows[(parts == TRAIN) & ~dropped], all_rows[(parts == VALIDATION) & ~dropped]
    else:
        pool = all_rows[(parts == TRAIN) & ~dropped]
        train, validation = holdout(pool, data.y, groups, spec.validation_share, spec.seed + 10_007)
    return Split(np.sort(train), np.sort(validation), test, all_rows[dropped])


def read_split(path: Path) -> Split:
    """A split stored by ``cached_split``, of this or an older ``SPLIT_VERSION``
    (those before 2 have no ``dropped`` rows)."""
    with np.load(path) as stored:
        dropped = stored["dropped"] if "dropped" in stored.files else _NO_ROWS
        return Split(stored["train"], stored["validation"], stored["test"], dropped)


def split_cache_path(spec: SplitSpec, cache_dir: Path, dataset_id: str) -> Path:
    """Where ``cached_split`` keeps the split of one dataset, seed and shares."""
    name = f"{dataset_id}-s{spec.seed}-t{spec.test_share:g}-v{spec.validation_share:g}-{spec.version}.npz"
    return Path(cache_dir) / name


def cached_split(data: LabeledTexts, spec: SplitSpec, cache_dir: Path, dataset_id: str) -> Split:
    """``make_split``, computed once per dataset, seed, shares and version and
    then read from ``cache_dir``: every run of an experiment at that seed needs
    the very same split, and the version 1–2 draw takes seconds on 10k rows."""
    path = split_cache_path(spec, cache_dir, dataset_id)
    try:
        split = read_split(path)
        if split.n_rows() == len(data):
            return split
    except (OSError, KeyError, ValueError):  # missing or unreadable: compute it again
        pass
    split = make_split(data, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".tmp.npz") as tmp:  # np.savez adds .npz to other names
        np.savez(tmp, train=split.train, validation=split.validation, test=split.test, dropped=split.dropped)
    return split

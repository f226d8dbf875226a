"""Seeded, stratified, duplicate-aware train/validation/test splits.

Seed *s* fixes one split that every recipe shares at that seed, so recipe
comparisons are paired by seed. Texts identical after normalising case and
whitespace share a group and always land in the same split.

With a user's split column (``LabeledTexts.parts``) its test rows are the test
set for every seed, and its validation rows, if any, the validation set for
every seed; otherwise validation is drawn per seed from its training rows.
Training and validation rows whose text repeats a test text are left out
(``Split.dropped``), so no test text is seen before it is scored.
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


@dataclass(frozen=True)
class SplitSpec:
    seed: int = 0
    test_share: float = 0.2
    validation_share: float = 0.1  # share of all rows (of the training rows with a split column)


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


def _holdout(rows: np.ndarray, y: np.ndarray, groups: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``rows`` into (kept, held out) with about ``share`` held out, stratified by
    ``y`` and never separating a group; the first fold of a grouped k-fold."""
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


def make_split(data: LabeledTexts, spec: SplitSpec) -> Split:
    """The split for one seed. With a user split column its test rows (and its
    validation rows, when it has any) are fixed, and training or validation rows
    repeating a test text are dropped."""
    groups = duplicate_groups(data.texts)
    all_rows = np.arange(len(data))
    if data.parts is None:
        pool, test = _holdout(all_rows, data.y, groups, spec.test_share, spec.seed)
        val_share = spec.validation_share / max(1e-9, 1.0 - spec.test_share)
        train, validation = _holdout(pool, data.y, groups, val_share, spec.seed + 10_007)
        return Split(np.sort(train), np.sort(validation), np.sort(test))
    parts = data.parts
    dropped = repeats_of_test(parts, groups)
    test = all_rows[parts == TEST]
    if (parts == VALIDATION).any():
        train, validation = all_rows[(parts == TRAIN) & ~dropped], all_rows[(parts == VALIDATION) & ~dropped]
    else:
        pool = all_rows[(parts == TRAIN) & ~dropped]
        train, validation = _holdout(pool, data.y, groups, spec.validation_share, spec.seed + 10_007)
    return Split(np.sort(train), np.sort(validation), test, all_rows[dropped])


# Bump when make_split's output for the same data and spec changes, so cached
# splits from older code are not reused. 2: a split column's validation rows,
# and training/validation rows repeating a test text dropped.
SPLIT_VERSION = 2


def read_split(path: Path) -> Split:
    """A split stored by ``cached_split``, of this or an older ``SPLIT_VERSION``
    (those before 2 have no ``dropped`` rows)."""
    with np.load(path) as stored:
        dropped = stored["dropped"] if "dropped" in stored.files else _NO_ROWS
        return Split(stored["train"], stored["validation"], stored["test"], dropped)


def split_cache_path(spec: SplitSpec, cache_dir: Path, dataset_id: str) -> Path:
    """Where ``cached_split`` keeps the split of one dataset, seed and shares."""
    name = f"{dataset_id}-s{spec.seed}-t{spec.test_share:g}-v{spec.validation_share:g}-{SPLIT_VERSION}.npz"
    return Path(cache_dir) / name


def cached_split(data: LabeledTexts, spec: SplitSpec, cache_dir: Path, dataset_id: str) -> Split:
    """``make_split``, computed once per dataset, seed and shares and then read
    from ``cache_dir``: the duplicate-aware stratified k-fold takes seconds on
    10k rows (sklearn's fold assignment loops over groups in Python), and every
    run of an experiment at that seed needs the very same split."""
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

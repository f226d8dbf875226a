"""The validated labelled-text table every other module works on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd


def duplicate_key(text: str) -> str:
    """The text lower-cased, whitespace runs collapsed and ends trimmed: texts
    with the same key are duplicates (kept in one split, counted in the profile)."""
    return " ".join(text.lower().split())


def duplicate_groups(texts) -> np.ndarray:
    """Group id per text: texts with the same ``duplicate_key`` share an id."""
    return pd.factorize(pd.Series([duplicate_key(t) for t in texts], dtype=object))[0]


# The parts of a split, as a user's split column names them; ``LabeledTexts.parts`` holds these codes.
TRAIN, VALIDATION, TEST = 0, 1, 2
PARTS = ("train", "validation", "test")


def repeats_of_test(parts: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """True per training or validation row whose text duplicates a test row's
    text (same ``duplicate_groups`` id): such rows are left out of training and
    validation, so no test text is ever seen before it is scored."""
    parts = np.asarray(parts)
    test_groups = np.unique(groups[parts == TEST])
    return (parts != TEST) & np.isin(groups, test_groups)


@dataclass(frozen=True)
class ColumnChoice:
    """Which columns of a table mean what; everything but text and label is optional."""

    text: str
    label: str
    ordinal_order: tuple[str, ...] | None = None  # labels low → high when ordinal
    target: str | None = None  # continuous target (e.g. an intensity score)
    split: str | None = None  # column with train / validation (dev, val) / test values
    normalise_labels: bool = False  # merge labels differing only by case/whitespace


@dataclass(frozen=True)
class LabeledTexts:
    """Texts with one class label each. ``classes`` fixes label order (the
    ordinal order when ``ordinal``); ``y`` holds indices into ``classes``."""

    texts: tuple[str, ...]
    y: np.ndarray
    classes: tuple[str, ...]
    ordinal: bool = False
    target: np.ndarray | None = None
    parts: np.ndarray | None = None  # from the user's split column: TRAIN, VALIDATION or TEST per row
    name: str = "dataset"
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.parts is not None:
            if np.asarray(self.parts).dtype == bool:  # True would read as VALIDATION
                raise TypeError("parts holds TRAIN / VALIDATION / TEST codes, not test flags")
            parts = np.asarray(self.parts, dtype=np.int8)
            if parts.shape != (len(self.texts),) or not np.isin(parts, (TRAIN, VALIDATION, TEST)).all():
                raise ValueError(f"parts must hold one of {TRAIN}, {VALIDATION}, {TEST} per row")
            object.__setattr__(self, "parts", parts)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def is_test(self) -> np.ndarray | None:
        """True per row the split column puts in the test set (None without a split column)."""
        return None if self.parts is None else self.parts == TEST

    @property
    def has_validation_rows(self) -> bool:
        """Whether the split column fixes the validation rows (then no validation share applies)."""
        return self.parts is not None and bool(np.any(self.parts == VALIDATION))

    def take(self, rows) -> "LabeledTexts":
        """The given rows (in that order), every per-row field with them; classes and options kept."""
        rows = np.asarray(rows, dtype=np.int64)
        return replace(self, texts=tuple(self.texts[r] for r in rows), y=np.asarray(self.y)[rows],
                       target=None if self.target is None else np.asarray(self.target)[rows],
                       parts=None if self.parts is None else self.parts[rows])

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[self.y]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.n_classes)

    def fingerprint(self) -> str:
        """Content hash: the same texts, labels and options give the same id."""
        h = hashlib.sha256()
        for text in self.texts:
            h.update(text.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        h.update(np.asarray(self.y, dtype=np.int64).tobytes())
        h.update("\x1f".join(self.classes).encode())
        h.update(b"ordinal" if self.ordinal else b"nominal")
        if self.target is not None:
            h.update(np.asarray(self.target, dtype=np.float64).tobytes())
        if self.parts is not None:
            # train/test only hashes as the bool test flags did before validation parts existed, so a
            # dataset stored by older code keeps its id when it is uploaded again
            h.update(np.asarray(self.parts == TEST, dtype=bool).tobytes())
            if (self.parts == VALIDATION).any():
                h.update(b"parts")
                h.update(self.parts.tobytes())
        return h.hexdigest()[:16]

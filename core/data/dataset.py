"""The validated labelled-text table every other module works on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def duplicate_key(text: str) -> str:
    """The text lower-cased, whitespace runs collapsed and ends trimmed: texts
    with the same key are duplicates (kept in one split, counted in the profile)."""
    return " ".join(text.lower().split())


def duplicate_groups(texts) -> np.ndarray:
    """Group id per text: texts with the same ``duplicate_key`` share an id."""
    return pd.factorize(pd.Series([duplicate_key(t) for t in texts], dtype=object))[0]


@dataclass(frozen=True)
class ColumnChoice:
    """Which columns of a table mean what; everything but text and label is optional."""

    text: str
    label: str
    ordinal_order: tuple[str, ...] | None = None  # labels low → high when ordinal
    target: str | None = None  # continuous target (e.g. an intensity score)
    split: str | None = None  # column with train/test values
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
    is_test: np.ndarray | None = None  # from the user's split column
    name: str = "dataset"
    warnings: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.texts)

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
        if self.is_test is not None:
            h.update(np.asarray(self.is_test, dtype=bool).tobytes())
        return h.hexdigest()[:16]

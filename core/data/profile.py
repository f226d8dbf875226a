"""What a labelled dataset looks like before any model sees it: class balance,
text lengths in tokens, duplicates and texts that carry conflicting labels.

Tokens are counted the way Keras ``TextVectorization`` splits text by default
(lower-case, strip ASCII punctuation, split on whitespace), so the lengths
shown here are the lengths the model will see. The rule is restated as a
regular expression rather than imported, so profiling never loads TensorFlow.
Duplicates use the same normalisation as ``core.data.split`` (case and runs of
whitespace ignored), so the duplicate count matches what the split groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from core.data.dataset import LabeledTexts, duplicate_key

# Keras' DEFAULT_STRIP_REGEX (``,-\.`` is the range , - .): every ASCII punctuation mark.
KERAS_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
# tf.strings.split without a separator splits on runs of ASCII whitespace.
_TOKEN_REGEX = r"[^ \t\n\r\f\v]+"
# So a text has a token iff one character is neither ASCII whitespace nor ASCII punctuation.
_TOKEN_CHAR_REGEX = r"[^ \t\n\r\f\v!-/:-@\[-`{-~]"
MAX_CONFLICTS_LISTED = 50


@dataclass(frozen=True)
class LengthSummary:
    """Token-length statistics of a group of texts (NaN means no texts)."""

    mean: float
    median: float
    p95: float
    max: int


@dataclass(frozen=True)
class Profile:
    """Summary of one ``LabeledTexts``; tuples follow the order of ``classes``."""

    name: str
    n_rows: int
    classes: tuple[str, ...]
    ordinal: bool
    class_counts: tuple[int, ...]
    class_shares: tuple[float, ...]
    imbalance_ratio: float  # largest class / smallest class; inf if a class is empty
    normalised_entropy: float  # entropy of the class shares / log(k): 1 = balanced
    token_lengths: np.ndarray  # tokens per row, in row order
    length_summary: LengthSummary
    class_length_summary: Mapping[str, LengthSummary]
    n_exact_duplicates: int  # rows whose normalised text occurs in an earlier row
    conflicting_duplicates: tuple[tuple[str, tuple[str, ...]], ...]  # (text, labels), at most 50
    n_conflicting_duplicates: int  # all normalised texts seen with more than one label
    examples: Mapping[str, tuple[str, ...]]  # class -> a seeded sample of its texts


def token_lengths(texts: Iterable[str]) -> np.ndarray:
    """Number of tokens per text under Keras ``TextVectorization``'s default
    standardisation and split; 0 for a text made only of punctuation."""
    series = pd.Series(list(texts), dtype="str")
    if series.empty:
        return np.zeros(0, dtype=np.int64)
    stripped = series.str.replace(KERAS_STRIP_REGEX, "", regex=True)
    return stripped.str.count(_TOKEN_REGEX).to_numpy(dtype=np.int64)


def has_tokens(texts: Iterable[str]) -> np.ndarray:
    """True per text that ``token_lengths`` would give at least one token;
    a single regex search per text, so validating large tables stays fast."""
    series = pd.Series(list(texts), dtype="str")
    return series.str.contains(_TOKEN_CHAR_REGEX, regex=True).to_numpy(dtype=bool)


def summarise_lengths(lengths: np.ndarray) -> LengthSummary:
    """Mean, median, 95th percentile and maximum of token lengths."""
    if len(lengths) == 0:
        return LengthSummary(math.nan, math.nan, math.nan, 0)
    return LengthSummary(
        mean=float(np.mean(lengths)),
        median=float(np.median(lengths)),
        p95=float(np.percentile(lengths, 95)),
        max=int(np.max(lengths)),
    )


def _class_length_summary(lengths: np.ndarray, y: np.ndarray, classes: tuple[str, ...]) -> dict[str, LengthSummary]:
    """Length statistics per class, computed with one pandas group-by."""
    grouped = pd.Series(lengths).groupby(y)
    table = pd.DataFrame({
        "mean": grouped.mean(),
        "median": grouped.median(),
        "p95": grouped.quantile(0.95),
        "max": grouped.max(),
    }).reindex(range(len(classes)))
    return {
        label: LengthSummary(float(r.mean), float(r.median), float(r.p95), 0 if pd.isna(r.max) else int(r.max))
        for label, r in zip(classes, table.itertuples(index=False))
    }


def _entropy_ratio(counts: np.ndarray) -> float:
    """Shannon entropy of the class shares divided by its maximum, log(k).
    A single class counts as balanced (1.0), since there is nothing to skew."""
    k = len(counts)
    total = counts.sum()
    if k <= 1 or total == 0:
        return 1.0
    shares = counts[counts > 0] / total
    return float(-(shares * np.log(shares)).sum() / np.log(k))


def _imbalance_ratio(counts: np.ndarray) -> float:
    if len(counts) == 0:
        return 1.0
    smallest = counts.min()
    return math.inf if smallest == 0 else float(counts.max() / smallest)


def _duplicates(texts: tuple[str, ...], y: np.ndarray, classes: tuple[str, ...]
                ) -> tuple[int, tuple[tuple[str, tuple[str, ...]], ...], int]:
    """(rows repeating an earlier text, conflicting texts listed, conflicting texts in all).

    A conflict is a normalised text that occurs with more than one label; it is
    shown as its first raw spelling with its labels in class order. The list
    puts the most repeated texts first."""
    codes, uniques = pd.factorize(pd.Series([duplicate_key(t) for t in texts], dtype="str"))
    n_duplicates = len(texts) - len(uniques)
    labels_per_text = pd.Series(y).groupby(codes).nunique()
    conflicted = labels_per_text.index[labels_per_text.to_numpy() > 1].to_numpy()
    if len(conflicted) == 0:
        return n_duplicates, (), 0
    rows = pd.DataFrame({"group": codes, "y": y})
    rows = rows[np.isin(codes, conflicted)]
    first_row = rows.reset_index().groupby("group")["index"].min()
    sizes = rows.groupby("group").size()
    ranked = sorted(conflicted, key=lambda g: (-sizes[g], first_row[g]))[:MAX_CONFLICTS_LISTED]
    labels_by_group = rows.groupby("group")["y"].unique()
    listed = tuple(
        (texts[first_row[g]], tuple(classes[i] for i in sorted(labels_by_group[g])))
        for g in ranked
    )
    return n_duplicates, listed, len(conflicted)


def _examples(texts: tuple[str, ...], y: np.ndarray, classes: tuple[str, ...], per_class: int, seed: int
              ) -> dict[str, tuple[str, ...]]:
    """Up to ``per_class`` texts per class, drawn without replacement with a
    seeded generator and listed in row order."""
    rng = np.random.default_rng(seed)
    order = np.argsort(y, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(y, minlength=len(classes)))])
    examples: dict[str, tuple[str, ...]] = {}
    for index, label in enumerate(classes):
        rows = order[bounds[index] : bounds[index + 1]]
        picked = np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
        examples[label] = tuple(texts[r] for r in picked)
    return examples


def compute_profile(data: LabeledTexts, *, examples_per_class: int = 3, seed: int = 0) -> Profile:
    """Profile a dataset: balance, token lengths, duplicates, conflicts, examples."""
    y = np.asarray(data.y, dtype=np.int64)
    counts = np.bincount(y, minlength=data.n_classes)
    n_rows = len(data)
    lengths = token_lengths(data.texts)
    n_duplicates, conflicts, n_conflicts = _duplicates(data.texts, y, data.classes)
    return Profile(
        name=data.name,
        n_rows=n_rows,
        classes=data.classes,
        ordinal=data.ordinal,
        class_counts=tuple(int(c) for c in counts),
        class_shares=tuple(float(c / n_rows) if n_rows else 0.0 for c in counts),
        imbalance_ratio=_imbalance_ratio(counts),
        normalised_entropy=_entropy_ratio(counts),
        token_lengths=lengths,
        length_summary=summarise_lengths(lengths),
        class_length_summary=_class_length_summary(lengths, y, data.classes),
        n_exact_duplicates=n_duplicates,
        conflicting_duplicates=conflicts,
        n_conflicting_duplicates=n_conflicts,
        examples=_examples(data.texts, y, data.classes, examples_per_class, seed),
    )


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, for tables in a terminal."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _number(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _class_table(p: Profile) -> list[str]:
    width = max([5] + [len(_shorten(c, 30)) for c in p.classes])
    header = f"{'class':<{width}}  {'rows':>9}  {'share':>6}  {'mean':>7}  {'median':>7}  {'p95':>7}  {'max':>7}"
    lines = [header, "-" * len(header)]
    summaries = [p.class_length_summary[c] for c in p.classes] + [p.length_summary]
    names = [_shorten(c, 30) for c in p.classes] + ["all"]
    counts = list(p.class_counts) + [p.n_rows]
    shares = list(p.class_shares) + [1.0 if p.n_rows else 0.0]
    for name, count, share, s in zip(names, counts, shares, summaries):
        lines.append(
            f"{name:<{width}}  {count:>9,}  {share:>6.1%}  {_number(s.mean):>7}  {_number(s.median):>7}"
            f"  {_number(s.p95):>7}  {s.max:>7,}"
        )
    return lines


def format_profile(p: Profile) -> str:
    """A plain-text report of a profile, for the command line."""
    kind = "ordinal classes, low to high" if p.ordinal else "classes"
    lines = [
        f"{p.name}: {p.n_rows:,} rows, {len(p.classes)} {kind}",
        f"Imbalance ratio (largest / smallest class): {p.imbalance_ratio:,.1f}",
        f"Normalised entropy of class shares: {p.normalised_entropy:.3f} (1 = balanced)",
        f"Exact duplicates (case and spacing ignored): {_count(p.n_exact_duplicates, 'row')} repeating an "
        "earlier text",
        f"Conflicting duplicates: {_count(p.n_conflicting_duplicates, 'text')} with more than one label",
        "",
        "Rows and tokens per text by class:",
        *_class_table(p),
    ]
    if p.conflicting_duplicates:
        shown = len(p.conflicting_duplicates)
        lines += ["", f"Texts with more than one label (first {shown} of {p.n_conflicting_duplicates:,}):"]
        lines += [f"  \"{_shorten(text, 60)}\" -> {', '.join(labels)}" for text, labels in p.conflicting_duplicates]
    lines += ["", "Examples:"]
    for label, texts in p.examples.items():
        lines += [f"  {_shorten(label, 30)}:"] + [f"    - {_shorten(t, 90)}" for t in texts]
    return "\n".join(lines)

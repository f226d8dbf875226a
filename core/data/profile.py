"""What a labelled dataset looks like before any model sees it: class balance,
text lengths in tokens, duplicates and texts that carry conflicting labels.

Tokens are counted the way Keras ``TextVectorization`` splits text by default
(lower-case, strip ASCII punctuation, split on whitespace), so the lengths
shown here are the lengths the model will see. The rule is restated as a
regular expression rather than imported, so profiling never loads TensorFlow.
Duplicates use the same normalisation as ``core.data.split`` (case and runs of
whitespace ignored), so the duplicate count matches what the split groups.
The parts table says how many rows of each class fall in each part of the
split: fixed by the user's split column, or (drawn per seed) about the share
of the settings' test and validation shares.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from core.data.dataset import (
    PARTS,
    TEST,
    TRAIN,
    VALIDATION,
    LabeledTexts,
    duplicate_groups,
    duplicate_key,
    repeats_of_test,
)
from core.data.label_mapping import one_against_rest
from core.settings import get_settings

# Keras' DEFAULT_STRIP_REGEX (``,-\.`` is the range , - .): every ASCII punctuation mark.
KERAS_STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
# tf.strings.split without a separator splits on runs of ASCII whitespace.
_TOKEN_REGEX = r"[^ \t\n\r\f\v]+"
# So a text has a token iff one character is neither ASCII whitespace nor ASCII punctuation.
_TOKEN_CHAR_REGEX = r"[^ \t\n\r\f\v!-/:-@\[-`{-~]"
MAX_CONFLICTS_LISTED = 50
DROPPED_COLUMN = "left out (repeat a test text)"
# A class under this share of the rows is extreme imbalance: the profile suggests anomaly detection and tuned
# thresholds next to the usual strategies (fraud-like problems, a rare class under 1–2% of the rows).
EXTREME_SHARE = 0.02


@dataclass(frozen=True)
class LengthSummary:
    """Token-length statistics of a group of texts (NaN means no texts)."""

    mean: float
    median: float
    p95: float
    max: int


@dataclass(frozen=True)
class PartCounts:
    """Rows of each class in each part of the split (tuples follow the profile's
    ``classes``). A part in ``fixed`` is set by the user's split column and its
    counts are exact; any other part is drawn per seed, and its counts are what
    the shares give (``round(rows × share)`` per class; each seed's draw is close)."""

    fixed: tuple[str, ...]  # () for a drawn split; ("train", "test") or all three with a split column
    train: tuple[int, ...]
    validation: tuple[int, ...]
    test: tuple[int, ...]
    dropped: tuple[int, ...]  # split column: training/validation rows repeating a test text (in no part)
    test_share: float | None  # the share a drawn test set takes of all rows; None when the column fixes it
    validation_share: float | None  # of all rows (of the training rows with a split column); None when fixed

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped)


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
    parts: PartCounts  # rows of each class in train / validation / test

    @property
    def learning_shares(self) -> tuple[float, ...]:
        """Each class's share of the rows a model learns and is tuned on: every row, or, where a split column
        fixes the test rows, the rows outside them (its test rows may keep another balance)."""
        if not self.parts.fixed:
            return self.class_shares
        rows = np.asarray(self.parts.train) + np.asarray(self.parts.validation)
        return tuple(float(r / rows.sum()) if rows.sum() else 0.0 for r in rows)

    @property
    def extreme_classes(self) -> tuple[str, ...]:
        """The classes under ``EXTREME_SHARE`` of the rows a model learns from, in label order."""
        return tuple(c for c, share in zip(self.classes, self.learning_shares) if share < EXTREME_SHARE)


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


def _ints(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _part_counts(data: LabeledTexts, y: np.ndarray, test_share: float, validation_share: float) -> PartCounts:
    """Rows of each class per part: counted where the split column fixes the part,
    ``round(rows × share)`` per class where it is drawn per seed (as ``core.data.split`` draws it)."""
    k = data.n_classes

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(y[mask], minlength=k)

    def share_of(rows: np.ndarray, share: float) -> np.ndarray:
        return np.minimum(rows, np.round(rows * share).astype(np.int64))

    if data.parts is None:
        total = np.bincount(y, minlength=k)
        test = share_of(total, test_share)
        validation = np.minimum(total - test, share_of(total, validation_share))
        train, dropped, fixed = total - test - validation, np.zeros(k, np.int64), ()
        shares: tuple[float | None, float | None] = (test_share, validation_share)
    else:
        parts = data.parts
        repeats = repeats_of_test(parts, duplicate_groups(data.texts))
        test, dropped = count(parts == TEST), count(repeats)
        if (parts == VALIDATION).any():
            train, validation = count((parts == TRAIN) & ~repeats), count((parts == VALIDATION) & ~repeats)
            fixed, shares = PARTS, (None, None)
        else:
            pool = count((parts == TRAIN) & ~repeats)
            validation = share_of(pool, validation_share)
            train, fixed, shares = pool - validation, (PARTS[TRAIN], PARTS[TEST]), (None, validation_share)
    return PartCounts(fixed=tuple(fixed), train=_ints(train), validation=_ints(validation), test=_ints(test),
                      dropped=_ints(dropped), test_share=shares[0], validation_share=shares[1])


def compute_profile(data: LabeledTexts, *, examples_per_class: int = 3, seed: int = 0,
                    test_share: float | None = None, validation_share: float | None = None) -> Profile:
    """Profile a dataset: balance, token lengths, duplicates, conflicts, examples
    and the parts of its split. The shares of a drawn split default to the
    settings' (``core.settings``: ``test_share``, ``validation_share``)."""
    if test_share is None or validation_share is None:
        settings = get_settings()
        test_share = settings.test_share if test_share is None else test_share
        validation_share = settings.validation_share if validation_share is None else validation_share
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
        parts=_part_counts(data, y, test_share, validation_share),
    )


def cut_at_word(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters; else the whole words of its start that fit, then "…"
    (at most ``limit`` characters in all), so an example never ends in half a word. A first word longer
    than that is cut inside it."""
    if len(text) <= limit:
        return text
    last_space = re.search(r"\s\S*$", text[:limit])  # the last whitespace a cut may end before
    kept = text[: last_space.start()].rstrip() if last_space else ""
    return (kept or text[: limit - 1]) + "…"


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, for tables in a terminal."""
    return cut_at_word(" ".join(text.split()), width)


def order_in_words(p: Profile) -> str | None:
    """The order of ordinal labels, low to high ("1 < 2 < 3"); None when the labels are not ordinal."""
    return f"Ordinal labels, low to high: {' < '.join(p.classes)}." if p.ordinal else None


def split_in_words(parts: PartCounts) -> dict[str, str]:
    """Where the test and validation rows come from (keys ``test``, ``validation``): fixed by the split
    column, with their count, or drawn per seed, with the share that draws them (a report's spec says this
    instead of a share the split column overrides)."""
    def fixed(name: str) -> str:
        return f"fixed by the split column ({_count(sum(getattr(parts, name)), 'row')})"

    test = fixed(PARTS[TEST]) if PARTS[TEST] in parts.fixed else f"{parts.test_share:.0%} of the rows, drawn per seed"
    if PARTS[VALIDATION] in parts.fixed:
        validation = fixed(PARTS[VALIDATION])
    else:
        of = "the split column's training rows" if parts.fixed else "the rows"
        validation = f"{parts.validation_share:.0%} of {of}, drawn per seed"
    return {PARTS[TEST]: test, PARTS[VALIDATION]: validation}


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


def parts_note(p: Profile) -> str:
    """One sentence saying where the parts come from: the split column, or the shares drawn per seed."""
    parts = p.parts
    if not parts.fixed:
        return (f"No split column: each seed draws test ({parts.test_share:.0%} of the rows) and validation "
                f"({parts.validation_share:.0%}) stratified by class; the counts are what these shares give "
                "(each seed's draw differs slightly).")
    if PARTS[VALIDATION] in parts.fixed:
        note = "The split column fixes train, validation and test for every seed."
    else:
        note = (f"The split column fixes train and test for every seed; validation is drawn per seed from its "
                f"training rows ({parts.validation_share:.0%} of them, counts as that share gives).")
    if parts.n_dropped:
        verb = "is" if parts.n_dropped == 1 else "are"
        note += (f" {_count(parts.n_dropped, 'training or validation row')} repeating a test text (case and "
                 f"spacing ignored) {verb} left out.")
    return note


def parts_table(p: Profile) -> list[dict[str, object]]:
    """Rows of each class in each part, one record per class and a last one for
    all classes: ``class``, then the rows in train, validation and test and,
    when the split column left rows out, ``left out (repeat a test text)``.
    The header of a part drawn per seed carries "≈" and its share: ``test ≈20%``."""
    parts = p.parts
    shares = {PARTS[TEST]: parts.test_share, PARTS[VALIDATION]: parts.validation_share}
    columns: dict[str, tuple[int, ...]] = {}
    for name in PARTS:
        header = name
        if name not in parts.fixed:
            header += f" ≈{shares[name]:.0%}" if shares.get(name) is not None else " ≈"
        columns[header] = getattr(parts, name)
    if parts.n_dropped:
        columns[DROPPED_COLUMN] = parts.dropped
    records: list[dict[str, object]] = [
        {"class": label, **{header: values[i] for header, values in columns.items()}}
        for i, label in enumerate(p.classes)
    ]
    records.append({"class": "all", **{header: sum(values) for header, values in columns.items()}})
    return records


def _parts_lines(p: Profile) -> list[str]:
    records = parts_table(p)
    names = [_shorten(str(r["class"]), 30) for r in records]
    headers = list(records[0])[1:]
    width = max(5, *(len(n) for n in names))
    widths = {h: max(len(h), 7) for h in headers}
    header = "  ".join([f"{'class':<{width}}", *(f"{h:>{widths[h]}}" for h in headers)])
    lines = [header, "-" * len(header)]
    for name, r in zip(names, records):
        lines.append("  ".join([f"{name:<{width}}", *(f"{r[h]:>{widths[h]},}" for h in headers)]))
    return lines + [parts_note(p)]


def extreme_imbalance_in_words(p: Profile) -> str | None:
    """Extreme imbalance (a class under ``EXTREME_SHARE`` of the rows) and what to try for it — tuned thresholds
    and anomaly detection, next to the usual strategies — in one paragraph; None without it."""
    rare = p.extreme_classes
    if not rare:
        return None
    share = {c: p.learning_shares[p.classes.index(c)] for c in rare}
    rows = "the training rows (outside the split column's test rows)" if p.parts.fixed else "the rows"
    said = (f'class "{rare[0]}" is {share[rare[0]]:.1%} of {rows}, under {EXTREME_SHARE:.0%}' if len(rare) == 1
            else "classes " + ", ".join(f'"{c}" ({share[c]:.1%}{f" of {rows}" * (c == rare[0])})' for c in rare[:-1])
            + f' and "{rare[-1]}" ({share[rare[-1]]:.1%}), each under {EXTREME_SHARE:.0%}')
    usual = ("Next to the usual strategies (class weights, resampling, focal or logit-adjusted losses), try tuned "
             "thresholds")
    if len(p.classes) == 2:
        normal = next(c for c in p.classes if c != rare[0])
        tips = (f"{usual} — `threshold(objective=class_recall)`, the rare class's recall at a precision floor — and "
                f'anomaly detection — `anomaly`, which learns what "{normal}" looks like and flags the texts that do '
                "not fit it.")
    else:
        target = min(rare, key=lambda c: p.class_counts[p.classes.index(c)])
        written = target if re.fullmatch(r"[\w.-]+", target) else json.dumps(target, ensure_ascii=False)
        tips = f"{usual} — `threshold(objective=class_recall,target_class={written})` —"
        flagged, mapping = one_against_rest(p.classes, p.class_counts, ordinal=p.ordinal)
        if flagged in rare:
            tips += (f" and anomaly detection of one class against the rest — "
                     f"`merge(mapping={json.dumps(mapping, separators=(',', ':'), ensure_ascii=False)})+anomaly` "
                     f'learns what every class but "{flagged}" looks like and flags the texts that do not fit.')
        else:
            tips += (" and anomaly detection, which flags one class against all the others merged: on this ordinal "
                     f'scale only an end class can stand alone (merges join neighbours), and "{target}" is not one.')
    return (f"Extreme imbalance: {said}. {tips} With this few rows of a class its "
            "scores vary from seed to seed: run 5 seeds or more.")


def format_profile(p: Profile) -> str:
    """A plain-text report of a profile, for the command line."""
    kind = "ordinal classes, low to high" if p.ordinal else "classes"
    lines = [
        f"{p.name}: {p.n_rows:,} rows, {len(p.classes)} {kind}",
        f"Imbalance ratio (largest / smallest class): {p.imbalance_ratio:,.1f}",
        f"Normalised entropy of class shares: {p.normalised_entropy:.3f} (1 = balanced)",
        *([extreme] if (extreme := extreme_imbalance_in_words(p)) else []),
        f"Exact duplicates (case and spacing ignored): {_count(p.n_exact_duplicates, 'row')} repeating an "
        "earlier text",
        f"Conflicting duplicates: {_count(p.n_conflicting_duplicates, 'text')} with more than one label",
        "",
        "Rows and tokens per text by class:",
        *_class_table(p),
    ]
    lines += ["", "Rows per class in each part of the split:", *_parts_lines(p)]
    if p.conflicting_duplicates:
        shown = len(p.conflicting_duplicates)
        lines += ["", f"Texts with more than one label (first {shown} of {p.n_conflicting_duplicates:,}):"]
        lines += [f"  \"{_shorten(text, 60)}\" -> {', '.join(labels)}" for text, labels in p.conflicting_duplicates]
    lines += ["", "Examples:"]
    for label, texts in p.examples.items():
        lines += [f"  {_shorten(label, 30)}:"] + [f"    - {_shorten(t, 90)}" for t in texts]
    return "\n".join(lines)

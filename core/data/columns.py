"""Help the user choose columns of a ``RawTable`` before validating it: which
columns to preselect as text and label, which look numeric, the spellings of
each label, and the labels in natural order (a default ordinal order).

Labels are read here exactly as ``to_labeled_texts`` reads them (whole
numbers written as decimals become whole, blanks are skipped), so what the
page offers matches what validation then does."""

from __future__ import annotations

import difflib
import re
from typing import Iterable

import numpy as np
import pandas as pd

from core.data.cells import cell_text, texts_of
from core.data.readers import RawTable
from core.data.wording import quoted
from core.errors import InputError
from core.settings import get_settings

_NUMERIC_TEXT = re.compile(r"[.eE]")
_LABEL_HINTS = ("label", "class", "category", "target", "sentiment", "rating", "stars", "score", "intent",
                "topic", "tag", "y")


# ---------------------------------------------------------------- column suggestions


def _name_matches(column: str, hints: tuple[str, ...]) -> int | None:
    """Rank of the first hint that is the column's name or one of its words."""
    words = set(re.split(r"[^0-9a-z]+", column.lower())) | {column.lower()}
    return next((rank for rank, hint in enumerate(hints) if hint in words), None)


def is_nested_column(column: pd.Series) -> bool:
    if column.dtype != object:
        return False
    return bool(column.map(lambda v: isinstance(v, (dict, list, tuple, set, np.ndarray))).any())


def looks_numeric(column: pd.Series) -> bool:
    """True for number, boolean or date columns, and for text columns whose
    every non-blank value parses as a number."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column) \
            or pd.api.types.is_datetime64_any_dtype(column):
        return True
    values = texts_of(column[column.notna()]).str.strip()
    values = values[values != ""]

    def all_numbers(part: pd.Series) -> bool:
        return bool(pd.to_numeric(part, errors="coerce").notna().all())

    # A text column fails on its first rows; only a numeric-looking head needs the full check.
    return not values.empty and all_numbers(values.head(1000)) and all_numbers(values)


def suggest_columns(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """(text column, label column) to preselect, or None where nothing fits.

    The text column is the non-numeric column with the longest texts on
    average. The label column is one whose name says so (label, class,
    stars, ...) with 2 to ``max_classes`` distinct values, else the column with
    the fewest distinct values (at least 2, and some value repeated)."""
    sample = frame.head(10_000)
    usable = [c for c in sample.columns if not is_nested_column(sample[c])]
    mean_lengths = {}
    for column in usable:
        values = sample[column].dropna()
        if not values.empty and not looks_numeric(sample[column]):
            mean_lengths[column] = values.map(cell_text).str.len().mean()
    text = max(mean_lengths, key=mean_lengths.get) if mean_lengths else None
    max_classes = get_settings().max_classes
    values = {c: sample[c].dropna().map(cell_text) for c in usable if c != text}
    candidates = {c: v.nunique() for c, v in values.items() if 2 <= v.nunique() <= max_classes}
    hinted = sorted((rank, c) for c in candidates if (rank := _name_matches(c, _LABEL_HINTS)) is not None)
    if hinted:
        return text, hinted[0][1]
    repeating = {c: n for c, n in candidates.items() if n < len(values[c])}  # all-distinct columns are IDs
    label = min(repeating, key=repeating.get) if repeating else None
    return text, label


def require_column(frame: pd.DataFrame, column: str, role: str, source: str) -> None:
    """Refuse a column name the table does not have, listing those it has."""
    if column in frame.columns:
        return
    available = [str(c) for c in frame.columns]
    close = [c for c in available if c.lower() == column.lower()] or difflib.get_close_matches(column, available, 1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise InputError(f"{role} column '{column}' not found. Available columns: {quoted(available, 50)}.{hint}",
                     source=source)


# ---------------------------------------------------------------- labels


def _whole_floats(values: pd.Series) -> pd.Series:
    """True where a cell is a float holding a whole number (1.0), as Excel,
    Parquet and JSON store integer columns that have gaps."""
    if pd.api.types.is_float_dtype(values):
        return values % 1 == 0
    if values.dtype != object:
        return pd.Series(False, index=values.index)
    return values.map(lambda v: isinstance(v, (float, np.floating)) and float(v).is_integer())


def label_strings(column: pd.Series, name: str) -> tuple[pd.Series, list[str]]:
    """Labels as strings (NaN where missing or blank), with warnings about
    how numbers were read: whole numbers written as decimals become whole
    ("1.0" -> "1"), and a column mixing numbers and words is flagged."""
    values = column[column.notna()]
    labels = texts_of(values)
    labels = labels[labels.str.strip() != ""]
    warnings: list[str] = []
    float_rows = _whole_floats(values.loc[labels.index])
    numbers = pd.to_numeric(labels, errors="coerce")
    written_as_decimal = labels.str.contains(_NUMERIC_TEXT) & numbers.notna()
    if numbers.notna().all() and (numbers % 1 == 0).all() and written_as_decimal.any():
        before = labels[written_as_decimal].drop_duplicates().head(3).tolist()
        labels = labels.where(~written_as_decimal, numbers.map(lambda x: str(int(x))))
        after = [str(int(float(b))) for b in before]
        warnings.append(f"Labels in column '{name}' are whole numbers written as decimals "
                        f"({', '.join(before)}); they were read as {', '.join(after)}.")
    elif float_rows.any():
        examples = values.loc[float_rows[float_rows].index].drop_duplicates().head(3)
        warnings.append(f"Labels in column '{name}' are whole numbers stored as decimals "
                        f"({', '.join(map(str, examples))}); they were read as "
                        f"{', '.join(cell_text(v) for v in examples)}.")
    is_number = numbers.notna()
    if is_number.any() and not is_number.all():
        warnings.append(
            f"Labels in column '{name}' mix numbers ({quoted(labels[is_number].unique(), 3)}) and words "
            f"({quoted(labels[~is_number].unique(), 3)}); all are used as text labels. If some rows are "
            "mistyped or shifted, fix them and upload again.")
    return labels.reindex(column.index), warnings


def label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def variant_groups(labels: pd.Series) -> dict[str, list[str]]:
    """Normalised label -> its spellings, most frequent first, where there is more than one."""
    counts = labels.value_counts()
    groups: dict[str, list[str]] = {}
    for spelling in sorted(counts.index, key=lambda s: (-counts[s], s)):  # ties: alphabetical, for determinism
        groups.setdefault(label_key(spelling), []).append(spelling)
    return {key: spellings for key, spellings in groups.items() if len(spellings) > 1}


def _natural_key(label: str) -> tuple:
    """Sort key putting 'class2' before 'class10'; digits and text alternate."""
    parts = re.split(r"([0-9]+)", label)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), label


def natural_order(labels: Iterable[str]) -> list[str]:
    """Numeric labels in numeric order, others in natural (human) order."""
    labels = list(labels)
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    if labels and numbers.notna().all():
        return [label for _, label in sorted(zip(numbers, labels))]
    return sorted(labels, key=_natural_key)


def label_variants(table: RawTable, label_column: str) -> dict[str, list[str]]:
    """Normalised label (case-folded, spaces collapsed) -> its distinct
    spellings in the column, most frequent first, only where there are several."""
    require_column(table.frame, label_column, "label", table.source)
    labels, _ = label_strings(table.frame[label_column], label_column)
    return variant_groups(labels.dropna())


def distinct_labels(table: RawTable, label_column: str) -> list[str]:
    """The column's labels as ``to_labeled_texts`` reads them (whole-number
    decimals made whole, blanks skipped), in natural order: a default for an
    ordinal order the user then edits."""
    require_column(table.frame, label_column, "label", table.source)
    labels, _ = label_strings(table.frame[label_column], label_column)
    return natural_order(labels.dropna().unique())

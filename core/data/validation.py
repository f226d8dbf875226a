"""Validate a ``RawTable`` into ``LabeledTexts`` under a ``ColumnChoice``.

This is the second of two steps (``core.data.readers.read_table`` is the
first): ``to_labeled_texts`` applies the column choice and every data rule
(labels, number of classes and rows per class, ordinal order, target,
split column, text length). A problem the user must fix raises
``InputError`` naming the row or column and the fix; a row that cannot be
used (no label, no text) is dropped and counted in ``LabeledTexts.warnings``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.cells import cell_text, is_missing, texts_of
from core.data.columns import (
    is_nested_column,
    label_key,
    label_strings,
    looks_numeric,
    natural_order,
    require_column,
    suggest_columns,
    variant_groups,
)
from core.data.dataset import (
    PARTS,
    TEST,
    TRAIN,
    VALIDATION,
    ColumnChoice,
    LabeledTexts,
    duplicate_groups,
    repeats_of_test,
)
from core.data.profile import has_tokens
from core.data.readers import RawTable, refuse_too_many_rows
from core.data.wording import are, describe_rows, hold, quoted, them
from core.errors import InputError
from core.settings import ENV_PREFIX, Settings, get_settings

# ---------------------------------------------------------------- validation helpers


def _row_unit(frame: pd.DataFrame) -> str:
    return frame.index.name or "row"


def _require_columns(frame: pd.DataFrame, choice: ColumnChoice, source: str) -> None:
    """Every chosen column exists, and text and label are different columns."""
    for role, column in (("text", choice.text), ("label", choice.label), ("target", choice.target),
                         ("split", choice.split)):
        if column is not None:
            require_column(frame, column, role, source)
    if choice.text == choice.label:
        raise InputError(f"'{choice.text}' is chosen as both the text and the label column; pick two different "
                         "columns.", source=source)


def _refuse_nested(frame: pd.DataFrame, column: str, role: str, source: str) -> None:
    if is_nested_column(frame[column]):
        raise InputError(
            f"{role} column '{column}' holds lists or records (nested data), not plain values. Pick a column of "
            f"plain {'text' if role == 'text' else 'labels'}, or flatten that column before uploading.",
            source=source,
        )


def _refuse_numeric_texts(frame: pd.DataFrame, column: str, source: str) -> None:
    if looks_numeric(frame[column]):
        suggested, _ = suggest_columns(frame)
        hint = f" ('{suggested}' looks like text)" if suggested else ""
        raise InputError(f"column '{column}' looks numeric; pick the column that holds the texts{hint}.",
                         source=source)


def _reconcile_variants(labels: pd.Series, name: str, merge: bool, warnings: list[str]) -> pd.Series:
    """Warn about labels differing only by case or spaces; merge each group
    into its most frequent spelling when ``merge`` is set."""
    groups = variant_groups(labels)
    if not groups:
        return labels
    listed = "; ".join(" / ".join(repr(s) for s in spellings) for spellings in groups.values())
    if not merge:
        warnings.append(f"Labels in column '{name}' differ only by case or spaces: {listed}. They are kept as "
                        "separate classes; turn on label normalisation to merge them.")
        return labels
    mapping = {s: spellings[0] for spellings in groups.values() for s in spellings[1:]}
    warnings.append(f"Merged labels in column '{name}' that differ only by case or spaces: {listed} "
                    f"(each group now uses its most frequent spelling).")
    return labels.map(lambda s: mapping.get(s, s))


def _drop_rows(mask: pd.Series, message: str, unit: str, warnings: list[str]) -> pd.Series:
    """Warn about rows about to be dropped; return the keep-mask."""
    dropped = mask[mask].index
    if len(dropped):
        warnings.append(f"Dropped {len(dropped):,} {'row' if len(dropped) == 1 else 'rows'} {message} "
                        f"({describe_rows(dropped, unit)}).")
    return ~mask


def _refuse_long_texts(texts: pd.Series, column: str, settings: Settings, source: str, unit: str) -> None:
    lengths = texts.str.len()
    too_long = lengths[lengths > settings.max_text_chars]
    if too_long.empty:
        return
    rows = describe_rows(too_long.index, unit)
    size = (f"a text of {int(too_long.iloc[0]):,} characters" if len(too_long) == 1
            else f"texts of up to {int(too_long.max()):,} characters")
    raise InputError(
        f"{rows} of column '{column}' {'has' if len(too_long) == 1 else 'have'} {size}; the limit is "
        f"{settings.max_text_chars:,} ({ENV_PREFIX}MAX_TEXT_CHARS). Shorten or split {them(too_long)}, "
        "or raise the limit.",
        source=source,
    )


def _ordinal_classes(counts: pd.Series, order: tuple[str, ...], merge: bool, column: str,
                     source: str) -> list[str]:
    """The user's low-to-high order, checked against the labels present."""
    order = tuple(str(o) for o in order)
    repeated = sorted({o for o in order if order.count(o) > 1})
    if repeated:
        raise InputError(f"the ordinal order lists {quoted(repeated)} more than once; list each label once.",
                         source=source)
    if merge:
        canonical = {label_key(label): label for label in counts.index}
        order = tuple(canonical.get(label_key(o), o) for o in order)
    unlisted = [label for label in natural_order(counts.index) if label not in order]
    if unlisted:
        these = "label" if len(unlisted) == 1 else "labels"
        raise InputError(f"{these} {quoted(unlisted)} of column '{column}' {are(unlisted)} not in the ordinal "
                         f"order ({', '.join(order)}). Add {them(unlisted)} to the order, or fix those rows.",
                         source=source)
    absent = [o for o in order if o not in counts.index]
    if absent:
        raise InputError(f"the ordinal order lists {quoted(absent)}, which never occur in column '{column}'. "
                         f"Remove {them(absent)} from the order.", source=source)
    return list(order)


def _classes(labels: pd.Series, choice: ColumnChoice, settings: Settings, source: str) -> list[str]:
    """Class order after checking the number of classes and rows per class."""
    counts = labels.value_counts()
    column = choice.label
    if len(counts) < 2:
        raise InputError(f"column '{column}' has only one class ({quoted(counts.index)}); a classifier needs at "
                         "least 2. Pick another label column, or add rows of other classes.", source=source)
    if len(counts) > settings.max_classes:
        raise InputError(
            f"column '{column}' has {len(counts):,} classes; the limit is {settings.max_classes:,} "
            f"({ENV_PREFIX}MAX_CLASSES). Check that '{column}' holds class labels, not IDs or free text; merge rare "
            "classes, or raise the limit.", source=source)
    if choice.ordinal_order is not None:
        classes = _ordinal_classes(counts, choice.ordinal_order, choice.normalise_labels, column, source)
    else:
        classes = natural_order(counts.index)
    small = [c for c in classes if counts[c] < settings.min_class_rows]
    if small:
        listed = ", ".join(f"{c}: {counts[c]}" for c in small[:10]) + (f" and {len(small) - 10} more"
                                                                        if len(small) > 10 else "")
        subject = "1 class has" if len(small) == 1 else f"{len(small)} classes have"
        raise InputError(
            f"{subject} fewer than {settings.min_class_rows} rows ({listed}) — too few to split into "
            f"train/validation/test. Merge {them(small)} into a related class or drop {them(small)}, then upload "
            "again.",
            source=source)
    return classes


def _target_values(column: pd.Series, name: str, source: str, unit: str) -> np.ndarray:
    """A continuous target: every kept row needs a finite number."""
    numbers = pd.to_numeric(texts_of(column).str.strip(), errors="coerce").astype(float)
    bad = numbers.isna() | ~np.isfinite(numbers)
    if bad.any():
        shown = quoted(column[bad].map(lambda v: "" if is_missing(v) else cell_text(v)).head(5))
        rows = describe_rows(bad[bad].index, unit)
        raise InputError(f"target column '{name}' must hold a number in every row; {rows} {hold(bad[bad])} "
                         f"{shown}. Fix or remove those rows, or pick another target column.", source=source)
    return numbers.to_numpy(dtype=np.float64)


# What a split column may say (any case, spaces around ignored) and the part each value names.
SPLIT_VALUES = {"train": TRAIN, "validation": VALIDATION, "dev": VALIDATION, "val": VALIDATION, "test": TEST}
SPLIT_VALUES_TEXT = "'train', 'validation' (or 'dev', 'val') or 'test'"


def _split_parts(column: pd.Series, name: str, source: str, unit: str) -> np.ndarray:
    """The user's split column as a part per kept row (``TRAIN``, ``VALIDATION``
    or ``TEST``); it needs training and test rows, validation rows are optional."""
    values = column.map(lambda v: "" if is_missing(v) else cell_text(v).strip().lower())
    bad = ~values.isin(list(SPLIT_VALUES))
    if bad.any():
        shown = quoted(column[bad].map(lambda v: "" if is_missing(v) else cell_text(v)).unique())
        raise InputError(f"split column '{name}' must say {SPLIT_VALUES_TEXT} in every row (any case); "
                         f"{describe_rows(bad[bad].index, unit)} {hold(bad[bad])} {shown}. Fix those rows, or do "
                         "not use the column (a split is then drawn for you).", source=source)
    parts = values.map(SPLIT_VALUES).to_numpy(dtype=np.int8)
    missing = [PARTS[p] for p in (TRAIN, TEST) if not (parts == p).any()]
    if missing:
        raise InputError(f"split column '{name}' has no {' or '.join(repr(m) for m in missing)} rows; it needs "
                         "both 'train' and 'test' rows ('validation' rows are optional). Fix the column or do not "
                         "use it (a split is then drawn for you).", source=source)
    return parts


def _check_repeats_of_test(parts: np.ndarray, texts: pd.Series, name: str, source: str, unit: str,
                           warnings: list[str]) -> None:
    """Training and validation rows that repeat a test text are left out of the
    split (``core.data.split``); say so, and refuse a part left empty by it."""
    repeats = repeats_of_test(parts, duplicate_groups(texts))
    if not repeats.any():
        return
    for part in (TRAIN, VALIDATION):
        rows = parts == part
        if rows.any() and repeats[rows].all():
            raise InputError(f"every '{PARTS[part]}' row of split column '{name}' repeats a text of its 'test' "
                             "rows (case and spacing ignored), so none is left to "
                             f"{'train on' if part == TRAIN else 'validate on'}. Fix the split column.",
                             source=source)
    n = int(repeats.sum())
    warnings.append(f"{n:,} training or validation {'row repeats' if n == 1 else 'rows repeat'} a text of the "
                    f"test rows of split column '{name}' (case and spacing ignored); "
                    f"{'it is' if n == 1 else 'they are'} left out of training and validation so that no test "
                    f"text is seen before it is scored ({describe_rows(texts.index[repeats], unit)}).")


# ---------------------------------------------------------------- validation


def _usable_rows(texts: pd.Series, labels: pd.Series, choice: ColumnChoice, settings: Settings, source: str,
                 unit: str, warnings: list[str]) -> pd.Index:
    """Rows with a label and a text that has at least one token; the text
    length cap is checked on these before tokenising."""
    if labels.isna().all():
        raise InputError(f"column '{choice.label}' has no labels: it is empty in all {len(labels):,} rows. "
                         "Pick the column that holds the labels.", source=source)
    keep = _drop_rows(labels.isna(), f"without a label in column '{choice.label}'", unit, warnings)
    blank = texts[keep].isna() | (texts[keep].str.strip() == "")
    keep[keep] = _drop_rows(blank, f"with an empty text in column '{choice.text}'", unit, warnings)
    if not keep.any():
        raise InputError(f"no row has both a text in '{choice.text}' and a label in '{choice.label}'. "
                         "Check the column choice.", source=source)
    _refuse_long_texts(texts[keep], choice.text, settings, source, unit)
    wordless = pd.Series(~has_tokens(texts[keep]), index=texts[keep].index)
    if wordless.all():
        raise InputError(f"no text in column '{choice.text}' contains a word: they are only punctuation. "
                         "Pick the column that holds the texts.", source=source)
    keep[keep] = _drop_rows(wordless, f"whose text in column '{choice.text}' has no words, only punctuation",
                            unit, warnings)
    return keep[keep].index


def to_labeled_texts(table: RawTable, choice: ColumnChoice, *, settings: Settings | None = None) -> LabeledTexts:
    """Apply the column choice and every data rule; refuse what the user must
    fix, drop unusable rows with a warning, and fix the class order."""
    settings = settings or get_settings()
    frame, source, unit = table.frame, table.source, _row_unit(table.frame)
    _require_columns(frame, choice, source)
    refuse_too_many_rows(len(frame), settings, source)
    _refuse_nested(frame, choice.text, "text", source)
    _refuse_nested(frame, choice.label, "label", source)
    _refuse_numeric_texts(frame, choice.text, source)
    warnings = list(table.notes)
    labels, label_warnings = label_strings(frame[choice.label], choice.label)
    texts = texts_of(frame[choice.text])
    rows = _usable_rows(texts, labels, choice, settings, source, unit, warnings)
    warnings += label_warnings
    labels = _reconcile_variants(labels.loc[rows], choice.label, choice.normalise_labels, warnings)
    classes = _classes(labels, choice, settings, source)
    target = _target_values(frame.loc[rows, choice.target], choice.target, source, unit) if choice.target else None
    parts = None
    if choice.split:
        parts = _split_parts(frame.loc[rows, choice.split], choice.split, source, unit)
        _check_repeats_of_test(parts, texts.loc[rows], choice.split, source, unit, warnings)
    return LabeledTexts(
        texts=tuple(texts.loc[rows]),
        y=pd.Categorical(labels, categories=classes).codes.astype(np.int64),
        classes=tuple(classes),
        ordinal=choice.ordinal_order is not None,
        target=target,
        parts=parts,
        name=source,
        warnings=tuple(warnings),
    )

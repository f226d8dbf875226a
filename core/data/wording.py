"""Phrases and small English grammar helpers shared by the messages about a
user's table ("rows 5, 9 and 12", "is"/"are", "it"/"them"), so every reader
and rule words counts, lists and row numbers the same way."""

from __future__ import annotations

from typing import Iterable

SUPPORTED = "CSV/TSV, Excel (.xlsx), Parquet or JSON Lines"


def line_list(numbers: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def describe_rows(numbers: Iterable[object], unit: str = "row", limit: int = 5) -> str:
    """'row 5', 'rows 5, 9 and 12', 'rows 2, 3, 4, 5, 6 and 7 more'."""
    numbers = list(numbers)
    if len(numbers) == 1:
        return f"{unit} {numbers[0]}"
    shown = [str(n) for n in numbers[:limit]]
    if len(numbers) > limit:
        return f"{unit}s {', '.join(shown)} and {len(numbers) - limit} more"
    return f"{unit}s {', '.join(shown[:-1])} and {shown[-1]}"


def quoted(values: Iterable[object], limit: int = 10) -> str:
    values = list(values)
    shown = ", ".join(repr(str(v)) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def are(items: object) -> str:
    return "is" if len(items) == 1 else "are"


def them(items: object) -> str:
    return "it" if len(items) == 1 else "them"


def hold(items: object) -> str:
    return "holds" if len(items) == 1 else "hold"

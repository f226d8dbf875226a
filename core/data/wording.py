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


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 run', '2 runs', '0 runs'; ``many`` where adding an s is wrong ('2 classes')."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def and_join(parts: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    parts = list(parts)
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def human_bytes(n: float) -> str:
    """'512 B', '12 KB', '3 MB', '1.2 TB' (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def minutes_words(seconds: float) -> str:
    """'3 min', '1 h 20 min' (rounded to the minute)."""
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def duration(seconds: float) -> str:
    """Seconds as a reader says them: '40 s', '3 min', '1 h 20 min'."""
    return f"{max(1, round(seconds))} s" if seconds < 90 else minutes_words(seconds)


def time_words(seconds: float) -> str:
    """A time left, said roughly: 'under a minute', 'about 4 min', 'about 1 h 20 min'."""
    return "under a minute" if seconds < 60 else f"about {minutes_words(seconds)}"

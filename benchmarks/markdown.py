"""Small formatting helpers for BENCHMARKS.md: numbers that may be missing,
target marks, and pipe tables."""

from __future__ import annotations


def num(value, digits: int = 0, suffix: str = "") -> str:
    """A number with thousands separators, "yes"/"no" for booleans, "—" when missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}{suffix}"
    return str(value)


def pct(value, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def below(value, limit) -> bool | None:
    return None if value is None or limit is None else value < limit


def mark(flag) -> str:
    return "—" if flag is None else ("✅ met" if flag else "❌ not met")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)

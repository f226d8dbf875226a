"""The recipe syntax: ``strategy(param=value,...)+strategy(...)``.

A value may be JSON (``class_weight(scheme=custom,weights={"spam":5,"ham":1})``);
the empty recipe is ``baseline``. Parsing is hand-written because values may
hold JSON with commas and parentheses, which no standard splitter respects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from core.errors import InputError
from core.runs.references import is_reference

BASELINE = "baseline"


@dataclass(frozen=True)
class Step:
    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def text(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={_format_value(v)}" for k, v in self.params)
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class Recipe:
    steps: tuple[Step, ...] = ()

    def text(self) -> str:
        return "+".join(step.text() for step in self.steps) or BASELINE

    def __str__(self) -> str:
        return self.text()

    def to_json(self) -> list[dict]:
        return [{"name": s.name, **dict(s.params)} for s in self.steps]

    @classmethod
    def from_json(cls, items: list[dict]) -> "Recipe":
        steps = []
        for item in items:
            item = dict(item)
            name = item.pop("name", None)
            if not name:
                raise InputError(f"recipe entry {item!r} has no name; write e.g. {{name=\"focal\", gamma=2}}.")
            steps.append(Step(str(name), tuple(sorted(item.items()))))
        return cls(tuple(s for s in steps if s.name != BASELINE))


def _format_value(value: Any) -> str:
    if isinstance(value, str) and value and all(ch.isalnum() or ch in "_-." for ch in value):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _parse_value(raw: str) -> Any:
    raw = raw.strip()
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip("'\"")


def parse_recipe(text: str) -> Recipe:
    """Parse the recipe syntax into steps (names and values are checked by the registry)."""
    text = (text or "").strip()
    if not text or text == BASELINE:
        return Recipe()
    steps = []
    for part in _split_top(text, "+"):
        part = part.strip()
        if not part:
            raise InputError(f"recipe {text!r}: empty step (two '+' in a row, or a '+' at an end).")
        if "(" in part:
            if not part.endswith(")"):
                raise InputError(f"recipe {text!r}: step {part!r} must end with ')'.")
            name, inner = part[: part.index("(")].strip(), part[part.index("(") + 1 : -1]
        else:
            name, inner = part, ""
        params = []
        for item in _split_top(inner, ","):
            if not item.strip():
                continue
            if "=" not in item:
                raise InputError(f"recipe {text!r}: parameter {item.strip()!r} of {name} needs the form name=value.")
            key, value = item.split("=", 1)
            params.append((key.strip(), _parse_value(value)))
        if name != BASELINE:
            steps.append(Step(name, tuple(sorted(params))))
    return Recipe(tuple(steps))


def display_order(recipes: Iterable[str]) -> list[str]:
    """Recipes as every table and figure lists them: the baseline first, then
    the other LSTM recipes in the order given, then the references."""
    names = list(dict.fromkeys(recipes))
    return sorted(names, key=lambda r: (is_reference(r), r != BASELINE))  # sorted() is stable

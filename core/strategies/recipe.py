"""The recipe syntax: ``strategy(param=value,...)+strategy(...)``.

A value may be JSON (``class_weight(scheme=custom,weights={"spam":5,"ham":1})``);
the empty recipe is ``baseline``. An unquoted value holding ``|`` is a sweep
(``focal(gamma=0.5|1|2)``): the recipe stands for one recipe per value, the
product over every swept parameter (``expand``); a ``|`` inside quotes or JSON
brackets is part of the value. Parsing is hand-written because values may hold
JSON with commas and parentheses, which no standard splitter respects.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

from core.errors import InputError
from core.runs.references import is_reference

BASELINE = "baseline"
SWEEP_SEPARATOR = "|"


@dataclass(frozen=True)
class Sweep:
    """A swept parameter value: the values a recipe expands over, in the order written (``gamma=0.5|1|2``)."""

    values: tuple[Any, ...]

    def text(self) -> str:
        return SWEEP_SEPARATOR.join(_format_value(v) for v in self.values)


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

    @property
    def swept(self) -> list[tuple[str, str, Sweep]]:
        """(step name, parameter, sweep) of every swept parameter, in the order written."""
        return [(step.name, key, value) for step in self.steps for key, value in step.params
                if isinstance(value, Sweep)]

    @property
    def is_sweep(self) -> bool:
        return bool(self.swept)

    @property
    def size(self) -> int:
        """How many recipes this one stands for: the product of its sweeps' lengths (1 without a sweep)."""
        return math.prod(len(sweep.values) for _, _, sweep in self.swept)

    @classmethod
    def from_json(cls, items: list[dict]) -> "Recipe":
        """A recipe from TOML-style entries (``{name="focal", gamma=2}``): a string value holding ``|`` outside
        quotes and brackets is a sweep (``gamma="0.5|1|2"``); an array stays a list value."""
        steps = []
        for item in items:
            item = dict(item)
            name = item.pop("name", None)
            if not name:
                raise InputError(f"recipe entry {item!r} has no name; write e.g. {{name=\"focal\", gamma=2}}.")
            params = {key: _sweep_or_value(value, where=f"{name}({key}=…)") for key, value in item.items()}
            steps.append(Step(str(name), tuple(sorted(params.items()))))
        return cls(tuple(s for s in steps if s.name != BASELINE))


def expand(recipe: Recipe) -> list[tuple[Recipe, tuple[tuple[str, Any], ...]]]:
    """The recipes a sweep stands for, each with the values it takes of the swept parameters (named by the
    parameter, or ``step.parameter`` where two steps sweep parameters of one name): the product of every sweep,
    the first swept parameter varying slowest. A recipe without a sweep is its own single point."""
    swept = recipe.swept
    names = [key for _, key, _ in swept]
    labels = [key if names.count(key) == 1 else f"{step}.{key}" for step, key, _ in swept]
    points = []
    for combination in itertools.product(*(sweep.values for _, _, sweep in swept)):
        chosen = dict(zip([(step, key) for step, key, _ in swept], combination))
        steps = tuple(Step(step.name, tuple((key, chosen.get((step.name, key), value)) for key, value in step.params))
                      for step in recipe.steps)
        points.append((Recipe(steps), tuple(zip(labels, combination))))
    return points


def _format_value(value: Any) -> str:
    if isinstance(value, Sweep):
        return value.text()
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


def _parse_single(raw: str) -> Any:
    raw = raw.strip()
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip("'\"")


def _parse_value(raw: str, *, where: str) -> Any:
    """One parameter's value: JSON where it parses, else the text; a ``Sweep`` when it holds ``|`` outside quotes
    and brackets. ``where`` (``focal(gamma=…)``) names the parameter in errors."""
    alternatives = _split_top(raw, SWEEP_SEPARATOR)
    if len(alternatives) == 1:
        return _parse_single(raw)
    if any(not a.strip() for a in alternatives):
        raise InputError(f"{where}: the sweep {raw.strip()!r} has an empty value; separate two or more values with "
                         f"'|', e.g. 0.5|1|2.")
    values = tuple(_parse_single(a) for a in alternatives)
    repeated = [a.strip() for i, (a, v) in enumerate(zip(alternatives, values)) if v in values[:i]]
    if repeated:
        raise InputError(f"{where}: the sweep {raw.strip()!r} repeats {repeated[0]}; give each value once.")
    return Sweep(values)


def _sweep_or_value(value: Any, *, where: str) -> Any:
    """A value given outside the recipe syntax (TOML, a form field): a string holding ``|`` outside quotes and
    brackets is a sweep; anything else (numbers, arrays, other strings) is kept as given."""
    if isinstance(value, str) and len(_split_top(value, SWEEP_SEPARATOR)) > 1:
        return _parse_value(value, where=where)
    return value


def parse_params(text: str, *, name: str, where: str = "") -> tuple[tuple[str, Any], ...]:
    """``param=value,...`` (the inside of a step's parentheses) as sorted (name, value) pairs; ``name`` is the
    step's, ``where`` what the error says was being read."""
    params = []
    for item in _split_top(text, ","):
        if not item.strip():
            continue
        if "=" not in item:
            raise InputError(f"{where or name}: parameter {item.strip()!r} of {name} needs the form name=value.")
        key, value = item.split("=", 1)
        params.append((key.strip(), _parse_value(value, where=f"{name}({key.strip()}=…)")))
    return tuple(sorted(params))


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
        params = parse_params(inner, name=name, where=f"recipe {text!r}")
        if name != BASELINE:
            steps.append(Step(name, params))
    return Recipe(tuple(steps))


def display_order(recipes: Iterable[str]) -> list[str]:
    """Recipes as every table and figure lists them: the baseline first, then
    the other LSTM recipes in the order given, then the references."""
    names = list(dict.fromkeys(recipes))
    return sorted(names, key=lambda r: (is_reference(r), r != BASELINE))  # sorted() is stable

"""``benchmarks/results.json``: nested JSON whose dotted paths are the result
keys (``throughput.ratio``, ``quality.sms_spam.focal.macro_f1_mean``, …).
Running some sections replaces only their top-level keys, so results of
sections run earlier (one at a time, or before an interruption) are kept."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from core.files import atomic_write_json


def results_path(out: Path) -> Path:
    return out / "benchmarks" / "results.json"


def load(out: Path) -> dict:
    path = results_path(out)
    return json.loads(path.read_text()) if path.exists() else {}


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, tuples lists, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def merge(old: dict, new: dict, section_meta: dict) -> dict:
    """``old`` with ``new``'s top-level keys replaced, and per-section provenance in ``meta.sections``."""
    merged = {**old, **clean(new)}
    meta = dict(old.get("meta", {}))
    meta["sections"] = {**meta.get("sections", {}), **clean(section_meta)}
    merged["meta"] = {**meta, **{k: v for k, v in clean(new.get("meta", {})).items() if k != "sections"}}
    return merged


def save(out: Path, results: dict) -> Path:
    path = results_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, results)
    return path


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def get(tree: dict, dotted: str, default: Any = None) -> Any:
    """The value at a dotted path (keys may themselves hold no dots)."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node

"""How stored datasets are told apart in pickers: their name, size, and — for
datasets made from the same file — what the user chose differently.

Two uploads of one file with other columns or label settings used to show as
the same "semeval.csv (1,733 rows, 4 classes)"; the pickers and the Data page
now say what differs (``differences``) and label each one uniquely
(``dataset_labels``)."""

from __future__ import annotations

import time

from core.errors import InputError

MAX_NAME = 200

_CHOICES = (  # ColumnChoice field -> how a reader names it
    ("text", "text column"),
    ("label", "label column"),
    ("ordinal_order", "ordinal order"),
    ("target", "target column"),
    ("split", "split column"),
    ("normalise_labels", "labels normalised"),
)


def checked_name(name: str) -> str:
    """A dataset's new name, trimmed; an InputError saying what to type when it is empty or too long."""
    name = " ".join(str(name).split())
    if not name:
        raise InputError("A dataset needs a name: type at least one character.")
    if len(name) > MAX_NAME:
        raise InputError(f"A dataset name can have at most {MAX_NAME} characters (this one has {len(name)}).")
    return name


def _choice(info: dict) -> dict:
    return (info.get("meta") or {}).get("choice") or {}


def _said(key: str, value) -> str:
    if value in (None, "", False):
        return "none" if key != "normalise_labels" else "no"
    if value is True:
        return "yes"
    if isinstance(value, (list, tuple)):
        return " < ".join(map(str, value))
    return str(value)


def differences(a: dict, b: dict) -> list[str]:
    """What differs between two stored datasets (``Store.dataset_info`` dicts), in phrases: the column and label
    choices made on upload, then the rows and classes they led to."""
    out = []
    ca, cb = _choice(a), _choice(b)
    for key, said in _CHOICES:
        if ca.get(key) != cb.get(key) and (key in ca or key in cb):
            out.append(f"{said} {_said(key, ca.get(key))} vs {_said(key, cb.get(key))}")
    if a["n_rows"] != b["n_rows"]:
        out.append(f"{a['n_rows']:,} vs {b['n_rows']:,} rows")
    if list(a["classes"]) != list(b["classes"]):
        out.append(f"classes {', '.join(a['classes'])} vs {', '.join(b['classes'])}")
    if bool(a.get("ordinal")) != bool(b.get("ordinal")):
        out.append(f"{'ordinal' if a.get('ordinal') else 'not ordinal'} vs "
                   f"{'ordinal' if b.get('ordinal') else 'not ordinal'}")
    return out


def _distinguishing(info: dict, others: list[dict]) -> str:
    """The choices that set ``info`` apart from datasets of the same name, said briefly."""
    choice = _choice(info)
    parts = []
    for key, said in _CHOICES:
        if any(_choice(o).get(key) != choice.get(key) for o in others):
            parts.append(f"{said}: {_said(key, choice.get(key))}")
    if not parts or any(all(_choice(o).get(k) == choice.get(k) for k, _ in _CHOICES) for o in others):
        parts.append(f"added {time.strftime('%Y-%m-%d %H:%M', time.localtime(info['created']))}"
                     if info.get("created") else f"id {info['id'][:8]}")
    return "; ".join(parts)


def dataset_labels(datasets: list[dict]) -> dict[str, str]:
    """One label per dataset id for pickers: "name (rows, classes)", and where several datasets share a name,
    what sets each apart (its column and label choices, else when it was added)."""
    labels = {}
    for info in datasets:
        base = f"{info['name']} ({info['n_rows']:,} rows, {len(info['classes'])} classes)"
        twins = [o for o in datasets if o["name"] == info["name"] and o["id"] != info["id"]]
        labels[info["id"]] = f"{base} · {_distinguishing(info, twins)}" if twins else base
    return labels

"""Writing files so that a killed process never leaves half of one, and names
that are safe to show and to use as file names."""

from __future__ import annotations

import json
import os
import re
import unicodedata
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when
    the block ends without an error, removed when it raises."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, json.dumps(payload, indent=1, default=json_default).encode())


def json_default(value: Any) -> Any:
    """JSON for the numpy scalars and arrays and the paths our payloads hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _basename(name: str | os.PathLike | None) -> str:
    """The last path component, without control or format characters (e.g.
    right-to-left overrides), Windows separators counted as separators."""
    text = os.fspath(name) if name is not None else ""
    text = str(text).replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf"}).strip()


def display_name(name: str | os.PathLike | None, fallback: str = "upload") -> str:
    """A file's name safe to show and log: its basename, cleaned."""
    text = _basename(name)
    return fallback if set(text) <= {"."} else text[:200]  # "", "." and ".." name no file


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name that cannot leave its folder: the cleaned basename with
    characters other than letters, digits, '.', '_' and '-' replaced."""
    return _UNSAFE_FILE_CHARS.sub("_", _basename(name)).strip("._")[:120] or fallback

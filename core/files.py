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


# A user's file that a run reads (``pretrained_vectors(path=…)``) lives on the worker's machine. An executor whose
# runs train elsewhere ships its content and copies it onto the training machine; while the run trains, the
# original path resolves to that copy, so the recipe (and everything recorded with the run) keeps the user's path.
_LOCAL_COPIES: dict[str, Path] = {}


def user_file(raw: str | os.PathLike) -> Path:
    """The path to read a user-named file at: the local copy an executor shipped for it, if any, else the path
    itself with ``~`` expanded."""
    text = str(raw).strip()
    return _LOCAL_COPIES.get(text) or Path(os.path.expanduser(text))


@contextmanager
def local_copies(copies: dict[str, Path]) -> Iterator[None]:
    """Within the block, ``user_file(path)`` answers each shipped path's local copy."""
    _LOCAL_COPIES.update({str(k).strip(): Path(v) for k, v in copies.items()})
    try:
        yield
    finally:
        for key in copies:
            _LOCAL_COPIES.pop(str(key).strip(), None)

"""User-supplied pretrained word vectors (GloVe, word2vec or fastText text
format) as the starting point of the embedding layer.

Models here learn their words from the uploaded texts alone; vectors trained
on a large corpus carry what a few thousand labeled rows cannot teach (that
"refund" and "reimburse" mean nearly the same). Nothing is downloaded: the
user points at a file on this machine.

Hand-written reader: Keras has no loader, and gensim (which has one) would be a
large dependency for a loop over lines. Only words in the run's vocabulary are
kept, so a multi-gigabyte file costs one pass and little memory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import InputError
from core.files import user_file

MAX_DIM = 2048


@dataclass(frozen=True)
class VectorsHeader:
    path: Path
    dim: int
    has_count_line: bool  # word2vec / fastText text files start with "<words> <dim>"


def _open(path: Path):
    return open(path, encoding="utf-8", errors="replace")


def _resolve(raw: str) -> Path:
    if not str(raw).strip():
        raise InputError("pretrained_vectors: give the path of a word-vectors file on this machine (GloVe, "
                         "word2vec or fastText text format, one word and its numbers per line).")
    path = user_file(raw)  # a copy on this machine when the run trains away from the worker (core.files)
    if not path.is_file():
        raise InputError(f"pretrained_vectors: {path} is not a file on this machine. Give the full path of a "
                         "word-vectors file (GloVe, word2vec or fastText text format).")
    return path


def _floats(parts: list[str], path: Path, line_no: int) -> np.ndarray:
    try:
        return np.asarray(parts, dtype=np.float32)
    except ValueError:
        raise InputError(f"{path}, line {line_no}: expected a word followed by numbers, found "
                         f"{' '.join(parts[:3])[:60]!r}… Is this a text-format vectors file (not a binary .bin)?") from None


def read_header(raw: str) -> VectorsHeader:
    """Check the file and learn its dimension from the first lines (cheap: for
    a clear message when the experiment is submitted, not when a run starts)."""
    path = _resolve(raw)
    try:
        with _open(path) as f:
            first = f.readline().split()  # GloVe lines may end in a space, Windows files in \r
            second = f.readline().split()
    except OSError as exc:
        raise InputError(f"pretrained_vectors: cannot read {path}: {exc.strerror or exc}.") from None
    if len(first) == 2 and all(p.isdigit() for p in first):
        dim, has_count = int(first[1]), True
        row, row_no = second, 2
    else:
        dim, has_count = len(first) - 1, False
        row, row_no = first, 1
    if dim < 1 or len(row) < 2:
        raise InputError(f"{path}, line {row_no}: expected a word followed by its vector's numbers.")
    if dim > MAX_DIM:
        raise InputError(f"{path}: vectors of {dim} numbers are more than the {MAX_DIM} allowed.")
    if len(row) - 1 != dim:
        raise InputError(f"{path}, line {row_no}: {len(row) - 1} numbers where the file says {dim}.")
    _floats(row[1:], path, row_no)
    return VectorsHeader(path, dim, has_count)


@dataclass(frozen=True)
class EmbeddingInit:
    matrix: np.ndarray  # vocabulary size × dim, row 0 (padding) zero
    found: int  # vocabulary words that had a vector (padding and OOV rows not counted)


def embedding_matrix(raw: str, vocabulary: Sequence[str], rng: np.random.Generator) -> EmbeddingInit:
    """Rows of the file for the run's vocabulary (matched case-insensitively,
    an exact-case entry preferred); words without a vector get random rows of
    the same scale, so they start neither at zero nor far away."""
    header = read_header(raw)
    index = {w: i for i, w in enumerate(vocabulary) if i >= 2}  # 0 padding, 1 out-of-vocabulary
    matrix = np.zeros((len(vocabulary), header.dim), dtype=np.float32)
    exact = np.zeros(len(vocabulary), dtype=bool)
    seen = np.zeros(len(vocabulary), dtype=bool)
    try:
        with _open(header.path) as f:
            for line_no, line in enumerate(f, start=1):
                if line_no == 1 and header.has_count_line:
                    continue
                word, _, rest = line.rstrip().partition(" ")
                i = index.get(word)
                if i is None:
                    i = index.get(word.lower())
                    if i is None or exact[i] or seen[i]:
                        continue
                parts = rest.split()
                if len(parts) != header.dim:
                    raise InputError(f"{header.path}, line {line_no}: {len(parts)} numbers where the file's first "
                                     f"vector has {header.dim}.")
                matrix[i] = _floats(parts, header.path, line_no)
                seen[i] = True
                exact[i] |= word == vocabulary[i]
    except OSError as exc:  # unreadable midway (removed, permissions, I/O error)
        raise InputError(f"pretrained_vectors: cannot read {header.path}: {exc.strerror or exc}.") from None
    found = int(seen.sum())
    if found == 0:
        raise InputError(f"{header.path}: none of this dataset's {len(vocabulary) - 2:,} vocabulary words has a "
                         "vector in the file. Is it for another language, or another tokenisation?")
    scale = float(matrix[seen].std()) or 0.1
    missing = ~seen
    missing[0] = False
    matrix[missing] = rng.normal(0.0, scale, size=(int(missing.sum()), header.dim)).astype(np.float32)
    return EmbeddingInit(matrix, found)


def identity(raw: str) -> str:
    """What distinguishes one version of the file from another, for run fingerprints."""
    try:
        stat = Path(os.path.expanduser(str(raw).strip())).stat()
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"

"""Text augmentation of minority classes: EDA (Wei & Zou 2019), offline.

Four operations rephrase a text: synonym replacement, random insertion of a
synonym, random swap of two words and random deletion. Synonyms come from a
compact table derived from WordNet 3.0 and committed under ``data/``
(``scripts/build_synonyms.py`` regenerates it; ``data/WORDNET_LICENSE.txt``
holds its license), so this module needs neither nltk nor a network.

Texts are split on whitespace and joined back with single spaces.
Punctuation stays attached to its word; only the alphabetic core of a token
is looked up and replaced, so "Love," can become "Enjoy,". Words without an
entry in the (English) table are left alone, so for other languages only
swap and deletion change anything.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

from core.errors import InputError
from core.settings import DATA_DIR

SYNONYMS_PATH = DATA_DIR / "wordnet_synonyms.json.gz"
OPERATIONS = ("synonym", "insert", "swap", "delete")
RANDOM_TRIES = 4  # random operations tried per source before falling back

# A token is: leading non-letters, a word (letters, maybe joined by one
# hyphen or apostrophe), trailing non-letters. Anything else has no core.
_TOKEN = re.compile(r"^([^A-Za-z]*)([A-Za-z]+(?:[-'\u2019][A-Za-z]+)*)([^A-Za-z]*)$")

Synonyms = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class AugmentParams:
    """How strongly and by which operations texts are rephrased."""

    rate: float = 0.1  # share of words edited per operation (alpha in EDA)
    operations: tuple[str, ...] = OPERATIONS

    def __post_init__(self) -> None:
        """Reject settings that would make every operation meaningless."""
        if not 0.0 < self.rate <= 1.0:
            raise InputError(f"augmentation rate must be in (0, 1], got {self.rate}")
        unknown = [op for op in self.operations if op not in OPERATIONS]
        if unknown or not self.operations:
            raise InputError(
                f"augmentation operations must be a non-empty subset of "
                f"{', '.join(OPERATIONS)}; got {', '.join(self.operations) or 'none'}"
            )


@lru_cache(maxsize=1)
def load_synonyms() -> Synonyms:
    """The WordNet synonym table: lower-case word -> synonyms, best first.

    Loaded once per process (about 45,000 words) and returned read-only.
    """
    if not SYNONYMS_PATH.exists():
        raise FileNotFoundError(
            f"{SYNONYMS_PATH} is missing; regenerate it with "
            "`python scripts/build_synonyms.py`"
        )
    with gzip.open(SYNONYMS_PATH, "rt", encoding="ascii") as handle:
        raw = json.load(handle)
    return MappingProxyType({word: tuple(syns) for word, syns in raw.items()})


def _edit_count(n_words: int, rate: float) -> int:
    """Number of edits for a text of ``n_words`` words: max(1, rate * n)."""
    return max(1, round(rate * n_words))


def _lookup(token: str, synonyms: Synonyms) -> tuple[str, ...]:
    """Synonyms of the alphabetic core of ``token`` (empty if none)."""
    match = _TOKEN.match(token)
    if match is None:
        return ()
    return synonyms.get(match.group(2).lower(), ())


def _match_case(synonym: str, word: str) -> str:
    """``synonym`` in the casing of ``word``: ALL CAPS or Capitalised."""
    if len(word) > 1 and word.isupper():
        return synonym.upper()
    if word[:1].isupper():
        return synonym[:1].upper() + synonym[1:]
    return synonym


def _replace_core(token: str, synonym: str) -> str:
    """``token`` with its word replaced by ``synonym``, punctuation kept."""
    match = _TOKEN.match(token)
    assert match is not None
    prefix, word, suffix = match.groups()
    return prefix + _match_case(synonym, word) + suffix


def _pick(rng: np.random.Generator, items: Sequence):
    """One item of ``items``, uniformly at random."""
    return items[int(rng.integers(len(items)))]


def synonym_replacement(words: list[str], n: int, rng: np.random.Generator,
                        synonyms: Synonyms) -> list[str]:
    """Replace up to ``n`` distinct words that have synonyms by one of them."""
    out = list(words)
    candidates = [i for i, w in enumerate(words) if _lookup(w, synonyms)]
    if not candidates:
        return out
    for i in rng.permutation(candidates)[:n]:
        out[i] = _replace_core(words[i], _pick(rng, _lookup(words[i], synonyms)))
    return out


def random_insertion(words: list[str], n: int, rng: np.random.Generator,
                     synonyms: Synonyms) -> list[str]:
    """Insert, ``n`` times, a synonym of a random word at a random position."""
    out = list(words)
    candidates = [w for w in words if _lookup(w, synonyms)]
    if not candidates:
        return out
    for _ in range(n):
        synonym = _pick(rng, _lookup(_pick(rng, candidates), synonyms))
        out.insert(int(rng.integers(len(out) + 1)), synonym)
    return out


def random_swap(words: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """Swap two words at distinct random positions, ``n`` times."""
    out = list(words)
    if len(out) < 2:
        return out
    for _ in range(n):
        i, j = rng.choice(len(out), size=2, replace=False)
        out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], p: float, rng: np.random.Generator) -> list[str]:
    """Delete each word with probability ``p``; one word always survives."""
    if len(words) < 2:
        return list(words)
    keep = rng.random(len(words)) >= p
    if not keep.any():
        return [_pick(rng, words)]
    return [w for w, k in zip(words, keep) if k]


def _apply(op: str, words: list[str], rng: np.random.Generator, rate: float,
           synonyms: Synonyms) -> list[str]:
    """Apply the named EDA operation to a list of tokens."""
    n = _edit_count(len(words), rate)
    actions: dict[str, Callable[[], list[str]]] = {
        "synonym": lambda: synonym_replacement(words, n, rng, synonyms),
        "insert": lambda: random_insertion(words, n, rng, synonyms),
        "swap": lambda: random_swap(words, n, rng),
        "delete": lambda: random_deletion(words, rate, rng),
    }
    return actions[op]()


def augment_text(text: str, rng: np.random.Generator,
                 params: AugmentParams = AugmentParams(),
                 synonyms: Synonyms | None = None) -> str:
    """One rephrasing of ``text`` by one randomly chosen operation (as in EDA).

    May return the text unchanged (with whitespace normalised) when the
    chosen operation cannot apply, e.g. a swap on a single word;
    ``augment_rows`` retries in that case.
    """
    words = text.split()
    if not words:
        return text
    table = load_synonyms() if synonyms is None else synonyms
    op = _pick(rng, params.operations)
    return " ".join(_apply(op, words, rng, params.rate, table))


def _changed_variant(text: str, rng: np.random.Generator, params: AugmentParams,
                     synonyms: Synonyms) -> str | None:
    """A rephrasing of ``text`` that differs from it, or None if none found.

    Tries a few random operations first, then each allowed operation once
    in order, so that a text only one operation can change still gets one.
    """
    words = text.split() if isinstance(text, str) else []
    if not words:
        return None
    for _ in range(RANDOM_TRIES):
        new = augment_text(text, rng, params, synonyms)
        if new.split() != words:
            return new
    for op in params.operations:
        new_words = _apply(op, words, rng, params.rate, synonyms)
        if new_words != words:
            return " ".join(new_words)
    return None


def words_of(texts: Sequence[str]) -> frozenset[str]:
    """Lower-case alphabetic words of ``texts`` (the cores ``_lookup`` matches)."""
    return frozenset(m.group(2).lower() for t in texts for m in map(_TOKEN.match, str(t).split()) if m)


def within(synonyms: Synonyms, known: frozenset[str]) -> Synonyms:
    """``synonyms`` limited to replacements made only of ``known`` words.

    A synonym the model never met in training is an unknown token to it. Only
    the augmented (smaller) classes would carry such tokens, so the model learns
    "unknown word → small class" and sends every real text with a rare word
    there (SMS spam: ham recall fell to 0.80 with unrestricted synonyms)."""
    out = {}
    for word, options in synonyms.items():
        kept = tuple(o for o in options if all(part.lower() in known for part in o.split()))
        if kept:
            out[word] = kept
    return MappingProxyType(out)


@lru_cache(maxsize=2)
def _known_synonyms(known: frozenset[str]) -> Synonyms:
    """``within`` the WordNet table, once per training vocabulary (a run augments
    several classes with the same one)."""
    return within(load_synonyms(), known)


def augment_rows(texts: Sequence[str], source_rows: Sequence[int], n_new: int, *,
                 seed: int, params: AugmentParams = AugmentParams(), known_words: frozenset[str] | None = None
                 ) -> list[tuple[int, str]]:
    """Generate ``n_new`` (source_row, new_text) pairs from ``texts[source_rows]``.

    Sources are visited in a seeded random order, cycling when ``n_new``
    exceeds their number, so every source is used about equally often.
    Each new text differs from its source; a source that cannot be changed
    (e.g. one word without synonyms) is skipped from then on, so fewer than
    ``n_new`` pairs come back only if no source can be changed at all.
    The same inputs and seed give the same output. With ``known_words``,
    synonyms are only those made of known words (see ``within``).
    """
    if n_new <= 0 or len(source_rows) == 0:
        return []
    rng = np.random.default_rng(seed)
    synonyms = load_synonyms() if known_words is None else _known_synonyms(known_words)
    order = [source_rows[i] for i in rng.permutation(len(source_rows))]
    stuck: set[int] = set()
    out: list[tuple[int, str]] = []
    position = 0
    while len(out) < n_new and len(stuck) < len(order):
        slot = position % len(order)
        position += 1
        if slot in stuck:
            continue
        row = int(order[slot])
        new = _changed_variant(texts[row], rng, params, synonyms)
        if new is None:
            stuck.add(slot)
        else:
            out.append((row, new))
    return out

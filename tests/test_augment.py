"""Tests for core.data.text_edits: EDA operations over the committed WordNet table."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.data import text_edits as augment
from core.data.text_edits import (
    AugmentParams,
    augment_rows,
    augment_text,
    load_synonyms,
    random_deletion,
    random_insertion,
    random_swap,
    synonym_replacement,
)
from core.errors import InputError

REVIEWS = [
    "Absolutely wonderful - silky and sexy and comfortable",
    "Love this dress! it's sooo pretty. i happened to find it in a store, "
    "and i'm glad i did bc i never would have ordered it online.",
    "I had such high hopes for this dress and really wanted it to work for me.",
    "This shirt is very flattering to all due to the adjustable front tie.",
    "The fabric is soft and the color is beautiful, but the size runs small.",
    "Ich liebe dieses Kleid, es passt perfekt und ist sehr bequem.",
]
LONG_TEXT = " ".join(["the good dress is small and the fabric feels soft"] * 10)
WORD_RE = re.compile(r"^[a-z]+(?:[-'][a-z]+)*$")


def words_changed(a: str, b: str) -> int:
    """Number of positions where two equally long texts differ."""
    wa, wb = a.split(), b.split()
    assert len(wa) == len(wb)
    return sum(x != y for x, y in zip(wa, wb))


# --- synonym table ---------------------------------------------------------

def test_table_is_large_and_has_sensible_entries():
    table = load_synonyms()
    assert len(table) > 30_000
    assert {"well", "beneficial"} & set(table["good"])
    assert "frock" in table["dress"]
    assert "little" in table["small"]
    assert "big" in table["large"]
    assert {"cloth", "textile"} <= set(table["fabric"])
    assert "glad" in table["happy"]


def test_synonyms_are_single_lowercase_words_never_the_word_itself():
    table = load_synonyms()
    for word, synonyms in table.items():
        assert WORD_RE.match(word), word
        assert synonyms, word
        assert len(synonyms) <= 8
        assert word not in synonyms
        assert len(set(synonyms)) == len(synonyms)
        for synonym in synonyms:
            assert WORD_RE.match(synonym), (word, synonym)


def test_stop_words_have_no_entry():
    table = load_synonyms()
    for word in ("a", "in", "can", "the", "will", "i", "be", "it"):
        assert word not in table


def test_table_is_loaded_once_and_read_only():
    assert load_synonyms() is load_synonyms()
    with pytest.raises(TypeError):
        load_synonyms()["good"] = ("bad",)  # type: ignore[index]


def test_module_needs_neither_nltk_nor_tensorflow():
    source = open(augment.__file__, encoding="utf-8").read()
    assert "import nltk" not in source and "tensorflow" not in source


# --- single operations -----------------------------------------------------

def test_synonym_replacement_uses_table_and_keeps_case_and_punctuation():
    table = {"good": ("fine",), "dress": ("frock",)}
    rng = np.random.default_rng(0)
    out = synonym_replacement(["Good", "DRESS!", "here"], 2, rng, table)
    assert out == ["Fine", "FROCK!", "here"]


def test_synonym_replacement_without_candidates_leaves_text_alone():
    rng = np.random.default_rng(0)
    words = ["xyzzy", "plugh", "42"]
    assert synonym_replacement(words, 3, rng, load_synonyms()) == words


def test_random_insertion_inserts_synonyms_of_words_present():
    table = {"dress": ("frock", "gown")}
    rng = np.random.default_rng(1)
    out = random_insertion(["a", "dress", "here"], 3, rng, table)
    assert len(out) == 6
    extra = list(out)
    for w in ["a", "dress", "here"]:
        extra.remove(w)
    assert set(extra) <= {"frock", "gown"}


def test_random_swap_keeps_the_multiset_of_words():
    words = LONG_TEXT.split()
    out = random_swap(words, 5, np.random.default_rng(2))
    assert sorted(out) == sorted(words) and out != words


def test_random_deletion_never_deletes_all_words():
    rng = np.random.default_rng(3)
    for _ in range(50):
        out = random_deletion(["one", "two", "three"], 1.0, rng)
        assert len(out) == 1 and out[0] in {"one", "two", "three"}


@pytest.mark.parametrize("op", ["synonym", "insert", "swap", "delete"])
def test_each_operation_changes_a_review(op):
    rng = np.random.default_rng(4)
    params = AugmentParams(rate=0.2, operations=(op,))
    text = REVIEWS[4]
    assert augment_text(text, rng, params) != text


def test_swap_and_delete_work_for_non_english_text():
    rng = np.random.default_rng(5)
    text = REVIEWS[5]
    for op in ("swap", "delete"):
        new = augment_text(text, rng, AugmentParams(rate=0.3, operations=(op,)))
        assert new != text


# --- rate ------------------------------------------------------------------

def mean_edits(op: str, rate: float) -> float:
    """Average size of the change an operation makes to LONG_TEXT."""
    rng = np.random.default_rng(6)
    params = AugmentParams(rate=rate, operations=(op,))
    n_words = len(LONG_TEXT.split())
    total = 0
    for _ in range(30):
        new = augment_text(LONG_TEXT, rng, params)
        if op == "synonym":
            total += words_changed(LONG_TEXT, new)
        else:
            total += abs(len(new.split()) - n_words)
    return total / 30


@pytest.mark.parametrize("op", ["synonym", "insert", "delete"])
def test_rate_scales_the_number_of_edits(op):
    low, high = mean_edits(op, 0.05), mean_edits(op, 0.3)
    assert low >= 1
    assert high > 3 * low


def test_synonym_replacement_edits_round_rate_times_length_words():
    rng = np.random.default_rng(7)
    params = AugmentParams(rate=0.1, operations=("synonym",))
    new = augment_text(LONG_TEXT, rng, params)
    # 100 words, rate 0.1 -> 10 replacements (a synonym may repeat a word).
    assert 8 <= words_changed(LONG_TEXT, new) <= 10


def test_bad_params_are_rejected():
    with pytest.raises(InputError):
        AugmentParams(rate=0.0)
    with pytest.raises(InputError):
        AugmentParams(rate=1.5)
    with pytest.raises(InputError):
        AugmentParams(operations=("shout",))
    with pytest.raises(InputError):
        AugmentParams(operations=())


# --- augment_text edge cases -----------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "word", "xyzzy", "Good", "!!!"])
def test_empty_and_one_word_texts_do_not_crash(text):
    rng = np.random.default_rng(8)
    for _ in range(20):
        assert isinstance(augment_text(text, rng), str)


def test_augment_text_is_deterministic_for_a_generator_seed():
    a = [augment_text(t, np.random.default_rng(9)) for t in REVIEWS]
    b = [augment_text(t, np.random.default_rng(9)) for t in REVIEWS]
    assert a == b


# --- augment_rows ----------------------------------------------------------

def test_augment_rows_returns_n_new_changed_texts_from_given_rows():
    rows = [0, 2, 4]
    out = augment_rows(REVIEWS, rows, 25, seed=1)
    assert len(out) == 25
    for row, new in out:
        assert row in rows
        assert new.split() != REVIEWS[row].split()
    # Cycling spreads the new texts evenly over the sources.
    counts = [sum(1 for row, _ in out if row == r) for r in rows]
    assert max(counts) - min(counts) <= 1


def test_augment_rows_is_deterministic_and_depends_on_seed():
    first = augment_rows(REVIEWS, range(len(REVIEWS)), 20, seed=3)
    again = augment_rows(REVIEWS, range(len(REVIEWS)), 20, seed=3)
    other = augment_rows(REVIEWS, range(len(REVIEWS)), 20, seed=4)
    assert first == again
    assert first != other


def test_augment_rows_skips_texts_that_cannot_change():
    texts = ["xyzzy", "", "Good dress and soft fabric", "plugh"]
    out = augment_rows(texts, [0, 1, 2, 3], 6, seed=0)
    assert len(out) == 6
    assert {row for row, _ in out} == {2}


def test_augment_rows_returns_nothing_when_no_source_can_change():
    assert augment_rows(["xyzzy", "", "   "], [0, 1, 2], 5, seed=0) == []
    assert augment_rows(REVIEWS, [], 5, seed=0) == []
    assert augment_rows(REVIEWS, [0], 0, seed=0) == []


def test_single_word_with_synonyms_is_changed_by_a_fallback_operation():
    out = augment_rows(["Good"], [0], 3, seed=0,
                       params=AugmentParams(operations=("swap", "synonym")))
    assert len(out) == 3
    assert all(new != "Good" and new[0].isupper() for _, new in out)


def test_synonyms_come_only_from_known_words_so_no_new_unknown_tokens_appear():
    from core.data.text_edits import words_of

    texts = ["the film was good and the actors were happy", "a big house near the quiet river",
             "the movie was great", "a large home with a glad owner"]
    known = words_of(texts)
    free = augment_rows(texts, [0, 1], 60, seed=3, params=AugmentParams(rate=0.4))
    limited = augment_rows(texts, [0, 1], 60, seed=3, params=AugmentParams(rate=0.4), known_words=known)
    assert len(limited) == 60
    assert words_of([t for _, t in free]) - known  # unrestricted WordNet brings words the model never saw
    assert words_of([t for _, t in limited]) <= known
    changed = {t for _, t in limited} - set(texts)
    assert any(w in words_of(changed) for w in ("movie", "great", "large", "home", "glad"))  # still rephrases

"""core.data.profile: class balance, token lengths, duplicates and examples."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest

from core.data.dataset import PARTS, LabeledTexts, duplicate_groups
from core.data.profile import (
    compute_profile,
    cut_at_word,
    extreme_imbalance_in_words,
    format_profile,
    has_tokens,
    order_in_words,
    parts_note,
    parts_table,
    split_in_words,
    token_lengths,
)
from tests.conftest import labeled


def dataset(texts: list[str], labels: list[str], classes: tuple[str, ...] | None = None) -> LabeledTexts:
    classes = classes or tuple(sorted(set(labels)))
    y = np.array([classes.index(label) for label in labels], dtype=np.int64)
    return LabeledTexts(tuple(texts), y, classes, name="tiny.csv")


def counts_dataset(counts: dict[str, int]) -> LabeledTexts:
    texts = [f"text {label} {i}" for label, n in counts.items() for i in range(n)]
    labels = [label for label, n in counts.items() for _ in range(n)]
    return dataset(texts, labels, tuple(counts))


# ---------------------------------------------------------------- balance


def test_class_counts_and_shares_follow_class_order() -> None:
    p = compute_profile(counts_dataset({"b": 3, "a": 1}))
    assert p.classes == ("b", "a") and p.class_counts == (3, 1) and p.class_shares == (0.75, 0.25)


def test_imbalance_ratio_is_largest_over_smallest() -> None:
    assert compute_profile(counts_dataset({"a": 12, "b": 3, "c": 6})).imbalance_ratio == 4.0


def test_imbalance_ratio_is_infinite_when_a_class_is_empty() -> None:
    data = dataset(["x", "y"], ["a", "a"], classes=("a", "b"))
    assert compute_profile(data).imbalance_ratio == math.inf


def test_normalised_entropy_is_one_when_classes_are_balanced() -> None:
    assert compute_profile(counts_dataset({"a": 5, "b": 5, "c": 5})).normalised_entropy == pytest.approx(1.0)


def test_normalised_entropy_is_entropy_over_log_k() -> None:
    expected = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(2)
    assert compute_profile(counts_dataset({"a": 9, "b": 1})).normalised_entropy == pytest.approx(expected)


# ---------------------------------------------------------------- token lengths


def test_token_lengths_strip_punctuation_inside_words_like_keras() -> None:
    assert token_lengths(["Don't stop-me now!!", "a,b c"]).tolist() == [3, 2]


def test_token_lengths_of_punctuation_only_text_is_zero() -> None:
    assert token_lengths(["?! ... ---"]).tolist() == [0]


def test_token_lengths_count_emoji_and_accented_words_as_tokens() -> None:
    assert token_lengths(["😀 héllo wörld", "שלום עולם"]).tolist() == [3, 2]


def test_token_lengths_split_on_any_whitespace_run() -> None:
    assert token_lengths(["  one\ttwo\n\nthree  "]).tolist() == [3]


def test_has_tokens_agrees_with_token_lengths() -> None:
    texts = ["", " \t", "?!", "a", "...b", "😀", "\u00a0", "~{|}", "é", "_", "1"]
    assert has_tokens(texts).tolist() == (token_lengths(texts) > 0).tolist()


def test_length_summary_overall_has_mean_median_p95_and_max() -> None:
    texts = ["w " * n for n in (1, 2, 3, 4, 10)]
    s = compute_profile(dataset(texts, ["a", "a", "b", "b", "b"])).length_summary
    assert (s.mean, s.median, s.p95, s.max) == (4.0, 3.0, pytest.approx(8.8), 10)


def test_length_summary_per_class() -> None:
    texts = ["w " * n for n in (1, 3, 2, 4, 6)]
    p = compute_profile(dataset(texts, ["a", "a", "b", "b", "b"]))
    assert p.class_length_summary["a"].mean == 2.0 and p.class_length_summary["b"].max == 6


def test_token_lengths_are_stored_per_row() -> None:
    p = compute_profile(dataset(["one", "one two", "one two three"], ["a", "b", "a"]))
    assert p.token_lengths.tolist() == [1, 2, 3]


# ---------------------------------------------------------------- duplicates


def test_exact_duplicates_ignore_case_and_whitespace() -> None:
    texts = ["Hello  World", "hello world", " HELLO\tworld ", "other"]
    assert compute_profile(dataset(texts, ["a", "a", "a", "b"])).n_exact_duplicates == 2


def test_duplicate_count_agrees_with_the_split_groups() -> None:
    texts = ["a\u00a0b", "A b", "a  b ", "x\u2003y", "x y", "z", "Z"]
    p = compute_profile(dataset(texts, ["a"] * 4 + ["b"] * 3))
    assert p.n_exact_duplicates == len(texts) - len(set(duplicate_groups(texts)))


def test_conflicting_duplicates_list_first_spelling_and_labels_in_class_order() -> None:
    texts = ["Great!", "great!", "fine", "GREAT!"]
    p = compute_profile(dataset(texts, ["pos", "neg", "pos", "mid"], classes=("neg", "mid", "pos")))
    assert p.conflicting_duplicates == (("Great!", ("neg", "mid", "pos")),) and p.n_conflicting_duplicates == 1


def test_duplicates_with_one_label_are_not_conflicts() -> None:
    p = compute_profile(dataset(["same", "same", "other"], ["a", "a", "b"]))
    assert p.n_exact_duplicates == 1 and p.conflicting_duplicates == ()


def test_conflicting_duplicates_are_capped_at_50_with_a_total() -> None:
    texts = [f"text {i}" for i in range(60) for _ in range(2)]
    p = compute_profile(dataset(texts, ["a", "b"] * 60))
    assert len(p.conflicting_duplicates) == 50 and p.n_conflicting_duplicates == 60


def test_most_repeated_conflicts_are_listed_first() -> None:
    texts = ["rare", "rare", "common", "common", "common"]
    p = compute_profile(dataset(texts, ["a", "b", "a", "b", "a"]))
    assert [text for text, _ in p.conflicting_duplicates] == ["common", "rare"]


# ---------------------------------------------------------------- examples


def test_examples_are_reproducible_with_the_same_seed() -> None:
    data = counts_dataset({"a": 40, "b": 40})
    assert compute_profile(data, seed=7).examples == compute_profile(data, seed=7).examples


def test_examples_change_with_the_seed() -> None:
    data = counts_dataset({"a": 40, "b": 40})
    assert compute_profile(data, seed=1).examples != compute_profile(data, seed=2).examples


def test_examples_come_from_their_own_class_and_are_capped_by_class_size() -> None:
    p = compute_profile(counts_dataset({"a": 10, "b": 2}), examples_per_class=3)
    assert len(p.examples["a"]) == 3 and all(" a " in t for t in p.examples["a"])
    assert len(p.examples["b"]) == 2


# ---------------------------------------------------------------- parts of the split


def parted(texts: list[str], labels: list[str], parts: list[str], classes: tuple[str, ...]) -> LabeledTexts:
    return replace(dataset(texts, labels, classes), parts=np.array([PARTS.index(p) for p in parts]))


def test_parts_of_a_drawn_split_follow_the_shares_per_class() -> None:
    p = compute_profile(counts_dataset({"a": 100, "b": 20}), test_share=0.2, validation_share=0.1)
    assert p.parts.fixed == () and (p.parts.test_share, p.parts.validation_share) == (0.2, 0.1)
    assert (p.parts.train, p.parts.validation, p.parts.test) == ((70, 14), (10, 2), (20, 4))
    assert parts_table(p) == [
        {"class": "a", "train ≈": 70, "validation ≈10%": 10, "test ≈20%": 20},
        {"class": "b", "train ≈": 14, "validation ≈10%": 2, "test ≈20%": 4},
        {"class": "all", "train ≈": 84, "validation ≈10%": 12, "test ≈20%": 24},
    ]
    assert "each seed draws test (20% of the rows) and validation (10%)" in parts_note(p)


def test_drawn_shares_default_to_the_settings(monkeypatch) -> None:
    monkeypatch.setenv("IMBALANCE_LAB_TEST_SHARE", "0.3")
    monkeypatch.setenv("IMBALANCE_LAB_VALIDATION_SHARE", "0.2")
    p = compute_profile(counts_dataset({"a": 100, "b": 20}))
    assert (p.parts.test_share, p.parts.validation_share) == (0.3, 0.2)
    assert p.parts.test == (30, 6) and p.parts.validation == (20, 4)


def test_parts_fixed_by_the_split_column_are_counted_and_repeats_of_test_texts_left_out() -> None:
    texts = ["one", "two", "ONE ", "three", "four", "five", "two", "six", "seven"]
    labels = ["a", "a", "a", "b", "b", "b", "b", "a", "b"]
    parts = ["test", "test", "train", "train", "test", "validation", "validation", "train", "train"]
    p = compute_profile(parted(texts, labels, parts, ("a", "b")))
    # "ONE " (train, a) repeats test "one"; "two" (validation, b) repeats test "two"
    assert p.parts.fixed == ("train", "validation", "test")
    assert (p.parts.train, p.parts.validation, p.parts.test) == ((1, 2), (0, 1), (2, 1))
    assert p.parts.dropped == (1, 1) and p.parts.n_dropped == 2
    assert parts_table(p) == [
        {"class": "a", "train": 1, "validation": 0, "test": 2, "left out (repeat a test text)": 1},
        {"class": "b", "train": 2, "validation": 1, "test": 1, "left out (repeat a test text)": 1},
        {"class": "all", "train": 3, "validation": 1, "test": 3, "left out (repeat a test text)": 2},
    ]
    note = parts_note(p)
    assert "fixes train, validation and test for every seed" in note
    assert "2 training or validation rows repeating a test text (case and spacing ignored) are left out" in note
    report = format_profile(p)
    assert "Rows per class in each part of the split:" in report and "left out (repeat a test text)" in report
    assert any(line.split() == ["all", "3", "1", "3", "2"] for line in report.splitlines())


def test_split_column_without_validation_rows_draws_validation_from_its_training_rows() -> None:
    texts = [f"text {i}" for i in range(50)]
    labels = ["a"] * 30 + ["b"] * 20
    parts = ["test" if i % 5 == 0 else "train" for i in range(50)]
    p = compute_profile(parted(texts, labels, parts, ("a", "b")), test_share=0.2, validation_share=0.25)
    assert p.parts.fixed == ("train", "test") and p.parts.test_share is None and p.parts.validation_share == 0.25
    assert p.parts.test == (6, 4) and p.parts.validation == (6, 4) and p.parts.train == (18, 12)
    assert list(parts_table(p)[0]) == ["class", "train", "validation ≈25%", "test"]  # nothing left out: no column
    assert "validation is drawn per seed from its training rows (25% of them" in parts_note(p)


def test_split_in_words_names_the_parts_the_split_column_fixes_and_the_shares_of_the_drawn_ones() -> None:
    texts = [f"text {i}" for i in range(50)]
    labels = ["a"] * 30 + ["b"] * 20
    train_test = ["test" if i % 5 == 0 else "train" for i in range(50)]
    p = compute_profile(parted(texts, labels, train_test, ("a", "b")), test_share=0.2, validation_share=0.25)
    assert split_in_words(p.parts) == {"test": "fixed by the split column (10 rows)",
                                       "validation": "25% of the split column's training rows, drawn per seed"}
    all_three = ["test" if i % 5 == 0 else "validation" if i % 5 == 1 else "train" for i in range(50)]
    p = compute_profile(parted(texts, labels, all_three, ("a", "b")))
    assert split_in_words(p.parts) == {"test": "fixed by the split column (10 rows)",
                                       "validation": "fixed by the split column (10 rows)"}
    p = compute_profile(counts_dataset({"a": 100, "b": 20}), test_share=0.3, validation_share=0.1)
    assert split_in_words(p.parts) == {"test": "30% of the rows, drawn per seed",
                                       "validation": "10% of the rows, drawn per seed"}


# ---------------------------------------------------------------- report and speed


def test_format_profile_lists_every_class_and_the_total() -> None:
    report = format_profile(compute_profile(counts_dataset({"spam": 3, "ham": 9})))
    lines = report.splitlines()
    assert any(line.startswith("spam") and " 3 " in line for line in lines)
    assert any(line.startswith("all") and "12" in line for line in lines)
    assert "Imbalance ratio (largest / smallest class): 3.0" in report


def test_ordinal_labels_are_said_low_to_high_and_unordered_ones_not_at_all() -> None:
    data = counts_dataset({"poor": 3, "fair": 5, "good": 4})
    assert order_in_words(compute_profile(replace(data, ordinal=True))) == "Ordinal labels, low to high: " \
        "poor < fair < good."
    assert order_in_words(compute_profile(data)) is None


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short text", 20, "short text"),
    ("lovely summer dress", 18, "lovely summer…"),  # not "lovely summer dre…"
    ("lovely summer dress and more", 15, "lovely summer…"),  # the cut may fall right on a space
    ("fits well,\n   true to size", 14, "fits well,…"),  # the spaces before the cut go too
    ("Supercalifragilistic words", 10, "Supercali…"),  # a first word too long is cut inside it
])
def test_examples_are_cut_at_a_word_boundary(text, limit, expected) -> None:
    assert cut_at_word(text, limit) == expected and len(cut_at_word(text, limit)) <= limit


def test_format_profile_shows_conflicting_texts() -> None:
    report = format_profile(compute_profile(dataset(["Same text", "same text", "x"], ["a", "b", "a"])))
    assert '"Same text" -> a, b' in report


def test_profile_of_100k_rows_takes_seconds_not_minutes() -> None:
    rng = np.random.default_rng(0)
    words = np.array(["good", "bad", "fit", "size", "colour", "love", "return", "soft", "small", "great"])
    texts = tuple(" ".join(rng.choice(words, size=40)) + f" r{i % 5000}" for i in range(100_000))
    data = LabeledTexts(texts, rng.integers(0, 5, size=100_000), ("1", "2", "3", "4", "5"))
    start = time.perf_counter()
    compute_profile(data)
    assert time.perf_counter() - start < 15.0


def test_length_histogram_ships_bins_not_rows_and_each_class_sums_to_100_percent():
    from core.results.figures import length_histogram

    data = labeled({"rare": 30, "common": 3000})
    profile = compute_profile(data)
    fig = length_histogram(profile, data.y, bins=20)
    assert [t.name for t in fig.data] == ["rare", "common"]  # class order, not size
    for trace in fig.data:
        assert trace.type == "bar" and len(trace.y) == 20  # bins, however many rows
        assert 98.0 <= sum(trace.y) <= 100.0 + 1e-9  # the 1% longest texts lie beyond the 99th percentile


def test_length_histogram_draws_each_shown_class_in_its_own_colour_in_class_order():
    from core.results.figures import length_histogram

    counts = {f"level {k:02d}": 5 + (k * 7) % 13 for k in range(12)}  # sizes not in class order
    data = labeled(counts)
    fig = length_histogram(compute_profile(data), data.y)
    assert [t.name for t in fig.data] == list(counts)
    colours = [t.marker.color for t in fig.data]
    assert len(set(colours)) == 12


# ---------------------------------------------------------------- extreme imbalance


def test_a_class_under_two_percent_is_flagged_with_anomaly_detection_and_thresholds_suggested() -> None:
    profile = compute_profile(counts_dataset({"ham": 985, "spam": 15}))
    said = extreme_imbalance_in_words(profile)
    assert said.startswith('Extreme imbalance: class "spam" is 1.5% of the rows, under 2%.')
    assert "`threshold(objective=class_recall)`" in said and "`anomaly`" in said and 'what "ham" looks like' in said
    assert said in format_profile(profile)  # the command line's profile says it too
    assert extreme_imbalance_in_words(compute_profile(counts_dataset({"ham": 975, "spam": 25}))) is None  # 2.5%


def test_on_more_classes_the_flag_suggests_a_merge_of_the_rest_before_anomaly_detection() -> None:
    said = extreme_imbalance_in_words(compute_profile(counts_dataset({"a": 500, "b": 8, "c": 480, "d": 12})))
    assert said.startswith('Extreme imbalance: classes "b" (0.8% of the rows) and "d" (1.2%), each under 2%.')
    assert "`threshold(objective=class_recall,target_class=b)`" in said
    assert '`merge(mapping={"a":"other","c":"other","d":"other"})+anomaly`' in said


def test_the_flag_reads_the_training_rows_when_a_split_column_fixes_the_test_rows() -> None:
    """A test set kept at its natural balance must not hide a rare class the model learns from at 1%."""
    data = counts_dataset({"ham": 1000, "spam": 110})
    parts = np.array([2] * 100 + [0] * 900 + [2] * 100 + [0] * 10)  # spam: 1% of the training rows
    said = extreme_imbalance_in_words(compute_profile(replace(data, parts=parts)))
    assert said.startswith('Extreme imbalance: class "spam" is 1.1% of the training rows (outside the split '
                           "column's test rows)")
    assert extreme_imbalance_in_words(compute_profile(data)) is None  # 9.9% of all rows

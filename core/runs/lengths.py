"""How long texts are cut, and the training settings said in words.

``auto_max_len`` is the one rule for the sequence length when an experiment
leaves it on "auto" (the encoder in the run process applies it to its token
counts); ``training_in_words`` tells the user on the Experiment page what the
settings will do to their data. TensorFlow-free: the app process counts words
as Keras's ``TextVectorization`` standardises them (lower case, its
punctuation stripped, split on whitespace), so the counts match the encoder's
without importing it."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.settings import TrainSettings

LENGTH_PERCENTILE = 95.0
MIN_AUTO_LEN = 8
# keras.layers.TextVectorization's default standardisation ("lower_and_strip_punctuation")
_KERAS_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# its default split: runs of ASCII whitespace (a no-break or em space does not split, unlike str.split)
_KERAS_WORD = re.compile(r"[^ \t\n\r\f\v]+")


def auto_max_len(lengths: np.ndarray, cap: int) -> int:
    """The sequence length "auto" picks: the 95th percentile of the training
    texts' token counts, at least 8, at most ``cap``."""
    if len(lengths) == 0:
        return MIN_AUTO_LEN
    return int(min(cap, max(MIN_AUTO_LEN, math.ceil(float(np.percentile(lengths, LENGTH_PERCENTILE))))))


def word_counts(texts: Sequence[str]) -> np.ndarray:
    """Words per text as the encoder counts them."""
    return np.fromiter((len(_KERAS_WORD.findall(_KERAS_PUNCTUATION.sub("", t.lower()))) for t in texts),
                       dtype=np.int64, count=len(texts))


@dataclass(frozen=True)
class Cut:
    max_len: int
    auto: bool
    texts_cut: int  # texts longer than max_len
    texts: int
    words_dropped_share: float  # words beyond max_len, of all words


def length_cut(settings: TrainSettings, texts: Sequence[str]) -> Cut:
    """Where ``settings`` cut ``texts`` and how much that cuts."""
    return cut_of_counts(settings, word_counts(texts))


def cut_of_counts(settings: TrainSettings, counts: np.ndarray) -> Cut:
    """``length_cut`` from words per text already counted (the Data page's profile holds them)."""
    counts = np.asarray(counts, dtype=np.int64)
    auto = settings.max_len is None
    max_len = auto_max_len(counts, settings.max_len_cap) if auto else int(settings.max_len)
    total = int(counts.sum())
    dropped = int(np.clip(counts - max_len, 0, None).sum())
    return Cut(max_len, auto, int((counts > max_len).sum()), len(counts), dropped / total if total else 0.0)


def training_in_words(settings: TrainSettings, texts: Sequence[str] | None = None, *,
                      counts: np.ndarray | None = None) -> list[str]:
    """Sentences for the Experiment page: how long training goes, when it
    stops, the learning rate's schedule, and (given the dataset's texts, or
    their ``word_counts`` already made) where texts are cut and how many that cuts."""
    s = settings
    lines = [f"Each run trains for at most {s.epochs} epoch{'s' * (s.epochs != 1)} (passes over the training rows, "
             f"{s.batch_size} texts per step) and stops early once validation macro-F1 has not improved for "
             f"{s.patience} epoch{'s' * (s.patience != 1)} in a row, keeping the best epoch's weights."]
    if s.lr_schedule == "plateau":
        lines.append(f"The learning rate starts at {s.learning_rate:g} and is halved after every 2 epochs in a row "
                     "without a better validation score.")
    else:
        lines.append(f"The learning rate stays at {s.learning_rate:g}.")
    if counts is None and texts is not None:
        counts = word_counts(texts)
    if counts is not None and len(counts):
        cut_words = cut_in_words(cut_of_counts(s, counts), s)
        lines.append(cut_words[0].upper() + cut_words[1:])
    return lines


def cut_in_words(cut: Cut, settings: TrainSettings) -> str:
    """Where texts are cut and how many that cuts, as a clause: "texts are cut after 96 words (…): that cuts
    4 of 100 texts (4%), and 2.0% of all words are never seen." (the Experiment and Data pages say it)."""
    how = (f"the 95th percentile of the texts' lengths, at most {settings.max_len_cap}" if cut.auto
           else "set by hand")
    share = cut.texts_cut / cut.texts if cut.texts else 0.0
    return (f"texts are cut after {cut.max_len} words ({how}): that cuts {cut.texts_cut:,} of {cut.texts:,} texts "
            f"({share:.0%}), and {cut.words_dropped_share:.1%} of all words are never seen.")

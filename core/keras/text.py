"""Text → token ids, and length-grouped batches.

On a CPU the LSTM's cost grows with padded length, so batches are built from
rows of similar length (sort within shuffled chunks) and padded only to a
rounded-up batch maximum (a few bucket lengths). The rows are padded once per
run (``PaddedRows``); a batch is then one or two row gathers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PAD, OOV = 0, 1
BUCKET_STEP = 16


@dataclass(frozen=True)
class Encoder:
    """A vocabulary (index 0 padding, 1 out-of-vocabulary) and a maximum length."""

    vocabulary: tuple[str, ...]
    max_len: int

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text, truncated to ``max_len``; never empty (an empty
        text becomes one OOV token, so a fully masked sequence cannot occur)."""
        layer = _vectorizer(vocabulary=list(self.vocabulary[2:]))
        ragged = layer(np.asarray(list(texts), dtype=object))
        # Slicing the flat values is ~100x faster than iterating the RaggedTensor row by row.
        values = ragged.flat_values.numpy().astype(np.int32)
        splits = ragged.row_splits.numpy()
        out: list[np.ndarray] = []
        for start, end in itertools.pairwise(splits):
            ids = values[start : min(end, start + self.max_len)]
            out.append(ids if len(ids) else np.array([OOV], dtype=np.int32))
        return out

    def to_json(self) -> dict:
        return {"vocabulary": list(self.vocabulary), "max_len": self.max_len}

    @classmethod
    def from_json(cls, payload: dict) -> Encoder:
        return cls(tuple(payload["vocabulary"]), int(payload["max_len"]))


def _vectorizer(*, max_tokens: int | None = None, vocabulary: list[str] | None = None):
    from keras.layers import TextVectorization

    return TextVectorization(max_tokens=max_tokens, output_mode="int", ragged=True, vocabulary=vocabulary)


def fit_encoder(train_texts: Sequence[str], *, vocab_size: int, max_len: int | None, max_len_cap: int = 256) -> Encoder:
    """Adapt a Keras ``TextVectorization`` on the training texts only. Without an
    explicit ``max_len``, ``core.runs.lengths.auto_max_len`` of the training token counts."""
    layer = _vectorizer(max_tokens=vocab_size)
    layer.adapt(np.asarray(list(train_texts), dtype=object), batch_size=1024)
    vocabulary = tuple(layer.get_vocabulary())
    if max_len is None:
        from core.runs.lengths import auto_max_len

        lengths = np.diff(layer(np.asarray(list(train_texts), dtype=object)).row_splits.numpy())
        max_len = auto_max_len(lengths, max_len_cap)
    return Encoder(vocabulary, int(max_len))


def bucket_length(longest: int, max_len: int) -> int:
    return int(min(max_len, BUCKET_STEP * int(np.ceil(longest / BUCKET_STEP)))) or 1


def bucket_lengths(lengths: np.ndarray, max_len: int) -> np.ndarray:
    """``bucket_length`` of every length at once."""
    widths = np.minimum(max_len, BUCKET_STEP * -(-np.asarray(lengths, dtype=np.int64) // BUCKET_STEP))
    return np.maximum(widths, 1)


class PaddedRows:
    """Sequences padded once: each row is stored post-padded to its own bucket
    width (its length rounded up to ``BUCKET_STEP``), in one matrix per width,
    so the memory is about the real tokens. ``take(rows)`` pads any rows to
    their widest bucket by one row gather per bucket the rows touch: usually
    one or two for length-sorted batches, instead of a Python loop per row."""

    def __init__(self, seqs: Sequence[np.ndarray], max_len: int):
        self.lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        self.widths = bucket_lengths(self.lengths, max_len)
        self.bucket_widths = np.unique(self.widths)
        self.bucket = np.searchsorted(self.bucket_widths, self.widths)  # bucket index per row
        self.slot = np.zeros(len(seqs), dtype=np.int64)  # row index inside its bucket's matrix
        # Every row's ids end to end, plus one padding id so an index past the end stays valid.
        flat = np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs] + [np.zeros(1, np.int32)])
        starts = np.cumsum(self.lengths) - self.lengths
        self.matrices: list[np.ndarray] = []
        for b, width in enumerate(self.bucket_widths):
            members = np.flatnonzero(self.bucket == b)
            self.slot[members] = np.arange(len(members))
            cols = np.arange(width)
            real = cols[None, :] < np.minimum(self.lengths[members], width)[:, None]
            index = np.minimum(starts[members][:, None] + cols[None, :], len(flat) - 1)
            self.matrices.append(np.where(real, flat[index], PAD).astype(np.int32))

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Post-padded int32 ids of ``rows`` (in that order), as wide as their widest bucket."""
        buckets = self.bucket[rows]
        first = buckets[0]
        if (buckets == first).all():
            return self.matrices[first][self.slot[rows]]
        out = np.zeros((len(rows), self.bucket_widths[buckets.max()]), dtype=np.int32)
        for b in np.unique(buckets):
            sel = buckets == b
            out[sel, : self.bucket_widths[b]] = self.matrices[b][self.slot[rows[sel]]]
        return out


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None,
                   *, order: np.ndarray | None = None, chunk_batches: int = 32) -> list[np.ndarray]:
    """Row-position batches of similar length. ``order`` (default: a seeded
    shuffle, or 0..n-1 without ``rng``) is cut into chunks of ``chunk_batches``
    batches, each chunk sorted by length, and the batches shuffled again."""
    n = len(lengths)
    if order is None:
        order = rng.permutation(n) if rng is not None else np.arange(n)
    chunk = batch_size * chunk_batches
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    if rng is not None:
        rng.shuffle(batches)
    return batches


def balanced_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One epoch of rows drawn with equalised class frequencies (with replacement)."""
    counts = np.bincount(y)
    p = 1.0 / counts[y]
    return rng.choice(len(y), size=len(y), replace=True, p=p / p.sum())


def n_batches(n_rows: int, batch_size: int, chunk_batches: int = 32) -> int:
    chunk = batch_size * chunk_batches
    full, rest = divmod(n_rows, chunk)
    return full * chunk_batches + int(np.ceil(rest / batch_size))


def inference_function(model):
    """``model(ids, training=False)`` as one graph function for every batch shape.

    Calling a Keras model eagerly runs the recurrent loop step by step in
    Python (≈10 s of a 40 s run went there), and ``model.predict`` retraces per
    new bucket length; one trace with a ``(None, None)`` signature avoids both.
    Kept on the model itself, so it goes when the model goes."""
    fn = getattr(model, "_lab_inference", None)
    if fn is None:
        import tensorflow as tf

        fn = tf.function(lambda ids: model(ids, training=False),
                         input_signature=[tf.TensorSpec((None, None), tf.int32)])
        object.__setattr__(model, "_lab_inference", fn)  # past Keras's attribute tracking
    return fn


def predict_scores(model, seqs: list[np.ndarray], *, max_len: int, batch_size: int = 256) -> np.ndarray:
    """Model outputs for every sequence, in input order, computed on length-sorted batches."""
    return predict_padded(model, PaddedRows(seqs, max_len), batch_size=batch_size)


def predict_padded(model, padded: PaddedRows, *, batch_size: int = 256) -> np.ndarray:
    """``predict_scores`` on rows padded beforehand (e.g. validation rows, once per fit)."""
    order = np.argsort(padded.lengths, kind="stable")
    forward = inference_function(model)
    outputs = [np.asarray(forward(padded.take(order[start : start + batch_size])))
               for start in range(0, len(order), batch_size)]
    scores = np.concatenate(outputs, axis=0)
    result = np.empty_like(scores)
    result[order] = scores
    return result

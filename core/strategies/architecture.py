"""Architecture strategies: they change the network, not the data or loss."""

from __future__ import annotations

from dataclasses import replace

from core.data import word_vectors as vectors
from core.strategies.base import Param, Strategy


class Stacked(Strategy):
    name = "stacked"
    label = "Stacked recurrent layers"
    family = "Architecture"
    help = "Several recurrent layers on top of each other."
    params = (Param("layers", "int", 2, "Number of recurrent layers.", 2, 4, label="Recurrent layers"),)
    uses = frozenset({"depth"})
    cost = 1.8

    def model(self, ctx, spec):
        return replace(spec, recurrent_layers=self["layers"])


class Bidirectional(Strategy):
    name = "bidirectional"
    label = "Bidirectional"
    family = "Architecture"
    help = "Reads each text in both directions."
    uses = frozenset({"direction"})
    cost = 2.0

    def model(self, ctx, spec):
        return replace(spec, bidirectional=True)


class DenseHead(Strategy):
    name = "dense_head"
    label = "Extra dense layers"
    family = "Architecture"
    help = "Dense ReLU layers with dropout between the recurrent encoder and the output."
    params = (
        Param("units", "int", 64, "Width of each dense layer.", 4, 1024, label="Dense layer width"),
        Param("layers", "int", 1, "Number of dense layers.", 1, 4, label="Dense layers"),
        Param("dropout", "float", 0.3, "Dropout before each dense layer.", 0.0, 0.9, label="Dropout before each dense layer"),
    )
    uses = frozenset({"dense"})

    def model(self, ctx, spec):
        return replace(spec, dense_layers=(self["units"],) * self["layers"], dense_dropout=self["dropout"])


class Gru(Strategy):
    name = "gru"
    label = "GRU cell"
    family = "Architecture"
    help = "GRU instead of LSTM cells: fewer parameters, often as accurate."
    uses = frozenset({"cell"})
    cost = 0.8

    def model(self, ctx, spec):
        return replace(spec, cell="gru")


class Wider(Strategy):
    name = "wider"
    label = "Wider layers"
    family = "Architecture"
    help = "More recurrent units and a larger embedding."
    params = (
        Param("units", "int", 128, "Recurrent units.", 4, 1024, label="Recurrent units"),
        Param("embedding_dim", "int", 128, "Embedding width.", 4, 1024, label="Embedding width"),
    )
    uses = frozenset({"width"})
    cost = 2.0

    def model(self, ctx, spec):
        return replace(spec, units=self["units"], embedding_dim=self["embedding_dim"])


class Pool(Strategy):
    name = "pool"
    label = "Pooled sequence"
    family = "Architecture"
    help = ("What the classifier reads from the recurrent layer: the maximum (or mean and maximum) of its output "
            "over every word, or only its final state. The training settings choose the baseline's (pooling, max "
            "by default since it scored best on validation rows on 4 of 5 benchmark datasets); this strategy "
            "compares another one with it.")
    params = (Param("mode", "choice", "max", "max: maximum over words; mean_max: mean and maximum side by side; "
                    "last: the final state only (the default before issue 16).",
                    choices=("max", "mean_max", "last"), label="Pooling over words"),)
    uses = frozenset({"pooling"})
    cost = 1.05

    PREFERRED = ("last", "max", "mean_max")  # the final state first: the baseline's reading before issue 16

    @classmethod
    def form_value(cls, param, settings):
        """A mode the settings do not already use (the default mode, max, is the default pooling)."""
        if param.name == "mode" and param.default == settings.pooling:
            return next(c for c in cls.PREFERRED if c != settings.pooling)
        return param.default

    def conflict(self, settings):
        if self["mode"] != settings.pooling:
            return None
        others = ", ".join(m for m in self.PREFERRED if m != settings.pooling)
        return (f"the training settings already pool by {settings.pooling}, so this recipe would train the baseline "
                f"again; choose another mode ({others}) or drop it.")

    def model(self, ctx, spec):
        return replace(spec, pooling=self["mode"])


class PretrainedVectors(Strategy):
    name = "pretrained_vectors"
    label = "Pretrained word vectors"
    family = "Architecture"
    help = ("Start the embedding from a word-vectors file on this machine (GloVe, word2vec or fastText text "
            "format), so words the labeled rows teach poorly start with their general meaning. The embedding "
            "width becomes the file's.")
    params = (
        Param("path", "str", "", "Full path of the vectors file (text format: a word and its numbers per line).", label="Vectors file"),
        Param("trainable", "bool", True, "Fine-tune the vectors during training (off: keep them fixed).", label="Fine-tune the vectors"),
    )
    uses = frozenset({"embedding"})

    def check(self):
        vectors.read_header(self["path"])

    def inputs(self):
        return {**super().inputs(), "file": vectors.identity(self["path"])}

    def files(self):
        return (self["path"],)

    def model(self, ctx, spec):
        init = vectors.embedding_matrix(self["path"], ctx.encoder.vocabulary, ctx.rng(salt=77))
        ctx.embedding_init = init.matrix
        ctx.notes.append(f"pretrained vectors for {init.found:,} of {len(ctx.encoder.vocabulary) - 2:,} "
                         "vocabulary words")
        return replace(spec, embedding_dim=int(init.matrix.shape[1]), embedding_trainable=self["trainable"])

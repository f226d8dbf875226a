"""Text augmentation of minority classes: WordNet synonyms and EDA edits."""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.strategies.base import Param, Strategy


class Augment(Strategy):
    name = "augment"
    label = "Text augmentation (WordNet + EDA)"
    family = "Augmentation"
    help = ("Adds edited copies of training texts of smaller classes: synonym replacement from WordNet, random "
            "insertion, swap and deletion (Wei & Zou 2019).")
    params = (
        Param("n_new", "int", 0, "New texts per augmented class; 0 = enough to reach half the largest class "
              "(at most 4× the class).", 0, 100_000, label="New texts per class"),
        Param("rate", "float", 0.1, "Share of words edited in each new text.", 0.01, 0.5, label="Share of words edited"),
        Param("classes", "json", "minority", 'Which classes: "minority" (all but the largest) or a list of names.', label="Classes to augment"),
    )
    cost = 1.1  # writing the new texts; their training time is in class_sizes
    version = 2  # 2: synonyms only from words of the training texts

    def _targets(self, classes: tuple[str, ...], counts: np.ndarray) -> dict[int, int]:
        """New texts per augmented class index, given the class names and their training rows."""
        chosen = self["classes"]
        if chosen == "minority":
            ids = [c for c in range(len(counts)) if 0 < counts[c] < counts.max()]
        else:
            names = [chosen] if isinstance(chosen, str) else list(chosen)
            unknown = sorted(set(map(str, names)) - set(classes))
            if unknown:
                raise InputError(f"augment(classes=…): unknown classes {', '.join(unknown)}; "
                                 f"the classes are {', '.join(classes)}.")
            ids = [classes.index(str(n)) for n in names]
        if self["n_new"]:
            return {c: self["n_new"] for c in ids}
        half = int(counts.max() // 2)
        return {c: int(min(max(0, half - counts[c]), 4 * counts[c])) for c in ids}

    def class_sizes(self, counts: np.ndarray) -> np.ndarray:
        if self["classes"] != "minority":  # named classes: the estimate does not know the names
            return counts
        counts = np.asarray(counts)
        targets = self._targets((), np.floor(counts).astype(int))
        return counts + np.array([targets.get(c, 0) for c in range(len(counts))])

    def resample(self, ctx, train):
        from core.data.text_edits import AugmentParams, augment_rows, words_of

        params = AugmentParams(rate=self["rate"])
        known = words_of([t for t, s in zip(train.texts, train.synthetic) if not s])
        counts = train.class_counts(ctx.n_classes)
        generated: list[tuple[int, str]] = []
        for c, n_new in self._targets(ctx.data.classes, counts).items():
            positions = np.flatnonzero((train.y == c) & ~train.synthetic)
            if n_new and len(positions):
                generated += augment_rows(train.texts, positions.tolist(), n_new, seed=ctx.seed * 7919 + c,
                                          params=params, known_words=known)
        if not generated:
            return train
        sources = np.array([p for p, _ in generated])
        texts = [t for _, t in generated]
        ctx.artifacts["augmented"] = [
            {"source_row": int(train.source_rows[p]), "label": ctx.data.classes[train.y[p]],
             "source_text": train.texts[p], "new_text": t} for p, t in generated
        ]
        ctx.notes.append(f"augment: {len(texts)} new texts")
        return train.extend(texts, sources)

    def preview(self, data, *, seed: int = 0, n: int = 5):
        from core.data.text_edits import AugmentParams, augment_rows, words_of

        counts = data.class_counts()
        targets = self._targets(data.classes, counts)
        rows = [int(r) for c in targets for r in np.flatnonzero(data.y == c)[:50]]
        if not rows:
            return None
        pairs = augment_rows(list(data.texts), rows, n, seed=seed, params=AugmentParams(rate=self["rate"]),
                             known_words=words_of(data.texts))
        return [{"class": data.classes[data.y[r]], "original": data.texts[r], "generated": t} for r, t in pairs]

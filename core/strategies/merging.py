"""Class merging: train and evaluate on a coarser label set.

The split is drawn from the original labels before relabelling, so merged and
unmerged runs share their test rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.data.label_mapping import apply_mapping, validate_mapping
from core.strategies.base import LabelSet, Param, Strategy


class Merge(Strategy):
    name = "merge"
    label = "Merge classes"
    family = "Merging"
    help = 'Maps classes onto groups, e.g. {"1": "1-2", "2": "1-2"}; for ordinal labels only adjacent classes.'
    params = (Param("mapping", "json", {}, 'Class → group name, e.g. {"1": "low", "2": "low"}.', label="Class → group"),)
    uses = frozenset({"labels"})

    def _mapping(self, classes, ordinal: bool) -> dict[str, str]:
        return validate_mapping({str(k): str(v) for k, v in self["mapping"].items()}, classes, ordinal=ordinal)

    def relabel(self, ctx):
        mapping = self._mapping(ctx.data.classes, ctx.data.ordinal)
        y, classes = apply_mapping(ctx.data.y, ctx.data.classes, mapping)
        ctx.data = replace(ctx.data, y=y, classes=tuple(classes))
        ctx.merge_map = mapping

    def relabelled(self, labels: LabelSet) -> LabelSet:
        index, classes = apply_mapping(np.arange(len(labels.classes)), labels.classes,
                                       self._mapping(labels.classes, labels.ordinal))
        counts = np.bincount(index, weights=labels.counts, minlength=len(classes)).astype(int)
        return LabelSet(tuple(classes), tuple(int(c) for c in counts), labels.ordinal)

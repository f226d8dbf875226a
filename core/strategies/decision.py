"""Post-hoc decision adjustment: per-class logit offsets tuned on validation."""

from __future__ import annotations

from core.errors import InputError
from core.strategies.base import Param, Strategy


class Threshold(Strategy):
    name = "threshold"
    label = "Tuned thresholds (logit offsets)"
    family = "Decision"
    help = ("After training, adds a per-class offset to the log-probabilities, tuned on the validation split to "
            "maximise macro-F1, or one class's recall at a precision floor.")
    params = (
        Param("objective", "choice", "macro_f1", "What to maximise on validation.", choices=("macro_f1", "class_recall"), label="What to maximise"),
        Param("target_class", "str", "", "For class_recall: the class (empty = the smallest class).", label="Class whose recall to maximise", when=("objective", ('class_recall',))),
        Param("precision_floor", "float", 0.5, "For class_recall: minimum precision of that class.", 0.0, 1.0, label="Lowest precision allowed for that class", when=("objective", ('class_recall',))),
    )
    uses = frozenset({"decide"})
    version = 2  # 2: the run's validation macro-F1 is cross-fitted (each half scored by the rule tuned on the other)

    def check_labels(self, labels):
        if self["objective"] == "class_recall" and self["target_class"] and self["target_class"] not in labels.classes:
            raise InputError(f"threshold(target_class=…): {self['target_class']!r} is not a class; "
                             f"the classes are {', '.join(labels.classes)}.")

    def decide(self, ctx, validation):
        import numpy as np

        from core.runs.decision_rules import objective, tune_offsets

        target = None
        if self["objective"] == "class_recall":
            if self["target_class"]:
                if self["target_class"] not in ctx.data.classes:
                    raise InputError(f"threshold(target_class=…): {self['target_class']!r} is not a class; "
                                     f"the classes are {', '.join(ctx.data.classes)}.")
                target = ctx.data.classes.index(self["target_class"])
            else:
                target = int(np.argmin(np.bincount(ctx.data.y[ctx.split.train], minlength=ctx.n_classes)))
        score = objective(self["objective"], n_classes=ctx.n_classes, target_class=target,
                          precision_floor=self["precision_floor"])
        return tune_offsets(validation.proba, validation.y, score)

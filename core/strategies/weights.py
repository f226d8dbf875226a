"""Class weights, applied as per-sample weights so they work with every head
and loss (Keras ``class_weight`` breaks on some target shapes)."""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.strategies.base import Param, Strategy

SCHEMES = ("balanced", "inverse_sqrt", "effective", "custom")


def class_weights(counts: np.ndarray, scheme: str, *, beta: float = 0.999, custom: dict[str, float] | None = None,
                  classes: tuple[str, ...] = ()) -> np.ndarray:
    """Weight per class, normalised so the training rows' mean weight is 1.

    balanced: n / (k·n_c) (scikit-learn's "balanced"); inverse_sqrt: 1/√n_c;
    effective: (1−β)/(1−β^n_c), the effective number of samples (Cui et al. 2019);
    custom: the user's dict, classes not named get 1."""
    counts = np.asarray(counts, dtype=float)
    present = counts > 0
    safe = np.where(present, counts, 1.0)
    if scheme == "balanced":
        w = counts.sum() / (present.sum() * safe)
    elif scheme == "inverse_sqrt":
        w = 1.0 / np.sqrt(safe)
    elif scheme == "effective":
        w = (1.0 - beta) / (1.0 - np.power(beta, safe))
    elif scheme == "custom":
        custom = custom or {}
        unknown = sorted(set(map(str, custom)) - set(classes))
        if unknown:
            raise InputError(f"class_weight(weights=…): unknown classes {', '.join(unknown)}; "
                             f"the classes are {', '.join(classes)}.")
        w = np.array([float(custom.get(c, 1.0)) for c in classes])
        if (w <= 0).any():
            raise InputError("class_weight(weights=…): every weight must be positive.")
    else:
        raise InputError(f"class_weight: unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}.")
    w = np.where(present, w, 0.0)
    return w / (w @ counts / counts.sum())


class ClassWeight(Strategy):
    name = "class_weight"
    label = "Class weights"
    family = "Weights"
    help = "Weight each training row by its class, so rare classes count more in the loss."
    params = (
        Param("scheme", "choice", "balanced", "balanced = n/(k·n_c); inverse_sqrt = 1/√n_c; effective = Cui et al. "
              "effective number of samples; custom = your weights.", choices=SCHEMES, label="Weighting scheme"),
        Param("beta", "float", 0.999, "β for the effective-number scheme (closer to 1 = stronger).", 0.0, 0.99999, label="Effective-number β", when=("scheme", ('effective',))),
        Param("weights", "json", {}, 'Custom weights per class, e.g. {"spam": 5, "ham": 1}.', label="Weight per class", when=("scheme", ('custom',))),
    )
    uses = frozenset({"class_weights"})

    def sample_weights(self, ctx, train):
        w = class_weights(train.class_counts(ctx.n_classes), self["scheme"], beta=self["beta"],
                          custom=self["weights"], classes=ctx.data.classes)
        return w[train.y]

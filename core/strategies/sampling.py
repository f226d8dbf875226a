"""Random over- and undersampling on row indices (imbalanced-learn), and
class-balanced batches that resample every epoch."""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler

from core.strategies.base import Param, Strategy


def resample_positions(y: np.ndarray, targets: dict[int, int], *, seed: int) -> np.ndarray:
    """Positions into ``y`` giving each class its target count: classes above
    target are undersampled, below target oversampled, via imbalanced-learn
    samplers on row indices (``sample_indices_``)."""
    counts = np.bincount(y)
    positions = np.arange(len(y)).reshape(-1, 1)
    down = {c: min(int(counts[c]), int(t)) for c, t in targets.items() if counts[c] > 0}
    under = RandomUnderSampler(sampling_strategy=down, random_state=seed)
    under.fit_resample(positions, y)
    kept = under.sample_indices_
    up = {c: max(int(targets[c]), int(np.sum(y[kept] == c))) for c in down}
    over = RandomOverSampler(sampling_strategy=up, random_state=seed)
    over.fit_resample(kept.reshape(-1, 1), y[kept])
    return np.sort(kept[over.sample_indices_])


class _TargetSampler(Strategy):
    """A resampler that gives each class a target row count computed from the class sizes."""

    def targets(self, counts: np.ndarray) -> dict[int, int]:
        raise NotImplementedError

    def resample(self, ctx, train):
        targets = self.targets(train.class_counts(ctx.n_classes))
        return train.take(resample_positions(train.y, targets, seed=ctx.seed))

    def class_sizes(self, counts: np.ndarray) -> np.ndarray:
        targets = self.targets(np.asarray(counts))
        return np.array([targets.get(c, 0) for c in range(len(counts))])


class RandomOversample(_TargetSampler):
    name = "random_oversample"
    label = "Random oversampling"
    family = "Resampling"
    help = "Repeats rows of smaller classes until each reaches ratio × the largest class."
    params = (Param("ratio", "float", 1.0, "Target size of each class as a share of the largest class.", 0.05, 1.0, label="Each class's size, as a share of the largest"),)
    uses = frozenset({"batches"})

    def targets(self, counts: np.ndarray) -> dict[int, int]:
        goal = int(np.ceil(self["ratio"] * counts.max()))
        return {c: max(int(n), goal) for c, n in enumerate(counts) if n > 0}


class RandomUndersample(_TargetSampler):
    name = "random_undersample"
    label = "Random undersampling"
    family = "Resampling"
    help = "Drops rows of larger classes until each has at most smallest ÷ ratio rows; never drops a class."
    params = (Param("ratio", "float", 1.0, "Smallest class ÷ each class after sampling (1 = all equal).", 0.05, 1.0, label="Smallest class ÷ each class afterwards"),)
    uses = frozenset({"batches"})

    def targets(self, counts: np.ndarray) -> dict[int, int]:
        cap = int(np.ceil(counts[counts > 0].min() / self["ratio"]))
        return {c: min(int(n), cap) for c, n in enumerate(counts) if n > 0}


class OverUnder(_TargetSampler):
    name = "over_under"
    label = "Over- and undersampling"
    family = "Resampling"
    help = "Brings every class to one middle size: larger ones undersampled, smaller ones oversampled."
    params = (Param("quantile", "float", 0.5, "Target size as this quantile of the class sizes (0.5 = median).",
                    0.0, 1.0, label="Target size (quantile of class sizes)"),)
    uses = frozenset({"batches"})

    def targets(self, counts: np.ndarray) -> dict[int, int]:
        goal = int(np.ceil(np.quantile(counts[counts > 0], self["quantile"])))
        return {c: goal for c, n in enumerate(counts) if n > 0}


class BalancedBatches(Strategy):
    name = "balanced_batches"
    label = "Class-balanced batches"
    family = "Resampling"
    help = "Every epoch draws rows with equal class frequencies (fresh draw each epoch, nothing discarded for good)."
    uses = frozenset({"batches"})

    def resample(self, ctx, train):
        train.balanced_batches = True
        return train

"""How far a run has got, in words and as a fraction: one wording for the Runs
page and the CLI's waiting line."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.jobs.records import RunRow, Status


@dataclass(frozen=True)
class RunProgress:
    fraction: float  # 0…1 of the epochs the run may take (early stopping may end it sooner)
    text: str  # e.g. "fit · epoch 2/10 · loss 0.512 · val macro-F1 0.431 · ≤ 41 s left"


def run_progress(run: RunRow) -> RunProgress:
    """The latest progress a running run reported (empty text before its first report)."""
    p = run.progress or {}
    if run.status is not Status.RUNNING or not p:
        return RunProgress(1.0 if run.status is Status.FINISHED else 0.0, "")
    epochs, epoch = p.get("epochs") or 1, p.get("epoch") or 0
    batches, batch = p.get("batches") or 1, p.get("batch") or 0
    fraction = min(1.0, ((epoch - 1) + batch / batches) / epochs) if epoch else 0.0
    parts = [p.get("stage", ""), f"epoch {epoch}/{epochs}"]
    loss = p.get("loss")
    if loss is not None and not math.isnan(loss):
        parts.append(f"loss {loss:.3f}")
    if p.get("val_macro_f1") is not None:
        parts.append(f"val macro-F1 {p['val_macro_f1']:.3f}")
    if p.get("eta_s") is not None:
        parts.append(f"≤ {p['eta_s']:.0f} s left")
    return RunProgress(max(0.0, fraction), " · ".join(x for x in parts if x))

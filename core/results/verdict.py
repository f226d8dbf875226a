"""The verdict: what an experiment's numbers say, in sentences a stakeholder
can read — shown above the leaderboard, at the top of the report and by
``experiment show``. Every number in it is one the leaderboard or its power
table shows (same rounding), so the verdict never says more than the tables."""

from __future__ import annotations

import math

from core.results.leaderboard import MIN_SEEDS_FOR_INTERVAL, Cell, Leaderboard, Row
from core.results.stats import (
    BETTER,
    LOWER_IS_BETTER,
    MERGE_NOTE,
    NA,
    SAME,
    TARGET_DIFFERENCE,
    WORSE,
)
from core.runs.evaluate import metric_label

TFIDF_REFERENCE = "ref:tfidf_lr"
MARK_WORDS = {BETTER: "better than the baseline", WORSE: "worse than the baseline",
              SAME: "not shown to differ from the baseline", NA: "not tested"}


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def _versus_baseline(best: Row, base: Row | None, metric: str) -> str:
    cell = best.cells[metric]
    if cell.mark == NA:
        return f"It cannot be tested against the baseline: {cell.note.removeprefix('no test: ')}."
    shown = f" ({base.cells[metric].interval})" if base is not None else ""
    if cell.mark == BETTER:
        return (f"It is better than the baseline{shown}: a paired t-test over {_seeds(cell.n)}, Holm-corrected "
                f"across {cell.family_size} recipe{'' if cell.family_size == 1 else 's'}, says so.")
    if cell.mark == WORSE:
        return f"It is worse than the baseline{shown} by a paired t-test over {_seeds(cell.n)}."
    needed = (f"about {cell.seeds_needed} seeds would detect {TARGET_DIFFERENCE:g}" if cell.seeds_needed is not None
              else f"even many more seeds would hardly detect {TARGET_DIFFERENCE:g}")
    return (f"It is not shown to differ from the baseline{shown} with {_seeds(cell.n)}: these seeds detect only "
            f"differences of {cell.detectable:.3f} or more; {needed}.")


def _recall_moves(best: Row, base: Row | None, metrics: tuple[str, ...]) -> str:
    if base is None or best.role == "baseline":
        return ""
    parts = []
    for metric in ("minority_recall", "worst_class_recall"):
        if metric not in metrics:
            continue
        mine, theirs = best.cells[metric], base.cells[metric]
        if math.isnan(mine.mean) or math.isnan(theirs.mean):  # no value
            continue
        parts.append(f"{metric_label(metric)} from {theirs.mean:.3f} to {mine.mean:.3f} "
                     f"({MARK_WORDS.get(mine.mark, mine.mark)})")
    return ("Compared with the baseline, " + " and ".join(parts) + ".") if parts else ""


def _reference(best: Row, board: Leaderboard, metric: str) -> str:
    tfidf = board.row(TFIDF_REFERENCE)
    if tfidf is None:
        return ""
    theirs: Cell = tfidf.cells[metric]
    mine: Cell = best.cells[metric]
    if math.isnan(theirs.mean):
        return ""
    higher_is_better = metric not in LOWER_IS_BETTER
    ahead = (mine.mean > theirs.mean) == higher_is_better and mine.mean != theirs.mean
    relation = "below" if ahead else ("level with" if mine.mean == theirs.mean else "above")
    if not higher_is_better:
        relation = {"below": "worse than", "above": "better than", "level with": "level with"}[relation]
    return (f"The TF-IDF + logistic regression reference scores {theirs.interval}, {relation} the best LSTM recipe "
            "(references are not tested).")


def verdict(board: Leaderboard) -> list[str]:
    """The verdict's sentences, best recipe first, caveats last."""
    if board.empty:
        return ["No finished runs yet."]
    metric, label = board.sort_by, metric_label(board.sort_by)
    best, base = board.best, board.baseline
    if best is None:
        return [f"No LSTM recipe has a {label} yet."]
    cell = best.cells[metric]
    if best.role == "baseline":
        sentences = [f"On {label}, the plain LSTM baseline is the best LSTM recipe: {cell.interval}."]
    else:
        sentences = [f"On {label}, the best LSTM recipe is {best.recipe}: {cell.interval}.",
                     _versus_baseline(best, base, metric)]
    sentences += [_reference(best, board, metric), _recall_moves(best, base, board.metrics)]
    if base is None:
        sentences.append("The baseline has no finished run, so no recipe can be tested against it.")
    merged = [r.recipe for r in board.rows if any(c.mark == NA and MERGE_NOTE in c.note for c in r.cells.values())]
    if merged:
        one = len(merged) == 1
        sentences.append(f"{len(merged)} recipe{' merges' if one else 's merge'} classes and {'is' if one else 'are'} "
                         f"scored on other classes, so {'it is' if one else 'they are'} not ranked or tested here; the "
                         "Merge explorer compares merges.")
    if board.seeds < MIN_SEEDS_FOR_INTERVAL:
        sentences.append(f"With {_seeds(board.seeds)} the numbers have no meaningful intervals: add seeds (at least "
                         f"{MIN_SEEDS_FOR_INTERVAL}; 5–10 to tell apart differences near {TARGET_DIFFERENCE:g}).")
    return [s for s in sentences if s]

"""Section ``quality``: every benchmark recipe and the references on five
shared datasets, seeds 0…S−1, product defaults, through the persistent
benchmark workspace — an interrupted run resumes, because re-submitting an
experiment reuses every run whose fingerprint already finished.

Keys: ``quality.<dataset>.<recipe>.<metric>_mean`` / ``_std`` (std over seeds,
n−1; null with one seed; ``qwk`` too on ordinal datasets; ``val_macro_f1`` is the
validation rows' macro-F1), ``quality.<dataset>.best_recipe`` (the LSTM recipe
with the highest mean *validation* macro-F1: chosen without looking at test
rows, issue 16), ``quality.<dataset>.best_beats_tfidf`` (its mean test macro-F1 ≥
that of TF-IDF + logistic regression), ``quality.<dataset>.best_by_test`` (the
recipe a choice on test rows would have flattered), ``quality.<dataset>.baseline_std_ok``
(the baseline's macro-F1 std over seeds ≤ 0.03) and, on ordinal datasets,
``quality.<dataset>.qwk_at_least_baseline`` (ordinal extra recipe -> its mean QWK ≥ the baseline's).

A case of its own (``benchmarks.CASE_RECIPES``; issue 20's extreme imbalance, ``sms_spam_1pct``) runs its own
recipes and is reported beside the five datasets (``quality.<case>.case`` true, ``quality.cases``), never in their
verdict (``lstm_wins``, ``target_met``, ``datasets``, ``baseline_std_max``). Its rows add ``roc_auc_macro``,
``pr_auc_macro`` and ``brier``, and the rare class's ``rare_recall``, ``rare_precision``, ``rare_f1`` and
``rare_pr_auc`` (``_mean`` / ``_std``); ``quality.<case>.rare_class`` names it and ``best_recipe`` is chosen among
its recipes by validation macro-F1."""

from __future__ import annotations

import statistics
import sys

import numpy as np

from benchmarks import CASE_RECIPES, EXTRA_RECIPES, RECIPES, datasets, extra_recipes_for, recipes_for
from benchmarks.context import Context
from benchmarks.lab import cancel_leftovers, queue, serve
from benchmarks.processes import Service, child_env
from core.data.dataset import TEST
from core.jobs.experiments import ExperimentSpec, canonical_recipe
from core.jobs.store import Status
from core.results.experiment_results import experiment_results
from core.runs.references import ALWAYS, is_reference

METRICS = ("macro_f1", "balanced_accuracy", "minority_recall", "worst_class_recall")
ORDINAL_METRICS = ("qwk",)  # also summarised on ordinal datasets
CASE_METRICS = ("roc_auc_macro", "pr_auc_macro", "brier")  # also summarised on a case of its own (extreme imbalance)
RARE_METRICS = ("recall", "precision", "f1", "pr_auc")  # the rare class's, as rare_<metric>_mean / _std
ORDINAL_EXTRAS = ("coral", "ordinal_regression")  # judged by QWK against the baseline
TFIDF = "ref:tfidf_lr"


BASELINE_STD_TARGET = 0.03


def summarise(scores: dict, recipes: list[str], metrics: tuple[str, ...] = METRICS,
              validation: dict | None = None) -> dict:
    """recipe -> {metric_mean, metric_std, seeds} from core.results.experiment_results'
    metric -> recipe -> seed -> value; ``validation`` (the same shape, scope ``validation``)
    adds ``val_macro_f1_mean`` / ``_std``."""
    table: dict[str, dict] = {}
    for recipe in recipes:
        row: dict = {}
        sources = [(m, scores, m) for m in metrics] + [("macro_f1", validation or {}, "val_macro_f1")]
        for metric, source, name in sources:
            values = list(source.get(metric, {}).get(recipe, {}).values())
            row[f"{name}_mean"] = statistics.fmean(values) if values else None
            row[f"{name}_std"] = statistics.stdev(values) if len(values) > 1 else None
        row["seeds"] = len(scores.get("macro_f1", {}).get(recipe, {}))
        table[recipe] = row
    return table


def verdict(table: dict, extras: tuple[str, ...] = ()) -> dict:
    """The fixed benchmark recipe with the best mean *validation* macro-F1,
    against TF-IDF + LR on test; extra recipes are judged separately
    (``best_with_extras``) and never change the verdict. ``best_by_test`` is
    what choosing on test rows would have picked (optimistic; shown, never used)."""
    def best_of(recipes, key="val_macro_f1_mean"):
        scores = {r: table[r][key] for r in recipes if table[r].get(key) is not None}
        return max(scores, key=scores.get) if scores else None

    def test_f1(recipe):
        return table[recipe]["macro_f1_mean"] if recipe else None

    lstm = [r for r in table if not is_reference(r)]
    fixed = [r for r in lstm if r not in extras]
    best, overall, by_test = best_of(fixed), best_of(lstm), best_of(fixed, "macro_f1_mean")
    tfidf = table.get(TFIDF, {}).get("macro_f1_mean")
    base_std = (table.get("baseline") or {}).get("macro_f1_std")

    def beats(recipe):
        return bool(recipe and tfidf is not None and test_f1(recipe) is not None and test_f1(recipe) >= tfidf)

    return {"best_recipe": best, "best_macro_f1": test_f1(best), "tfidf_macro_f1": tfidf,
            "best_val_macro_f1": (table.get(best) or {}).get("val_macro_f1_mean"),
            "best_beats_tfidf": beats(best),
            "best_by_test": by_test, "best_by_test_macro_f1": test_f1(by_test),
            "best_with_extras": overall, "best_with_extras_macro_f1": test_f1(overall),
            "best_with_extras_beats_tfidf": beats(overall),
            "baseline_macro_f1_std": base_std,
            "baseline_std_ok": None if base_std is None else bool(base_std <= BASELINE_STD_TARGET)}


def qwk_at_least_baseline(table: dict, recipes) -> dict:
    """recipe -> its mean QWK ≥ the baseline's (None when either is missing): the
    ordinal strategies' target, read beside, never inside, the verdict."""
    base = (table.get("baseline") or {}).get("qwk_mean")
    out = {}
    for recipe in recipes:
        qwk = (table.get(recipe) or {}).get("qwk_mean")
        out[recipe] = None if qwk is None or base is None else bool(qwk >= base)
    return out


def case_summary(results, recipes: list[str], rare: str) -> dict:
    """A case of its own (``benchmarks.CASE_RECIPES``): ``summarise`` with ranking and calibration metrics, the rare
    class's recall, precision, F1 and PR-AUC beside them (``rare_<metric>_mean`` / ``_std``), and ``verdict`` over
    its own recipes."""
    table = summarise(results.scores(), recipes, METRICS + CASE_METRICS, validation=results.scores("validation"))
    rare_rows = summarise(results.scores(f"class:{rare}"), recipes, RARE_METRICS)
    for recipe in recipes:
        table[recipe].update({f"rare_{k}": v for k, v in rare_rows[recipe].items()
                              if k.rsplit("_", 1)[0] in RARE_METRICS})
    return {**table, **verdict(table), "rare_class": rare}


def execute_in_process(ctx: Context, store) -> None:
    """--quick only: two executors (one per core) drain the queue in-process."""
    executors = [Service(f"executor-{i}", [sys.executable, "-m", "benchmarks.executor", str(store.root)],
                         child_env(store.root), ctx.logs("quality") / f"executor-{i}.log") for i in range(2)]
    try:
        for executor in executors:
            if executor.wait(ctx.config.worker_timeout_s) is None:
                raise RuntimeError(f"quality executor did not finish:\n{executor.tail()}")
    finally:
        for executor in executors:
            executor.stop()


def resumable_store(ctx: Context, section: str):
    """The persistent benchmark workspace, with runs an interrupted benchmark left queued cancelled (re-queued,
    their finished siblings reused by fingerprint, when the section submits its experiments again)."""
    store = ctx.persistent_store()
    left = cancel_leftovers(store)
    if left:
        ctx.log(f"{section}: cancelled {left} runs left queued by an earlier, interrupted benchmark")
    return store


def drain(ctx: Context, store, runs: list, section: str) -> int:
    """Train the queued ones of ``runs`` (the product's worker; ``--quick``: in-process executors) and return how
    many that was; finished ones were reused by fingerprint when their experiment was queued."""
    to_train = sum(r.status == Status.QUEUED.value for r in runs)
    ctx.log(f"{section}: {len(runs)} runs, {len(runs) - to_train} reused from finished runs, {to_train} to train")
    if to_train:
        if ctx.config.quick:
            execute_in_process(ctx, store)
        else:
            serve(store, ctx.logs(section), timeout_s=ctx.config.worker_timeout_s)
    return to_train


def run(ctx: Context) -> dict:
    cfg = ctx.config
    store = resumable_store(ctx, "quality")
    experiments: dict[str, int] = {}
    info: dict[str, dict] = {}
    for key, cap in cfg.quality_caps.items():
        full = datasets.load(key, ctx.datasets_dir)
        data = datasets.stratified_sample(full, cap)
        dataset_id = store.add_dataset(data, name=data.name)
        spec = ExperimentSpec(dataset_id=dataset_id, recipes=recipes_for(key), seeds=cfg.quality_seeds,
                              settings=cfg.quality_settings, name=f"benchmark quality {key}")
        experiments[key] = queue(store, spec, references=True)
        spec_info = datasets.DATASETS[key]
        learning = data.y if data.parts is None else data.y[data.parts != TEST]
        info[key] = {"title": spec_info.title, "rows": len(data), "rows_available": len(full),
                     "classes": data.n_classes, "split": spec_info.split,
                     "sampled": len(data) < len(full), "ordinal": data.ordinal,
                     "rare_share": float(np.bincount(learning).min() / len(learning)),
                     "rare": data.classes[int(np.argmin(np.bincount(learning, minlength=data.n_classes)))]}
    runs = [r for e in experiments.values() for r in store.runs(experiment=e)]
    to_train = drain(ctx, store, runs, "quality")
    out: dict = {}
    extras = tuple(canonical_recipe(r) for r in EXTRA_RECIPES)
    wins = wins_with_extras = 0
    for key, experiment_id in experiments.items():
        results = experiment_results(store, experiment_id)
        failed = results.runs[results.runs["status"] != Status.FINISHED.value]
        failed_runs = [f"{r.recipe} seed {r.seed}: {r.status} {r.error or ''}".strip() for r in failed.itertuples()]
        if key in CASE_RECIPES:  # reported beside the five datasets, never counted in their verdict
            recipes = [canonical_recipe(r) for r in CASE_RECIPES[key]] + list(ALWAYS)
            out[key] = {**case_summary(results, recipes, info[key]["rare"]), **info[key], "case": True,
                        "experiment_id": experiment_id, "failed_runs": failed_runs}
            ctx.log(f"quality {key} (case): best {out[key]['best_recipe']}; {len(failed)} runs not finished")
            continue
        own_extras = [canonical_recipe(r) for r in extra_recipes_for(key)]
        recipes = [canonical_recipe(r) for r in RECIPES] + own_extras + list(ALWAYS)
        ordinal = info[key]["ordinal"]
        table = summarise(results.scores(), recipes, METRICS + (ORDINAL_METRICS if ordinal else ()),
                          validation=results.scores("validation"))
        judged = verdict(table, extras)
        if ordinal:
            judged["qwk_at_least_baseline"] = qwk_at_least_baseline(
                table, [r for r in own_extras if r in ORDINAL_EXTRAS])
        wins += judged["best_beats_tfidf"]
        wins_with_extras += judged["best_with_extras_beats_tfidf"]
        out[key] = {**table, **judged, **info[key], "experiment_id": experiment_id, "failed_runs": failed_runs}
        ctx.log(f"quality {key}: best {judged['best_recipe']} {judged['best_macro_f1'] or float('nan'):.3f} vs TF-IDF "
                f"{judged['tfidf_macro_f1'] or float('nan'):.3f}; {len(failed)} runs not finished")
    headline = [k for k in experiments if k not in CASE_RECIPES]
    stds = [out[k]["baseline_macro_f1_std"] for k in headline if out[k].get("baseline_macro_f1_std") is not None]
    out.update(lstm_wins=wins, lstm_wins_with_extras=wins_with_extras, extra_recipes=list(extras),
               datasets=len(headline), cases=[k for k in experiments if k in CASE_RECIPES],
               target_met=wins >= 3, seeds=cfg.quality_seeds,
               baseline_std_max=max(stds) if stds else None, baseline_std_target=BASELINE_STD_TARGET,
               chosen_by="validation macro-F1",
               settings=cfg.quality_settings.to_json(),
               runs=len(runs), runs_trained=to_train, runs_reused=len(runs) - to_train)
    return {"quality": out}

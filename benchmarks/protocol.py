"""Section ``protocol``: how the product's training defaults were chosen
(issue 16). Each candidate — training settings, and for pooling a recipe — trains
the baseline on every quality dataset at seeds 0…S−1 through the product's
own store and worker, and is scored by **validation** macro-F1 only (the
final model and decision rule on the validation rows, ``scope = validation``
in the metrics table). Test rows are never read here. Runs go to the
persistent benchmark workspace, so an interrupted protocol resumes.

The rule: the candidate with the highest mean over datasets of its mean
validation macro-F1; a candidate within ``TIE`` of the best that trains in
less time wins the tie (a default users pay for on every run should earn it).

Keys: ``protocol.candidates.<name>`` (settings and recipe), ``protocol.<dataset>.<name>``
(``val_macro_f1_mean``/``_std``, ``fit_s_mean``, ``epochs_mean``, ``max_len``, ``seeds``),
``protocol.mean_val_macro_f1.<name>``, ``protocol.fit_s.<name>`` (mean per run),
``protocol.chosen``, ``protocol.max_len_p95`` (95th percentile of words per text).

*Research* candidates (issue 16's "what each dataset needs to beat TF-IDF") train other recipes at
the chosen defaults; they never take part in the choice of the defaults, and are set beside
``protocol.tfidf_val_macro_f1.<dataset>``: the TF-IDF + logistic regression reference fitted on the
same seeds' training rows and scored on the same validation rows."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np

from benchmarks import datasets
from benchmarks import results as results_file
from benchmarks.context import Context
from benchmarks.lab import queue
from benchmarks.quality import drain, resumable_store
from core.jobs.experiments import ExperimentSpec, canonical_recipe
from core.jobs.run_files import load_result
from core.jobs.store import Status
from core.results.experiment_results import experiment_results
from core.runs.lengths import word_counts
from core.settings import TrainSettings

TIE = 0.005


@dataclass(frozen=True)
class Candidate:
    name: str
    settings: TrainSettings
    recipe: str = "baseline"
    note: str = ""
    long_texts_only: bool = False  # differs from ``long_plateau`` only where texts are longer than its cap
    research: bool = False  # another recipe at the chosen defaults: reported, never a candidate for the defaults


def candidates(base: TrainSettings, quick: bool = False) -> tuple[Candidate, ...]:
    """The candidates, from the defaults before issue 16 (``base``); ``--quick``
    trains "long" for one epoch more than the tiny base, not 30."""
    long = replace(base, epochs=base.epochs + 1 if quick else 30, patience=5)
    plateau = replace(long, patience=6, lr_schedule="plateau")
    lr = plateau.learning_rate
    return (
        Candidate("current", base, note="the defaults before issue 16"),
        Candidate("long", long, note="30 epochs at most, patience 5"),
        Candidate("long_plateau", plateau, note="30 epochs, patience 6, learning rate halved after 2 stale epochs"),
        Candidate("long_plateau_lr_third", replace(plateau, learning_rate=round(lr / 3, 6)),
                  note="as long_plateau, a third of the learning rate"),
        Candidate("long_plateau_b64", replace(plateau, batch_size=64, learning_rate=lr / 2),
                  note="as long_plateau, batch 64 with half the learning rate"),
        Candidate("long_plateau_b256", replace(plateau, batch_size=256, learning_rate=lr * 2),
                  note="as long_plateau, batch 256 with twice the learning rate"),
        Candidate("long_plateau_cap512", replace(plateau, max_len_cap=512), long_texts_only=True,
                  note="as long_plateau, texts cut at the 95th percentile of lengths up to 512 words (was 256)"),
        Candidate("long_plateau_pool", plateau, recipe="pool", note="as long_plateau, max-pooled over every word"),
        # Research: what more could close the gap to TF-IDF, at the defaults chosen above (max pooling).
        Candidate("defaults_bidirectional", replace(plateau, pooling="max"), recipe="bidirectional", research=True,
                  note="the chosen defaults, a bidirectional LSTM"),
        Candidate("defaults_wider", replace(plateau, pooling="max"), recipe="wider", research=True,
                  note="the chosen defaults, 128 units and a 128-wide embedding"),
        Candidate("defaults_class_weight", replace(plateau, pooling="max"), recipe="class_weight", research=True,
                  note="the chosen defaults, balanced class weights"),
    )


def words_p95(texts) -> float:
    """95th percentile of words per text, counted as the encoder counts them."""
    return float(np.percentile(word_counts(texts), 95))


def run(ctx: Context) -> dict:
    cfg = ctx.config
    store = resumable_store(ctx, "protocol")
    base = cfg.settings  # BENCHMARK_SETTINGS: the product defaults before issue 16, written out
    seeds = cfg.protocol_seeds
    chosen_from = tuple(c for c in candidates(base, cfg.quick)
                        if cfg.protocol_candidates is None or c.name in cfg.protocol_candidates)
    keys = [k for k in cfg.quality_caps if cfg.protocol_datasets is None or k in cfg.protocol_datasets]
    experiments: dict[tuple[str, str], int] = {}
    p95: dict[str, float] = {}
    for key in keys:
        cap = cfg.quality_caps[key]
        data = datasets.stratified_sample(datasets.load(key, ctx.datasets_dir), cap)
        dataset_id = store.add_dataset(data, name=data.name)
        p95[key] = words_p95(data.texts)
        for c in chosen_from:
            if c.long_texts_only and p95[key] <= base.max_len_cap:
                continue  # the same max_len as long_plateau on this dataset
            spec = ExperimentSpec(dataset_id=dataset_id, recipes=(c.recipe,), seeds=seeds, settings=c.settings,
                                  name=f"benchmark protocol {key} {c.name}")
            experiments[(key, c.name)] = queue(store, spec, references=False)
    # The product queues the baseline with every recipe; a recipe candidate's baseline is the plain candidate
    # at the same settings, trained in that candidate's own experiment, so its copy is not trained twice.
    plain = {(key, c.settings) for key, name in experiments for c in chosen_from
             if c.name == name and c.recipe == "baseline"}
    for (key, name), experiment_id in experiments.items():
        c = next(c for c in chosen_from if c.name == name)
        if c.recipe != "baseline" and (key, c.settings) in plain:
            for r in store.runs(experiment=experiment_id, recipe="baseline", status=Status.QUEUED):
                store.cancel(r.id)
    runs = [r for e in experiments.values() for r in store.runs(experiment=e)
            if not (r.status == Status.CANCELLED.value and r.recipe == "baseline")]
    drain(ctx, store, runs, "protocol")

    out: dict = {"candidates": {c.name: {"settings": c.settings.to_json(), "recipe": c.recipe, "note": c.note}
                                for c in chosen_from},
                 "seeds": seeds, "datasets": keys, "max_len_p95": p95, "tie": TIE}
    per_candidate: dict[str, list[float]] = {c.name: [] for c in chosen_from}
    fit_s: dict[str, list[float]] = {c.name: [] for c in chosen_from}
    for key in keys:
        out[key] = {}
        for c in chosen_from:
            experiment_id = experiments.get((key, c.name)) or experiments.get((key, "long_plateau"))
            if experiment_id is None:
                continue
            results = experiment_results(store, experiment_id)
            recipe = canonical_recipe(c.recipe)
            values = list(results.scores("validation").get("macro_f1", {}).get(recipe, {}).values())
            finished = results.finished[results.finished["recipe"] == recipe]
            summaries = [load_result(store, d) for d in finished["result_dir"]]
            seconds = [s.get("fit_seconds", 0.0) for s in summaries]
            epochs = [s.get("trained_samples", 0) / max(1, s.get("train_size", 1)) for s in summaries]
            row = {"val_macro_f1_mean": statistics.fmean(values) if values else None,
                   "val_macro_f1_std": statistics.stdev(values) if len(values) > 1 else None,
                   "fit_s_mean": statistics.fmean(seconds) if seconds else None,
                   "epochs_mean": statistics.fmean(epochs) if epochs else None,
                   "seeds": len(values), "same_as": None if (key, c.name) in experiments else "long_plateau"}
            out[key][c.name] = row
            if values:
                per_candidate[c.name].append(row["val_macro_f1_mean"])
                fit_s[c.name].extend(seconds)
    complete = {n: v for n, v in per_candidate.items() if len(v) == len(keys)}
    out["mean_val_macro_f1"] = {n: statistics.fmean(v) for n, v in complete.items()}
    out["fit_s"] = {n: statistics.fmean(v) for n, v in fit_s.items() if v}
    out["research"] = [c.name for c in chosen_from if c.research]
    out["tfidf_val_macro_f1"] = {key: tfidf_validation(ctx, key, seeds) for key in keys}
    values = list(out["tfidf_val_macro_f1"].values())
    out["mean_tfidf_val_macro_f1"] = statistics.fmean(values) if values else None
    if cfg.protocol_candidates is not None and not cfg.quick:  # a subset: the other candidates' rows stay
        out = with_earlier_rows(out, results_file.load(ctx.out).get("protocol") or {})
    choose(out)
    for name, value in sorted(out["mean_val_macro_f1"].items(), key=lambda kv: -kv[1]):
        ctx.log(f"protocol {name}: mean validation macro-F1 {value:.4f}, {out['fit_s'].get(name, 0):.1f} s per run")
    return {"protocol": out}


def choose(out: dict) -> None:
    """The rule: the highest mean validation macro-F1 over datasets; within ``TIE`` of it, the fastest.
    Research rows never take part."""
    means = {n: v for n, v in out["mean_val_macro_f1"].items() if n not in out.get("research", [])}
    if means:
        best = max(means.values())
        near = [n for n in means if means[n] >= best - TIE]
        out["chosen"] = min(near, key=lambda n: out["fit_s"].get(n, float("inf")))
        out["best"] = max(means, key=means.get)


def with_earlier_rows(out: dict, earlier: dict) -> dict:
    """This run's rows over an earlier protocol run's (``--protocol-candidates`` trains only some candidates)."""
    merged = {**earlier, **out}
    for key in ("candidates", "mean_val_macro_f1", "fit_s", *out.get("datasets", [])):
        merged[key] = {**(earlier.get(key) or {}), **(out.get(key) or {})}
    merged["research"] = sorted(set(earlier.get("research") or []) | set(out.get("research") or []))
    return merged


def tfidf_validation(ctx: Context, key: str, seeds: int) -> float:
    """The TF-IDF + logistic regression reference's mean validation macro-F1 on ``key`` over seeds 0…seeds−1:
    fitted on each seed's training rows and scored on its validation rows (the splits the runs use), so the
    LSTM candidates can be set beside it without reading a test row."""
    from core.data.split import SplitSpec, make_split
    from core.runs.evaluate import macro_f1
    from core.runs.references import fit_predict

    data = datasets.stratified_sample(datasets.load(key, ctx.datasets_dir), ctx.config.quality_caps[key])
    texts = np.asarray(data.texts, dtype=object)
    scores = []
    for seed in range(seeds):
        split = make_split(data, SplitSpec(seed=seed))
        proba, _ = fit_predict("ref:tfidf_lr", list(texts[split.train]), data.y[split.train],
                               list(texts[split.validation]), data.n_classes, seed)
        scores.append(macro_f1(data.y[split.validation], np.argmax(proba, axis=1)))
    return statistics.fmean(scores)

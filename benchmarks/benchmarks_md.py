"""BENCHMARKS.md, written from the merged ``benchmarks/results.json`` (so it
always covers every section run so far, each with its own date and mode)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import CASE_RECIPES, EXTRA_RECIPE_DATASETS, EXTRA_RECIPES, RECIPES, SECTIONS
from benchmarks.config import BENCHMARK_SETTINGS
from benchmarks.datasets import DATASETS
from benchmarks.figures import QUALITY, THROUGHPUT, write_figures
from benchmarks.markdown import below, mark, num, pct, table
from benchmarks.results import get
from core.jobs.experiments import canonical_recipe
from core.runs.references import ALWAYS, REFERENCES
from core.settings import TrainSettings
from core.strategies.registry import build

QUALITY_METRICS = ("macro_f1", "balanced_accuracy", "minority_recall", "worst_class_recall")


def not_run(section: str) -> str:
    return f"_Not run yet — `python -m benchmarks --sections {section}`._"


def mode_note(results: dict, section: str) -> str:
    meta = get(results, f"meta.sections.{section}") or {}
    if not meta:
        return ""
    text = f"_Run {meta.get('date', '?')}, {'**--quick** (smoke numbers only)' if meta.get('quick') else 'full'}, " \
           f"{num(meta.get('wall_s'))} s"
    if meta.get("error"):
        text += f"; **failed**: {meta['error'][:300]} (values below, if any, are from an earlier run)"
    return text + "._"


# ------------------------------------------------------------------ header, machine, provenance


def header(results: dict, figures: dict[str, str]) -> str:
    quick = [s for s, m in (get(results, "meta.sections") or {}).items() if m.get("quick")]
    lines = ["# Imbalance Lab — benchmarks", "",
             "Written by `python -m benchmarks` from `benchmarks/results.json` (machine-readable; keys such as "
             "`throughput.ratio` are paths in that JSON). Every LSTM run went through the product itself — store, "
             "worker with spawned run children, runner — except the *naive* tutorial pipeline it is compared with "
             "(and, with `--quick` only, the quality runs, which execute the run child's own function in-process)."]
    if figures:
        lines += ["", "Figures (self-contained HTML): " + " · ".join(f"[{n}]({p})" for n, p in figures.items())]
    if quick:
        lines += ["", f"> ⚠ Sections {', '.join(quick)} were run with `--quick` (tiny data and model, one seed): their "
                      "numbers only show that the pipeline works. Run without `--quick` on a quiet machine for real "
                      "numbers."]
    return "\n".join(lines)


def machine(results: dict) -> str:
    m = get(results, "meta.machine") or {}
    if not m:
        return "## Machine\n\n_unknown_"
    versions = m.get("versions", {})
    lines = ["## Machine and versions", "",
             f"- CPU: {m.get('cpu')} — {m.get('cores')} cores, {num(m.get('ram_gib'), 1)} GiB RAM; {m.get('os')}",
             f"- Library versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
             "- `OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE` in the environment: "
             + (", ".join(f"{k}={v}" for k, v in m.get("openblas_env", {}).items()) or "not set")
             + ". They are left alone everywhere except the GEMM-peak child, which runs without both (they slow a "
               "current numpy on this CPU).",
             "- Each section's date, mode, wall time and the load average when it started are listed below; "
             "timings are only comparable on a quiet machine."]
    return "\n".join(lines)


def how_to_run() -> str:
    return "\n".join([
        "## How to run", "",
        "```",
        "python -m benchmarks                          # every section, full sizes (about 1.5–2 h on 2 cores)",
        "python -m benchmarks --sections throughput    # one section; results.json keeps the other sections' keys",
        "python -m benchmarks --sections ui,memory     # several",
        "python -m benchmarks --quick --out /tmp/bench # smoke run: every key, tiny data, a few minutes",
        "python -m benchmarks --fresh --sections quality  # empty benchmarks/workspace first (no reused runs)",
        "python -m benchmarks --datasets /path/to/shared/datasets",
        "```",
        f"Sections: {', '.join(f'`{s}`' for s in SECTIONS)}. Quality runs live in `benchmarks/workspace/` "
        "(git-ignored): an interrupted run resumes, because re-submitting an experiment reuses every finished run "
        "with the same fingerprint. Timing sections (throughput, fit_profile, experiment, ui, memory, scaling) always "
        "use a fresh temporary workspace, so nothing is served from cache.",
        "",
        ("The fit profile runs by itself too, also against another checkout's `core` (\"before\" numbers): "
         "`PYTHONPATH=/path/to/checkout python benchmarks/fit_profile.py --out profile.json` (see its docstring).")])


def provenance(results: dict) -> str:
    meta = get(results, "meta.sections") or {}
    rows = [[s, m.get("date", "?"), "quick" if m.get("quick") else "full", num(m.get("wall_s")), num(m.get("cpu_s")),
             num(m.get("load_average_at_start", [None])[0], 1), "failed" if m.get("error") else "ok",
             f"`{m.get('command', '')}`"] for s, m in meta.items()]
    note = ("\n\nCPU s = CPU time of the benchmark and every process it started (workers, run children, app, "
            "browser) during the section; it depends much less on other load than wall time does.")
    header = ["section", "date", "mode", "wall s", "CPU s", "load avg", "status", "command"]
    return "## Sections run\n\n" + (table(header, rows) if rows else "_none yet_") + note


def targets(results: dict) -> str:
    wins, n = get(results, "quality.lstm_wins"), get(results, "quality.datasets")
    rows = [
        ["experiment at the fixed settings (8 recipes × 3 seeds + references) ≤ 300 s",
         f"{num(get(results, 'experiment.wall_s'))} s", mark(get(results, "experiment.target_met"))],
        ["`experiment.wall_s_defaults`: the same at the product defaults and default seeds ≤ 600 s",
         f"{num(get(results, 'experiment.wall_s_defaults'))} s "
         f"({num(get(results, 'experiment.defaults.seeds'))} seeds)", mark(get(results, "experiment.target_defaults_met"))],
        ["page p95 while 2 runs train < 1000 ms (new tab: full page load)",
         f"{num(get(results, 'ui.p95_ms_while_training'))} ms (idle: {num(get(results, 'ui.p95_ms_idle'))} ms)",
         mark(get(results, "ui.target_met"))],
        ["page p95 while 2 runs train < 1000 ms (switching pages in an open tab)",
         f"{num(get(results, 'ui.page_switch.p95_ms'))} ms", mark(get(results, "ui.page_switch_target_met"))],
        ["profile a 100k-row upload < 3 s", f"{num(get(results, 'data.profile_100k_s'), 2)} s",
         mark(get(results, "data.target_met"))],
        ["training child peak RSS < 1500 MB", f"{num(get(results, 'memory.worker_peak_rss_mb'))} MB",
         mark(below(get(results, "memory.worker_peak_rss_mb"), 1500))],
        ["app RSS after every page < 500 MB", f"{num(get(results, 'memory.app_rss_mb'))} MB",
         mark(below(get(results, "memory.app_rss_mb"), 500))],
        ["best LSTM recipe (chosen by validation macro-F1) ≥ TF-IDF + LR on test, on ≥ 3 of 5 datasets",
         f"{num(wins)} of {num(n)}", mark(get(results, "quality.target_met"))],
        ["baseline macro-F1 std over seeds ≤ 0.03 on every dataset",
         f"at most {num(get(results, 'quality.baseline_std_max'), 3)}",
         mark(_at_most(get(results, "quality.baseline_std_max"), 0.03))],
    ]
    return "## Targets\n\n" + table(["target", "measured", ""], rows) + "\n\n" + speed_targets(results)


def _at_most(value, limit) -> bool | None:
    return None if value is None else value <= limit


def speed_targets(results: dict) -> str:
    """Issue 15's targets (training at the speed of the CPU), one invocation on one machine."""
    t = results.get("throughput") or {}
    sms = t.get("sms") or {}
    rows = []
    for label, d in (("clothing 10k", t), ("SMS", sms)):
        target = d.get("ratio_target", 3.0 if d is t else 2.5)
        rows.append([f"`throughput.ratio` ({label}) ≥ {target:g}, macro-F1 ≥ naive − 0.01",
                     f"×{num(d.get('ratio'), 2)}; F1 {num(d.get('lab_macro_f1'), 3)} vs {num(d.get('naive_macro_f1'), 3)}",
                     mark(d.get("target_met"))])
    for label, d in (("clothing 10k", t), ("SMS", sms)):
        rows.append([f"`throughput.warm_ratio` ({label}) ≥ 3 (aim: 5)", f"×{num(d.get('warm_ratio'), 2)}",
                     mark(d.get("warm_target_met"))])
    for label, d in (("clothing 10k", t), ("SMS", sms)):
        rows.append([f"`throughput.fit_efficiency` ({label}) ≥ 0.8",
                     f"{num(d.get('fit_efficiency'), 2)} (bare step {num(d.get('bare_step_samples_per_s'))}/s per process)",
                     mark(d.get("fit_efficiency_target_met"))])
    fraction = t.get("fraction_of_peak")
    rows += [
        ["`throughput.fraction_of_peak` (clothing 10k) ≥ 0.20 (was 0.15)",
         f"{num(fraction, 3)} of {num(t.get('peak_gflops'))} GFLOP/s",
         mark(t.get("fraction_of_peak_target_met", None if fraction is None else fraction >= 0.20))],
        ["`experiment.wall_s` ≤ 300 s (8 recipes × 3 seeds + references, 10,000 clothing rows)",
         f"{num(get(results, 'experiment.wall_s'))} s", mark(_at_most(get(results, "experiment.wall_s"), 300))],
    ]
    return "\n".join([
        "### Training speed (issue 15)", "",
        ("Ratios within one invocation on one machine, at the fixed benchmark settings. Quality keys must stay within "
         "their seed std for the same recipes and settings (compare section 6 with the previous report)."), "",
        table(["target", "measured", ""], rows)])


def recipes_section(results: dict) -> str:
    rows = []
    for recipe in RECIPES:
        params = [f"{s.name}(" + ", ".join(f"{k}={v!r}" for k, v in s.values.items()) + ")" for s in build(recipe)]
        rows.append([f"`{canonical_recipe(recipe)}`", " + ".join(params) or "plain LSTM (no strategy)"])
    for recipe in EXTRA_RECIPES:
        params = [f"{s.name}(" + ", ".join(f"{k}={v!r}" for k, v in s.values.items()) + ")" for s in build(recipe)]
        where = EXTRA_RECIPE_DATASETS.get(recipe)
        only = f"; {', '.join(f'`{d}`' for d in where)} only" if where else ""
        rows.append([f"`{canonical_recipe(recipe)}` *(extra, quality only{only})*", " + ".join(params)])
    rows += [[f"`{r}`", REFERENCES[r].label + " (reference)"] for r in ALWAYS]
    text = ["## Benchmark recipes and settings", "",
            "Registry names; every hyper-parameter is the product default (values spelled out below).", "",
            table(["recipe", "strategies with every parameter"], rows), "",
            settings_section(results)]
    return "\n".join(text)


def _setting(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return num(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)


def settings_section(results: dict) -> str:
    """The fixed benchmark settings beside the product defaults, and what the latest runs used."""
    fixed, defaults = BENCHMARK_SETTINGS.to_json(), TrainSettings().to_json()
    used = get(results, "throughput.settings")
    quality_used = get(results, "quality.settings")
    names = list(dict.fromkeys([*fixed, *defaults]))
    rows = [[f"`{k}`", _setting(fixed[k]) if k in fixed else "—", _setting(defaults[k]) if k in defaults else "—",
             "" if fixed.get(k) == defaults.get(k) else "differs"] for k in names]
    text = ["**Training settings.** Two sets (`benchmarks/config.py`):", "",
            ("- *Fixed benchmark settings* (`BENCHMARK_SETTINGS`): every timing section — throughput and its naive "
             "pipeline, fit profile, experiment, ui, memory, scaling. They are the product defaults of the day issue 15 "
             "pinned them, written out field by field, so that a later change of the product defaults cannot move "
             "these figures."),
            ("- *Product defaults* (`TrainSettings()` of the code that ran): the quality section, which shows what a "
             "user gets."), "",
            table(["setting", "fixed benchmark settings", "product defaults (quality)", ""], rows), "",
            ("max_len None = 95th percentile of training token lengths, capped at 256. Splits: 20% test, 10% "
             "validation, stratified and duplicate-aware; seed s fixes the split and the model's randomness.")]
    if used is not None and used != fixed:
        text.append("\nThe latest throughput run used other settings (quick): "
                    + ", ".join(f"{k}={v}" for k, v in used.items()) + ".")
    if quality_used is not None and quality_used != defaults:
        text.append("\nThe latest quality run used other settings (quick, or older product defaults): "
                    + ", ".join(f"{k}={v}" for k, v in quality_used.items()) + ".")
    return "\n".join(text)


def datasets_section(results: dict) -> str:
    rows = []
    for key, spec in DATASETS.items():
        q = get(results, f"quality.{key}") or {}
        used = num(q.get("rows")) if q else "—"
        sampled = (f"stratified sample of {num(q.get('rows'))} of {num(q.get('rows_available'))} rows (seed 0)"
                   if q.get("sampled") else "all rows" if q else "—")
        rows.append([f"`{key}`", spec.title, f"`{spec.path}`", used, num(q.get("classes")), spec.split, sampled])
    return "\n".join([
        "## Datasets", "",
        "From `../shared/datasets/` (see each folder's README for source and license), read with the product's own "
        "`core.data.readers` and `core.data.validation` (so the same validation a user's upload gets). Throughput: the 10,000-row stratified sample "
        "(seed 0) of the clothing reviews (label = stars) and every SMS; fit profile, experiment, ui and memory: the same clothing "
        "sample; scaling: clothing samples of 1k / 5k / 20k rows.", "",
        table(["key", "dataset", "file", "rows (quality)", "classes", "test rows", "quality sample"], rows)])


# ------------------------------------------------------------------ sections


def throughput(results: dict) -> str:
    t = results.get("throughput")
    head = "## 1. Throughput: naive tutorial pipeline vs the lab"
    if not t:
        return head + "\n\n" + not_run("throughput")
    data = ((f"clothing stars, {num(t.get('rows'))}-row sample", t),
            (f"SMS spam, {num((t.get('sms') or {}).get('rows'))} rows", t.get("sms") or {}))
    rows = []
    for label, d in data:
        rows.append([label, num(d.get("naive_samples_per_s")), num(d.get("lab_samples_per_s")),
                     f"×{num(d.get('ratio'), 2)}", num(d.get("naive_macro_f1"), 3), num(d.get("lab_macro_f1"), 3),
                     num(d.get("lab_fit_samples_per_s")), str(d.get("lab_epochs_run")),
                     f"×{d.get('ratio_target') or 3:g}: {mark(d.get('target_met'))}"])
    windows = []
    for label, d in data:
        windows.append([label, num(d.get("lab_runs")), num(d.get("lab_wall_s"), 1), num(d.get("lab_to_first_run_s"), 1),
                        num(d.get("lab_to_first_fit_s"), 1), num(d.get("lab_warm_wall_s"), 1),
                        num(d.get("lab_warm_samples_per_s")), f"×{num(d.get('warm_ratio'), 2)}",
                        mark(d.get("warm_target_met"))])
    fits = []
    for label, d in data:
        per = d.get("bare_step_per_process") or []
        fits.append([label, num(d.get("bare_step_samples_per_s")),
                     f"{num(d.get('bare_step_samples_per_s_sum'))} ({len(per)} processes)",
                     f"×{num(d.get('bare_step_ratio'), 2)}", num(d.get("lab_fit_rate_per_run")),
                     num(d.get("fit_efficiency"), 2), mark(d.get("fit_efficiency_target_met"))])
    seeds = t.get("seeds") or []
    seed_text = f"seeds 0…{len(seeds) - 1}" if seeds else "the same seeds"
    per_slot = f": {len(seeds) // t['lab_slots']} per slot" if seeds and t.get("lab_slots") else ""
    return "\n".join([
        head, "", mode_note(results, "throughput"), "",
        table(["data", "naive samples/s", "lab samples/s", "ratio", "naive macro-F1", "lab macro-F1",
               "lab Σ per-run fit rates", "lab epochs run", "target (F1 ≥ naive − 0.01)"], rows), "",
        ("**The lab's window.** `throughput.ratio` counts from the cold worker's start at submit; "
         "`throughput.warm_ratio` from the first fit's start (target ≥ 3 on both datasets). Seconds from the "
         "worker's start:"), "",
        table(["data", "runs", "wall s (cold start → last run's end)", "to the first run's start",
               "to the first fit's start", "wall s from the first fit", "samples/s from the first fit",
               "warm ratio", "target ×3"], windows), "",
        ("**The fit against the bare step.** `throughput.fit_efficiency` = the lab's Σ trained samples ÷ Σ per-run "
         "fit seconds, ÷ the bare step's samples/s per process (target ≥ 0.8):"), "",
        table(["data", "bare step samples/s per process", "bare step Σ", "bare step Σ ÷ naive",
               "lab fit samples/s per run", "fit efficiency", "target 0.8"], fits), "",
        "- **Samples/s** = training rows × epochs ÷ wall time of the fits, summed over runs training at the same time. "
        f"*Naive*: {seed_text} one after the other in one process, Σ samples ÷ Σ `model.fit` seconds. *Lab*: Σ trained "
        "samples (rows × epochs actually run) ÷ the wall time from the cold worker's start (the moment just before "
        "its process is started, right after the submit) to the last run's end, as the store records it — so process "
        "start-up, the TensorFlow import, warm-up, encoding, the per-epoch validation, evaluation and saving all count "
        "against the lab. *From the first fit*: the same samples ÷ the time from the earliest `fit_started` of the "
        "runs' results to the last run's end (a result without `fit_started` counts from its run's start). The "
        "column *Σ per-run fit rates* is Σ (samples ÷ `fit_seconds`) of the runs, for reference.",
        f"- *Naive* = `TextVectorization` padded to one fixed length (95th percentile of training token lengths, capped "
        f"at 200: {t.get('naive_fixed_len')} tokens), `Embedding(mask_zero=True) → LSTM → Dense(softmax)`, Adam "
        f"defaults, `model.fit`, TensorFlow's default threading, batch {t.get('naive_batch')}, "
        f"{t.get('naive_epochs')} epoch(s), no early stopping; embedding/units/vocabulary/epochs from the fixed "
        "benchmark settings. Same training and test rows as the product's split for each seed "
        "(`core.data.split.make_split`), scored with `core.runs.evaluate`.",
        (f"- *Lab* = the `baseline` recipe, {seed_text} ({num(t.get('lab_runs'))} runs{per_slot}), queued in a fresh "
         "workspace (LSTM runs only, no reference runs) and trained by a cold product worker with its default slots "
         f"({num(t.get('lab_slots'))}, one per core, one TensorFlow thread each): length-grouped batches padded to a "
         "multiple of 16 tokens, early stopping on validation macro-F1 (best weights)."),
        (f"- *Bare step* (`benchmarks/bare_step.py`): the lab's own model (`core.keras.models.build_model`) trained "
         "by a `tf.function` step — `GradientTape`, `Adam(learning_rate, clipnorm=1.0)`, "
         "`SparseCategoricalCrossentropy(from_logits=True)` with sample weights of ones — on the lab's own padded "
         "batches (the seed's training rows, `fit_encoder` / `Encoder.encode`, `length_batches` + `pad`), built "
         "before the clock starts; one TensorFlow thread, no op determinism, as many processes side by side as the "
         f"lab has slots (process i: seed i); one warm-up epoch, then {num(t.get('bare_step_epochs'))} timed epoch(s) "
         "while every process is stepping. It is what one slot could do with nothing but training steps.")])


def _peak_row(label: str, d: dict) -> list[str]:
    flops = d.get("useful_flops_per_sample")
    achieved = None if flops is None or d.get("lab_samples_per_s") is None else d["lab_samples_per_s"] * flops / 1e9
    return [label, num(d.get("lab_real_tokens"), 1), num(None if flops is None else flops / 1e6, 2), num(achieved, 1),
            pct(d.get("fraction_of_peak")), pct(d.get("naive_fraction_of_peak")), num(d.get("lab_padding"), 2),
            num(d.get("naive_padding"), 2)]


def peak(results: dict) -> str:
    t = results.get("throughput")
    head = "## 2. Fraction of peak"
    if not t or not t.get("peak"):
        return head + "\n\n" + not_run("throughput")
    p = t["peak"]
    s = t.get("settings") or BENCHMARK_SETTINGS.to_json()
    rows = [_peak_row(f"clothing ({num(t.get('rows'))} rows)", t)]
    if t.get("sms"):
        rows.append(_peak_row(f"SMS ({num(t['sms'].get('rows'))} rows)", t["sms"]))
    step = p.get("lstm_step_shape", ["?", "?", "?"])
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')}" for b in p.get("blas", []))
    return "\n".join([
        head, "", mode_note(results, "throughput"), "",
        f"Peak = numpy fp32 GEMM on {p.get('n')}×{p.get('n')} matrices using every core: "
        f"**{num(p.get('peak_gflops'))} GFLOP/s** (one thread: {num(p.get('single_thread_gflops'))} GFLOP/s; BLAS: "
        f"{blas}), measured in the same invocation. Useful FLOPs per training sample = 3 × 8·h·(e+h) × real tokens "
        f"(h = {s.get('units')}, e = {s.get('embedding_dim')}, one LSTM layer, one direction). "
        f"**`throughput.fraction_of_peak` = {pct(t.get('fraction_of_peak'))}** (clothing; target ≥ 20%: "
        f"{mark(t.get('fraction_of_peak_target_met'))}; the lab's samples/s of `throughput.ratio`'s window).", "",
        table(["data", "real tokens / text", "useful MFLOP / sample", "lab GFLOP/s", "lab fraction of peak",
               "naive fraction of peak", "lab padded / real tokens", "naive padded / real tokens"], rows), "",
        "**What limits it.** An LSTM is a chain of small, dependent steps: each time step multiplies a "
        f"{step[0]}×{step[1]} batch by a {step[1]}×{step[2]} weight matrix, which one thread runs at "
        f"{num(p.get('lstm_step_gemm_gflops'))} GFLOP/s in isolation (against {num(p.get('single_thread_gflops'))} for "
        "a large GEMM), and around that multiply every step runs the gate nonlinearities, the mask and TensorFlow's "
        "per-step loop machinery, which do no counted FLOPs. The steps of one sequence cannot run in parallel, so "
        "the only parallelism is the batch and the two processes. Padding adds work that is not useful (the "
        "padded/real columns: the lab's length buckets keep it small, the naive fixed length does not). And the "
        "lab's wall time includes what is not training at all: process start-up and the TensorFlow import, "
        "encoding, a validation pass per epoch, evaluation and saving the model (section 8 times each part)."])


def experiment(results: dict) -> str:
    e = results.get("experiment")
    head = "## 3. A full experiment"
    if not e:
        return head + "\n\n" + not_run("experiment")
    return "\n".join([
        head, "", mode_note(results, "experiment"), "",
        f"{len(e.get('recipes', []))} recipes × {e.get('seeds')} seeds + the references ({num(e.get('runs'))} runs, "
        f"{num(e.get('finished'))} finished) on the {num(e.get('rows'))}-row clothing sample, fixed benchmark settings, "
        f"{e.get('slots')} slots, fresh workspace: **`experiment.wall_s` = {num(e.get('wall_s'))} s** from submit to the "
        f"last run's end, worker start-up included (target ≤ {num(e.get('target_s'))} s: {mark(e.get('target_met'))}). "
        f"The Experiment page's own estimate for it was {num(e.get('estimate_s'))} s.",
        "" if not e.get("failed_runs") else "\nRuns that did not finish: " + "; ".join(e["failed_runs"]), "",
        _defaults_line(e), "", _estimate_line(e), "",
        table(["recipe", "run seconds (sum over seeds), fixed settings", "at the defaults"],
              [[f"`{r}`", num(v, 1), num(((e.get("defaults") or {}).get("run_seconds_by_recipe") or {}).get(r), 1)]
               for r, v in (e.get("run_seconds_by_recipe") or {}).items()])])


def _estimate_line(e: dict) -> str:
    small = e.get("small")
    if small is None:
        return "_The estimate has not been checked against a small experiment yet (`experiment.estimate_ratio_small`)._"
    low, high = e.get("estimate_ratio_range") or (None, None)
    return (f"**The page's estimate against the clock** (estimate ÷ measured, target {num(low, 1)}–{num(high, 1)}: "
            f"{mark(e.get('estimate_ratio_met'))}): **`experiment.estimate_ratio` = {num(e.get('estimate_ratio'), 2)}** "
            f"for the experiment above; **`experiment.estimate_ratio_small` = {num(e.get('estimate_ratio_small'), 2)}** "
            f"for {small.get('seeds')} seeds × {len(small.get('recipes') or [])} recipes + the "
            f"references on the built-in sample ({num(small.get('rows'))} rows, product defaults): "
            f"{num(small.get('wall_s'))} s measured, {num(small.get('estimate_s'))} s estimated. The constants of "
            "`core/jobs/estimate.py` come from `scripts/calibrate_estimate.py` over the benchmark workspace.")


def _defaults_line(e: dict) -> str:
    d = e.get("defaults")
    if not d:
        return "_The same experiment at the product defaults has not been run yet (`experiment.wall_s_defaults`)._"
    s = d.get("settings") or {}
    return (f"The same recipes at the **product defaults** and the default seed count ({d.get('seeds')} seeds; "
            f"{s.get('epochs')} epochs at most, patience {s.get('patience')}, batch {s.get('batch_size')}, learning "
            f"rate {s.get('learning_rate')} {s.get('lr_schedule', 'constant')}; {num(d.get('runs'))} runs, "
            f"{num(d.get('finished'))} finished): **`experiment.wall_s_defaults` = {num(e.get('wall_s_defaults'))} s** "
            f"(target ≤ {num(e.get('target_defaults_s'))} s: {mark(e.get('target_defaults_met'))}; the page's estimate "
            f"{num(d.get('estimate_s'))} s)." + _shared_fits_line(d)
            + ("" if not d.get("failed_runs") else " Runs that did not finish: " + "; ".join(d["failed_runs"]) + "."))


def _shared_fits_line(d: dict) -> str:
    """What deciding on another recipe's model saved (``core.jobs.shared_fit``), from the run time per recipe."""
    from core.jobs.shared_fit import base_recipe

    by_recipe = d.get("run_seconds_by_recipe") or {}
    parts = [f"`{recipe}`'s runs took {num(seconds)} s in all against {num(by_recipe[base])} s for `{base}`'s"
             for recipe, seconds in by_recipe.items()
             if (base := base_recipe(recipe)) is not None and base in by_recipe]
    if not parts:
        return ""
    return (" Recipes that only tune a decision rule decide on the finished model of the recipe without it "
            "(same seed, same training; `core/jobs/shared_fit.py`): " + "; ".join(parts) + ".")


def ui(results: dict) -> str:
    u, d = results.get("ui"), results.get("data")
    head = "## 4. Pages while training, and profiling a large upload"
    if not u and not d:
        return head + "\n\n" + not_run("ui")
    lines = [head, "", mode_note(results, "ui"), ""]
    if u:
        rows = [[name, num(u[name].get("p50_ms")), num(u[name].get("p95_ms")), num(u[name].get("max_ms")),
                 num(u[name].get("loads")), num((u.get("first_load_ms") or {}).get(name))]
                for name in ("data", "compare", "compare_per_class") if isinstance(u.get(name), dict)]
        rows.append(["**all**", num(u.get("p50_ms")), num(u.get("p95_ms")), num(u.get("max_ms")), num(u.get("loads")), ""])
        lines += [
            f"**`ui.p95_ms_while_training` = {num(u.get('p95_ms_while_training'))} ms**, p50 "
            f"{num(u.get('p50_ms_while_training'))} ms (target p95 < {num(u.get('target_ms'))} ms: "
            f"{mark(u.get('target_met'))}); between {u.get('runs_training_min')} and {u.get('runs_training_max')} runs "
            f"were training during every load; {num(u.get('page_errors'))} exception boxes.", "",
            table(["page", "p50 ms", "p95 ms", "max ms", "loads", "first load ms (not counted)"], rows), "",
            "- *Full render*: from `page.goto` in a new tab (a new Streamlit session: connect, the whole page script, "
            "every element drawn) until the page's content is drawn — Data: both plotly charts' SVGs visible with their "
            "bars; Compare: the leaderboard grid's canvas visible; Compare *Per class*: the plotly chart with its bars — "
            "and Streamlit reports the script run finished (`data-test-script-state=notRunning`, connected, no "
            "skeletons). Loads alternate between the three, round-robin.",
            "- Meanwhile the product's worker trains two `baseline` runs (2 slots, one thread each) on the "
            f"{num(u.get('rows'))}-row clothing sample; Chromium (headless, fresh profile) shares the same cores. "
            "The first load of each page (the app "
            "importing it) is reported apart."]
        switch, idle = u.get("page_switch") or {}, u.get("idle") or {}
        if switch:
            rows = []
            for label, part in (("new tab, nothing training", idle.get("new_tab") or {}),
                                ("new tab, 2 runs training", u),
                                ("page switch, nothing training", idle.get("page_switch") or {}),
                                ("page switch, 2 runs training", switch)):
                for name in ("data", "compare", "compare_per_class"):
                    if isinstance(part.get(name), dict):
                        r = part[name]
                        rows.append([label, name, num(r.get("p50_ms")), num(r.get("p95_ms")), num(r.get("max_ms")),
                                     num(r.get("loads"))])
            lines += [
                "", f"**Switching pages in an open tab** (`ui.page_switch.p95_ms` = {num(switch.get('p95_ms'))} ms, "
                f"p50 {num(switch.get('p50_ms'))} ms, target < {num(u.get('target_ms'))} ms: "
                f"{mark(u.get('page_switch_target_met'))}): a click on the sidebar's *Data* or *Compare* link until "
                "the new page's content is drawn, its script run ended and no element of the previous page is left "
                "— what a user clicking through the app waits for. A tab's first switch to each page, when the "
                "browser first loads that page's chart code, is not counted (while training: "
                + ", ".join(f"{k} {num(v)} ms" for k, v in (switch.get("first_switch_ms") or {}).items())
                + "). The same renders with nothing training show what the pages cost by themselves:", "",
                table(["how", "page", "p50 ms", "p95 ms", "max ms", "loads"], rows), "",
                "Most of a new tab's time is the browser, not the app: Streamlit's frontend and its 4.7 MB plotly.js "
                "bundle are compiled again in every new tab, while an open tab has them already — compare the page-switch "
                "rows, which include the app's whole script run."]
    if d:
        lines += ["", f"**`data.profile_100k_s` = {num(d.get('profile_100k_s'), 2)} s** for {num(d.get('rows'))} rows "
                      f"({num(d.get('mb'), 1)} MB CSV; reading + validation {num(d.get('load_s'), 2)} s, profile "
                      f"{num(d.get('profile_s'), 2)} s; target < {num(d.get('target_s'))} s: {mark(d.get('target_met'))}). "
                      "The upload is the clothing reviews resampled with replacement (seed 0), so it is heavy in exact "
                      f"duplicates ({num(d.get('duplicates'))}), which the profile detects."]
    return "\n".join(lines)


def memory(results: dict) -> str:
    m = results.get("memory")
    head = "## 5. Memory"
    if not m:
        return head + "\n\n" + not_run("memory")
    return "\n".join([
        head, "", mode_note(results, "memory"), "",
        table(["process", "RSS MB", "target", ""], [
            [f"one training child (baseline, {num(m.get('rows'))}-row clothing sample)", num(m.get("worker_peak_rss_mb")),
             f"< {num(m.get('worker_target_mb'))}", mark(below(m.get("worker_peak_rss_mb"), m.get("worker_target_mb")))],
            ["Streamlit app after every page", num(m.get("app_rss_mb")), f"< {num(m.get('app_target_mb'))}",
             mark(below(m.get("app_rss_mb"), m.get("app_target_mb")))]]), "",
        f"- Training child: the larger of its `VmHWM` polled from /proc while it ran "
        f"({num(m.get('worker_polled_vmhwm_mb'))} MB) and the worker's `getrusage(RUSAGE_CHILDREN).ru_maxrss` "
        f"({num(m.get('worker_children_ru_maxrss_mb'))} MB).",
        f"- App: `VmRSS` of the `streamlit run` process after Chromium opened every page once "
        f"({', '.join(m.get('pages_visited', []))}), peak {num(m.get('app_peak_rss_mb'))} MB."])


def quality(results: dict) -> str:
    q = results.get("quality")
    head = "## 6. Quality: recipes vs references on five datasets"
    if not q:
        return head + "\n\n" + not_run("quality")
    extras = list(q.get("extra_recipes") or [])
    recipes = [canonical_recipe(r) for r in RECIPES] + extras + list(ALWAYS)
    wins, n = q.get("lstm_wins"), q.get("datasets")
    verdict = (f"**The best LSTM recipe matched or beat TF-IDF + logistic regression on {wins} of {n} datasets** — "
               + ("the target (≥ 3) is met." if q.get("target_met") else
                  f"the target (≥ 3) is **not** met: on {num((n or 0) - (wins or 0))} of them TF-IDF + logistic "
                  "regression scores a higher mean test macro-F1 than the LSTM recipe validation chose."))
    lines = [head, "", mode_note(results, "quality"), "", verdict, "",
             f"Mean ± std over {q.get('seeds')} seed(s) (std with n−1; none shown with one seed). "
             + ("★ = the LSTM recipe with the best mean **validation** macro-F1 (the last column; chosen without "
              "looking at test rows), then compared with TF-IDF + LR on test. " if q.get("chosen_by") else
              "★ = the LSTM recipe with the best mean *test* macro-F1 (these runs predate issue 16, which chooses "
              "by validation macro-F1; they stored no validation score). ")
             + "Metric definitions: docs/architecture.md."
             + ("" if q.get("baseline_std_max") is None else
                f" Baseline macro-F1 std over seeds: at most {num(q.get('baseline_std_max'), 3)} "
                f"(target ≤ {num(q.get('baseline_std_target'), 2)} on every dataset).")]
    if extras:
        lines += ["", f"Rows marked *(extra)* ({', '.join(f'`{e}`' for e in extras)}) are product strategies shown "
                      "beside the fixed recipes; they never count for ★ or the target. With them, the best LSTM "
                      f"recipe matches or beats TF-IDF + LR on {num(q.get('lstm_wins_with_extras'))} of {n} datasets."]
    for key, spec in DATASETS.items():
        d = q.get(key)
        if not isinstance(d, dict) or d.get("case"):
            continue
        metrics = QUALITY_METRICS + (("qwk",) if d.get("ordinal") else ())
        rows = []
        for recipe in recipes:
            if recipe in extras and recipe not in d:  # an extra this dataset does not run (ordinal ones)
                continue
            r = d.get(recipe) or {}
            cells = [num(r.get(f"{m}_mean"), 3) + ("" if r.get(f"{m}_std") is None else f" ± {r[f'{m}_std']:.3f}")
                     for m in metrics + ("val_macro_f1",)]
            rows.append([f"`{recipe}`" + (" *(extra)*" if recipe in extras else "")
                         + (" ★" if recipe == d.get("best_recipe") else "")] + cells)
        targets = d.get("qwk_at_least_baseline") or {}
        qwk_note = ("" if not targets else " Ordinal extras, target QWK ≥ the baseline's "
                    f"({num((d.get('baseline') or {}).get('qwk_mean'), 3)}): "
                    + ", ".join(f"`{r}` {num((d.get(r) or {}).get('qwk_mean'), 3)} {mark(ok)}" for r, ok in targets.items())
                    + ".")
        sampled = (f"stratified sample of {num(d.get('rows'))} of {num(d.get('rows_available'))} rows"
                   if d.get("sampled") else f"all {num(d.get('rows'))} rows")
        lines += ["", f"### {spec.title} (`{key}`)", "",
                  f"{sampled}, {d.get('classes')} classes; test rows: {d.get('split')}. Best LSTM recipe "
                  f"by {'validation' if q.get('chosen_by') else 'test'} `{d.get('best_recipe')}`: test macro-F1 {num(d.get('best_macro_f1'), 3)} vs TF-IDF "
                  f"+ LR {num(d.get('tfidf_macro_f1'), 3)} → `best_beats_tfidf` = {num(d.get('best_beats_tfidf'))}"
                  + ("" if not d.get("best_by_test") or d.get("best_by_test") == d.get("best_recipe") else
                     f" (choosing on test rows would have flattered `{d['best_by_test']}`, "
                     f"{num(d.get('best_by_test_macro_f1'), 3)})")
                  + ("" if d.get("baseline_std_ok") is None else
                     f"; baseline std {num(d.get('baseline_macro_f1_std'), 3)} {mark(d.get('baseline_std_ok'))}")
                  + "."
                  + qwk_note
                  + (f" Runs not finished: {'; '.join(d['failed_runs'])}." if d.get("failed_runs") else ""), "",
                  table(["recipe", *metrics, "validation macro_f1"], rows)]
    for key in CASE_RECIPES:
        if isinstance(q.get(key), dict):
            lines += ["", case_section(key, q[key])]
    lines += ["", f"{num(q.get('runs'))} runs: {num(q.get('runs_trained'))} trained in this invocation, "
                  f"{num(q.get('runs_reused'))} reused from finished runs in `benchmarks/workspace/`."]
    return "\n".join(lines)


# What the latest full run of a case showed, in words (written by hand from its table; the sentences above the
# table are written from the numbers themselves).
CASE_READING: dict[str, str] = {}


def _cell(row: dict, metric: str) -> str:
    mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
    return num(mean, 3) + ("" if std is None else f" ± {std:.3f}")


def case_comparison(d: dict, recipes: list[str]) -> list[str]:
    """Sentences from a case's numbers: the anomaly variant validation would choose against the other recipe it
    would choose and against TF-IDF + LR, on macro-F1 and on the rare class's PR-AUC."""
    def val(recipe):
        return (d.get(recipe) or {}).get("val_macro_f1_mean")

    def mean(recipe, metric):
        return (d.get(recipe) or {}).get(f"{metric}_mean")

    anomaly = [r for r in recipes if r.startswith("anomaly") and val(r) is not None]
    others = [r for r in recipes if not r.startswith("anomaly") and not r.startswith("ref:") and val(r) is not None]
    if not anomaly or not others:
        return []
    pick, rival = max(anomaly, key=val), max(others, key=val)
    best_test = max(anomaly, key=lambda r: mean(r, "macro_f1") or 0.0)
    tfidf = "ref:tfidf_lr"

    def versus(metric, label):
        a, b, t = mean(pick, metric), mean(rival, metric), mean(tfidf, metric)
        if a is None or b is None:
            return ""
        word = "above" if a > b else "below"
        return (f"{label} {num(a, 3)}, {word} `{rival}` ({num(b, 3)})"
                + ("" if t is None else f" and {'above' if a > t else 'below'} TF-IDF + LR ({num(t, 3)})"))

    said = [f"Chosen by validation macro-F1 among the anomaly variants: `{pick}` — test macro-F1 "
            + versus("macro_f1", "").strip() + "; the rare class's PR-AUC " + versus("rare_pr_auc", "").strip()
            + f", its recall {num(mean(pick, 'rare_recall'), 3)} at precision {num(mean(pick, 'rare_precision'), 3)}."
            + f" (`{rival}` is what validation chooses among the other LSTM recipes.)"]
    if best_test != pick:
        said.append(f"The best anomaly variant on test, `{best_test}` (macro-F1 {num(mean(best_test, 'macro_f1'), 3)}), "
                    "is shown for reading only: choosing it needs the test rows.")
    return said


def case_section(key: str, d: dict) -> str:
    """A case of its own (``benchmarks.CASE_RECIPES``): its recipes with the rare class's recall, precision and
    PR-AUC, ranking and calibration, sentences from the numbers, and the reading of the latest run."""
    spec = DATASETS[key]
    recipes = [r for r, row in d.items() if isinstance(row, dict) and "macro_f1_mean" in row]  # as run, in order
    rare = d.get("rare_class") or "the rare class"
    columns = [("macro_f1", "macro_f1"), ("rare_recall", f"{rare} recall"), ("rare_precision", f"{rare} precision"),
               ("rare_pr_auc", f"{rare} PR-AUC"), ("roc_auc_macro", "ROC-AUC"), ("brier", "Brier"),
               ("val_macro_f1", "validation macro_f1")]
    rows = [[f"`{r}`" + (" ★" if r == d.get("best_recipe") else "")] + [_cell(d[r], m) for m, _ in columns]
            for r in recipes]
    lines = [f"### {spec.title} (`{key}`): a case of its own", "",
             f"{num(d.get('rows'))} rows, {d.get('classes')} classes; {d.get('split')}. {rare} is "
             f"{num(100 * (d.get('rare_share') or 0), 1)}% of the rows learned from and tuned on. Its own recipes "
             "(`benchmarks.CASE_RECIPES`): the baseline, balanced class weights, the threshold tuned for the rare "
             "class's recall at a precision of at least 0.5, and anomaly detection with each detector on the LSTM's "
             "sentence features and on TF-IDF (an isolation forest on TF-IDF is refused by the strategy: texts of "
             "words the normal texts lack look typical to it). Not counted in the verdict above. ★ = the best mean "
             "validation macro-F1 (cross-fitted for the tuned rules).", "",
             table(["recipe", *(label for _, label in columns)], rows)]
    said = case_comparison(d, recipes)
    if said:
        lines += ["", " ".join(said)]
    if CASE_READING.get(key):
        lines += ["", CASE_READING[key]]
    if d.get("failed_runs"):
        lines += ["", f"Runs not finished: {'; '.join(d['failed_runs'])}."]
    return "\n".join(lines)


def protocol(results: dict) -> str:
    pr = results.get("protocol")
    head = "## 9. Training defaults: the protocol (validation rows only)"
    if not pr:
        return head + "\n\n" + not_run("protocol")
    cands = pr.get("candidates") or {}
    keys = [k for k in (pr.get("datasets") or []) if isinstance(pr.get(k), dict)]
    means, seconds = pr.get("mean_val_macro_f1") or {}, pr.get("fit_s") or {}
    lines = [head, "", mode_note(results, "protocol"), "",
             f"Each candidate trains the baseline (or the recipe named) on every dataset below at seeds "
             f"0…{(pr.get('seeds') or 1) - 1}, through the product's worker, starting from the defaults before issue "
             "16 (`BENCHMARK_SETTINGS`). **Scores are validation macro-F1 only** — the final model and decision rule "
             "on each seed's validation rows (with a split column, drawn from its training rows); no test row is "
             "read. Rule: the highest mean over datasets; a candidate within "
             f"{num(pr.get('tie'), 3)} of it that trains faster wins the tie. 95th percentile of words per text: "
             + ", ".join(f"{k} {num(v, 0)}" for k, v in (pr.get("max_len_p95") or {}).items()) + ".", ""]
    rows = []
    for name, c in cands.items():
        cells = []
        for key in keys:
            r = (pr.get(key) or {}).get(name) or {}
            value = num(r.get("val_macro_f1_mean"), 3)
            if r.get("val_macro_f1_std") is not None:
                value += f" ± {r['val_macro_f1_std']:.3f}"
            if r.get("epochs_mean") is not None:
                value += f" ({num(r['epochs_mean'], 1)} ep)"
            cells.append(value + (" =" if r.get("same_as") else ""))
        research = name in (pr.get("research") or [])
        rows.append([f"`{name}`" + (" ✔" if name == pr.get("chosen") else "") + (" (research)" if research else ""),
                     c.get("note", ""), *cells, num(means.get(name), 4), num(seconds.get(name), 1)])
    tfidf = pr.get("tfidf_val_macro_f1") or {}
    if tfidf:
        rows.append(["`ref:tfidf_lr`", "the TF-IDF + logistic regression reference on the same validation rows",
                     *[num(tfidf.get(k), 3) for k in keys], num(pr.get("mean_tfidf_val_macro_f1"), 4), ""])
    gaps = []
    for key in keys:
        scored = {n: r.get("val_macro_f1_mean") for n, r in (pr.get(key) or {}).items()
                  if r.get("val_macro_f1_mean") is not None}
        if scored and tfidf.get(key) is not None:
            name = max(scored, key=scored.get)
            gaps.append(f"{key}: `{name}` {scored[name]:.3f} vs TF-IDF {tfidf[key]:.3f} "
                        f"({scored[name] - tfidf[key]:+.3f})")
    lines += [table(["candidate", "what", *keys, "mean", "fit s / run"], rows), "",
              ("Best LSTM row per dataset on validation against TF-IDF on the same rows: " + "; ".join(gaps) + ".")
              if gaps else "", "",
              "✔ = chosen; (n ep) = mean epochs run; = : the same runs as `long_plateau` (texts shorter than the "
              f"old cap). Chosen: **`{pr.get('chosen')}`** (highest mean: `{pr.get('best')}`). Research rows train "
              "other recipes at the chosen defaults to see what could close the gap to TF-IDF on validation rows; "
              "they take no part in choosing the defaults.", "",
              "The product defaults of the code that wrote this report (`TrainSettings()`): "
              + ", ".join(f"{k} {_setting(v)}" for k, v in TrainSettings().to_json().items()) + "."]
    return "\n".join(lines)


def scaling(results: dict) -> str:
    s = results.get("scaling")
    head = "## 7. Scaling"
    if not s:
        return head + "\n\n" + not_run("scaling")
    rows = [[r.get("size"), num(r.get("rows")), num(r.get("train_rows")), num(r.get("slots")), num(r.get("runs")),
             num(r.get("wall_s"), 1), num(r.get("samples_per_s")), str(r.get("epochs_run")), num(r.get("fit_s_per_run"), 1)]
            for r in s.get("table", [])]
    return "\n".join([
        head, "", mode_note(results, "scaling"), "",
        (f"The `baseline` recipe, {s.get('seeds')} seeds, fixed benchmark settings, through the worker, one fresh workspace per "
         "row; wall = first run's start to last run's end. Sizes at 2 slots; slots 1 vs 2 at 5k (1 slot: the seeds "
         "train one after the other, each with every core; 2 slots: side by side, one thread each)."), "",
        table(["size", "rows", "train rows / run", "slots", "runs", "wall s", "samples/s", "epochs run",
               "fit s / run"], rows), "",
        f"2 slots vs 1 at 5k: ×{num(s.get('slots_speedup'), 2)} samples/s.", "",
        executors_part(s)])


def executors_part(s: dict) -> str:
    """The local and the Ray executor on the benchmark experiment, and what that says about a cluster."""
    if s.get("ray_wall_s") is None:
        return "_The executors (local vs Ray) were not measured in this run._"
    ex = s.get("executors") or {}
    rows = [[name, num(e.get("runs")), num(e.get("wall_s"), 1), num(e.get("startup_s"), 1),
             num(e.get("result_mb_per_run"), 2)] for name, e in (("local", ex.get("local") or {}),
                                                                  ("Ray", ex.get("ray") or {}))]
    per_hour = s.get("runs_per_hour") or {}
    return "\n".join([
        "### Executors: local and Ray (issue 19)", "",
        (f"The benchmark experiment of section 3 ({num(s.get('executor_rows'))} clothing reviews, fixed benchmark "
         "settings, references included), from submit to its last run, through the local executor and through Ray "
         f"(`python -m core worker --executor ray`: a Ray instance the worker starts on this machine with "
         f"{num(s.get('executor_slots'))} CPUs; its start-up is inside the window). Start-up = submit to the first "
         "run's claim; result = a finished run's folder, what it sends back and the worker writes."), "",
        table(["executor", "runs", "wall s", "start-up s", "result MB / run"], rows), "",
        (f"Ray's overhead: **{num(s.get('ray_overhead_s_per_run'), 2)} s per run** ((Ray − local) ÷ runs, start-up "
         f"included). One slot's steady state on Ray: {num(s.get('ray_slot_s_per_run'), 1)} s per run (wall less "
         "start-up, × slots ÷ runs)."), "",
        ("Estimate for the same work on two-core Ray nodes (runs per hour = 3600 × 2 × nodes ÷ that): "
         + ", ".join(f"{n} node{'s' if n != '1' else ''} ≈ {num(v)}" for n, v in per_hour.items()) + ". "
         "It holds while the cluster's CPUs are the bottleneck. What would limit it first: the one worker writes "
         f"every result ({num(s.get('result_mb_per_run'), 2)} MB: the model file, predictions, a SQLite "
         f"transaction and a rename; measured {num((s.get('worker_write_s_per_run') or 0) * 1000, 1)} ms per result, "
         f"so at most ≈{num(s.get('worker_writes_per_hour'))} runs per hour through one worker, less the time it "
         "spends claiming runs and reading progress); the results cross the network to it (the same megabytes "
         "per run); the dataset "
         f"({num(s.get('dataset_mb'), 2)} MB here) goes up once per experiment and once to each node; and every "
         "new Ray worker process imports TensorFlow (seconds) before its first run, which warm processes then "
         "amortise over `SLOT_MAX_RUNS` runs."),
    ])


PROFILE_PARTS = {  # part -> what it is (benchmarks/fit_profile.py)
    "startup": "process start-up (interpreter, until the child's first statement)",
    "import_tensorflow": "`import tensorflow, keras`",
    "import_product": "the product modules a run needs",
    "split": "`core.data.split.make_split`",
    "encoder": "fitting the encoder, and every `Encoder.encode` (training, validation, test rows)",
    "model_build": "building (and compiling) the model",
    "first_epoch": "the first epoch's training, tracing included",
    "later_epochs": "the other epochs' training",
    "validation": "the per-epoch validation passes",
    "fit_other": "the rest of the fit: batches and padding set up, optimizer, early stopping, best weights",
    "predict": "outputs on validation (decision rule) and test rows after the fit",
    "evaluate": "`core.runs.evaluate.evaluate` (the metrics)",
    "save": "`model.save(model.keras)`",
    "other": "the pipeline around the trainer (weights, decision rule, seeding)",
}


def fit_profile(results: dict) -> str:
    f = results.get("fit_profile")
    head = "## 8. Fit profile: where one run's time goes"
    if not f:
        return head + "\n\n" + not_run("fit_profile")
    parts = f.get("parts") or list(PROFILE_PARTS)
    before = f.get("before") or {}  # the same profile of the code before issue 15 (see the note below the table)
    rows = [[f"`{p}`"] + ([num(before.get(f"{p}_s"), 2), pct(before.get(f"{p}_share"))] if before else [])
            + [num(f.get(f"{p}_s"), 2), pct(f.get(f"{p}_share")), PROFILE_PARTS.get(p, "")] for p in parts]
    rows.append(["**total**"] + ([num(before.get("total_s"), 2), pct(1.0)] if before else [])
                + [num(f.get("total_s"), 2), pct(1.0 if f.get("total_s") else None), ""])
    columns = ["part"] + (["before: seconds", "before: share"] if before else []) + ["seconds", "share", "what"]
    fit_parts = ("model_build", "first_epoch", "later_epochs", "validation", "fit_other")
    outside = sum(f.get(f"{p}_share") or 0.0 for p in parts if p not in fit_parts + ("encoder",))
    epochs = ", ".join(num(v, 2) for v in f.get("epoch_train_s") or [])
    vals = ", ".join(num(v, 2) for v in f.get("epoch_val_s") or [])
    code = f"commit {str(f.get('core_commit') or '?')[:10]}" + (
        " with uncommitted changes in `core/`" if f.get("core_modified") else "")
    return "\n".join([
        head, "", mode_note(results, "fit_profile"), "",
        (f"One `baseline` run, seed {f.get('seed')}, on the {num(f.get('rows'))}-row clothing sample "
         f"({num(f.get('train_rows'))} training rows) at the fixed benchmark settings, {f.get('threads')} TensorFlow "
         f"thread(s), in one fresh process running the product's own pieces (`make_split`, `run_recipe` with "
         "`KerasTrainer`, `evaluate`, `model.save`) with timers around them (`benchmarks/fit_profile.py`). "
         f"{num(f.get('epochs_run'))} epoch(s) run; macro-F1 {num(f.get('macro_f1'), 3)}. Code profiled: {code}."), "",
        table(columns, rows), "",
        (f"- Training epochs alone: {num(f.get('epoch_samples_per_s'))} samples/s (first epoch included; later epochs "
         f"{num(f.get('later_epoch_samples_per_s'))}/s). Per epoch, training s: {epochs or '—'}; validation s: "
         f"{vals or '—'} (from {f.get('epoch_times_from')})."),
        (f"- Outside the fit and encoding (start-up, imports, split, prediction, metrics, saving, pipeline): "
         f"{pct(outside)} of the run. The shared CSV's loading and sampling ({num(f.get('data_load_s'), 2)} s) is not a "
         "part: a run gets its data from the store."),
        ("- Before/after: the same profile runs against another checkout (`PYTHONPATH=<checkout> python "
         "benchmarks/fit_profile.py --out FILE`; see the module's docstring)"
         + (f"; the *before* columns profiled commit {str(before.get('core_commit') or '?')[:10]} (Keras `model.fit` "
            "on a generator-fed `tf.data` pipeline, Keras's step-by-step LSTM, a fresh process per run), "
            f"macro-F1 {num(before.get('macro_f1'), 3)}, in the same session on the same machine."
            if before else "."))])


def write_report(out: Path, results: dict) -> Path:
    extras = list((results.get("quality") or {}).get("extra_recipes") or [])
    recipes = [canonical_recipe(r) for r in RECIPES] + extras + list(ALWAYS)
    figures = write_figures(out, results, recipes)
    parts = [header(results, figures), targets(results), machine(results), provenance(results), how_to_run(),
             recipes_section(results), datasets_section(results), throughput(results), peak(results),
             experiment(results), ui(results), memory(results), quality(results), scaling(results),
             fit_profile(results), protocol(results)]
    if THROUGHPUT in figures or QUALITY in figures:
        parts.append("## Figures\n\n" + "\n".join(f"- [{name}]({path})" for name, path in figures.items()))
    path = out / "BENCHMARKS.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path

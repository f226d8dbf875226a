"""Command line: everything the app does, scriptable without Streamlit.

    python -m core profile FILE --text-col T --label-col L
    python -m core train FILE --text-col T --label-col L [--seeds N] [--recipe R ...] [--sweep S=A|B ...]
    python -m core experiment run (SPEC.toml | FILE --text-col ...) [--no-wait]
    python -m core experiment show ID [--sort-by METRIC] | list
    python -m core experiment add-seeds ID --to N [--no-wait]
    python -m core worker [--slots N] [--executor local|ray] [--ray-address ADDR]
    python -m core predict BUNDLE FILE [--text-col T]
    python -m core export EXPERIMENT RECIPE OUT.zip
    python -m core runs cancel|requeue RUN_ID
    python -m core strategies

Errors a user can cause print one clear message and exit with code 2.

One module on purpose (a little over 400 lines): the parser and each command's
handler are thin calls into ``core``, and reading them side by side is how one
checks that every command exists and takes the same flags as the app.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path

from core.data.dataset import ColumnChoice
from core.errors import InputError
from core.jobs.executors import EXECUTORS
from core.settings import PROJECT_ROOT, get_settings

EXIT_INPUT = 2


def _add_data_args(p: argparse.ArgumentParser, *, file_required: bool = True) -> None:
    p.add_argument("file", nargs=None if file_required else "?", help="CSV, TSV, XLSX, Parquet or JSON Lines file")
    p.add_argument("--text-col", help="column holding the texts (default: suggested)")
    p.add_argument("--label-col", help="column holding the labels (default: suggested)")
    p.add_argument("--ordinal-order", help="labels are ordinal, low to high, comma-separated (e.g. 1,2,3,4,5)")
    p.add_argument("--target-col", help="optional continuous target column (e.g. an intensity score)")
    p.add_argument("--split-col", help="optional column with train/test values")
    p.add_argument("--encoding", help="override the detected text encoding")
    p.add_argument("--normalise-labels", action="store_true", help="merge labels differing only by case/whitespace")


def _add_experiment_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", action="append", default=[], help='a recipe, e.g. "focal(gamma=2)+bidirectional"; '
                                                                 "repeat for each recipe to compare")
    p.add_argument("--seeds", type=int, help="number of seeds (default: IMBALANCE_LAB_DEFAULT_SEEDS, 5)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--vocab-size", type=int)
    p.add_argument("--max-len", type=int)
    p.add_argument("--units", type=int)
    p.add_argument("--embedding-dim", type=int)
    p.add_argument("--sweep", action="append", default=[], metavar="SETTING=A|B",
                   help='sweep a training setting over every recipe, e.g. --sweep "learning_rate=0.001|0.003" '
                        "(learning_rate, units, embedding_dim, epochs, batch_size; repeat for more settings); "
                        'strategy parameters sweep inside a recipe: --recipe "focal(gamma=0.5|1|2)"')
    p.add_argument("--name", default="", help="experiment name")
    p.add_argument("--no-wait", action="store_true", help="submit and return at once")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Imbalance Lab command line")
    parser.add_argument("--workspace", help="workspace folder (default: $IMBALANCE_LAB_WORKSPACE or ./workspace)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profile", help="validate a file and print its class profile")
    _add_data_args(p)

    p = sub.add_parser("train", help="train recipes (baseline + references always) and print the comparison")
    _add_data_args(p)
    _add_experiment_args(p)

    exp = sub.add_parser("experiment", help="experiments: run, show, list")
    exp_sub = exp.add_subparsers(dest="action", required=True)
    p = exp_sub.add_parser("run", help="submit an experiment from a TOML spec or a data file with flags")
    _add_data_args(p)
    _add_experiment_args(p)
    p = exp_sub.add_parser("show", help="print an experiment's verdict and comparison table")
    p.add_argument("experiment_id", type=int)
    p.add_argument("--sort-by", default="macro_f1", help="headline metric to rank recipes by (default macro_f1)")
    p = exp_sub.add_parser("add-seeds", help="bring every recipe of an experiment to N seeds (finished runs reused)")
    p.add_argument("experiment_id", type=int)
    p.add_argument("--to", type=int, required=True, help="the seed count to reach")
    p.add_argument("--no-wait", action="store_true", help="queue the runs and return at once")
    exp_sub.add_parser("list", help="list experiments")

    p = sub.add_parser("worker", help="run the training worker service for the workspace")
    p.add_argument("--slots", type=int, help="parallel training processes (default: number of cores); with "
                   "--executor ray, runs in flight at most (default: the cluster's CPUs)")
    p.add_argument("--until-idle", action="store_true", help="exit when nothing is queued or running")
    p.add_argument("--executor", choices=EXECUTORS, help="where runs train: local processes, or Ray tasks (needs "
                   "requirements-ray.txt; default: IMBALANCE_LAB_EXECUTOR, else local)")
    p.add_argument("--ray-address", help="with --executor ray: the cluster to join (HOST:PORT of its head, or auto; "
                   "default: IMBALANCE_LAB_RAY_ADDRESS, else a Ray instance started on this machine)")

    p = sub.add_parser("predict", help="predict texts in FILE with an exported bundle")
    p.add_argument("bundle")
    p.add_argument("file")
    p.add_argument("--text-col")
    p.add_argument("--out", help="write predictions to this CSV (default: print)")

    p = sub.add_parser("export", help="export a recipe's models as one bundle")
    p.add_argument("experiment_id", type=int)
    p.add_argument("recipe")
    p.add_argument("out")

    p = sub.add_parser("runs", help="cancel or re-queue a run")
    p.add_argument("action", choices=["cancel", "requeue", "list"])
    p.add_argument("run_id", type=int, nargs="?")

    sub.add_parser("strategies", help="list every strategy and its parameters")
    return parser


def _choice(args, table) -> ColumnChoice:
    from core.data.columns import suggest_columns

    text_col, label_col = args.text_col, args.label_col
    if not text_col or not label_col:
        guess_text, guess_label = suggest_columns(table.frame)
        text_col, label_col = text_col or guess_text, label_col or guess_label
    if not text_col or not label_col:
        raise InputError(f"could not guess the text and label columns; pass --text-col and --label-col "
                         f"(columns: {', '.join(map(str, table.frame.columns))}).", source=table.source)
    order = tuple(x.strip() for x in args.ordinal_order.split(",")) if args.ordinal_order else None
    return ColumnChoice(text=text_col, label=label_col, ordinal_order=order, target=args.target_col,
                        split=args.split_col, normalise_labels=args.normalise_labels)


def _load(args, settings):
    from core.data.readers import read_table
    from core.data.validation import to_labeled_texts

    table = read_table(args.file, encoding=args.encoding, settings=settings)
    data = to_labeled_texts(table, _choice(args, table), settings=settings)
    for warning in data.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return table, data


def cmd_profile(args, settings) -> int:
    from core.data.profile import compute_profile, format_profile

    _, data = _load(args, settings)
    print(format_profile(compute_profile(data)))
    return 0


def _spec_from_args(args, dataset_id: str, settings):
    from core.jobs.experiments import ExperimentSpec
    from core.settings import TrainSettings

    overrides = {k: getattr(args, k) for k in ("epochs", "batch_size", "vocab_size", "max_len", "units",
                                               "embedding_dim") if getattr(args, k, None) is not None}
    return ExperimentSpec(dataset_id=dataset_id, recipes=_with_sweeps(tuple(args.recipe) or ("baseline",), args),
                          seeds=args.seeds or settings.default_seeds, settings=TrainSettings(**overrides),
                          test_share=settings.test_share, validation_share=settings.validation_share, name=args.name)


def _with_sweeps(recipes: tuple[str, ...], args, swept: dict | None = None) -> tuple[str, ...]:
    """``recipes`` with the settings sweeps of ``--sweep`` flags (and a spec file's, ``swept``) added to every one,
    the baseline included; a setting swept twice is refused."""
    from core.strategies.sweeps import parse_settings_sweep, with_settings_sweep

    sweep = dict(swept or {})
    for flag in getattr(args, "sweep", None) or []:
        for key, value in parse_settings_sweep(flag, where=f"--sweep {flag}").items():
            if key in sweep:
                raise InputError(f"--sweep {flag}: {key} is swept twice; give its values once.")
            sweep[key] = value
    return with_settings_sweep(recipes, sweep)


def _training_sweep(training: dict, where: str) -> tuple[dict, dict]:
    """A spec file's [training] split into plain settings and settings sweeps: a string holding '|' is a sweep
    (``learning_rate = "0.001|0.003"``); an array is a list value, never a sweep."""
    from core.strategies.sweeps import settings_sweep

    swept = {k: v for k, v in training.items() if isinstance(v, str) and "|" in v}
    return {k: v for k, v in training.items() if k not in swept}, settings_sweep(swept, where=where)


def _spec_from_toml(path: Path, store, settings, args):
    """A TOML spec: [data] file/text_col/label_col/…, [training] settings (a string
    such as "0.001|0.003" sweeps one), seeds, and [[recipes]] entries (a list of
    {name=..., params...} under `steps`, or a `recipe = "..."` string)."""
    from core.jobs.experiments import ExperimentSpec
    from core.runs.references import ALWAYS, REFERENCES
    from core.settings import TrainSettings
    from core.strategies.recipe import Recipe

    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}. Fix the spec file.", source=path.name) from None
    data_section = spec.get("data", {})
    if "file" not in data_section:
        raise InputError("the spec needs a [data] section with file = \"...\".", source=path.name)
    data_args = argparse.Namespace(
        file=str((path.parent / data_section["file"]).resolve()) if not os.path.isabs(data_section["file"])
        else data_section["file"], text_col=data_section.get("text_col"), label_col=data_section.get("label_col"),
        ordinal_order=",".join(map(str, data_section["ordinal_order"])) if data_section.get("ordinal_order") else None,
        target_col=data_section.get("target_col"), split_col=data_section.get("split_col"),
        encoding=data_section.get("encoding"), normalise_labels=bool(data_section.get("normalise_labels", False)))
    table, data = _load(data_args, settings)
    dataset_id = store.add_dataset(data, name=table.source)
    recipes = []
    for entry in spec.get("recipes", []):
        if "recipe" in entry:
            recipes.append(str(entry["recipe"]))
        else:
            recipes.append(Recipe.from_json(entry.get("steps", [])).text())
    recipes += list(args.recipe)
    training, swept = _training_sweep(spec.get("training", {}), where=f"{path}: [training]")
    references = spec.get("references", list(ALWAYS))
    unknown = [r for r in references if r not in REFERENCES]
    if unknown:
        raise InputError(f"unknown references {', '.join(map(str, unknown))}; the references are "
                         f"{', '.join(REFERENCES)}.", source=path.name)
    return ExperimentSpec(dataset_id=dataset_id, recipes=_with_sweeps(tuple(recipes) or ("baseline",), args, swept),
                          seeds=int(spec.get("seeds", args.seeds or settings.default_seeds)),
                          settings=TrainSettings.from_user(training, where=f"{path}: [training]"),
                          test_share=float(spec.get("test_share", settings.test_share)),
                          validation_share=float(spec.get("validation_share", settings.validation_share)),
                          references=tuple(references), name=str(spec.get("name", args.name)))


def _ensure_worker_for_cli(store, settings, *, detached: bool):
    """Make sure a worker serves the queue. Waiting: a worker of this command's
    own that exits when the queue is empty. Not waiting: a detached service
    (unless auto-start is off)."""
    import subprocess

    from core.jobs.lease import ensure_worker, lease_holder

    if lease_holder(store, settings.stale_after_s):
        return None
    if detached:
        if not settings.no_autostart:
            ensure_worker(store.root, settings)
        else:
            print("no worker is running: start one with `python -m core worker`", file=sys.stderr)
        return None
    return subprocess.Popen([sys.executable, "-m", "core", "--workspace", str(store.root), "worker", "--until-idle"],
                            cwd=PROJECT_ROOT)


def _wait(store, experiment_id: int) -> None:
    from core.jobs.progress import run_progress
    from core.jobs.records import Status

    tty = sys.stderr.isatty()
    last_line = ""
    while True:
        runs = store.runs(experiment=experiment_id)
        counts: dict[str, int] = {}
        for r in runs:
            counts[r.status.value] = counts.get(r.status.value, 0) + 1
        detail = "; ".join(f"{r.recipe} s{r.seed} {text}" for r in runs
                           if r.status is Status.RUNNING and (text := run_progress(r).text))
        done = sum(r.status.ended for r in runs)
        line = f"[{done}/{len(runs)} done] " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        line += f" | {detail}" if detail else ""
        if line != last_line:
            print(("\r" + line[:150].ljust(150)) if tty else line, end="" if tty else "\n", file=sys.stderr,
                  flush=True)
            last_line = line
        if done == len(runs):
            if tty:
                print(file=sys.stderr)
            return
        time.sleep(1.0)


def _show(store, experiment_id: int, sort_by: str = "macro_f1") -> None:
    from core.jobs.records import Status
    from core.results.experiment_results import experiment_results, per_class_text
    from core.results.leaderboard import build_leaderboard
    from core.results.sweeps import sweep_views, sweeps_text
    from core.results.verdict import verdict

    results = experiment_results(store, experiment_id)
    exp = results.experiment
    print(f"experiment {experiment_id}: {exp['name']} (dataset {exp['dataset_id']})")
    if sort_by not in results.headline_metrics():
        raise InputError(f"--sort-by {sort_by}: not a headline metric of this experiment; choose one of "
                         f"{', '.join(results.headline_metrics())}.")
    board = build_leaderboard(results, sort_by=sort_by)
    print("\n".join(verdict(board)))
    print()
    print(board.text())
    print()
    if sweeps := sweeps_text(sweep_views(results, board, board.sort_by)):
        print(sweeps)
        print()
    print(per_class_text(results, "recall"))
    failed = results.runs[results.runs["status"].isin([Status.FAILED, Status.INTERRUPTED, Status.CANCELLED])]
    for row in failed.itertuples():
        print(f"run {row.id} ({row.recipe}, seed {row.seed}) {row.status}"
              + (f": {row.error}" if isinstance(row.error, str) else ""))


def cmd_add_seeds(args, settings) -> int:
    from core.jobs.experiments import add_seeds
    from core.jobs.store import Store

    store = Store(settings.workspace)
    added = add_seeds(store, args.experiment_id, args.to)
    print(f"experiment {args.experiment_id}: {added} runs added to reach {args.to} seeds", file=sys.stderr)
    if args.no_wait:
        _ensure_worker_for_cli(store, settings, detached=True)
        return 0
    helper = _ensure_worker_for_cli(store, settings, detached=False)
    try:
        _wait(store, args.experiment_id)
    finally:
        if helper is not None:
            helper.terminate()
            helper.wait(timeout=60)
    _show(store, args.experiment_id)
    return 0


def cmd_experiment_run(args, settings) -> int:
    from core.jobs.experiments import submit
    from core.jobs.store import Store

    store = Store(settings.workspace)
    if args.file and args.file.endswith(".toml"):
        spec = _spec_from_toml(Path(args.file), store, settings, args)
    else:
        if not args.file:
            raise InputError("give a data file (with --text-col/--label-col) or a .toml spec.")
        table, data = _load(args, settings)
        spec = _spec_from_args(args, store.add_dataset(data, name=table.source), settings)
    from core.jobs.experiments import validate

    validate(store, spec)  # refused (bad recipe, labels a recipe cannot take) before the plan is printed
    _say_plan(store, spec, settings)
    experiment_id = submit(store, spec)
    n_runs = len(store.runs(experiment=experiment_id))
    print(f"experiment {experiment_id} submitted: {n_runs} runs in {store.root}", file=sys.stderr)
    if args.no_wait:
        _ensure_worker_for_cli(store, settings, detached=True)
        print(experiment_id)
        return 0
    helper = _ensure_worker_for_cli(store, settings, detached=False)
    try:
        _wait(store, experiment_id)
    finally:
        if helper is not None:
            helper.terminate()
            helper.wait(timeout=60)
    _show(store, experiment_id)
    return 0


def _say_plan(store, spec, settings) -> None:
    """Before submitting: the runs the experiment makes, each sweep's share, and how long it should take here
    (a sweep above the cap is refused here, with its size and the cap)."""
    from dataclasses import replace

    from core.data.wording import plural
    from core.jobs.estimate import DataShape, estimate, sweeps_in_words
    from core.jobs.experiments import expand_sweeps
    from core.runs.references import ALWAYS

    planned = expand_sweeps(replace(spec, references=tuple(dict.fromkeys(ALWAYS + tuple(spec.references)))))
    guess = estimate(planned, DataShape.of(store.load_dataset(spec.dataset_id)), slots=settings.slots)
    for line in sweeps_in_words(planned, guess):
        print(line.replace("`", ""), file=sys.stderr)
    print(f"{plural(len(planned.recipes), 'recipe')} + {plural(len(planned.references), 'reference')} × "
          f"{plural(planned.seeds, 'seed')}: {guess.in_words()} on {plural(guess.slots, 'slot')}", file=sys.stderr)


def cmd_worker(args, settings) -> int:
    from dataclasses import replace

    from core.jobs.executors import check_executor, where_runs_train
    from core.jobs.worker import run_worker

    settings = replace(settings, executor=args.executor or settings.executor,
                       ray_address=args.ray_address if args.ray_address is not None else settings.ray_address,
                       worker_slots=args.slots or settings.worker_slots)
    check_executor(settings.executor)
    print(f"worker serving {settings.workspace.resolve()} (Ctrl+C to stop). {where_runs_train(settings)}",
          file=sys.stderr)
    run_worker(settings.workspace, slots=args.slots, until_idle=args.until_idle, executor=settings.executor,
               ray_address=settings.ray_address)
    return 0


def cmd_predict(args, settings) -> int:
    import pandas as pd

    from core.data.columns import suggest_columns
    from core.data.readers import read_table
    from core.jobs.predict_service import load_bundle, predict_recipe

    table = read_table(args.file, settings=settings)
    text_col = args.text_col or suggest_columns(table.frame)[0]
    if text_col not in table.frame.columns:
        raise InputError(f"no column {text_col!r}; columns: {', '.join(map(str, table.frame.columns))}. "
                         "Pass --text-col.", source=table.source)
    texts = table.frame[text_col].fillna("").astype(str).tolist()
    recipe = load_bundle(args.bundle)
    answer = predict_recipe(recipe, texts)
    out = pd.DataFrame({"text": texts, "predicted": answer["predicted"]})
    for j, cls in enumerate(answer["classes"]):
        out[f"p_{cls}"] = [row[j] for row in answer["proba"]]
    if args.out:
        from core.results.report import safe_csv

        Path(args.out).write_text(safe_csv(out), encoding="utf-8")
        print(f"wrote {len(out)} predictions to {args.out}", file=sys.stderr)
    else:
        print(out.to_string(index=False, max_colwidth=60))
    return 0


def cmd_export(args, settings) -> int:
    from core.jobs.predictions import export_bundle
    from core.jobs.store import Store

    path = export_bundle(Store(settings.workspace), args.experiment_id, args.recipe, args.out)
    print(f"wrote {path}")
    return 0


def cmd_runs(args, settings) -> int:
    from core.jobs.store import Store

    store = Store(settings.workspace)
    if args.action == "list":
        for r in store.runs():
            print(f"{r.id:5d}  exp {r.experiment_id:3d}  {r.status:11s}  seed {r.seed}  {r.recipe}")
        return 0
    if args.run_id is None:
        raise InputError(f"runs {args.action} needs a RUN_ID (see `python -m core runs list`).")
    if args.action == "cancel":
        print(store.cancel(args.run_id))
    else:
        print("queued" if store.requeue(args.run_id) else "not re-queued: only interrupted, failed or cancelled "
                                                           "runs can be re-queued")
    return 0


def cmd_strategies(args, settings) -> int:
    from core.strategies.registry import strategy_infos

    for info in strategy_infos():
        print(f"{info.name}  [{info.family}]  {info.label}{'  (ordinal labels)' if info.needs_ordinal else ''}")
        print(f"    {info.help}")
        for p in info.params:
            rng = f" range {p.min}…{p.max}" if p.min is not None else ""
            choices = f" one of {', '.join(p.choices)}" if p.choices else ""
            print(f"    {p.name}={json.dumps(p.default)} ({p.kind}{rng}{choices}): {p.help}")
    return 0


# Commands whose process (or its training and prediction processes) loads TensorFlow: its routine logging,
# which TF_CPP_MIN_LOG_LEVEL no longer silences, is left out of their standard error.
TENSORFLOW_COMMANDS = frozenset({"worker", "predict"})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings(workspace=args.workspace)
    handlers = {"profile": cmd_profile, "train": cmd_experiment_run, "worker": cmd_worker, "predict": cmd_predict,
                "export": cmd_export, "runs": cmd_runs, "strategies": cmd_strategies}
    try:
        if args.command == "experiment":
            if args.action == "run":
                return cmd_experiment_run(args, settings)
            if args.action == "add-seeds":
                return cmd_add_seeds(args, settings)
            from core.jobs.store import Store

            store = Store(settings.workspace)
            if args.action == "show":
                _show(store, args.experiment_id, args.sort_by)
            else:
                for e in store.experiments():
                    print(f"{e['id']:4d}  {e['name']}  dataset {e['dataset_id']}")
            return 0
        if args.command in TENSORFLOW_COMMANDS:
            from core.jobs.processes import tensorflow_logs_left_out

            with tensorflow_logs_left_out():
                return handlers[args.command](args, settings)
        return handlers[args.command](args, settings)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

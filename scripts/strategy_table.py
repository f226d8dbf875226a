"""Every strategy of the registry on real data: the table of issue #4.

Trains each recipe (the registry's strategies with their defaults, plus two
combinations) for 3 seeds on a stratified 5,000-row sample of the clothing
reviews (stars 1–5, ordinal) and on the whole SMS spam collection, through the
product's own queue and worker, and prints mean ± std over seeds of macro-F1,
balanced accuracy, minority recall and worst-class recall next to the baseline
and the references. Finished runs are reused on a second call (fingerprints).

    .venv/bin/python scripts/strategy_table.py [--datasets ../shared/datasets] [--workspace DIR] [--seeds 3]
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import datasets  # noqa: E402
from core.data.split import SplitSpec, make_split  # noqa: E402
from core.jobs.experiments import ExperimentSpec, submit  # noqa: E402
from core.jobs.records import Status  # noqa: E402
from core.jobs.store import Store  # noqa: E402
from core.jobs.worker import run_worker  # noqa: E402
from core.results.experiment_results import experiment_results  # noqa: E402
from core.jobs.run_files import load_result  # noqa: E402
from core.runs.references import ALWAYS  # noqa: E402
from core.strategies.registry import strategy_infos  # noqa: E402

METRICS = ("macro_f1", "balanced_accuracy", "minority_recall", "worst_class_recall")
EXTRA = ("class_weight(scheme=effective,beta=0.999)", "class_weight(scheme=inverse_sqrt)",
         "focal(gamma=2)+bidirectional", "random_oversample+threshold")
MERGES = {"clothing_stars": 'merge(mapping={"1":"1-2","2":"1-2"})', "sms_spam": None}
SAMPLES = {"clothing_stars": 5_000, "sms_spam": None}


def recipes_for(key: str, ordinal: bool) -> list[str]:
    names = [i.name for i in strategy_infos() if i.name != "merge" and (ordinal or not i.needs_ordinal)]
    return ["baseline", *names, *EXTRA, *([MERGES[key]] if MERGES[key] else [])]


@functools.lru_cache(maxsize=None)
def split_train_labels(store: Store, dataset_id: str, seed: int, test_share: float,
                       validation_share: float) -> tuple[str, ...]:
    """The labels of a seed's training split (every recipe at that seed shares it)."""
    data = store.load_dataset(dataset_id)
    split = make_split(data, SplitSpec(seed=seed, test_share=test_share, validation_share=validation_share))
    return tuple(data.classes[i] for i in data.y[split.train])


def rarest_class(store: Store, run) -> str:
    """The class with the fewest rows in the run's training split (after a
    merge's relabelling; ties by label order): whose recall minority_recall is.
    Runs stored before RESULTS_VERSION 2 measured minority_recall on the
    resampled rows, so the table recomputes it from the per-class recalls."""
    result = load_result(store, run.result_dir)
    classes = result["classes"]
    counts = result.get("split_class_counts")
    if counts is None:
        spec = store.experiment(run.experiment_id)["spec"]
        names = split_train_labels(store, result["dataset_id"], run.seed, spec["test_share"], spec["validation_share"])
        merged = result.get("merge_map") or {}
        names = [merged.get(n, n) for n in names]
        counts = [names.count(c) for c in classes]
    return classes[min(range(len(classes)), key=lambda i: (counts[i], i))]


def table(store: Store, experiment_id: int) -> str:
    results = experiment_results(store, experiment_id)
    scores = results.scores()
    scores["minority_recall"] = {}
    for run in store.runs(experiment=experiment_id, status=Status.FINISHED):
        rarest = rarest_class(store, run)
        recall = results.scores(f"class:{rarest}")["recall"][run.recipe][run.seed]
        scores["minority_recall"].setdefault(run.recipe, {})[run.seed] = recall
    header = "| recipe | " + " | ".join(METRICS) + " |"
    lines = [header, "|" + "---|" * (len(METRICS) + 1)]
    for recipe in results.recipes:
        cells = []
        for metric in METRICS:
            values = list(scores.get(metric, {}).get(recipe, {}).values())
            if not values:
                cells.append("–")
                continue
            mean = sum(values) / len(values)
            std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
            cells.append(f"{mean:.3f} ± {std:.3f}")
        lines.append(f"| {recipe} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--workspace", default=str(ROOT / "workspace-strategy-table"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SAMPLES), help="one dataset only")
    parser.add_argument("--tables-only", action="store_true",
                        help="print the tables of the experiments already in the workspace; train nothing")
    args = parser.parse_args()
    store = Store(args.workspace)
    if args.tables_only:
        for experiment in reversed(store.experiments()):
            print(f"\n### {experiment['name']}\n\n{table(store, experiment['id'])}", flush=True)
        return
    for key, rows in SAMPLES.items():
        if args.only and key != args.only:
            continue
        data = datasets.stratified_sample(datasets.load(key, args.datasets), rows)
        dataset_id = store.add_dataset(data, name=data.name)
        spec = ExperimentSpec(dataset_id=dataset_id, recipes=tuple(recipes_for(key, data.ordinal)), seeds=args.seeds,
                              references=(*ALWAYS, "ref:tfidf_smote"), name=f"strategy table: {key}")
        experiment_id = submit(store, spec)
        run_worker(store.root, until_idle=True)
        failed = [r for r in store.runs(experiment=experiment_id) if r.status is not Status.FINISHED]
        print(f"\n### {data.name} ({len(data):,} rows; {len(failed)} runs not finished)\n", flush=True)
        for run in failed:
            print(f"- {run.recipe} seed {run.seed}: {run.status} {run.error or ''}")
        print(table(store, experiment_id), flush=True)


if __name__ == "__main__":
    main()

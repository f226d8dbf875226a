"""An experiment written as a spec file for the CLI (``python -m core experiment run SPEC.toml``).

The Experiment page offers it as a download, so an experiment set up by
clicking can be re-run, scripted or varied from a shell. The ``[data]``
section points at the workspace's stored copy of the dataset (Parquet, with
the columns ``text``, ``label`` and, where the dataset has them, ``target`` and
``part``), so the file runs as it is on this machine; a comment says how to
point it at the original upload instead."""

from __future__ import annotations

import tomli_w

from core.jobs.experiments import ExperimentSpec
from core.jobs.store import Store


def spec_toml(store: Store, experiment_id: int) -> str:
    """The experiment's spec as TOML the CLI reads back to the same recipes, seeds, settings and references."""
    experiment = store.experiment(experiment_id)
    spec = ExperimentSpec.from_json(experiment["spec"])
    info = store.dataset_info(spec.dataset_id)
    data: dict = {"file": str((store.root / "datasets" / f"{spec.dataset_id}.parquet").resolve()),
                  "text_col": "text", "label_col": "label"}
    if info["ordinal"]:
        data["ordinal_order"] = list(info["classes"])
    if info["has_target"]:
        data["target_col"] = "target"
    if info["has_split"]:
        data["split_col"] = "part"
    document = {
        "name": experiment["name"], "seeds": spec.seeds,
        "test_share": spec.test_share, "validation_share": spec.validation_share,
        "references": list(spec.references),
        "data": data,
        "training": {k: v for k, v in spec.settings.to_json().items() if v is not None},
        "recipes": [{"recipe": r} for r in spec.recipes_as_written()],  # a sweep as its source: it expands again
    }
    head = (f"# Experiment #{experiment_id} \"{experiment['name']}\" on \"{info['name']}\", as a spec file.\n"
            "# Run it with:  .venv/bin/python -m core experiment run THIS_FILE.toml\n"
            "# [data] file is this workspace's stored copy of the dataset; to start from your original file, set\n"
            "# file, text_col and label_col (and ordinal_order, target_col, split_col) to its names.\n")
    return head + tomli_w.dumps(document)

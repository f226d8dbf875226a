"""Adding seeds to an existing experiment: every recipe and reference gets the
missing seeds' runs, identical finished runs are reused by fingerprint, and the
experiment's seed count follows (CLI ``experiment add-seeds`` and core)."""

from __future__ import annotations

import pytest

from core import cli
from core.errors import InputError
from core.jobs.experiments import ExperimentSpec, add_seeds, submit
from core.jobs.records import Status
from core.jobs.store import Store


def test_add_seeds_queues_the_missing_seeds_of_every_recipe_and_reference(filled_copy):
    store = Store(filled_copy["root"])
    experiment_id = filled_copy["experiment_id"]
    before = store.runs(experiment=experiment_id)
    added = add_seeds(store, experiment_id, 3)
    after = store.runs(experiment=experiment_id)
    new = [r for r in after if r.id not in {b.id for b in before}]
    assert added == len(new) == 5  # baseline, class_weight and the three references, seed 2 each
    assert {r.seed for r in new} == {2} and {r.status for r in new} == {Status.QUEUED}
    assert {r.recipe for r in new} == {r.recipe for r in before}
    assert store.experiment(experiment_id)["spec"]["seeds"] == 3


def test_added_seeds_reuse_identical_finished_runs(filled_copy):
    store = Store(filled_copy["root"])
    source = ExperimentSpec.from_json(store.experiment(filled_copy["experiment_id"])["spec"])
    smaller = submit(store, ExperimentSpec(**{**source.__dict__, "seeds": 1, "name": "one seed"}))
    assert add_seeds(store, smaller, 2) == 5
    runs = store.runs(experiment=smaller)
    assert len(runs) == 10 and all(r.status is Status.FINISHED and r.reused_from for r in runs)


def test_fewer_seeds_than_now_are_refused(filled_copy):
    store = Store(filled_copy["root"])
    with pytest.raises(InputError, match="has 2 seeds; give a larger number"):
        add_seeds(store, filled_copy["experiment_id"], 2)


def test_cli_add_seeds_without_waiting(filled_copy, capsys):
    code = cli.main(["--workspace", str(filled_copy["root"]), "experiment", "add-seeds",
                     str(filled_copy["experiment_id"]), "--to", "4", "--no-wait"])
    assert code == 0
    assert "10 runs added to reach 4 seeds" in capsys.readouterr().err
    queued = Store(filled_copy["root"]).runs(experiment=filled_copy["experiment_id"], status=Status.QUEUED)
    assert {r.seed for r in queued} == {2, 3}
    assert cli.main(["--workspace", str(filled_copy["root"]), "experiment", "add-seeds",
                     str(filled_copy["experiment_id"]), "--to", "3", "--no-wait"]) == cli.EXIT_INPUT

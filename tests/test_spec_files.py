"""An experiment downloaded as spec.toml (``core.jobs.spec_files``) runs in the CLI as the same experiment."""

from __future__ import annotations

import argparse

from core.cli import _spec_from_toml
from core.jobs.experiments import ExperimentSpec, run_fingerprint, submit
from core.jobs.spec_files import spec_toml
from core.settings import Settings, TrainSettings
from tests.conftest import TINY_TRAINING, labeled


def test_a_downloaded_spec_reads_back_as_the_same_experiment(store, tmp_path):
    data = labeled({"bad": 30, "ok": 40, "good": 60}, ordinal=True)
    dataset_id = store.add_dataset(data, name="reviews")
    settings = TrainSettings(**{**TINY_TRAINING, "learning_rate": 0.002, "max_len": None})
    spec = ExperimentSpec(dataset_id=dataset_id, recipes=("baseline", 'merge(mapping={"bad":"low","ok":"low"})',
                                                         "focal(gamma=1.5)+bidirectional"),
                          seeds=4, settings=settings, references=("ref:majority", "ref:tfidf_lr"), name="my \"run\"")
    experiment_id = submit(store, spec)
    path = tmp_path / "spec.toml"
    path.write_text(spec_toml(store, experiment_id), encoding="utf-8")
    args = argparse.Namespace(recipe=[], seeds=None, name="")
    again = _spec_from_toml(path, store, Settings(), args)
    assert again.recipes == spec.recipes and again.seeds == 4 and again.settings == settings
    stored = ExperimentSpec.from_json(store.experiment(experiment_id)["spec"])
    assert again.references == stored.references and again.name == 'my "run"'
    assert store.load_dataset(again.dataset_id).classes == data.classes  # ordinal order kept
    # The same data and settings: the CLI's runs are the page's runs (reused, not trained again).
    assert run_fingerprint(again, spec.recipes[1], 0) == run_fingerprint(spec, spec.recipes[1], 0)

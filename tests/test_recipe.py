import pytest

from core.errors import InputError
from core.strategies.recipe import Recipe, parse_recipe
from core.strategies.registry import STRATEGIES, build, strategy_infos


def test_parse_recipe_with_json_values_and_two_steps():
    recipe = parse_recipe('class_weight(scheme=custom,weights={"spam":5,"ham":1})+bidirectional')
    assert [s.name for s in recipe.steps] == ["class_weight", "bidirectional"]
    assert dict(recipe.steps[0].params)["weights"] == {"spam": 5, "ham": 1}


def test_baseline_is_the_empty_recipe():
    assert parse_recipe("baseline").steps == ()
    assert Recipe().text() == "baseline"


def test_recipe_text_round_trips():
    text = "class_weight(beta=0.999,scheme=effective)+focal(gamma=2)"
    assert parse_recipe(parse_recipe(text).text()) == parse_recipe(text)


def test_toml_style_entries_build_the_same_recipe():
    recipe = Recipe.from_json([{"name": "focal", "gamma": 2}, {"name": "bidirectional"}])
    assert recipe == parse_recipe("focal(gamma=2)+bidirectional")


@pytest.mark.parametrize("bad", ["focal(gamma=2", "focal(gamma)", "focal++gru", "nosuch", "focal(gamma=-1)",
                                 "focal(delta=1)", "class_weight(scheme=odd)"])
def test_bad_recipes_give_clear_messages(bad):
    with pytest.raises(InputError):
        build(bad)


def test_incompatible_strategies_are_refused_with_both_names():
    with pytest.raises(InputError, match="focal and logit_adjusted"):
        build("focal+logit_adjusted")
    with pytest.raises(InputError, match="easy_ensemble"):
        build("easy_ensemble+feature_smote")
    with pytest.raises(InputError):
        build("ordinal_regression+threshold")


def test_registry_lists_every_strategy_with_typed_defaults_in_range():
    infos = strategy_infos()
    assert len(infos) == len(STRATEGIES) >= 20
    for info in infos:
        assert info.label and info.help
        for p in info.params:
            p.coerce(p.default, strategy=info.name)  # every default is valid


def test_raising_a_strategys_version_changes_only_its_runs_fingerprints(monkeypatch):
    from core.jobs.experiments import ExperimentSpec, run_fingerprint
    from core.strategies.augmentation import Augment

    spec = ExperimentSpec(dataset_id="d", recipes=("augment", "focal"))
    before = {r: run_fingerprint(spec, r, 0) for r in ("augment", "focal", "baseline")}
    monkeypatch.setattr(Augment, "version", Augment.version + 1)
    after = {r: run_fingerprint(spec, r, 0) for r in ("augment", "focal", "baseline")}
    assert after["augment"] != before["augment"]
    assert after["focal"] == before["focal"] and after["baseline"] == before["baseline"]


def test_an_experiment_keeps_the_split_version_it_was_made_with():
    """New experiments draw by today's split version; one stored before the field existed reads as version 2,
    and the version is part of every run's fingerprint (runs drawn differently are never reused)."""
    from dataclasses import replace

    from core.data.split import SPLIT_VERSION
    from core.jobs.experiments import ExperimentSpec, run_fingerprint

    spec = ExperimentSpec(dataset_id="d", recipes=("focal",))
    assert spec.split_version == SPLIT_VERSION == 3
    stored = spec.to_json()
    assert ExperimentSpec.from_json(stored) == spec
    del stored["split_version"]
    old = ExperimentSpec.from_json(stored)
    assert old.split_version == 2
    assert run_fingerprint(old, "focal", 0) != run_fingerprint(spec, "focal", 0)
    assert run_fingerprint(replace(old, split_version=3), "focal", 0) == run_fingerprint(spec, "focal", 0)

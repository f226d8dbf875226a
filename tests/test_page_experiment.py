"""AppTest: the Experiment page builds its form from the registry and submits experiments."""

from core.jobs.store import Store
from core.strategies.registry import strategy_infos
from tests.apptest_pages import through_app


def test_empty_workspace_says_to_load_data_or_uses_the_sample(empty_workspace):
    at = through_app("pages/experiment.py")
    assert not at.exception
    # A new workspace opens on the built-in sample, so the form is there at once.
    labels = {c.label for c in at.checkbox}
    assert {i.label for i in strategy_infos() if not i.needs_ordinal} <= labels


def test_ticking_a_strategy_shows_its_parameters_and_submit_creates_runs(filled_copy):
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.focal").check().run()
    assert at.number_input(key="param.focal.gamma").value == 2.0
    at.number_input(key="param.focal.gamma").set_value(1.5).run()
    at.button[-1].click().run()
    assert not at.exception
    store = Store(filled_copy["root"])
    newest = store.experiments()[0]
    assert "focal(gamma=1.5)" in newest["spec"]["recipes"]
    runs = store.runs(experiment=newest["id"])
    assert {r.recipe for r in runs} >= {"baseline", "focal(gamma=1.5)", "ref:tfidf_lr"}


def test_incompatible_combination_is_explained_and_blocks_submit(filled_copy):
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.focal").check().run()
    at.checkbox(key="use.logit_adjusted").check().run()
    combine = next(c for c in at.checkbox if c.label.startswith("Combine"))
    combine.check().run()
    assert any("both change the loss" in e.value for e in at.error)
    submit = next(b for b in at.button if b.label == "Submit experiment")
    assert submit.disabled


def test_bad_recipe_text_gives_a_clear_message(filled_copy):
    at = through_app("pages/experiment.py")
    at.text_area[0].input("focal(gamma=-3)").run()
    assert any("outside the allowed range" in e.value for e in at.error)


def test_pretrained_vectors_with_a_missing_file_is_refused_with_the_path_and_no_runs(filled_copy, tmp_path):
    store = Store(filled_copy["root"])
    before = len(store.runs())
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.pretrained_vectors").check().run()
    at.text_input(key="param.pretrained_vectors.path").input(str(tmp_path / "glove.txt")).run()
    next(b for b in at.button if b.label == "Submit experiment").click().run()
    assert not at.exception
    assert any("glove.txt is not a file on this machine" in e.value for e in at.error)
    assert len(store.runs()) == before


def test_the_training_settings_are_said_in_words_for_this_dataset(empty_workspace):
    """The sample dataset's texts, counted as the encoder counts them: the page says how many epochs at most, when a
    run stops, and where texts are cut — and that moves with the settings typed in."""
    from core.runs.lengths import word_counts
    from core.settings import TrainSettings

    at = through_app("pages/experiment.py")
    said = " ".join(m.value for m in at.markdown)
    defaults = TrainSettings()
    assert f"at most {defaults.epochs} epochs" in said and f"improved for {defaults.patience} epochs" in said
    store = Store(empty_workspace)
    (dataset,) = store.datasets()
    counts = word_counts(store.load_dataset(dataset["id"]).texts)
    length = next(n for n in at.number_input if n.label.startswith("Sequence length"))
    length.set_value(10).run()
    said = " ".join(m.value for m in at.markdown)
    assert f"cut after 10 words (set by hand): that cuts {int((counts > 10).sum()):,} of {len(counts):,} texts" in said


def test_ticking_pooled_sequence_offers_a_reading_the_baseline_does_not_already_use(empty_workspace):
    """Max pooling is the default, so the form starts the pool strategy at the final state (mode last): ticking it
    gives a real recipe, not a refusal."""
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.pool").check().run()
    assert at.selectbox(key="param.pool.mode").value == "last"
    assert not at.error
    assert any("`pool(mode=last)`" in m.value for m in at.markdown)
    at.selectbox(key="param.pool.mode").set_value("max").run()
    assert any("already pool by max" in e.value for e in at.error)


def test_the_estimate_gives_the_time_and_each_recipes_run_even_for_a_short_experiment(empty_workspace):
    """Under a minute the estimate used to say only "well under a minute", hiding the runs and recipes."""
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.focal").check().run()
    estimate = next(i.value for i in at.info if "runs (" in i.value)
    assert "One run takes about" in estimate and "`baseline`" in estimate and "`focal`" in estimate
    assert "at most" in estimate and "on this machine" in estimate


def test_a_parameter_shows_only_when_it_applies_labelled_in_words(empty_workspace):
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.class_weight").check().run()
    keys = {w.key for w in at.number_input} | {w.key for w in at.text_input}
    assert "param.class_weight.beta" not in keys and "param.class_weight.weights" not in keys  # scheme=balanced
    at.selectbox(key="param.class_weight.scheme").set_value("effective").run()
    beta = at.number_input(key="param.class_weight.beta")
    assert beta.label == "Effective-number β" and "class_weight(beta=…)" in beta.help
    assert "param.class_weight.weights" not in {w.key for w in at.text_input}
    at.checkbox(key="use.threshold").check().run()
    assert "param.threshold.precision_floor" not in {w.key for w in at.number_input}
    at.selectbox(key="param.threshold.objective").set_value("class_recall").run()
    assert at.number_input(key="param.threshold.precision_floor").label == "Lowest precision allowed for that class"
    assert not at.exception


def test_cloning_an_experiment_fills_the_form_and_resubmitting_reuses_its_runs(filled_copy):
    store = Store(filled_copy["root"])
    at = through_app("pages/experiment.py")
    next(b for b in at.button if b.label == "Clone into the form").click().run()
    assert not at.exception
    assert at.checkbox(key="use.class_weight").value and not at.checkbox(key="use.focal").value
    assert at.number_input(key="form.seeds").value == 2
    original = store.experiment(filled_copy["experiment_id"])["spec"]
    assert at.number_input(key="form.epochs").value == original["settings"]["epochs"]
    assert any("Cloned from experiment" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Submit experiment").click().run()
    clone = store.experiments()[0]
    assert clone["id"] != filled_copy["experiment_id"]
    assert clone["spec"]["recipes"] == original["recipes"] and clone["spec"]["settings"] == original["settings"]
    runs = store.runs(experiment=clone["id"])
    assert runs and all(r.reused_from for r in runs)  # the same runs: nothing is trained again


def test_the_page_says_where_runs_train(empty_workspace, monkeypatch):
    """The local executor's slots, or Ray (the worker the app starts inherits the setting)."""
    at = through_app("pages/experiment.py")
    assert any(c.value.startswith("Runs train on this machine") for c in at.caption)
    assert any(" on this machine, at most " in i.value for i in at.info)
    monkeypatch.setenv("IMBALANCE_LAB_EXECUTOR", "ray")
    monkeypatch.setenv("IMBALANCE_LAB_RAY_ADDRESS", "head.example:6379")
    at.run()
    assert not at.exception
    assert any("Runs train on the Ray cluster at `head.example:6379`" in c.value for c in at.caption)
    assert any("at this machine's pace" in i.value for i in at.info)


def test_a_running_worker_is_reported_as_it_trains_not_as_the_apps_settings_would(empty_workspace):
    """A worker started by hand with ``--executor ray`` beside an app set for local runs read "this machine"."""
    import os
    import socket

    store = Store(empty_workspace)
    assert store.take_lease(os.getpid(), socket.gethostname(), stale_after_s=60) is None  # a live, fresh lease
    store.describe_lease(os.getpid(), {"executor": "ray", "ray_address": "head.example:6379", "slots": 16})
    at = through_app("pages/experiment.py")
    assert not at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("Runs train on"))
    assert caption.startswith("Runs train on the Ray cluster at `head.example:6379`, one CPU each, up to 16 at a "
                              f"time (the running worker (pid {os.getpid()}), Ray executor)")
    assert any("at this machine's pace" in i.value for i in at.info)
    store.describe_lease(os.getpid(), {"executor": "local", "ray_address": None, "slots": 1})
    at.run()
    assert any(c.value == f"Runs train on this machine, 1 at a time (the running worker (pid {os.getpid()}), local "
                          "executor)." for c in at.caption)
    assert any("if no run stops early (1 run at a time)" in i.value for i in at.info)  # its slots, in words


def test_the_estimate_counts_in_words_with_plurals(empty_workspace):
    """A new user's first form (the baseline alone) read "1 recipes"."""
    at = through_app("pages/experiment.py")
    estimate = next(i.value for i in at.info if "runs (" in i.value)
    assert "(1 recipe + 3 references × 5 seeds)" in estimate


def test_anomaly_detection_on_more_than_two_classes_says_which_merge_to_add_before_submit(empty_workspace):
    """The sample has five star classes: the page says, before submit, that anomaly needs two and which merge
    makes them, and the submit button stays off."""
    at = through_app("pages/experiment.py")
    at.checkbox(key="use.anomaly").check().run()
    assert at.selectbox(key="param.anomaly.detector").value == "lof"
    (problem,) = [e.value for e in at.error if "anomaly" in e.value]
    assert "needs two classes; this recipe has 5 (1, 2, 3, 4, 5)" in problem and "merge(mapping={" in problem
    assert next(b for b in at.button if b.label == "Submit experiment").disabled

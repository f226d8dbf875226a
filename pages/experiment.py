"""Experiment: tick strategies (forms built from the registry), compose recipes, submit."""

import json

import streamlit as st

from core.data.wording import duration, plural
from core.errors import InputError
from core.jobs.estimate import DataShape, estimate, sweeps_in_words
from core.jobs.executors import estimate_place, estimate_slots, where_runs_train
from core.jobs.experiments import ExperimentSpec, label_problems, review, submit
from core.jobs.lease import live_worker_serves
from core.runs.lengths import training_in_words
from core.runs.references import ALWAYS, REFERENCES
from core.settings import TrainSettings, get_settings
from core.strategies.recipe import Recipe, Step
from core.jobs.spec_files import spec_toml
from core.strategies.base import LabelSet
from core.strategies.registry import form_ticks, form_value, strategy_infos
from core.strategies.sweeps import SETTINGS_PARAMS, parse_settings_sweep, with_settings_sweep
from pages.common import (
    current_dataset_id,
    ensure_worker,
    read_only,
    set_experiment,
    show_error,
    store,
)


def param_widget(strategy: str, p):
    key = f"param.{strategy}.{p.name}"
    start = form_value(strategy, p, TrainSettings())  # the form's settings start at the defaults too
    st.session_state.setdefault(key, widget_value(p, start))  # a clone may have set it already
    label, help = p.words, (f"{p.help} (recipe syntax: `{strategy}({p.name}=…)`; to sweep it, write "
                            f"`{strategy}({p.name}=a|b|c)` under More recipes)")
    if p.kind == "float":
        return st.number_input(label, min_value=p.min, max_value=p.max, help=help, key=key, format="%.4g")
    if p.kind == "int":
        return int(st.number_input(label, min_value=int(p.min) if p.min is not None else None,
                                   max_value=int(p.max) if p.max is not None else None, step=1, help=help, key=key))
    if p.kind == "bool":
        return st.checkbox(label, help=help, key=key)
    if p.kind == "choice":
        return st.selectbox(label, p.choices, help=help, key=key)
    raw = st.text_input(label, help=help, key=key)
    try:
        return p.coerce(raw, strategy=strategy)
    except InputError:
        return raw  # kept as typed: the review below names the problem


def widget_value(p, value):
    """A parameter value as its widget holds it (JSON text for json and str parameters)."""
    if p.kind == "float":
        return float(value)
    if p.kind == "int":
        return int(value)
    if p.kind in ("json", "str"):
        return value if isinstance(value, str) else json.dumps(value)
    return value


def clone_into_form(experiment: dict) -> None:
    """Put an earlier experiment's recipes and settings into the form's widgets (before they are drawn); a sweep
    comes back as the line that made it."""
    spec = ExperimentSpec.from_json(experiment["spec"])
    ticks, rest = form_ticks(spec.recipes_as_written())
    for info in strategy_infos():
        st.session_state[f"use.{info.name}"] = info.name in ticks
        for p in info.params:
            value = ticks.get(info.name, {}).get(p.name, form_value(info.name, p, TrainSettings()))
            st.session_state[f"param.{info.name}.{p.name}"] = widget_value(p, p.coerce(value, strategy=info.name))
    s = spec.settings
    st.session_state.update({
        "form.combine": False, "form.extra": "\n".join(rest), "form.sweep": "", "form.seeds": spec.seeds,
        "form.epochs": s.epochs,
        "form.batch": s.batch_size, "form.patience": s.patience, "form.vocab": s.vocab_size,
        "form.max_len": s.max_len or 0, "form.units": s.units, "form.embedding": s.embedding_dim,
        "form.validation_share": spec.validation_share, "form.test_share": spec.test_share,
        "form.extra_refs": [r for r in spec.references if r not in ALWAYS],
        "form.name": f"{experiment['name']} (clone)"[:200],
        "form.hidden_settings": s.to_json(),  # learning rate, dropout, schedule…: not in the form, kept as cloned
    })
    st.session_state["form.cloned"] = f"#{experiment['id']} {experiment['name']}"


def earlier_experiments(dataset_id: str) -> None:
    """Clone an experiment of this dataset into the form, or download it as a spec file for the CLI."""
    experiments = store().experiments(dataset_id=dataset_id)
    if not experiments:
        return
    with st.expander("Start from an earlier experiment"):
        by_id = {e["id"]: e for e in experiments}
        chosen = st.selectbox("Earlier experiment", list(by_id), format_func=lambda i: f"#{i} {by_id[i]['name']}")
        left, right = st.columns(2)
        if left.button("Clone into the form", help="Its recipes, seeds and settings fill the form below."):
            try:
                clone_into_form(by_id[chosen])
            except InputError as exc:  # e.g. a recipe of a strategy this version no longer has
                show_error(InputError(f"Experiment #{chosen} cannot be cloned into the form: {exc}"))
            else:
                st.rerun()
        right.download_button("Download spec.toml", spec_toml(store(), chosen), file_name=f"experiment-{chosen}.toml",
                              mime="application/toml", help="Run it with `python -m core experiment run FILE.toml`.")


def strategy_picker(ordinal_ok: bool) -> list[Step]:
    """One checkbox per registry strategy, grouped by family; ticked ones show their parameters."""
    steps: list[Step] = []
    infos = strategy_infos()
    families = list(dict.fromkeys(i.family for i in infos))
    columns = st.columns(2)
    for index, family in enumerate(families):
        with columns[index % 2].container(border=True):
            st.markdown(f"**{family}**")
            for info in (i for i in infos if i.family == family):
                disabled = info.needs_ordinal and not ordinal_ok
                ticked = st.checkbox(info.label, key=f"use.{info.name}", disabled=disabled,
                                     help=info.help + (" (needs ordinal labels or a target column)" if disabled else ""))
                if ticked:
                    values, shown = {}, {}
                    with st.container():
                        for p in info.params:
                            if not p.applies(shown):
                                continue  # e.g. β only for the effective-number scheme
                            value = shown[p.name] = param_widget(info.name, p)
                            if value != p.default:
                                values[p.name] = value
                    steps.append(Step(info.name, tuple(sorted(values.items()))))
    return steps


@st.cache_data(show_spinner=False, max_entries=32)
def _preview(dataset_id: str, recipe_text: str):
    from core.strategies.registry import build

    data = store().load_dataset(dataset_id)
    return build(recipe_text)[0].preview(data, seed=0, n=5)


def previews(dataset_id: str, steps: list[Step]) -> None:
    """Examples of generated data for the ticked strategies that can show some."""
    for step in steps:
        try:
            rows = _preview(dataset_id, Recipe((step,)).text())
        except InputError as exc:
            show_error(exc)
            continue
        if rows:
            st.caption(f"Examples {step.name} would generate from texts of the chosen classes (judge their quality):")
            st.dataframe(rows, width="stretch", hide_index=True)


def recipes_from(steps: list[Step], combine: bool, extra: str) -> list[str]:
    recipes = [Recipe(tuple(steps)).text()] if combine and steps else [Recipe((s,)).text() for s in steps]
    recipes += [line.strip() for line in extra.splitlines() if line.strip()]
    return recipes


@st.cache_data(show_spinner=False, max_entries=16)
def data_shape(dataset_id: str) -> DataShape:
    """Class sizes and word counts of the dataset, for the time estimate (cached per dataset)."""
    return DataShape.of(store().load_dataset(dataset_id))


@st.cache_data(show_spinner=False, max_entries=16)
def settings_in_words(dataset_id: str, settings_json: dict) -> list[str]:
    """What the training settings do to this dataset's texts, in sentences (cached per dataset and settings)."""
    return training_in_words(TrainSettings.from_json(settings_json), counts=data_shape(dataset_id).words)


st.title("Experiment")
dataset_id = current_dataset_id()
if dataset_id is None:
    st.info("No dataset yet — go to **Data** and load one.")
    st.stop()
info = store().dataset_info(dataset_id)
st.caption(f"Dataset: {info['name']} · {info['n_rows']:,} rows · {len(info['classes'])} classes"
           + (" · ordinal" if info["ordinal"] else ""))
if read_only():
    st.info("Experiments cannot be submitted in this read-only workspace; the ones already run are on **Compare**.")
    st.stop()

st.subheader("1. Strategies")
st.caption("Each ticked strategy becomes its own recipe, compared against the baseline (the plain LSTM) and the "
           "references. Tick 'combine' to apply all ticked strategies together as one recipe.")
earlier_experiments(dataset_id)
steps = strategy_picker(ordinal_ok=bool(info["ordinal"] or info["has_target"]))
previews(dataset_id, steps)
combine = st.checkbox("Combine the ticked strategies into one recipe", key="form.combine")
extra = st.text_area("More recipes, one per line (recipe syntax)",
                     placeholder="focal(gamma=2)+bidirectional\nfocal(gamma=0.5|1|2|5)",
                     help="strategy(param=value,...)+strategy(...), e.g. class_weight(scheme=effective,beta=0.999). "
                          "Values separated by | sweep a parameter: focal(gamma=0.5|1|2) is three recipes, each "
                          "compared with the baseline.", key="form.extra")

st.subheader("2. Training settings")
defaults = TrainSettings()
for key, value in {"form.seeds": get_settings().default_seeds, "form.epochs": defaults.epochs,
                   "form.batch": defaults.batch_size, "form.patience": defaults.patience,
                   "form.vocab": defaults.vocab_size, "form.max_len": 0, "form.units": defaults.units,
                   "form.embedding": defaults.embedding_dim, "form.validation_share": get_settings().validation_share,
                   "form.test_share": get_settings().test_share}.items():
    st.session_state.setdefault(key, value)
c = st.columns(4)
seeds = c[0].number_input("Seeds", 1, get_settings().max_seeds, key="form.seeds",
                          help=f"Default {get_settings().default_seeds}. 3 seeds detect only large effects; 5–10 tell "
                          "differences of a few points of macro-F1 from noise (the power notes on Compare say how "
                          "many a difference needs).")
epochs = c[1].number_input("Epochs (max, early stopping)", 1, 100, key="form.epochs")
batch = c[2].number_input("Batch size", 8, 1024, step=8, key="form.batch")
patience = c[3].number_input("Early-stopping patience", 1, 20, key="form.patience")
c = st.columns(4)
vocab = c[0].number_input("Vocabulary size", 100, 200_000, step=1000, key="form.vocab")
max_len = c[1].number_input("Sequence length (0 = auto, 95th percentile)", 0, 2000, key="form.max_len",
                            help=f"Words kept per text. Auto: the 95th percentile of the training texts' lengths, "
                            f"at most {defaults.max_len_cap}.")
units = c[2].number_input("LSTM units", 2, 1024, key="form.units")
embedding = c[3].number_input("Embedding size", 2, 1024, key="form.embedding")
c = st.columns(4)
fixed_validation = bool(info["meta"].get("has_validation_rows"))
validation_share = c[0].number_input("Validation share", 0.05, 0.4, step=0.05, key="form.validation_share",
                                     disabled=fixed_validation,
                                     help="fixed by the split column's validation rows" if fixed_validation else None)
test_share = c[1].number_input("Test share", 0.05, 0.5, step=0.05, key="form.test_share",
                               disabled=bool(info["has_split"]), help="fixed by the split column" if info["has_split"] else None)
extra_refs = c[2].multiselect("Extra references", [r for r in REFERENCES if r not in ALWAYS],
                              format_func=lambda r: REFERENCES[r].label, key="form.extra_refs")
name = c[3].text_input("Name (optional)", key="form.name")
sweep_text = st.text_input(
    "Sweep training settings (optional)", key="form.sweep", placeholder="learning_rate=0.001|0.01, units=32|128",
    help=f"Values separated by | for {', '.join(SETTINGS_PARAMS)}: every recipe, the baseline included, runs at each "
         "combination; the baseline at the settings above stays the one every point is compared with.")
hidden = st.session_state.get("form.hidden_settings") or {}
if st.session_state.get("form.cloned"):
    st.caption(f"Cloned from experiment {st.session_state['form.cloned']}; settings the form does not show "
               f"(learning rate {hidden.get('learning_rate')}, dropout {hidden.get('dropout')}, schedule "
               f"{hidden.get('lr_schedule')}, pooling {hidden.get('pooling')}) are kept from it.")

recipes = recipes_from(steps, combine, extra)
problems = []
try:
    recipes = list(with_settings_sweep(recipes, parse_settings_sweep(sweep_text, where="Sweep training settings")))
except InputError as exc:
    problems.append(str(exc))
shown_settings = dict(epochs=int(epochs), batch_size=int(batch), patience=int(patience), vocab_size=int(vocab),
                      max_len=int(max_len) or None, units=int(units), embedding_dim=int(embedding))
settings = TrainSettings(**{**(TrainSettings.from_json(hidden).to_json() if hidden else {}), **shown_settings})
st.markdown("\n".join(f"- {line}" for line in settings_in_words(dataset_id, settings.to_json())))
spec = ExperimentSpec(dataset_id=dataset_id, recipes=tuple(recipes), seeds=int(seeds), settings=settings,
                      test_share=float(test_share), validation_share=float(validation_share),
                      references=ALWAYS + tuple(extra_refs), name=name)

st.subheader("3. Review and submit")
planned, found = review(spec)
problems += found
serving = live_worker_serves(store(), get_settings().stale_after_s)  # how the running worker trains, if one does
if planned is not None:  # recipes that cannot take this dataset's classes (e.g. anomaly on more than two)
    problems += label_problems(planned.recipes, LabelSet(tuple(info["classes"]), data_shape(dataset_id).class_counts,
                                                         bool(info["ordinal"])))
for problem in problems:
    st.error(problem, icon="⚠️")
if planned is not None and not problems:
    st.write("Recipes: " + ", ".join(f"`{r}`" for r in planned.recipes))
    guess = estimate(planned, data_shape(dataset_id), slots=estimate_slots(get_settings(), serving))
    for line in sweeps_in_words(planned, guess):
        st.write(line)
    st.info(f"{guess.runs} runs ({plural(len(planned.recipes), 'recipe')} + "
            f"{plural(len(spec.references), 'reference')} × {plural(int(seeds), 'seed')}) · "
            f"about {duration(guess.seconds)} {estimate_place(get_settings(), serving)}, at most "
            f"{duration(guess.upper_seconds)} if no run stops early ({plural(guess.slots, 'run')} at a time). "
            "One run takes about: " + ", ".join(f"`{r}` {duration(s)}" for r, s in guess.seconds_by_recipe.items()) + ".")
st.caption(where_runs_train(get_settings(), serving))
if st.button("Submit experiment", type="primary", disabled=bool(problems)):
    try:
        experiment_id = submit(store(), spec)
    except InputError as exc:
        show_error(exc)
    else:
        set_experiment(experiment_id)
        ensure_worker()
        st.success(f"Experiment #{experiment_id} submitted — follow it on the Runs page.")
        st.page_link("pages/runs.py", label="Go to Runs", icon="⏱️")

"""Predict: classify new texts with trained recipes, and export a recipe as a bundle.

The app never loads a model: it writes a prediction request into the store,
the worker's prediction process answers it, and a fragment polls for the answer."""

import time

import streamlit as st

from core.data.columns import suggest_columns
from core.data.readers import read_table
from core.errors import InputError
from core.jobs.lease import lease_holder
from core.jobs.predictions import export_bundle, prediction_result, request_prediction
from core.jobs.records import Status
from core.results.figures import prediction_bars
from core.results.report import (
    export_name,
    prediction_texts,
    predictions_csv,
    predictions_wide,
)
from core.runs.references import is_reference
from core.settings import get_settings
from pages.common import ensure_worker, experiment_picker, read_only, show_error, store

MAX_TEXTS = 5_000  # one request; larger files go through the CLI with an exported bundle
WAIT_S = 60.0
START_WORKER = "python -m core worker"


def finished_lstm_recipes(experiment_id: int) -> list[str]:
    runs = store().runs(experiment=experiment_id, status=Status.FINISHED)
    return list(dict.fromkeys(r.recipe for r in runs if not is_reference(r.recipe)))


def texts_input() -> list[str]:
    source = st.radio("Texts", ["Type or paste", "Upload a file"], horizontal=True)
    if source == "Type or paste":
        raw = st.text_area("One text per line", height=160)
        texts = [line.strip() for line in raw.splitlines() if line.strip()]
    else:
        upload = st.file_uploader("CSV, TSV, Excel, Parquet or JSON Lines",
                                  type=["csv", "tsv", "txt", "xlsx", "parquet", "jsonl", "json"])
        if upload is None:
            return []
        try:
            table = read_table(upload.getvalue(), name=upload.name, settings=get_settings())
        except InputError as exc:
            show_error(exc)
            return []
        columns = [str(c) for c in table.frame.columns]
        guess = suggest_columns(table.frame)[0]
        column = st.selectbox("Text column", columns, index=columns.index(guess) if guess in columns else 0)
        texts = [t.strip() for t in table.frame[column].fillna("").astype(str) if t.strip()]
    if len(texts) > MAX_TEXTS:
        st.warning(f"{len(texts):,} texts: only the first {MAX_TEXTS:,} are predicted here. For more, export the "
                   "recipe below and use the command line.")
        texts = texts[:MAX_TEXTS]
    return texts


@st.fragment(run_every=1.0)
def wait_for(request_id: int) -> None:
    """Poll the store until the request is answered, then rerun the page."""
    status = prediction_result(store(), request_id)["status"]
    if status in ("finished", "failed"):
        st.rerun()
    waited = time.time() - st.session_state.setdefault(f"_prediction_asked_{request_id}", time.time())
    if waited > WAIT_S:
        st.rerun()  # stop polling: the page says the worker did not answer
    if lease_holder(store(), get_settings().stale_after_s) is None:
        st.warning(f"The worker is not running, so nobody answers this request. Start it in a terminal in the "
                   f"project folder: `{START_WORKER}` — the answer appears here when it runs.")
    else:
        st.info(f"Waiting for the worker… {waited:.0f} s (the first prediction loads the models).")


def answer_section(request_id: int) -> None:
    try:
        answer = prediction_result(store(), request_id)
    except InputError:
        st.query_params.pop("prediction", None)
        return
    st.subheader(f"Prediction #{request_id}")
    if answer["status"] == "failed":
        st.error(answer["error"] or "the prediction failed", icon="⚠️")
        return
    if answer["status"] != "finished":
        waited = time.time() - st.session_state.get(f"_prediction_asked_{request_id}", time.time())
        if waited <= WAIT_S:
            wait_for(request_id)
            return
        st.warning(f"No answer after {WAIT_S:.0f} s: the worker is not running (or is stuck). Start it in a terminal "
                   f"in the project folder with `{START_WORKER}`; the request stays queued until then.")
        if st.button("Check again"):
            st.session_state[f"_prediction_asked_{request_id}"] = time.time()
            st.rerun()
        return
    answers = answer["result"]
    texts = prediction_texts(store(), request_id)
    probability = {f"{a['recipe']} · p": st.column_config.NumberColumn(format="%.3f") for a in answers}
    st.dataframe(predictions_wide(texts, answers), hide_index=True, column_config=probability)
    shown = st.selectbox("Probabilities of text", range(len(texts)), format_func=lambda i: f"{i + 1}. {texts[i][:80]}")
    st.plotly_chart(prediction_bars(answers, shown))
    st.download_button("Download predictions (CSV)", predictions_csv(texts, answers),
                       file_name=f"predictions-{request_id}.csv", mime="text/csv", on_click="ignore")


def predict_section(experiment_id: int, recipes: list[str]) -> None:
    if read_only() and lease_holder(store(), get_settings().stale_after_s) is None:
        st.warning(f"Predictions need a worker already running, and none is: this read-only app does not start "
                   f"one. Whoever runs the workspace can start it in a terminal in the project folder: "
                   f"`{START_WORKER}`. A request made now is answered once it runs.")
    texts = texts_input()
    chosen = st.multiselect("Recipes", recipes, default=recipes[:3],
                            help="Each recipe averages its seed models' probabilities and applies its decision rule.")
    if st.button("Predict", type="primary"):
        if not texts or not chosen:
            st.warning("Type at least one text (or upload a file) and choose at least one recipe.")
            return
        request_id = request_prediction(store(), experiment_id, chosen, texts)
        st.session_state[f"_prediction_asked_{request_id}"] = time.time()
        st.query_params["prediction"] = str(request_id)
        ensure_worker()
    asked = st.query_params.get("prediction")
    if asked and asked.isdigit():
        answer_section(int(asked))


def export_section(experiment_id: int, recipes: list[str]) -> None:
    st.subheader("Export a recipe")
    recipe = st.selectbox("Recipe to export", recipes)
    path = store().root / "exports" / export_name(experiment_id, recipe, "zip")
    if st.button("Export bundle"):
        try:
            with st.spinner("Writing the bundle…"):
                export_bundle(store(), experiment_id, recipe, path)
        except InputError as exc:
            show_error(exc)
    if path.exists():
        st.download_button("Download bundle (.zip)", data=path.read_bytes, file_name=path.name,
                           mime="application/zip", on_click="ignore")
        st.caption("Predict without the app (one text per row of a CSV, TSV, Excel, Parquet or JSON Lines file):")
        st.code(f"python -m core predict {path} texts.csv --text-col text --out predictions.csv", language="bash")


st.title("Predict")
experiment_id = experiment_picker()
if experiment_id is None:
    st.info("No experiments yet — go to Experiment to train some recipes first.")
else:
    lstm_recipes = finished_lstm_recipes(experiment_id)
    if not lstm_recipes:
        st.info("No finished runs yet — go to Experiment (and follow the queue on Runs). Predictions need a "
                "finished LSTM recipe.")
    else:
        predict_section(experiment_id, lstm_recipes)
        st.divider()
        export_section(experiment_id, lstm_recipes)

"""Data: load a table, pick columns, see how imbalanced the classes are."""

import streamlit as st

from core.data.columns import distinct_labels, label_variants, suggest_columns
from core.data.dataset import ColumnChoice
from core.data.dataset_names import dataset_labels, differences
from core.data.profile import (
    compute_profile,
    cut_at_word,
    extreme_imbalance_in_words,
    order_in_words,
    parts_note,
    parts_table,
)
from core.data.readers import read_table
from core.data.sample import add_sample
from core.data.validation import to_labeled_texts
from core.errors import InputError
from core.results.figures import class_distribution, length_histogram
from core.runs.lengths import cut_in_words, cut_of_counts
from core.settings import TrainSettings, get_settings
from pages.common import current_dataset_id, plain_markdown, read_only, set_dataset, show_error, store

SPLIT_HELP = ("Each row says train, validation (or dev, val) or test, in any case. Its test rows are the test set "
              "for every seed, and its validation rows (if any) the validation set; without validation rows, "
              "validation is drawn per seed from the training rows. Training or validation texts that repeat a "
              "test text are left out.")
ENCODINGS = ["auto", "utf-8", "utf-16", "latin-1", "cp1252", "iso-8859-15", "shift_jis", "gb18030", "koi8-r"]
EXAMPLE_CHARS = 500  # of each example text shown
UPLOAD_ROUND = "data.upload_round"  # session key: bumped to give the uploader a new, empty widget
STORED_MESSAGE = "data.stored_message"  # session key: the confirmation shown after the rerun


@st.cache_data(show_spinner="Reading the file…", max_entries=8)
def _read(payload: bytes, name: str, encoding: str | None):
    return read_table(payload, name=name, encoding=encoding, settings=get_settings())


@st.cache_data(show_spinner="Profiling…", max_entries=16)
def _profile(dataset_id: str):
    data = store().load_dataset(dataset_id)
    return compute_profile(data), data.y


def _register_sample() -> str | None:
    """Store the built-in sample; None (with the reason shown) when it does not fit this installation's caps."""
    try:
        return add_sample(store(), get_settings())
    except InputError as exc:
        show_error(exc)
        return None


def clear_upload_form(message: str) -> None:
    """Empty the upload form once its dataset is stored (a new key gives a new, empty uploader, and the
    column form below it goes with it) and keep ``message`` to confirm it after the rerun."""
    st.session_state[UPLOAD_ROUND] = st.session_state.get(UPLOAD_ROUND, 0) + 1
    st.session_state[STORED_MESSAGE] = message


def column_form(table) -> None:
    columns = [str(c) for c in table.frame.columns]
    text_guess, label_guess = suggest_columns(table.frame)
    left, right = st.columns(2)
    text_col = left.selectbox("Text column", columns, index=columns.index(text_guess) if text_guess in columns else 0)
    label_col = right.selectbox("Label column", columns,
                                index=columns.index(label_guess) if label_guess in columns else min(1, len(columns) - 1))
    optional = ["(none)"] + [c for c in columns if c not in (text_col, label_col)]
    left, right = st.columns(2)
    target_col = left.selectbox("Continuous target (optional)", optional, help="e.g. an intensity score")
    split_col = right.selectbox("Split column (optional)", optional, help=SPLIT_HELP)
    variants = label_variants(table, label_col) if label_col in columns else {}
    normalise = False
    if variants:
        shown = "; ".join(" / ".join(v) for v in list(variants.values())[:5])
        normalise = st.checkbox(f"Merge labels that differ only by case or spaces ({shown})", value=True)
    ordinal = st.checkbox("Labels are ordinal (e.g. star ratings)")
    order = None
    if ordinal and label_col in columns:
        # the labels as to_labeled_texts will read them (e.g. 1.0 -> 1), so the default order matches them
        distinct = distinct_labels(table, label_col)
        order_text = st.text_input("Order, low to high (comma-separated)", ", ".join(distinct[:200]))
        order = tuple(x.strip() for x in order_text.split(",") if x.strip())
    if st.button("Use this dataset", type="primary"):
        choice = ColumnChoice(text=text_col, label=label_col, ordinal_order=order,
                              target=None if target_col == "(none)" else target_col,
                              split=None if split_col == "(none)" else split_col, normalise_labels=normalise)
        try:
            data = to_labeled_texts(table, choice, settings=get_settings())
        except InputError as exc:
            show_error(exc)
            return
        dataset_id = store().add_dataset(data, name=table.source, meta={"choice": choice.__dict__})
        set_dataset(dataset_id)
        clear_upload_form(f"Stored {plain_markdown(table.source)} ({len(data):,} rows, {data.n_classes} classes): "
                          "it is now the current dataset, profiled below.")
        st.rerun()


def rename_form(dataset_id: str, name: str) -> None:
    with st.form(f"rename.{dataset_id}", border=False):
        new = st.text_input("Name", value=name, max_chars=200, help="What pickers, the report and exports call it.")
        if st.form_submit_button("Rename") and new != name:
            try:
                store().rename_dataset(dataset_id, new)
            except InputError as exc:
                show_error(exc)
            else:
                st.rerun()


def load_section() -> None:
    if read_only():
        source = "Stored dataset"  # nothing can be added to a read-only workspace
    else:
        source = st.radio("Source", ["Upload a file", "Built-in sample", "Stored dataset"], horizontal=True,
                          index=0 if store().datasets() else 1)
    if source == "Built-in sample":
        st.caption("Women's clothing reviews (4,000 rows, stars 1–5, CC0) — see data/README.md.")
        if st.button("Load the sample", type="primary") and (sample_id := _register_sample()):
            set_dataset(sample_id)
            st.rerun()
    elif source == "Stored dataset":
        datasets = store().datasets()
        if not datasets:
            st.info("This read-only workspace has no datasets." if read_only() else
                    "No stored datasets yet — upload a file or load the sample.")
            return
        names = dataset_labels(datasets)
        ids = list(names)
        current = current_dataset_id()
        chosen = st.selectbox("Dataset", ids, index=ids.index(current) if current in ids else 0, format_func=names.get)
        by_id = {d["id"]: d for d in datasets}
        for twin in (d for d in datasets if d["name"] == by_id[chosen]["name"] and d["id"] != chosen):
            said = differences(by_id[chosen], twin) or ["nothing in its columns or labels; only when it was added"]
            st.caption(f"Differs from the other “{twin['name']}” ({names[twin['id']]}): " + "; ".join(said) + ".")
        left, right = st.columns([1, 4])
        if left.button("Open"):
            set_dataset(chosen)
            st.rerun()
        if not read_only() and right.button("Archive this dataset"):
            store().archive_dataset(chosen)
            st.query_params.pop("dataset", None)
            st.rerun()
        if not read_only():
            rename_form(chosen, by_id[chosen]["name"])
    else:
        cap = get_settings().max_upload_mb  # one limit: the label, Streamlit's own text and check, and core's
        upload = st.file_uploader(f"CSV, TSV, Excel, Parquet or JSON Lines (up to {cap} MB)",
                                  type=["csv", "tsv", "txt", "xlsx", "parquet", "jsonl", "json"],
                                  max_upload_size=cap, key=f"upload.{st.session_state.get(UPLOAD_ROUND, 0)}")
        if upload is None:
            return
        encoding = st.selectbox("Encoding", ENCODINGS, help="auto: UTF-8/UTF-16 directly, otherwise detected")
        try:
            table = _read(upload.getvalue(), upload.name, None if encoding == "auto" else encoding)
        except InputError as exc:
            show_error(exc)
            return
        for note in table.notes:
            st.info(note)
        st.dataframe(table.frame.head(5), width="stretch")
        column_form(table)


def profile_section(dataset_id: str) -> None:
    info = store().dataset_info(dataset_id)
    profile, y = _profile(dataset_id)
    st.subheader(info["name"])
    if order := order_in_words(profile):
        st.caption(plain_markdown(order))
    for warning in info["meta"].get("warnings", []):
        st.warning(warning)
    cols = st.columns(5)
    cols[0].metric("Rows", f"{profile.n_rows:,}")
    cols[1].metric("Classes", len(profile.classes))
    cols[2].metric("Imbalance ratio", f"{profile.imbalance_ratio:.1f}")
    cols[3].metric("Normalised entropy", f"{profile.normalised_entropy:.2f}")
    cols[4].metric("Median tokens", f"{profile.length_summary.median:.0f}")
    if extreme := extreme_imbalance_in_words(profile):
        st.warning(plain_markdown(extreme), icon="⚠️")
    log_scale = st.toggle("Log scale", value=profile.imbalance_ratio > 20)
    st.plotly_chart(class_distribution(profile, log_scale=log_scale), width="stretch")
    st.plotly_chart(length_histogram(profile, y), width="stretch")
    defaults = TrainSettings()
    cut = cut_of_counts(defaults, profile.token_lengths)
    st.caption(f"At the default training settings, {cut_in_words(cut, defaults)} The Experiment page sets the length.")
    with st.expander("Examples per class", expanded=False):
        for cls, texts in profile.examples.items():
            st.markdown(f"**{cls}**".replace("<", "&lt;"))
            for text in texts:
                st.text(cut_at_word(text, EXAMPLE_CHARS))
    st.caption(f"{profile.n_exact_duplicates:,} exact duplicate texts (kept together in one split); "
               f"{profile.n_conflicting_duplicates:,} texts appear with more than one label.")
    st.markdown("**Rows per class in each part of the split**")
    st.dataframe(parts_table(profile), width="stretch", hide_index=True)
    st.caption(parts_note(profile))
    if profile.conflicting_duplicates:
        with st.expander("Duplicates with conflicting labels"):
            st.dataframe([{"text": t, "labels": ", ".join(labels)} for t, labels in profile.conflicting_duplicates],
                         width="stretch")


st.title("Data")
if not read_only() and not store().datasets(include_archived=True) and (sample_id := _register_sample()):
    set_dataset(sample_id)  # a new workspace opens on the built-in sample (an archived one stays archived)
    st.rerun()  # app.py drew the sidebar before this page ran: once more, so its Dataset block shows the sample
if stored := st.session_state.pop(STORED_MESSAGE, None):
    st.success(stored, icon="✅")
load_section()
dataset_id = current_dataset_id()
if dataset_id:
    st.divider()
    profile_section(dataset_id)

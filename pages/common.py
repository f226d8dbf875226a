"""What every page shares: the store, the current dataset/experiment, the sidebar.

The current dataset and experiment live in the URL query (so a refresh or a
shared link keeps them) and fall back to the newest ones in the store."""

from __future__ import annotations

import streamlit as st

from core.data.dataset_names import dataset_labels
from core.data.wording import human_bytes
from core.errors import InputError
from core.jobs.store import Store
from core.settings import get_settings


@st.cache_resource
def _store(workspace: str) -> Store:
    return Store(workspace)


def store() -> Store:
    """The workspace's store; a workspace that cannot be opened (made by a newer
    version, unreadable, bad settings) stops the page with its message."""
    try:
        return _store(str(get_settings().workspace.resolve()))
    except InputError as exc:
        show_error(exc)
        st.stop()


def read_only() -> bool:
    """Whether the workspace is served for viewing only (``IMBALANCE_LAB_READ_ONLY=1``): pages then offer no
    action that changes datasets, experiments or runs (``core`` would refuse it anyway)."""
    return get_settings().read_only


def read_only_banner() -> None:
    """The line above every page that says the workspace is read-only, and what still works."""
    if read_only():
        st.info("This workspace is read-only: browse the results, predict and download reports. Uploading, "
                "training, cancelling and archiving are switched off.", icon="🔒")


def ensure_worker() -> None:
    """Start the worker once per session if no live worker holds the lease
    (never in read-only mode: predictions then need a worker already running)."""
    if st.session_state.get("_worker_checked") or read_only():
        return
    from core.jobs.lease import ensure_worker as start

    start(store().root)
    st.session_state["_worker_checked"] = True


def _chosen(key: str) -> str | None:
    """The URL's choice, else this tab's last choice (page links drop the query)."""
    return st.query_params.get(key) or st.session_state.get(f"current.{key}")


def current_dataset_id() -> str | None:
    datasets = store().datasets()
    chosen = _chosen("dataset")
    if chosen in {d["id"] for d in datasets}:
        return chosen
    return datasets[0]["id"] if datasets else None


def set_dataset(dataset_id: str) -> None:
    st.query_params["dataset"] = st.session_state["current.dataset"] = dataset_id
    st.query_params.pop("experiment", None)
    st.session_state.pop("current.experiment", None)


def current_experiment_id() -> int | None:
    """The chosen experiment; else the current dataset's newest; else the newest of any dataset (a new tab opens on
    the newest dataset, which may have no experiment while others do)."""
    dataset_id = current_dataset_id()
    experiments = store().experiments(dataset_id=dataset_id) if dataset_id else []
    chosen = _chosen("experiment")
    ids = [e["id"] for e in experiments]
    if chosen and str(chosen).isdigit() and int(chosen) in ids:
        return int(chosen)
    if ids:
        return ids[0]
    anywhere = store().experiments()
    return anywhere[0]["id"] if anywhere else None


def set_experiment(experiment_id: int) -> None:
    st.query_params["experiment"] = st.session_state["current.experiment"] = str(experiment_id)


def keep_choices_in_url() -> None:
    """Write the current dataset and experiment back into the URL on every page,
    so a refresh or a shared link shows the same thing."""
    dataset_id, experiment_id = current_dataset_id(), current_experiment_id()
    if dataset_id:
        st.query_params["dataset"] = st.session_state["current.dataset"] = dataset_id
    if experiment_id:
        st.query_params["experiment"] = st.session_state["current.experiment"] = str(experiment_id)


_MARKDOWN_SPECIAL = "\\`*_{}[]<>()#+-.!|~$"


def plain_markdown(text: str) -> str:
    """``text`` with every Markdown character escaped, so data (recipe and class
    names) shows as typed and never turns into emphasis, links or HTML."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)


def show_sentences(sentences: list[str]) -> None:
    """Sentences built from data (the verdict) as a bullet list, shown as typed."""
    st.markdown("\n".join(f"- {plain_markdown(s)}" for s in sentences))


def show_error(exc: InputError) -> None:
    st.error(str(exc), icon="⚠️")


def experiment_picker(label: str = "Experiment") -> int | None:
    """Every experiment of the workspace, grouped by dataset (the current dataset's first); choosing one on another
    dataset makes that dataset current."""
    experiments = store().experiments()
    if not experiments:
        return None
    datasets = {d["id"]: d for d in store().datasets(include_archived=True)}
    names = dataset_labels(list(datasets.values()))
    current = current_experiment_id()
    by_id = {e["id"]: e for e in experiments}
    first = by_id[current]["dataset_id"] if current in by_id else None
    ids = sorted(by_id, key=lambda i: (by_id[i]["dataset_id"] != first, by_id[i]["dataset_id"], -i))
    titles = {i: f"{names.get(by_id[i]['dataset_id'], by_id[i]['dataset_id'])} — #{i} {by_id[i]['name']}" for i in ids}
    chosen = st.selectbox(label, ids, index=ids.index(current) if current in ids else 0, format_func=titles.get,
                          help="Every experiment in this workspace, grouped by dataset.")
    if by_id[chosen]["dataset_id"] != current_dataset_id():
        set_dataset(by_id[chosen]["dataset_id"])
    if chosen != current or _chosen("experiment") != str(chosen):
        set_experiment(chosen)
    return chosen


def sidebar() -> None:
    keep_choices_in_url()
    s = store()
    with st.sidebar:
        st.caption("Workspace")
        st.code(str(s.root), language=None)
        dataset_id = current_dataset_id()
        if dataset_id:
            info = s.dataset_info(dataset_id)
            st.caption("Dataset")
            st.text(f"{info['name']}\n{info['n_rows']:,} rows · {len(info['classes'])} classes")
        experiment_id = current_experiment_id()
        if experiment_id:
            st.caption("Experiment")
            st.text(f"#{experiment_id} {s.experiment(experiment_id)['name']}")
        st.caption(f"Disk use: {human_bytes(_disk_usage(str(s.root)))}")


@st.cache_data(ttl=30)
def _disk_usage(root: str) -> int:
    return store().disk_usage()

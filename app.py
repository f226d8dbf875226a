"""Imbalance Lab — the Streamlit app. Pages are thin: they read widgets, call
``core`` and draw the figures ``core`` builds. Training runs in the worker."""

import streamlit as st

from pages.common import read_only_banner, sidebar

st.set_page_config(page_title="Imbalance Lab", page_icon="⚖️", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon="📄", default=True),
    st.Page("pages/experiment.py", title="Experiment", icon="🧪"),
    st.Page("pages/runs.py", title="Runs", icon="⏱️"),
    st.Page("pages/compare.py", title="Compare", icon="📊"),
    st.Page("pages/merge.py", title="Merge explorer", icon="🔀"),
    st.Page("pages/predict.py", title="Predict", icon="🔮"),
    st.Page("pages/report.py", title="Report", icon="📑"),
]

page = st.navigation(PAGES)
sidebar()
read_only_banner()
page.run()

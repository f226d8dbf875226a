"""The Data page, run headless with Streamlit's AppTest (one page per test).

The page file is run on its own (not through ``app.py``), so these tests do not
depend on the other pages. Uploads go through AppTest's ``file_uploader``
support (Streamlit ≥ 1.50); the browser tests in ``tests/e2e`` drive the real
file chooser."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.data.dataset import LabeledTexts
from core.jobs.store import Store

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "pages" / "data.py"
BAD = ROOT / "tests" / "data" / "bad"
SAMPLE = ROOT / "data" / "clothing_reviews_sample.csv"
SAMPLE_NAME = "Clothing reviews sample (stars)"


def run_page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def bar_trace(at: AppTest) -> dict:
    """The class-distribution figure's bar trace (the page's first plotly chart)."""
    charts = at.get("plotly_chart")
    assert charts, "no plotly chart on the page"
    spec = json.loads(charts[0].proto.spec)
    assert spec["layout"]["title"]["text"].startswith("Class distribution")
    (trace,) = spec["data"]
    assert trace["type"] == "bar"
    return trace


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def upload(at: AppTest, name: str, payload: bytes) -> AppTest:
    at.radio[0].set_value("Upload a file")
    rerun(at)
    at.file_uploader[0].upload(name, payload, "text/csv")
    return rerun(at)


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def labeled(counts: dict[str, int], *, seed: int = 0) -> LabeledTexts:
    """Distinct short texts, ``counts[label]`` of each label. (Built here, not
    imported from a conftest: tests/e2e has a conftest of the same name.)"""
    texts = [f"text {seed} {label} number {i}" for label, n in counts.items() for i in range(n)]
    y = np.array([k for k, n in enumerate(counts.values()) for _ in range(n)])
    return LabeledTexts(tuple(texts), y, tuple(counts), name="generated")


def csv_bytes(counts: dict[str, int]) -> bytes:
    data = labeled(counts)
    frame = pd.DataFrame({"review": data.texts, "sentiment": [data.classes[i] for i in data.y]})
    return frame.to_csv(index=False).encode()


def test_empty_workspace_opens_on_the_sample_with_its_distribution(empty_workspace):
    at = run_page()

    (info,) = Store(empty_workspace).datasets()
    assert info["name"] == SAMPLE_NAME
    assert at.subheader[0].value == SAMPLE_NAME
    counts = pd.read_csv(SAMPLE)["stars"].value_counts()
    expected_ratio = counts.max() / counts.min()
    shown = metrics(at)
    assert shown["Imbalance ratio"] == f"{expected_ratio:.1f}"
    assert shown["Classes"] == "5"
    assert shown["Rows"] == f"{len(pd.read_csv(SAMPLE)):,}"
    trace = bar_trace(at)
    assert trace["x"] == ["1", "2", "3", "4", "5"]
    assert trace["y"] == [int(counts[star]) for star in (1, 2, 3, 4, 5)]
    assert trace["text"][0].startswith(f"{counts[1]:,} (")


def test_a_second_visit_does_not_register_the_sample_again(empty_workspace):
    run_page()
    run_page()
    assert len(Store(empty_workspace).datasets(include_archived=True)) == 1


def test_upload_with_one_class_shows_the_specific_error(empty_workspace):
    at = upload(run_page(), "one_class.csv", (BAD / "one_class.csv").read_bytes())
    labels = {s.label: s.value for s in at.selectbox}
    assert labels["Text column"] == "text" and labels["Label column"] == "label"
    button(at, "Use this dataset").click()
    rerun(at)

    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert "only one class ('spam')" in errors[0]
    assert "one_class.csv" in errors[0]
    assert "Traceback" not in errors[0]
    assert [d["name"] for d in Store(empty_workspace).datasets()] == [SAMPLE_NAME]  # nothing stored


def test_unreadable_upload_is_refused_before_the_column_form(empty_workspace):
    at = upload(run_page(), "header_only.csv", (BAD / "header_only.csv").read_bytes())
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "no data rows" in errors[0], errors
    assert not [b for b in at.button if b.label == "Use this dataset"]


def test_valid_upload_becomes_the_current_dataset(empty_workspace):
    at = upload(run_page(), "reviews.csv", csv_bytes({"bad": 12, "ok": 30, "good": 90}))
    labels = {s.label: s.value for s in at.selectbox}
    assert (labels["Text column"], labels["Label column"]) == ("review", "sentiment")
    button(at, "Use this dataset").click()
    rerun(at)

    stored = {d["name"]: d for d in Store(empty_workspace).datasets()}
    assert set(stored) == {SAMPLE_NAME, "reviews.csv"}
    assert at.subheader[0].value == "reviews.csv"
    assert metrics(at)["Imbalance ratio"] == "7.5"
    trace = bar_trace(at)
    assert sorted(zip(trace["x"], trace["y"])) == [("bad", 12), ("good", 90), ("ok", 30)]


def test_ordinal_order_with_odd_digit_labels_does_not_crash(empty_workspace):
    # '²'.isdigit() is True but float('²') fails: the default order must still be offered
    rows = "text,level\n" + "".join(f"text number {i},{['²', '10', '9'][i % 3]}\n" for i in range(30))
    at = upload(run_page(), "levels.csv", rows.encode())
    [box for box in at.checkbox if box.label.startswith("Labels are ordinal")][0].check()
    rerun(at)
    assert at.text_input[0].value == "9, 10, ²"


def test_ordinal_default_order_matches_labels_written_as_decimals(empty_workspace):
    # stars written 1.0 / 2.0 are read as the labels 1 / 2: the offered order must say 1, 2 or the dataset is refused
    at = upload(run_page(), "float_labels.csv", (BAD / "float_labels.csv").read_bytes())
    [box for box in at.selectbox if box.label == "Label column"][0].set_value("stars")
    rerun(at)
    [box for box in at.checkbox if box.label.startswith("Labels are ordinal")][0].check()
    rerun(at)
    assert at.text_input[0].value == "1, 2"
    button(at, "Use this dataset").click()
    rerun(at)
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "float_labels.csv"
    (info,) = [d for d in Store(empty_workspace).datasets() if d["name"] == "float_labels.csv"]
    assert info["classes"] == ["1", "2"] and info["ordinal"]


def test_stored_dataset_lists_every_stored_dataset_and_opens_one(empty_workspace):
    s = Store(empty_workspace)
    first = s.add_dataset(labeled({"bad": 10, "good": 40}), name="first set")
    second = s.add_dataset(labeled({"bad": 20, "ok": 20, "good": 20}, seed=1), name="second set")

    at = run_page()
    assert len(s.datasets()) == 2  # a workspace with datasets gets no sample
    at.radio[0].set_value("Stored dataset")
    rerun(at)
    (box,) = [b for b in at.selectbox if b.label == "Dataset"]
    assert set(box.options) == {"first set (50 rows, 2 classes)", "second set (60 rows, 3 classes)"}
    assert at.subheader[0].value == "second set"  # the newest is current

    box.set_value(first)
    button(at, "Open").click()
    rerun(at)
    assert at.subheader[0].value == "first set"
    assert metrics(at)["Imbalance ratio"] == "4.0"
    assert second in {d["id"] for d in s.datasets()}


def test_archiving_the_only_dataset_keeps_it_archived(empty_workspace):
    at = run_page()  # registers the sample
    at.radio[0].set_value("Stored dataset")
    rerun(at)
    button(at, "Archive this dataset").click()
    rerun(at)
    assert Store(empty_workspace).datasets() == []
    assert not at.metric  # no profile: nothing is current
    assert at.radio[0].value == "Built-in sample"


def parts_frame(at: AppTest) -> pd.DataFrame:
    (frame,) = [d.value for d in at.dataframe if "class" in d.value.columns]
    return frame


def test_upload_with_a_split_column_shows_its_parts_and_the_repeats_of_test_texts(empty_workspace):
    rows = [("Good value for money", "pos", "train"), ("Fine fit and colour", "pos", "TRAIN"),
            ("Nice soft fabric", "pos", "test"), ("Lovely summer dress", "pos", "Dev"),
            ("Bad seams after one wash", "neg", "train"), ("Awful colour in daylight", "neg", "val"),
            ("Poor quality zip", "neg", "Test"), ("poor  QUALITY zip", "neg", "VALIDATION"),
            ("Meh, runs very small", "neg", "train")]
    csv = "text,label,split\n" + "".join(f'"{t}",{label},{part}\n' for t, label, part in rows)
    at = upload(run_page(), "with_split.csv", csv.encode())
    labels = {s.label: s.value for s in at.selectbox}
    assert (labels["Text column"], labels["Label column"]) == ("text", "label")
    (split_box,) = [b for b in at.selectbox if b.label == "Split column (optional)"]
    assert all(word in split_box.help for word in ("train", "validation", "dev", "val", "test", "any case"))
    split_box.set_value("split")
    rerun(at)
    button(at, "Use this dataset").click()
    rerun(at)

    assert at.subheader[0].value == "with_split.csv"
    assert any("1 training or validation row repeats a text of the test rows" in w.value for w in at.warning)
    table = parts_frame(at)
    assert list(table.columns) == ["class", "train", "validation", "test", "left out (repeat a test text)"]
    assert table.set_index("class").loc[["neg", "pos", "all"]].values.tolist() == [
        [2, 1, 1, 1], [2, 1, 1, 0], [4, 2, 2, 1]]
    assert any("fixes train, validation and test for every seed" in c.value for c in at.caption)


def test_a_dataset_without_a_split_column_shows_the_shares_each_seed_draws(empty_workspace):
    Store(empty_workspace).add_dataset(labeled({"bad": 10, "good": 40}), name="drawn")
    table = parts_frame(run_page())
    assert list(table.columns) == ["class", "train ≈", "validation ≈10%", "test ≈20%"]
    assert table.values.tolist() == [["bad", 7, 1, 2], ["good", 28, 4, 8], ["all", 35, 5, 10]]


def test_use_this_dataset_confirms_it_and_empties_the_upload_form(empty_workspace):
    at = upload(run_page(), "reviews.csv", csv_bytes({"bad": 12, "ok": 30, "good": 90}))
    button(at, "Use this dataset").click()
    rerun(at)

    assert [s.value for s in at.success] == ["Stored reviews\\.csv (132 rows, 3 classes): it is now the current "
                                             "dataset, profiled below."]
    assert at.file_uploader[0].value is None  # a new, empty uploader
    assert not [b for b in at.button if b.label == "Use this dataset"] and not at.text_input
    assert at.subheader[0].value == "reviews.csv"
    assert not rerun(at).success  # said once


def test_the_upload_limit_is_cores_cap_in_the_label_and_in_streamlits_own_check(empty_workspace, monkeypatch):
    monkeypatch.setenv("IMBALANCE_LAB_MAX_UPLOAD_MB", "7")
    at = run_page()
    at.radio[0].set_value("Upload a file")
    rerun(at)
    (uploader,) = at.file_uploader
    assert uploader.label.endswith("(up to 7 MB)")
    assert uploader.proto.max_upload_size_mb == 7  # Streamlit's "Limit 7MB per file" and its browser-side check


def captions(at: AppTest) -> list[str]:
    """The captions' text as shown (Markdown escapes removed)."""
    return [c.value.replace("\\", "") for c in at.caption]


def test_the_profile_of_ordinal_labels_shows_their_order(empty_workspace):
    Store(empty_workspace).add_dataset(replace(labeled({"poor": 10, "fair": 20, "good": 15}), ordinal=True),
                                       name="graded")
    assert "Ordinal labels, low to high: poor < fair < good." in captions(run_page())


def test_the_profile_says_how_many_texts_the_default_length_cuts(empty_workspace):
    texts = tuple([f"short text number {i} here" for i in range(20)] + ["long " * 300, "longer " * 400])
    data = LabeledTexts(texts, np.array([0, 1] * 11), ("a", "b"), name="lengths")
    Store(empty_workspace).add_dataset(data, name="lengths")
    (said,) = [c for c in captions(run_page()) if c.startswith("At the default training settings")]
    assert "texts are cut after 256 words" in said and "that cuts 2 of 22 texts (9%)" in said


def test_the_first_load_of_a_new_workspace_shows_the_sample_in_the_sidebar(empty_workspace):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Dataset" in [c.value for c in at.sidebar.caption]
    assert any(t.value.startswith(SAMPLE_NAME) for t in at.sidebar.text)


def test_a_class_under_two_percent_is_flagged_with_anomaly_detection_suggested(empty_workspace):
    Store(empty_workspace).add_dataset(labeled({"ham": 985, "spam": 15}), name="spam at 1.5%")
    (flag,) = [w.value.replace("\\", "") for w in run_page().warning]
    assert flag.startswith('Extreme imbalance: class "spam" is 1.5% of the rows, under 2%.')
    assert "`anomaly`" in flag and "`threshold(objective=class_recall)`" in flag


def test_no_flag_without_a_class_under_two_percent(empty_workspace):
    Store(empty_workspace).add_dataset(labeled({"ham": 900, "spam": 100}), name="spam at 10%")
    assert not [w for w in run_page().warning if w.value.startswith("Extreme")]

"""The bad-input corpus through the two places a user meets it:
``python -m core profile`` (the CLI's ``main``, in-process: every case) and
the Data page (AppTest: upload, pick the columns, "Use this dataset": a fixed
sample, ``PAGE_SAMPLE``, one case per kind of problem; every case goes through
``core.data.tables`` in test_bad_inputs.py). Each must give the outcome the
manifest states, with its message, never a traceback, and a refused file must
leave nothing registered."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_bad_inputs import CASES, CORPUS, _case_settings, generated_dir  # noqa: F401  (fixture)

from core import cli
from core.jobs.store import Store
from tests.apptest_pages import by_label

PAGE = Path(__file__).resolve().parent.parent / "pages" / "data.py"
IDS = [c["id"] for c in CASES]
# The Data page runs one case per kind of problem of the manifest (its sections),
# chosen so that together they take every path of ``test_data_page_upload``:
# refused while reading, a column the page does not offer, refused or warned
# after "Use this dataset", accepted, a chosen encoding, a cap (which refuses the
# built-in sample too), the ordinal order, label merging, an optional column,
# an upload name that differs from the file, and a generated file.
PAGE_SAMPLE = {
    "ragged_rows": "unreadable or empty files: refused while reading, no column form",
    "missing_column": "unreadable or empty files: the chosen column is not offered",
    "latin1_encoding_chosen": "encodings: the user picks the encoding",
    "quoted_newlines": "separators and quoting: accepted as is",
    "more_rows_than_cap": "caps: a setting that refuses the built-in sample too",
    "ordinal_label_not_in_order": "labels: the ordinal order, refused after 'Use this dataset'",
    "labels_differ_by_case_and_space_merged": "labels: label merging, a warning",
    "numeric_text_column": "texts: refused after 'Use this dataset'",
    "split_column_bad_values": "optional columns: the split column",
    "control_characters_in_name": "file names: uploaded under a name other than the file's",
    "xlsx_named_csv": "Excel, Parquet, JSON Lines: a generated file, a warning",
}
PAGE_CASES = [c for c in CASES if c["id"] in PAGE_SAMPLE]


def corpus_path(case: dict, generated: Path) -> Path:
    return (generated if case["generated"] else CORPUS) / case["file"]


def cli_args(case: dict, path: Path, workspace: Path) -> list[str]:
    args = ["--workspace", str(workspace), "profile", str(path), "--text-col", case["text_col"],
            "--label-col", case["label_col"]]
    if case.get("ordinal_order"):
        args += ["--ordinal-order", ",".join(case["ordinal_order"])]
    for key, flag in (("target_col", "--target-col"), ("split_col", "--split-col"), ("encoding", "--encoding")):
        if case.get(key):
            args += [flag, case[key]]
    if case.get("normalise_labels"):
        args.append("--normalise-labels")
    return args


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_profile(case, generated_dir, tmp_path, monkeypatch, capsys):
    _case_settings(case, monkeypatch)
    code = cli.main(cli_args(case, corpus_path(case, generated_dir), tmp_path / "ws"))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    expected = case["message"].lower()
    if case["outcome"] == "refused":
        assert code == cli.EXIT_INPUT, out + err
        assert err.startswith("error: ") and expected in err.lower(), err
        assert case["file"] in err or case.get("name", "\0") in err, f"the message does not name the file: {err}"
        return
    assert code == 0, err
    assert "Imbalance ratio" in out or "imbalance ratio" in out.lower(), out
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    if case["outcome"] == "accepted":
        assert warnings == []
    else:
        assert any(expected in w.lower() for w in warnings), err


# ----------------------------------------------------------------- Data page


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest, *kinds: str) -> list[str]:
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


def pick(at: AppTest, label: str, value: str) -> bool:
    """Choose ``value`` in the selectbox ``label``; False if the page does not offer it."""
    box = by_label(at.selectbox, label)
    if value not in box.options:
        return False
    box.set_value(value)
    run(at)
    return True


def checkbox(at: AppTest, starts: str):
    return next((c for c in at.checkbox if c.label.startswith(starts)), None)


def test_the_page_sample_takes_every_path_of_the_page_test():
    """Every sampled id is in the manifest, and the sample covers every outcome
    and every optional manifest key the page test acts on."""
    assert [c["id"] for c in PAGE_CASES] == [i for i in IDS if i in PAGE_SAMPLE]
    assert len(PAGE_CASES) == len(PAGE_SAMPLE), set(PAGE_SAMPLE) - set(IDS)
    assert {c["outcome"] for c in PAGE_CASES} == {c["outcome"] for c in CASES}
    page_keys = ("encoding", "settings", "ordinal_order", "normalise_labels", "split_col", "name")
    assert {k for c in PAGE_CASES for k in page_keys if c.get(k)} == set(page_keys)
    assert any(c["generated"] for c in PAGE_CASES) and not all(c["generated"] for c in PAGE_CASES)


@pytest.mark.parametrize("case", PAGE_CASES, ids=[c["id"] for c in PAGE_CASES])
def test_data_page_upload(case, generated_dir, tmp_path, monkeypatch):
    _case_settings(case, monkeypatch)
    workspace = tmp_path / "ws"
    monkeypatch.setenv("IMBALANCE_LAB_WORKSPACE", str(workspace))
    path = corpus_path(case, generated_dir)
    expected = case["message"].lower()
    at = run(AppTest.from_file(str(PAGE), default_timeout=120))
    before = {d["id"] for d in Store(workspace).datasets()}  # the built-in sample
    # Caps below the built-in sample's size refuse it too, in words (and the page goes on).
    sample_refusals = set(shown(at, "error"))
    assert bool(sample_refusals) == (not before)
    by_label(at.radio, "Source").set_value("Upload a file")
    run(at)
    at.file_uploader[0].upload(case.get("name", case["file"]), path.read_bytes(), "application/octet-stream")
    run(at)
    if case.get("encoding"):
        assert pick(at, "Encoding", case["encoding"])

    def nothing_registered():
        assert {d["id"] for d in Store(workspace).datasets(include_archived=True)} == before
        assert len(list((workspace / "datasets").glob("*.parquet"))) == len(before)

    errors = [e for e in shown(at, "error") if e not in sample_refusals]
    if errors:  # refused while reading: no column form at all
        assert case["outcome"] == "refused", errors
        assert any(expected in e.lower() for e in errors), errors
        assert not [b for b in at.button if b.label == "Use this dataset"]
        return nothing_registered()

    offered = all(pick(at, label, case[key]) for label, key in (("Text column", "text_col"),
                                                                   ("Label column", "label_col")))
    if not offered:  # the CLI's "no such column": the page only offers the file's columns
        assert case["outcome"] == "refused" and "available columns" in expected, case["id"]
        return nothing_registered()
    for label, key in (("Continuous target (optional)", "target_col"), ("Split column (optional)", "split_col")):
        if case.get(key):
            assert pick(at, label, case[key])
    merge = checkbox(at, "Merge labels that differ only by case")
    if merge is not None:
        merge.set_value(bool(case.get("normalise_labels")))
        run(at)
    if case.get("ordinal_order"):
        checkbox(at, "Labels are ordinal").check()
        run(at)
        next(t for t in at.text_input if t.label.startswith("Order, low to high")).set_value(
            ", ".join(case["ordinal_order"]))
        run(at)
    by_label(at.button, "Use this dataset").click()
    run(at)

    errors = [e for e in shown(at, "error") if e not in sample_refusals]
    if case["outcome"] == "refused":
        assert any(expected in e.lower() for e in errors), (errors, shown(at, "warning", "info"))
        assert all("Traceback" not in e for e in errors)
        return nothing_registered()
    assert errors == []
    added = [d for d in Store(workspace).datasets() if d["id"] not in before]
    assert len(added) == 1, added
    notes = shown(at, "warning", "info")
    if case["outcome"] == "warning":
        assert any(expected in n.lower() for n in notes), notes
    else:
        assert not shown(at, "warning"), shown(at, "warning")

"""core.data.readers and core.data.validation: reading files into RawTable and validating them into LabeledTexts."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from core.data.columns import (
    distinct_labels,
    label_variants,
    natural_order,
    suggest_columns,
)
from core.data.dataset import TEST, TRAIN, VALIDATION, ColumnChoice
from core.data.formats import sniff_delimiter
from core.data.readers import RawTable, read_table
from core.data.validation import to_labeled_texts
from core.data.wording import describe_rows
from core.errors import InputError
from core.files import display_name
from core.settings import Settings

SETTINGS = Settings()
BASE = "text,label\nGreat value,pos\nWorks well,pos\nLovely colour,pos\nBroke fast,neg\nToo small,neg\nLate,neg\n"


def read(content: str | bytes, name: str = "data.csv", **kwargs) -> RawTable:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return read_table(data, name=name, settings=kwargs.pop("settings", SETTINGS), **kwargs)


def load(content: str | bytes, name: str = "data.csv", settings: Settings = SETTINGS, **choice):
    choice = {"text": "text", "label": "label", **choice}
    return to_labeled_texts(read(content, name, settings=settings), ColumnChoice(**choice), settings=settings)


def rows(labels: dict[str, int]) -> str:
    """A CSV with the given number of distinct texts per label."""
    lines = ["text,label"] + [f"text number {i} for {label},{label}" for label, n in labels.items()
                              for i in range(n)]
    return "\n".join(lines) + "\n"


def xlsx_bytes(sheets: dict[str, list[tuple]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, sheet_rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in sheet_rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- file names and sizes


def test_source_is_the_basename_of_the_path(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(BASE)
    assert read_table(path, settings=SETTINGS).source == "reviews.csv"


def test_upload_name_with_path_traversal_becomes_its_basename() -> None:
    assert read(BASE, name="../../etc/passwd.csv").source == "passwd.csv"


def test_display_name_drops_windows_directories_and_control_characters() -> None:
    assert display_name("C:\\Users\\x\\re\x1b[1mport\u202e.csv") == "re[1mport.csv"


def test_display_name_of_only_dots_is_upload() -> None:
    assert display_name("..") == "upload"


def test_missing_path_is_refused_with_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "absent.csv", settings=SETTINGS)


def test_file_over_upload_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"text,label\n" + b"x,y\n" * 300_000)
    with pytest.raises(InputError, match="the limit is 1 MB"):
        read_table(path, settings=Settings(max_upload_mb=1))


def test_bytes_over_upload_cap_are_refused() -> None:
    with pytest.raises(InputError, match="MAX_UPLOAD_MB"):
        read(b"text,label\n" + b"x,y\n" * 300_000, settings=Settings(max_upload_mb=1))


# ---------------------------------------------------------------- CSV structure


def test_column_names_are_strings_and_cells_are_kept_as_text() -> None:
    frame = read("text,2024\n007,1.50\n").frame
    assert list(frame.columns) == ["text", "2024"]
    assert frame.iloc[0].tolist() == ["007", "1.50"]


def test_rows_are_numbered_like_a_spreadsheet() -> None:
    frame = read(BASE).frame
    assert frame.index[0] == 2 and frame.index.name == "row"


def test_blank_lines_are_skipped() -> None:
    assert len(read("text,label\n\nA,x\n\n\nB,y\n").frame) == 2


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        read(b"")


def test_whitespace_only_file_is_refused_as_empty() -> None:
    with pytest.raises(InputError, match="empty"):
        read(b"  \n\n ")


def test_header_only_is_refused() -> None:
    with pytest.raises(InputError, match="no data rows"):
        read("text,label\n")


def test_duplicate_column_names_are_refused_naming_positions() -> None:
    with pytest.raises(InputError, match=r"'label' \(columns 2, 3\)"):
        read("text,label,label\na,b,c\n")


def test_blank_header_cells_get_pandas_style_names() -> None:
    assert list(read("text,,label\na,b,c\n").frame.columns) == ["text", "Unnamed: 1", "label"]


def test_ragged_row_names_the_line() -> None:
    with pytest.raises(InputError, match="line 3 has 3 fields but the header has 2"):
        read("text,label\na,b\nc, d,e\n")


def test_more_rows_than_cap_are_refused_at_read() -> None:
    with pytest.raises(InputError, match="more than 5 rows"):
        read(rows({"a": 3, "b": 3}), settings=Settings(max_rows=5))


def test_na_and_none_stay_values_but_null_is_missing() -> None:
    frame = read("text,label\na,NA\nb,None\nc,null\n").frame
    assert frame["label"].tolist()[:2] == ["NA", "None"] and pd.isna(frame["label"].iloc[2])


# ---------------------------------------------------------------- separators


def test_semicolon_separator_is_sniffed() -> None:
    assert list(read("text;label\nhello, world;x\n").frame.columns) == ["text", "label"]


def test_sniffing_reads_only_the_header_so_commas_in_texts_do_not_mislead() -> None:
    assert sniff_delimiter("text|label\na, b, c, d|x\n") == "|"


def test_tsv_extension_prefers_tab_when_header_is_ambiguous() -> None:
    assert sniff_delimiter("text\n", default="\t") == "\t"


def test_tab_separated_file_is_read() -> None:
    frame = read("text\tlabel\nhello; world, again\tx\n", name="d.tsv").frame
    assert frame["text"].iloc[0] == "hello; world, again"


def test_quoted_newlines_stay_in_one_cell() -> None:
    frame = read('text,label\n"line one\nline two",x\nnext,y\n').frame
    assert frame["text"].tolist() == ["line one\nline two", "next"]


# ---------------------------------------------------------------- encodings


def test_utf8_bom_is_not_part_of_the_first_column_name() -> None:
    assert read("\ufefftext,label\na,b\n").frame.columns[0] == "text"


def test_utf16_with_bom_is_read_without_a_note() -> None:
    table = read("text,label\nnaïve,x\n".encode("utf-16"))
    assert table.frame["text"].iloc[0] == "naïve" and table.notes == ()


def test_cp1252_is_detected_with_a_note() -> None:
    text = "text,label\nUn café crème très agréable,positif\nLe garçon était déçu,négatif\n"
    table = read(text.encode("cp1252"))
    assert table.frame["text"].iloc[0] == "Un café crème très agréable"
    assert table.notes == ("Encoding not UTF-8: assumed cp1252 (detected); choose another if texts look wrong.",)


def test_short_cyrillic_cp1251_is_detected() -> None:
    table = read("text,label\nОтличный товар всем рекомендую,pos\n".encode("cp1251"))
    assert table.encoding == "cp1251"


def test_encoding_argument_overrides_detection() -> None:
    table = read("text,label\nпривет,x\n".encode("cp1251"), encoding="cp1251")
    assert table.frame["text"].iloc[0] == "привет" and table.encoding == "cp1251"


def test_wrong_encoding_argument_names_the_line() -> None:
    with pytest.raises(InputError, match="byte 0xe9 on line 2"):
        read("text,label\ncafé,x\n".encode("latin-1"), encoding="utf-8")


def test_unknown_encoding_name_is_refused() -> None:
    with pytest.raises(InputError, match="not a known encoding"):
        read(BASE, encoding="klingon-8")


def test_mixed_encodings_decode_each_line_and_name_the_legacy_lines() -> None:
    data = "text,label\ncafé,x\n".encode("utf-8") + "déçu,y\n".encode("cp1252")
    table = read(data)
    assert table.frame["text"].tolist() == ["café", "déçu"]
    assert "line 3" in table.notes[0]


def test_utf16_without_bom_is_detected_with_a_note() -> None:
    table = read("text,label\nnaive,x\n".encode("utf-16-le"))
    assert table.frame["text"].iloc[0] == "naive" and "utf_16" in table.notes[0]


def test_binary_bytes_named_csv_are_refused() -> None:
    with pytest.raises(InputError, match="binary data"):
        read(bytes(range(256)) * 4)


# ---------------------------------------------------------------- formats


def test_valid_utf8_full_of_control_characters_is_refused_as_binary() -> None:
    with pytest.raises(InputError, match="binary data"):
        read(bytes(range(1, 32)) * 100)


def test_format_is_sniffed_from_content_when_the_name_has_no_extension() -> None:
    table = read('{"text": "a", "label": "x"}\n', name="upload")
    assert list(table.frame.columns) == ["text", "label"]


def test_excel_content_under_a_csv_name_is_read_as_excel_with_a_note() -> None:
    table = read(xlsx_bytes({"s": [("text", "label"), ("a", "x")]}), name="data.csv")
    assert table.frame["text"].iloc[0] == "a" and "Excel" in table.notes[0]


def test_old_xls_is_refused_with_advice() -> None:
    with pytest.raises(InputError, match="Save it as .xlsx or CSV"):
        read(b"\xd0\xcf\x11\xe0 old workbook", name="data.xls")


def test_xlsx_first_sheet_is_read_and_other_sheets_are_noted() -> None:
    table = read(xlsx_bytes({"first": [("text", "label"), ("a", "x")], "second": [("other",), (1,)]}),
                 name="book.xlsx")
    assert list(table.frame.columns) == ["text", "label"] and "only the first, 'first'" in table.notes[0]


def test_xlsx_cells_keep_their_excel_types() -> None:
    frame = read(xlsx_bytes({"s": [("text", "stars"), ("a", 4)]}), name="book.xlsx").frame
    assert frame["stars"].iloc[0] == 4


def test_xlsx_expanding_past_the_cap_is_refused_before_opening() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (11 * 1024 * 1024))
    with pytest.raises(InputError, match="zip bomb"):
        read(buffer.getvalue(), name="bomb.xlsx", settings=Settings(max_upload_mb=1))


def test_truncated_xlsx_is_refused_as_damaged() -> None:
    data = xlsx_bytes({"s": [("text", "label"), ("a", "x")]})
    with pytest.raises(InputError, match="damaged"):
        read(data[: len(data) // 2], name="book.xlsx")


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(InputError, match="could not be read as an Excel workbook"):
        read(buffer.getvalue(), name="book.xlsx")


def test_parquet_integer_column_with_nulls_keeps_whole_numbers() -> None:
    frame = read(parquet_bytes(pa.table({"stars": pa.array([1, None, 3])})), name="d.parquet").frame
    assert frame["stars"].tolist()[0] == 1 and isinstance(frame["stars"].iloc[0], int)


def test_parquet_duplicate_column_names_are_refused() -> None:
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["text", "text"])
    with pytest.raises(InputError, match="duplicate column names"):
        read(parquet_bytes(table), name="d.parquet")


def test_invalid_parquet_is_refused() -> None:
    with pytest.raises(InputError, match="could not be read as Parquet"):
        read(b"PAR1 not really parquet", name="d.parquet")


def test_jsonl_broken_line_is_named() -> None:
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        read('{"text": "a", "label": "x"}\n{"text": "b",\n', name="d.jsonl")


def test_jsonl_line_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InputError, match="line 1 is a JSON list"):
        read('["a", "x"]\n', name="d.jsonl")


def test_jsonl_rows_are_numbered_by_line() -> None:
    frame = read('{"text": "a", "label": "x"}\n\n{"text": "b", "label": "y"}\n', name="d.jsonl").frame
    assert frame.index.tolist() == [1, 3] and frame.index.name == "line"


def test_json_array_of_objects_is_read() -> None:
    frame = read('[{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]', name="d.json").frame
    assert frame["label"].tolist() == ["x", "y"]


# ---------------------------------------------------------------- column suggestions


def test_suggest_columns_picks_longest_text_and_named_label() -> None:
    frame = pd.DataFrame({"id": ["1", "2", "3"], "title": ["a", "b", "c"], "body": ["long text one", "long two",
                          "long three"], "category": ["x", "y", "x"]})
    assert suggest_columns(frame) == ("body", "category")


def test_suggest_columns_falls_back_to_fewest_distinct_values() -> None:
    frame = pd.DataFrame({"words": ["some text", "more text", "other", "again"], "a": ["p", "q", "r", "s"],
                          "b": ["u", "v", "u", "v"]})
    assert suggest_columns(frame) == ("words", "b")


def test_suggest_columns_returns_none_when_nothing_fits() -> None:
    assert suggest_columns(pd.DataFrame({"n": [1, 2, 3]})) == (None, None)


# ---------------------------------------------------------------- column choice


def test_missing_column_lists_available_columns() -> None:
    with pytest.raises(InputError, match="Available columns: 'text', 'label'"):
        load(BASE, text="review")


def test_missing_column_suggests_a_case_insensitive_match() -> None:
    with pytest.raises(InputError, match="Did you mean 'text'"):
        load(BASE, text="Text")


def test_text_and_label_must_be_different_columns() -> None:
    with pytest.raises(InputError, match="both the text and the label"):
        load(BASE, label="text")


def test_numeric_text_column_is_refused_and_a_text_column_suggested() -> None:
    with pytest.raises(InputError, match="column 'id' looks numeric; pick the column that holds the texts"):
        load("id,text,label\n1,hello there,a\n2,bye now,b\n", text="id")


def test_nested_label_column_is_refused() -> None:
    lines = "".join(f'{{"text": "t{i}", "label": ["a"]}}\n' for i in range(6))
    with pytest.raises(InputError, match="label column 'label' holds lists or records"):
        load(lines, name="d.jsonl")


# ---------------------------------------------------------------- rows dropped with warnings


def test_texts_are_kept_verbatim() -> None:
    data = load('text,label\n"  =SUM(A1) ",a\n<b>x</b>,a\n@me,a\n-1+2 text,b\n+cmd,b\nok,b\n')
    assert data.texts == ("  =SUM(A1) ", "<b>x</b>", "@me", "-1+2 text", "+cmd", "ok")


def test_empty_and_whitespace_texts_are_dropped_with_rows_named() -> None:
    data = load(BASE + ',pos\n"   ",neg\n')
    assert len(data) == 6
    assert "Dropped 2 rows with an empty text in column 'text' (rows 8 and 9)." in data.warnings


def test_rows_without_a_label_are_dropped_and_counted() -> None:
    data = load(BASE + "No label here,\n")
    assert len(data) == 6 and "Dropped 1 row without a label in column 'label' (row 8)." in data.warnings


def test_all_labels_missing_is_refused() -> None:
    with pytest.raises(InputError, match="has no labels"):
        load("text,label\na,\nb,\n")


def test_punctuation_only_texts_are_dropped() -> None:
    data = load(BASE + "!!! ...,pos\n")
    assert len(data) == 6 and any("only punctuation (row 8)" in w for w in data.warnings)


def test_all_texts_punctuation_is_refused() -> None:
    with pytest.raises(InputError, match="contains a word"):
        load("text,label\n!!,a\n??,b\n")


def test_text_longer_than_cap_names_the_spreadsheet_row() -> None:
    with pytest.raises(InputError, match="row 3 of column 'text' has a text of 11 characters; the limit is 10"):
        load("text,label\nshort,a\nmuch longer,b\n", settings=Settings(max_text_chars=10))


def test_long_text_in_jsonl_is_named_by_line() -> None:
    lines = '{"text": "ok", "label": "a"}\n\n{"text": "far too long", "label": "b"}\n'
    with pytest.raises(InputError, match="line 3 of column 'text'"):
        load(lines, name="d.jsonl", settings=Settings(max_text_chars=5))


def test_read_notes_are_carried_into_warnings() -> None:
    data = load(BASE.replace("Great value", "Très bon café").encode("cp1252"))
    assert data.warnings[0].startswith("Encoding not UTF-8")


# ---------------------------------------------------------------- labels


def test_float_labels_become_whole_numbers_with_a_warning() -> None:
    table = pa.table({"text": [f"t{i}" for i in range(6)], "label": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]})
    data = load(parquet_bytes(table), name="d.parquet")
    assert data.classes == ("1", "2") and "stored as decimals" in data.warnings[0]


def test_decimal_strings_become_whole_numbers() -> None:
    data = load(rows({"1.0": 3, "2.0": 3}))
    assert data.classes == ("1", "2") and "written as decimals" in data.warnings[0]


def test_non_whole_decimal_labels_are_kept_as_written() -> None:
    data = load(rows({"0.5": 3, "1.5": 3}))
    assert data.classes == ("0.5", "1.5") and data.warnings == ()


def test_mixed_number_and_word_labels_warn() -> None:
    data = load(rows({"1": 3, "spam": 3}))
    assert data.classes == ("1", "spam") and "mix numbers" in data.warnings[0]


def test_label_variants_warn_and_stay_separate_by_default() -> None:
    data = load(rows({"spam": 3, "Spam ": 3, "ham": 3}))
    assert len(data.classes) == 3 and "differ only by case or spaces" in data.warnings[0]


def test_label_variants_merge_into_the_most_frequent_spelling() -> None:
    data = load(rows({"spam": 4, "Spam ": 3, "ham": 3}), normalise_labels=True)
    assert data.classes == ("ham", "spam") and data.class_counts().tolist() == [3, 7]


def test_one_class_is_refused() -> None:
    with pytest.raises(InputError, match="only one class"):
        load(rows({"a": 5}))


def test_more_classes_than_cap_is_refused() -> None:
    with pytest.raises(InputError, match="3 classes; the limit is 2"):
        load(rows({"a": 3, "b": 3, "c": 3}), settings=Settings(max_classes=2))


def test_small_classes_are_named_with_counts_and_refused() -> None:
    with pytest.raises(InputError, match=r"3 classes have fewer than 3 rows \(a: 1, b: 2, c: 2\)"):
        load(rows({"a": 1, "b": 2, "c": 2, "d": 3}))


def test_min_class_rows_comes_from_settings() -> None:
    data = load(rows({"a": 1, "b": 1}), settings=Settings(min_class_rows=1))
    assert data.class_counts().tolist() == [1, 1]


def test_numeric_classes_are_sorted_numerically() -> None:
    assert load(rows({"10": 3, "2": 3, "1": 3})).classes == ("1", "2", "10")


def test_word_classes_are_sorted_naturally() -> None:
    assert natural_order(["class10", "class2", "Beta", "alpha"]) == ["alpha", "Beta", "class2", "class10"]


def test_y_indexes_classes_row_by_row() -> None:
    data = load("text,label\na,z\nb,y\nc,z\nd,y\ne,z\nf,y\n")
    assert list(data.labels) == ["z", "y", "z", "y", "z", "y"] and data.classes == ("y", "z")


# ---------------------------------------------------------------- ordinal labels


def test_ordinal_order_sets_classes_and_flag() -> None:
    data = load(rows({"high": 3, "low": 3, "mid": 3}), ordinal_order=("low", "mid", "high"))
    assert data.classes == ("low", "mid", "high") and data.ordinal


def test_ordinal_order_missing_a_label_is_refused_naming_it() -> None:
    with pytest.raises(InputError, match="label 'mid' of column 'label' is not in the ordinal order"):
        load(rows({"high": 3, "low": 3, "mid": 3}), ordinal_order=("low", "high"))


def test_ordinal_order_listing_an_absent_label_is_refused() -> None:
    with pytest.raises(InputError, match="'top', which never occur"):
        load(rows({"high": 3, "low": 3}), ordinal_order=("low", "high", "top"))


def test_ordinal_order_repeating_a_label_is_refused() -> None:
    with pytest.raises(InputError, match="more than once"):
        load(rows({"high": 3, "low": 3}), ordinal_order=("low", "high", "low"))


def test_ordinal_order_matches_merged_label_variants() -> None:
    data = load(rows({"Low": 3, "low ": 2, "high": 3}), ordinal_order=("low", "high"), normalise_labels=True)
    assert data.classes == ("Low", "high")


# ---------------------------------------------------------------- target and split columns


def test_target_column_is_read_as_floats() -> None:
    data = load("text,label,score\na,x,1\nb,x,2.5\nc,x,3\nd,y,4\ne,y,5\nf,y,6\n", target="score")
    assert data.target.tolist() == [1.0, 2.5, 3.0, 4.0, 5.0, 6.0]


def test_target_column_bad_rows_are_named() -> None:
    with pytest.raises(InputError, match="rows 3 and 5 hold 'high', ''"):
        load("text,label,score\na,x,1\nb,x,high\nc,x,3\nd,y,\ne,y,5\nf,y,6\n", target="score")


def test_split_column_sets_the_part_of_each_row_ignoring_case_and_spaces() -> None:
    data = load("text,label,split\na,x,train\nb,x,TEST\nc,x, Train\nd,y,test\ne,y,train\nf,y,train\n",
                split="split")
    assert data.parts.tolist() == [TRAIN, TEST, TRAIN, TEST, TRAIN, TRAIN]
    assert data.is_test.tolist() == [False, True, False, True, False, False]


@pytest.mark.parametrize(("value", "part"), [
    ("train", TRAIN), ("TRAIN", TRAIN), (" Train ", TRAIN),
    ("validation", VALIDATION), ("Validation", VALIDATION), ("VALIDATION", VALIDATION),
    ("dev", VALIDATION), ("Dev", VALIDATION), ("DEV", VALIDATION),
    ("val", VALIDATION), ("Val", VALIDATION), (" VAL", VALIDATION),
    ("test", TEST), ("Test", TEST), ("TEST ", TEST),
])
def test_every_accepted_split_value_names_its_part(value: str, part: int) -> None:
    rows_ = [("a", "x", "train"), ("b", "x", "test"), ("c", "x", value), ("d", "y", "train"), ("e", "y", "test"),
             ("f", "y", "train")]
    data = load("text,label,split\n" + "".join(f"{t},{label},{v}\n" for t, label, v in rows_), split="split")
    assert data.parts.tolist() == [TRAIN, TEST, part, TRAIN, TEST, TRAIN]
    assert data.warnings == ()


def test_split_column_bad_values_are_named_with_the_allowed_values() -> None:
    with pytest.raises(InputError) as refused:
        load("text,label,split\na,x,train\nb,x,holdout\nc,x,test\nd,y,test\ne,y,Training\nf,y,train\n",
             split="split")
    message = str(refused.value)
    assert ("split column 'split' must say 'train', 'validation' (or 'dev', 'val') or 'test' in every row "
            "(any case); rows 3 and 6 hold 'holdout', 'Training'.") in message


def test_split_column_empty_cells_are_refused() -> None:
    with pytest.raises(InputError, match="row 4 holds ''"):
        load("text,label,split\na,x,train\nb,x,dev\nc,x,\nd,y,test\ne,y,train\nf,y,train\n", split="split")


def test_split_column_needs_both_train_and_test() -> None:
    with pytest.raises(InputError, match="no 'test' rows"):
        load("text,label,split\na,x,train\nb,x,train\nc,x,train\nd,y,train\ne,y,train\nf,y,train\n",
             split="split")
    with pytest.raises(InputError, match="no 'train' rows; it needs both 'train' and 'test' rows"):
        load("text,label,split\na,x,dev\nb,x,test\nc,x,val\nd,y,test\ne,y,dev\nf,y,test\n", split="split")


def test_split_column_rows_repeating_a_test_text_are_counted_in_a_warning() -> None:
    data = load("text,label,split\nGood one,x,train\nBad one,x,test\nbad  ONE,x,train\nOkay,y,test\n"
                "okay,y,dev\nFine,y,train\nNice,y,val\n", split="split")
    assert data.parts.tolist() == [TRAIN, TEST, TRAIN, TEST, VALIDATION, TRAIN, VALIDATION]
    (warning,) = data.warnings
    assert warning.startswith("2 training or validation rows repeat a text of the test rows of split column 'split'")
    assert "left out of training and validation" in warning and "(rows 4 and 6)" in warning


def test_split_column_whose_training_rows_all_repeat_test_texts_is_refused() -> None:
    with pytest.raises(InputError, match="every 'train' row of split column 'split' repeats a text of its 'test'"):
        load("text,label,split\na,x,test\nb,x,test\nA,x,train\nd,y,test\nd,y,train\nf,y,val\n", split="split")
    with pytest.raises(InputError, match="every 'validation' row of split column 'split' repeats"):
        load("text,label,split\na,x,test\nb,x,train\nA,x,dev\nd,y,test\ne,y,train\nf,y,train\n",
             split="split")


# ---------------------------------------------------------------- entry points and helpers


def test_dataset_is_named_after_its_source() -> None:
    assert load(BASE, name="reviews.csv").name == "reviews.csv"


def test_a_path_on_disk_is_read_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(BASE)
    data = to_labeled_texts(read_table(path, settings=SETTINGS), ColumnChoice("text", "label"), settings=SETTINGS)
    assert data.classes == ("neg", "pos") and len(data) == 6


def test_row_cap_is_also_checked_when_validating() -> None:
    with pytest.raises(InputError, match="more than 5 rows"):
        to_labeled_texts(read(BASE), ColumnChoice("text", "label"), settings=Settings(max_rows=5))


def test_label_variants_lists_spellings_only_where_there_are_several() -> None:
    table = read(rows({"spam": 2, "SPAM": 1, "ham": 3}))
    assert label_variants(table, "label") == {"spam": ["spam", "SPAM"]}


def test_label_variants_of_an_unknown_column_is_refused() -> None:
    with pytest.raises(InputError, match="not found"):
        label_variants(read(BASE), "category")


def test_distinct_labels_are_read_as_validation_reads_them_in_natural_order() -> None:
    assert distinct_labels(read(rows({"10.0": 1, "2.0": 1, "1.0": 1})), "label") == ["1", "2", "10"]


def test_describe_rows_truncates_long_lists() -> None:
    assert describe_rows(range(2, 10)) == "rows 2, 3, 4, 5, 6 and 3 more"


def test_y_is_an_integer_array() -> None:
    assert load(BASE).y.dtype == np.int64

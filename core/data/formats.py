"""Which format a table file is in, and which separator a delimited one uses.

The format comes from the extension, or from the content when the content
says otherwise (Excel and Parquet have magic numbers) or the name has no
known extension; old .xls workbooks are refused with the fix. The separator
is sniffed from the header line only."""

from __future__ import annotations

import csv
from pathlib import Path

from core.data.encodings import BOMS
from core.errors import InputError

DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
FORMAT_NAMES = {"delimited": "CSV", "xlsx": "an Excel workbook", "parquet": "Parquet", "jsonl": "JSON Lines",
                "json": "JSON"}
_FORMAT_BY_EXTENSION = {
    ".csv": "delimited", ".tsv": "delimited", ".tab": "delimited", ".txt": "delimited",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}


def _format_from_content(data: bytes) -> str | None:
    """Binary formats recognised by their magic numbers."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"PAR1"):
        return "parquet"
    return None


def _text_format_from_content(data: bytes) -> str:
    """JSON Lines or JSON if the first character opens an object or array; otherwise a delimited table."""
    head = data[:4096]
    for bom, _ in BOMS:
        head = head.removeprefix(bom)
    first = head.lstrip()[:1]
    return {b"{": "jsonl", b"[": "json"}.get(first, "delimited")


def detect_format(source: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """(format, notes). The extension decides, except that Excel and Parquet
    content is read as what it is, with a note, whatever the name says."""
    extension = Path(source).suffix.lower()
    if extension == ".xls":
        raise InputError("old Excel 97-2003 workbooks (.xls) cannot be read. Save it as .xlsx or CSV, "
                         "then upload again.", source=source)
    by_name = _FORMAT_BY_EXTENSION.get(extension)
    by_content = _format_from_content(data)
    if by_content and by_name and by_content != by_name:
        note = (f"The name ends in {extension} but the file is {FORMAT_NAMES[by_content]}; "
                f"it was read as {FORMAT_NAMES[by_content]}.")
        return by_content, (note,)
    return by_content or by_name or _text_format_from_content(data), ()


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The separator that splits the header line into the most fields (ties go
    to ``default``); reading only the header avoids being misled by commas or
    semicolons inside quoted texts further down."""
    header = text.lstrip("\r\n").split("\n", 1)[0]
    candidates = [default] + [d for d in DELIMITER_NAMES if d != default]

    def n_fields(delimiter: str) -> int:
        try:
            return len(next(csv.reader([header], delimiter=delimiter), []))
        except csv.Error:
            return 1

    best = max(candidates, key=n_fields)  # max keeps the first of equals
    return best if n_fields(best) > 1 else default

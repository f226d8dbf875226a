"""Read a user's table, from a path or uploaded bytes, into a ``RawTable``.

This is the first of two steps, so a page can show the columns before the
user picks them (``core.data.validation.to_labeled_texts`` is the second):
``read_table`` detects the format and the text encoding, enforces the caps
on file size and row count, names the columns, and refuses only what is not
a readable table at all.

Rows are numbered as the user sees them: in a spreadsheet or CSV the header
is row 1, so the first data row is row 2; in JSON Lines a row is known by its
line. ``RawTable.frame``'s index holds these numbers, and the index name says
which ("row" or "line")."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from core.data.cells import MISSING_SPELLINGS, cell_text, is_missing
from core.data.encodings import decode_text
from core.data.formats import DELIMITER_NAMES, detect_format, sniff_delimiter
from core.data.wording import SUPPORTED
from core.errors import InputError
from core.files import display_name
from core.settings import ENV_PREFIX, Settings, get_settings

MIB = 1024 * 1024
XLSX_MAX_EXPANSION = 10  # an .xlsx may unzip to at most this many times the upload cap


@dataclass(frozen=True)
class RawTable:
    """A table as read, before any column is chosen. ``frame``'s index holds
    the row numbers the user sees (its name says "row" or "line")."""

    frame: pd.DataFrame  # all columns as read, column names as strings
    source: str  # display name of the file (basename only, sanitised)
    encoding: str | None  # encoding used for text formats
    notes: tuple[str, ...]  # things the user should check, e.g. an assumed encoding


# ---------------------------------------------------------------- file names


def _is_bytes(source: object) -> bool:
    return isinstance(source, (bytes, bytearray, memoryview))


def _read_bytes(source: str | os.PathLike | bytes, display: str, settings: Settings) -> bytes:
    """The file's bytes, refusing files over the upload cap before reading them."""
    limit = settings.max_upload_mb * MIB
    if _is_bytes(source):
        data = bytes(source)
        _refuse_oversized(len(data), limit, settings, display)
        return data
    path = Path(source)
    try:
        _refuse_oversized(path.stat().st_size, limit, settings, display)
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file. Check the path and try again.", source=display) from None
    except IsADirectoryError:
        raise InputError("this is a folder, not a file. Give the path of a table file.", source=display) from None
    except PermissionError:
        raise InputError("the file cannot be read (permission denied). Copy it somewhere readable.",
                         source=display) from None


def _refuse_oversized(size: int, limit: int, settings: Settings, source: str) -> None:
    if size > limit:
        raise InputError(
            f"the file is {size / MIB:,.1f} MB; the limit is {settings.max_upload_mb:,} MB "
            f"({ENV_PREFIX}MAX_UPLOAD_MB). Upload a sample of the rows, or raise the limit.",
            source=source,
        )


# ---------------------------------------------------------------- frames


def _column_names(values: Iterable[object], source: str) -> list[str]:
    """Header cells as unique strings; blank ones become 'Unnamed: i' as in pandas."""
    names = []
    for position, value in enumerate(values):
        name = "" if is_missing(value) else cell_text(value).strip()
        names.append(name or f"Unnamed: {position}")
    _refuse_duplicate_names(names, source)
    return names


def _refuse_duplicate_names(names: list[str], source: str) -> None:
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(position)
    repeated = [f"'{name}' (columns {', '.join(map(str, where))})" for name, where in positions.items()
                if len(where) > 1]
    if repeated:
        raise InputError(
            f"duplicate column names: {'; '.join(repeated)}. Give every column a unique name, then upload again.",
            source=source,
        )


def refuse_too_many_rows(n_rows: int, settings: Settings, source: str) -> None:
    if n_rows > settings.max_rows:
        raise InputError(
            f"the table has more than {settings.max_rows:,} rows, the limit ({ENV_PREFIX}MAX_ROWS). "
            "Upload a sample of the rows, or raise the limit.",
            source=source,
        )


def _refuse_header_only(frame: pd.DataFrame, source: str) -> None:
    if frame.empty:
        raise InputError("the file has a header row but no data rows. Add rows below the header, then upload again.",
                         source=source)


def _frame_from_header_row(raw: pd.DataFrame, source: str, settings: Settings) -> pd.DataFrame:
    """Use the first non-blank row of a header-less read as column names.
    Blank rows are dropped, but rows keep their spreadsheet numbers
    (header = row 1), so messages point where the user looks."""
    raw = raw[~raw.isna().all(axis=1)]
    if raw.empty:
        raise InputError(f"the file is empty. Upload {SUPPORTED} with a header row and data rows.", source=source)
    refuse_too_many_rows(len(raw) - 1, settings, source)
    frame = raw.iloc[1:].copy()
    frame.columns = _column_names(raw.iloc[0].tolist(), source)
    frame.index = pd.Index(frame.index.to_numpy() - raw.index[0] + 1, name="row")
    _refuse_header_only(frame, source)
    return frame


def _frame_with_names(frame: pd.DataFrame, source: str, first_number: int, unit: str) -> pd.DataFrame:
    """Check and clean column names of a format that has them (Parquet, JSON),
    and number rows from ``first_number`` unless the index already holds numbers."""
    frame.columns = _column_names(frame.columns, source)
    if isinstance(frame.index, pd.RangeIndex):
        frame.index = pd.RangeIndex(first_number, first_number + len(frame))
    frame.index.name = unit
    _refuse_header_only(frame, source)
    return frame


# ---------------------------------------------------------------- readers


def _explain_parser_error(exc: Exception, delimiter: str) -> str:
    separator = DELIMITER_NAMES.get(delimiter, repr(delimiter))
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        expected, line, saw = found.groups()
        return (f"line {line} has {saw} fields but the header has {expected} (separator: {separator}). "
                f"Put quotes around texts that contain a {separator}, or remove the extra fields, then upload again.")
    detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return (f"the file could not be read as a table with {separator} separators ({detail}). "
            "Check for an unclosed quote near that row, then upload again.")


def _read_delimited(data: bytes, source: str, encoding: str | None, settings: Settings) -> RawTable:
    text, used, notes = decode_text(data, source, encoding)
    if not text.strip():
        raise InputError(f"the file is empty. Upload {SUPPORTED} with a header row and data rows.", source=source)
    default = "\t" if source.lower().endswith((".tsv", ".tab")) else ","
    delimiter = sniff_delimiter(text, default)
    try:
        raw = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            na_values=list(MISSING_SPELLINGS), skip_blank_lines=True, nrows=settings.max_rows + 2, engine="c",
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"the file is empty. Upload {SUPPORTED} with a header row and data rows.",
                         source=source) from None
    except pd.errors.ParserError as exc:
        raise InputError(_explain_parser_error(exc, delimiter), source=source) from None
    return RawTable(_frame_from_header_row(raw, source, settings), source, used, notes)


def _check_archive(data: bytes, source: str, settings: Settings) -> None:
    """Refuse a damaged zip, or one whose members would expand past the cap,
    before openpyxl decompresses anything (the zip-bomb guard)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise InputError("the file is damaged: it is not a readable .xlsx (zip) archive. Open it in Excel and save it "
                         "again, or export the sheet as CSV.", source=source) from None
    cap = settings.max_upload_mb * MIB * XLSX_MAX_EXPANSION
    if expanded > cap:
        raise InputError(
            f"the workbook would expand to {expanded / MIB:,.0f} MB when opened, more than the "
            f"{cap / MIB:,.0f} MB allowed ({XLSX_MAX_EXPANSION}x {ENV_PREFIX}MAX_UPLOAD_MB), so it was not "
            "opened; it may be a zip bomb. "
            "Export the sheet as CSV, or remove unused sheets, then upload again.",
            source=source,
        )


def _read_xlsx(data: bytes, source: str, encoding: str | None, settings: Settings) -> RawTable:
    """The first sheet of a workbook; cells keep their Excel types."""
    _check_archive(data, source, settings)
    try:
        with pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
            sheets = book.sheet_names
            raw = book.parse(sheets[0], header=None, dtype=object, keep_default_na=False,
                             na_values=list(MISSING_SPELLINGS), nrows=settings.max_rows + 2)
    except Exception as exc:  # openpyxl signals a damaged workbook with many exception types
        detail = f"{type(exc).__name__}: {exc}"[:200]
        raise InputError(f"the file could not be read as an Excel workbook ({detail}). Open it in Excel and save "
                         "it again as .xlsx, or export the sheet as CSV.", source=source) from None
    notes = () if len(sheets) == 1 else (
        f"The workbook has {len(sheets)} sheets; only the first, '{sheets[0]}', was read. "
        "Move the data to the first sheet if it is elsewhere.",)
    return RawTable(_frame_from_header_row(raw, source, settings), source, None, notes)


def _read_parquet(data: bytes, source: str, encoding: str | None, settings: Settings) -> RawTable:
    """A Parquet file; nested columns are kept and refused only if chosen."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        refuse_too_many_rows(parquet.metadata.num_rows, settings, source)
        table = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"the file could not be read as Parquet ({str(exc)[:200]}). Write it again, or export it "
                         "as CSV.", source=source) from None
    names = _column_names(table.column_names, source)
    frame = table.rename_columns([f"c{i}" for i in range(len(names))]).to_pandas(integer_object_nulls=True)
    frame.columns = names
    return RawTable(_frame_with_names(frame, source, 2, "row"), source, None, ())


def _json_records(text: str, source: str, settings: Settings) -> tuple[list[dict], list[int]]:
    """One JSON object per non-blank line, with the line numbers they came from."""
    records: list[dict] = []
    numbers: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number} is not valid JSON ({exc.msg} at character {exc.colno}). "
                             "Fix or remove that line, then upload again.", source=source) from None
        if not isinstance(record, dict):
            raise InputError(f"line {number} is a JSON {type(record).__name__}, not an object such as "
                             '{"text": "...", "label": "..."}. Put one object per line.', source=source)
        records.append(record)
        numbers.append(number)
        refuse_too_many_rows(len(records), settings, source)
    return records, numbers


def _read_jsonl(data: bytes, source: str, encoding: str | None, settings: Settings) -> RawTable:
    text, used, notes = decode_text(data, source, encoding)
    records, numbers = _json_records(text, source, settings)
    if not records:
        raise InputError(f"the file is empty. Upload {SUPPORTED} with one JSON object per line.", source=source)
    frame = pd.DataFrame(records, dtype=object)
    frame.index = pd.Index(numbers)
    return RawTable(_frame_with_names(frame, source, 1, "line"), source, used, notes)


def _read_json(data: bytes, source: str, encoding: str | None, settings: Settings) -> RawTable:
    """A JSON array of objects (a file of one object per line is read as JSON Lines)."""
    text, used, notes = decode_text(data, source, encoding)
    if not text.lstrip().startswith("["):
        return _read_jsonl(data, source, encoding, settings)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the file is not valid JSON ({exc.msg} on line {exc.lineno}). Fix that line, or save the "
                         "data as JSON Lines or CSV.", source=source) from None
    if not all(isinstance(r, dict) for r in records):
        raise InputError('a JSON file must be a list of objects such as {"text": "...", "label": "..."}.',
                         source=source)
    refuse_too_many_rows(len(records), settings, source)
    frame = pd.DataFrame(records, dtype=object) if records else pd.DataFrame()
    return RawTable(_frame_with_names(frame, source, 1, "record"), source, used, notes)


_READERS: dict[str, Callable[[bytes, str, str | None, Settings], RawTable]] = {
    "delimited": _read_delimited, "xlsx": _read_xlsx, "parquet": _read_parquet,
    "jsonl": _read_jsonl, "json": _read_json,
}


def read_table(source: str | os.PathLike | bytes, *, name: str | None = None, encoding: str | None = None,
               settings: Settings | None = None) -> RawTable:
    """Read CSV/TSV (separator sniffed), Excel .xlsx, Parquet or JSON Lines
    from a path or from uploaded bytes (``name`` is the uploaded file's name).
    ``encoding`` overrides detection for text formats."""
    settings = settings or get_settings()
    fallback = None if _is_bytes(source) else source
    display = display_name(name if name is not None else fallback)
    data = _read_bytes(source, display, settings)
    if not data.strip():
        raise InputError(f"the file is empty. Upload {SUPPORTED} with a header row and data rows.", source=display)
    file_format, notes = detect_format(display, data)
    table = _READERS[file_format](data, display, encoding, settings)
    return replace(table, notes=notes + table.notes)

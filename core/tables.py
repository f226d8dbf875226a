"""Read a user's table and validate it into ``LabeledTexts``.

Two steps, so a page can show the columns before the user picks them:

* ``read_table`` turns a path or uploaded bytes into a ``RawTable``. It detects
  the format (by extension, or by content when the content says otherwise or
  the name has no known extension) and the text encoding, and refuses only
  what is not a readable table at all.
* ``to_labeled_texts`` applies a ``ColumnChoice`` and every data rule. A
  problem the user must fix raises ``InputError`` naming the row or column and
  the fix; a row that cannot be used (no label, no text) is dropped and
  counted in ``LabeledTexts.warnings``.

Rows are numbered as the user sees them: in a spreadsheet or CSV the header
is row 1, so the first data row is row 2; in JSON Lines a row is known by its
line. ``RawTable.frame``'s index holds these numbers, and the index name says
which ("row" or "line").

Cells are kept verbatim (formulas, HTML, right-to-left text and emoji are
data). Only empty cells and the spellings tools write for a missing value
(``MISSING_SPELLINGS``) count as missing; "NA" and "None" stay values, as
both are plausible class names.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from core.dataset import ColumnChoice, LabeledTexts
from core.errors import InputError
from core.profile import has_tokens
from core.settings import ENV_PREFIX, Settings, get_settings

MIB = 1024 * 1024
XLSX_MAX_EXPANSION = 10  # an .xlsx may unzip to at most this many times the upload cap
MISSING_SPELLINGS = ("", "nan", "NaN", "NULL", "null", "#N/A", "N/A", "n/a")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
FORMAT_NAMES = {"delimited": "CSV", "xlsx": "an Excel workbook", "parquet": "Parquet", "jsonl": "JSON Lines",
                "json": "JSON"}
_FORMAT_BY_EXTENSION = {
    ".csv": "delimited", ".tsv": "delimited", ".tab": "delimited", ".txt": "delimited",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}
_BOMS = (  # UTF-32 LE before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_FALLBACK_LEGACY = "cp1252"  # the usual legacy encoding of spreadsheet exports in Western locales
WINDOWS_CODE_PAGES = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256", "cp1258")
_SUPPORTED = "CSV/TSV, Excel (.xlsx), Parquet or JSON Lines"
_NUMERIC_TEXT = re.compile(r"[.eE]")
_LABEL_HINTS = ("label", "class", "category", "target", "sentiment", "rating", "stars", "score", "intent",
                "topic", "tag", "y")


@dataclass(frozen=True)
class RawTable:
    """A table as read, before any column is chosen. ``frame``'s index holds
    the row numbers the user sees (its name says "row" or "line")."""

    frame: pd.DataFrame  # all columns as read, column names as strings
    source: str  # display name of the file (basename only, sanitised)
    encoding: str | None  # encoding used for text formats
    notes: tuple[str, ...]  # things the user should check, e.g. an assumed encoding


# ---------------------------------------------------------------- file names


def sanitise_name(name: str | os.PathLike | None) -> str:
    """The basename of ``name`` without directories, control or format
    characters (e.g. right-to-left overrides), safe to show and log."""
    text = os.fspath(name) if name is not None else ""
    text = str(text).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf"}).strip()
    if set(text) <= {"."}:  # "", "." and ".." name no file
        return "upload"
    return text[:200]


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


# ---------------------------------------------------------------- formats


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
    for bom, _ in _BOMS:
        head = head.removeprefix(bom)
    first = head.lstrip()[:1]
    return {b"{": "jsonl", b"[": "json"}.get(first, "delimited")


def _detect_format(source: str, data: bytes) -> tuple[str, tuple[str, ...]]:
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


# ---------------------------------------------------------------- encodings


def _looks_binary(text: str) -> bool:
    """True for decoded content no text explains: NULs or many control characters."""
    sample = text[:65536]
    return len(_CONTROL_CHARS.findall(sample)) > 0.01 * max(1, len(sample)) or "\x00" in sample


def _refuse_binary(source: str) -> InputError:
    return InputError(
        f"the file does not look like a text table: it contains binary data. Upload {_SUPPORTED}; "
        "if it is text in an unusual encoding, choose the encoding explicitly.",
        source=source,
    )


def _decode_as(data: bytes, encoding: str, source: str) -> str:
    """Decode with the user's chosen encoding, or say where it fails."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"'{encoding}' is not a known encoding; try utf-8, cp1252, latin-1 or utf-16.",
                         source=source) from None
    try:
        return data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"the file cannot be read as {encoding}: byte 0x{data[exc.start]:02x} on line {line} is not valid in "
            "that encoding. Choose another encoding, or leave it empty to detect it.",
            source=source,
        ) from None


def _line_list(numbers: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _decode_mixed(data: bytes) -> tuple[str, str, tuple[str, ...]] | None:
    """Decode a file that is mostly UTF-8 but has some lines in a legacy
    encoding (typically rows pasted from another export): UTF-8 lines stay
    UTF-8, the others are read as cp1252. None if no line uses UTF-8's
    multi-byte characters, i.e. the file is not mixed but simply legacy."""
    lines = data.split(b"\n")
    decoded: list[str] = []
    bad: list[int] = []
    n_utf8_non_ascii = 0
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
            n_utf8_non_ascii += not line.isascii()
        except UnicodeDecodeError:
            bad.append(number)
            try:
                decoded.append(line.decode(_FALLBACK_LEGACY))
            except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
                decoded.append(line.decode("latin-1"))
    if n_utf8_non_ascii == 0:
        return None
    note = (f"Mixed encodings: most lines are UTF-8, but {_line_list(bad)} are not and were read as "
            f"{_FALLBACK_LEGACY}. Check those rows; re-save the file as UTF-8 to avoid this.")
    return "\n".join(decoded), "utf-8", (note,)


def _detect_legacy_encoding(data: bytes) -> str | None:
    """charset-normalizer's guess for non-UTF-8 bytes, or None if nothing fits.

    On short texts it often ranks a rare code page first (iso8859_10 for
    French, mac_cyrillic for Russian) where a Windows code page is about as
    plausible; Windows code pages are by far the usual source of such files
    (spreadsheet exports), so the first of ``WINDOWS_CODE_PAGES`` that is
    about as plausible as the best match wins."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for code_page in WINDOWS_CODE_PAGES:
        for match in matches:
            if (code_page in match.could_be_from_charset and match.chaos <= best.chaos + 0.1
                    and match.coherence >= best.coherence - 0.05):
                return code_page
    return best.encoding


def decode_text(data: bytes, source: str, encoding: str | None = None) -> tuple[str, str, tuple[str, ...]]:
    """(text, encoding used, notes). A given ``encoding`` is used as is; a BOM
    decides next; then UTF-8; then mixed UTF-8/legacy lines; then detection.
    Any guess adds a note, because a wrong guess silently garbles accents."""
    if encoding:
        return _decode_as(data, encoding, source), encoding, ()
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_as(data, codec, source), codec, ()
    text, used, notes = _guess_decoding(data)
    if text is None or _looks_binary(text):
        raise _refuse_binary(source)
    return text, used, notes


def _guess_decoding(data: bytes) -> tuple[str | None, str, tuple[str, ...]]:
    """UTF-8 if it decodes to text; else mixed lines; else charset-normalizer.
    UTF-16 without a BOM may decode as UTF-8 full of NULs, hence the check."""
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:
            return text, "utf-8", ()
    except UnicodeDecodeError:
        pass
    mixed = _decode_mixed(data) if b"\x00" not in data else None
    if mixed is not None:
        return mixed
    detected = _detect_legacy_encoding(data)
    if detected is None:
        return None, "", ()
    note = f"Encoding not UTF-8: assumed {detected} (detected); choose another if texts look wrong."
    return data.decode(detected), detected, (note,)


# ---------------------------------------------------------------- frames


def _is_missing(value: object) -> bool:
    """True for None/NaN/NaT cells (nested values are never missing)."""
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return False
    return bool(pd.isna(value))


def cell_text(value: object) -> str:
    """A cell as text: whole numbers stored as floats (1.0) lose the '.0'."""
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer, np.floating)):
        return str(value.item())
    return str(value)


def _column_names(values: Iterable[object], source: str) -> list[str]:
    """Header cells as unique strings; blank ones become 'Unnamed: i' as in pandas."""
    names = []
    for position, value in enumerate(values):
        name = "" if _is_missing(value) else cell_text(value).strip()
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


def _refuse_too_many_rows(n_rows: int, settings: Settings, source: str) -> None:
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
        raise InputError(f"the file is empty. Upload {_SUPPORTED} with a header row and data rows.", source=source)
    _refuse_too_many_rows(len(raw) - 1, settings, source)
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
        raise InputError(f"the file is empty. Upload {_SUPPORTED} with a header row and data rows.", source=source)
    default = "\t" if source.lower().endswith((".tsv", ".tab")) else ","
    delimiter = sniff_delimiter(text, default)
    try:
        raw = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            na_values=list(MISSING_SPELLINGS), skip_blank_lines=True, nrows=settings.max_rows + 2, engine="c",
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"the file is empty. Upload {_SUPPORTED} with a header row and data rows.",
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
        _refuse_too_many_rows(parquet.metadata.num_rows, settings, source)
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
        _refuse_too_many_rows(len(records), settings, source)
    return records, numbers


def _read_jsonl(data: bytes, source: str, encoding: str | None, settings: Settings) -> RawTable:
    text, used, notes = decode_text(data, source, encoding)
    records, numbers = _json_records(text, source, settings)
    if not records:
        raise InputError(f"the file is empty. Upload {_SUPPORTED} with one JSON object per line.", source=source)
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
    _refuse_too_many_rows(len(records), settings, source)
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
    display = sanitise_name(name if name is not None else fallback)
    data = _read_bytes(source, display, settings)
    if not data.strip():
        raise InputError(f"the file is empty. Upload {_SUPPORTED} with a header row and data rows.", source=display)
    file_format, notes = _detect_format(display, data)
    table = _READERS[file_format](data, display, encoding, settings)
    return replace(table, notes=notes + table.notes)


# ---------------------------------------------------------------- column suggestions


def _name_matches(column: str, hints: tuple[str, ...]) -> int | None:
    """Rank of the first hint that is the column's name or one of its words."""
    words = set(re.split(r"[^0-9a-z]+", column.lower())) | {column.lower()}
    return next((rank for rank, hint in enumerate(hints) if hint in words), None)


def _is_nested_column(column: pd.Series) -> bool:
    if column.dtype != object:
        return False
    return bool(column.map(lambda v: isinstance(v, (dict, list, tuple, set, np.ndarray))).any())


def looks_numeric(column: pd.Series) -> bool:
    """True for number, boolean or date columns, and for text columns whose
    every non-blank value parses as a number."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column) \
            or pd.api.types.is_datetime64_any_dtype(column):
        return True
    values = _texts_of(column[column.notna()]).str.strip()
    values = values[values != ""]

    def all_numbers(part: pd.Series) -> bool:
        return bool(pd.to_numeric(part, errors="coerce").notna().all())

    # A text column fails on its first rows; only a numeric-looking head needs the full check.
    return not values.empty and all_numbers(values.head(1000)) and all_numbers(values)


def suggest_columns(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """(text column, label column) to preselect, or None where nothing fits.

    The text column is the non-numeric column with the longest texts on
    average. The label column is one whose name says so (label, class,
    stars, ...) with 2 to ``max_classes`` distinct values, else the column with
    the fewest distinct values (at least 2, and some value repeated)."""
    sample = frame.head(10_000)
    usable = [c for c in sample.columns if not _is_nested_column(sample[c])]
    mean_lengths = {}
    for column in usable:
        values = sample[column].dropna()
        if not values.empty and not looks_numeric(sample[column]):
            mean_lengths[column] = values.map(cell_text).str.len().mean()
    text = max(mean_lengths, key=mean_lengths.get) if mean_lengths else None
    max_classes = get_settings().max_classes
    values = {c: sample[c].dropna().map(cell_text) for c in usable if c != text}
    candidates = {c: v.nunique() for c, v in values.items() if 2 <= v.nunique() <= max_classes}
    hinted = sorted((rank, c) for c in candidates if (rank := _name_matches(c, _LABEL_HINTS)) is not None)
    if hinted:
        return text, hinted[0][1]
    repeating = {c: n for c, n in candidates.items() if n < len(values[c])}  # all-distinct columns are IDs
    label = min(repeating, key=repeating.get) if repeating else None
    return text, label


# ---------------------------------------------------------------- validation helpers


def _row_unit(frame: pd.DataFrame) -> str:
    return frame.index.name or "row"


def describe_rows(numbers: Iterable[object], unit: str = "row", limit: int = 5) -> str:
    """'row 5', 'rows 5, 9 and 12', 'rows 2, 3, 4, 5, 6 and 7 more'."""
    numbers = list(numbers)
    if len(numbers) == 1:
        return f"{unit} {numbers[0]}"
    shown = [str(n) for n in numbers[:limit]]
    if len(numbers) > limit:
        return f"{unit}s {', '.join(shown)} and {len(numbers) - limit} more"
    return f"{unit}s {', '.join(shown[:-1])} and {shown[-1]}"


def _quoted(values: Iterable[object], limit: int = 10) -> str:
    values = list(values)
    shown = ", ".join(repr(str(v)) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _are(items: object) -> str:
    return "is" if len(items) == 1 else "are"


def _them(items: object) -> str:
    return "it" if len(items) == 1 else "them"


def _hold(items: object) -> str:
    return "holds" if len(items) == 1 else "hold"


def _require_column(frame: pd.DataFrame, column: str, role: str, source: str) -> None:
    """Refuse a column name the table does not have, listing those it has."""
    if column in frame.columns:
        return
    available = [str(c) for c in frame.columns]
    close = [c for c in available if c.lower() == column.lower()] or difflib.get_close_matches(column, available, 1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise InputError(f"{role} column '{column}' not found. Available columns: {_quoted(available, 50)}.{hint}",
                     source=source)


def _require_columns(frame: pd.DataFrame, choice: ColumnChoice, source: str) -> None:
    """Every chosen column exists, and text and label are different columns."""
    for role, column in (("text", choice.text), ("label", choice.label), ("target", choice.target),
                         ("split", choice.split)):
        if column is not None:
            _require_column(frame, column, role, source)
    if choice.text == choice.label:
        raise InputError(f"'{choice.text}' is chosen as both the text and the label column; pick two different "
                         "columns.", source=source)


def _refuse_nested(frame: pd.DataFrame, column: str, role: str, source: str) -> None:
    if _is_nested_column(frame[column]):
        raise InputError(
            f"{role} column '{column}' holds lists or records (nested data), not plain values. Pick a column of "
            f"plain {'text' if role == 'text' else 'labels'}, or flatten that column before uploading.",
            source=source,
        )


def _refuse_numeric_texts(frame: pd.DataFrame, column: str, source: str) -> None:
    if looks_numeric(frame[column]):
        suggested, _ = suggest_columns(frame)
        hint = f" ('{suggested}' looks like text)" if suggested else ""
        raise InputError(f"column '{column}' looks numeric; pick the column that holds the texts{hint}.",
                         source=source)


def _texts_of(column: pd.Series) -> pd.Series:
    """Cells as verbatim strings (object dtype); missing cells stay NaN."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.astype(object)
    return column.astype(object).map(lambda v: np.nan if _is_missing(v) else cell_text(v))


def _whole_floats(values: pd.Series) -> pd.Series:
    """True where a cell is a float holding a whole number (1.0), as Excel,
    Parquet and JSON store integer columns that have gaps."""
    if pd.api.types.is_float_dtype(values):
        return values % 1 == 0
    if values.dtype != object:
        return pd.Series(False, index=values.index)
    return values.map(lambda v: isinstance(v, (float, np.floating)) and float(v).is_integer())


def _label_strings(column: pd.Series, name: str) -> tuple[pd.Series, list[str]]:
    """Labels as strings (NaN where missing or blank), with warnings about
    how numbers were read: whole numbers written as decimals become whole
    ("1.0" -> "1"), and a column mixing numbers and words is flagged."""
    values = column[column.notna()]
    labels = _texts_of(values)
    labels = labels[labels.str.strip() != ""]
    warnings: list[str] = []
    float_rows = _whole_floats(values.loc[labels.index])
    numbers = pd.to_numeric(labels, errors="coerce")
    written_as_decimal = labels.str.contains(_NUMERIC_TEXT) & numbers.notna()
    if numbers.notna().all() and (numbers % 1 == 0).all() and written_as_decimal.any():
        before = labels[written_as_decimal].drop_duplicates().head(3).tolist()
        labels = labels.where(~written_as_decimal, numbers.map(lambda x: str(int(x))))
        after = [str(int(float(b))) for b in before]
        warnings.append(f"Labels in column '{name}' are whole numbers written as decimals "
                        f"({', '.join(before)}); they were read as {', '.join(after)}.")
    elif float_rows.any():
        examples = values.loc[float_rows[float_rows].index].drop_duplicates().head(3)
        warnings.append(f"Labels in column '{name}' are whole numbers stored as decimals "
                        f"({', '.join(map(str, examples))}); they were read as "
                        f"{', '.join(cell_text(v) for v in examples)}.")
    is_number = numbers.notna()
    if is_number.any() and not is_number.all():
        warnings.append(
            f"Labels in column '{name}' mix numbers ({_quoted(labels[is_number].unique(), 3)}) and words "
            f"({_quoted(labels[~is_number].unique(), 3)}); all are used as text labels. If some rows are "
            "mistyped or shifted, fix them and upload again.")
    return labels.reindex(column.index), warnings


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _variant_groups(labels: pd.Series) -> dict[str, list[str]]:
    """Normalised label -> its spellings, most frequent first, where there is more than one."""
    counts = labels.value_counts()
    groups: dict[str, list[str]] = {}
    for spelling in sorted(counts.index, key=lambda s: (-counts[s], s)):  # ties: alphabetical, for determinism
        groups.setdefault(_label_key(spelling), []).append(spelling)
    return {key: spellings for key, spellings in groups.items() if len(spellings) > 1}


def _reconcile_variants(labels: pd.Series, name: str, merge: bool, warnings: list[str]) -> pd.Series:
    """Warn about labels differing only by case or spaces; merge each group
    into its most frequent spelling when ``merge`` is set."""
    groups = _variant_groups(labels)
    if not groups:
        return labels
    listed = "; ".join(" / ".join(repr(s) for s in spellings) for spellings in groups.values())
    if not merge:
        warnings.append(f"Labels in column '{name}' differ only by case or spaces: {listed}. They are kept as "
                        "separate classes; turn on label normalisation to merge them.")
        return labels
    mapping = {s: spellings[0] for spellings in groups.values() for s in spellings[1:]}
    warnings.append(f"Merged labels in column '{name}' that differ only by case or spaces: {listed} "
                    f"(each group now uses its most frequent spelling).")
    return labels.map(lambda s: mapping.get(s, s))


def _drop_rows(mask: pd.Series, message: str, unit: str, warnings: list[str]) -> pd.Series:
    """Warn about rows about to be dropped; return the keep-mask."""
    dropped = mask[mask].index
    if len(dropped):
        warnings.append(f"Dropped {len(dropped):,} {'row' if len(dropped) == 1 else 'rows'} {message} "
                        f"({describe_rows(dropped, unit)}).")
    return ~mask


def _refuse_long_texts(texts: pd.Series, column: str, settings: Settings, source: str, unit: str) -> None:
    lengths = texts.str.len()
    too_long = lengths[lengths > settings.max_text_chars]
    if too_long.empty:
        return
    rows = describe_rows(too_long.index, unit)
    size = (f"a text of {int(too_long.iloc[0]):,} characters" if len(too_long) == 1
            else f"texts of up to {int(too_long.max()):,} characters")
    raise InputError(
        f"{rows} of column '{column}' {'has' if len(too_long) == 1 else 'have'} {size}; the limit is "
        f"{settings.max_text_chars:,} ({ENV_PREFIX}MAX_TEXT_CHARS). Shorten or split {_them(too_long)}, "
        "or raise the limit.",
        source=source,
    )


def _natural_key(label: str) -> tuple:
    """Sort key putting 'class2' before 'class10'; digits and text alternate."""
    parts = re.split(r"([0-9]+)", label)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), label


def natural_order(labels: Iterable[str]) -> list[str]:
    """Numeric labels in numeric order, others in natural (human) order."""
    labels = list(labels)
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    if labels and numbers.notna().all():
        return [label for _, label in sorted(zip(numbers, labels))]
    return sorted(labels, key=_natural_key)


def _ordinal_classes(counts: pd.Series, order: tuple[str, ...], merge: bool, column: str,
                     source: str) -> list[str]:
    """The user's low-to-high order, checked against the labels present."""
    order = tuple(str(o) for o in order)
    repeated = sorted({o for o in order if order.count(o) > 1})
    if repeated:
        raise InputError(f"the ordinal order lists {_quoted(repeated)} more than once; list each label once.",
                         source=source)
    if merge:
        canonical = {_label_key(label): label for label in counts.index}
        order = tuple(canonical.get(_label_key(o), o) for o in order)
    unlisted = [label for label in natural_order(counts.index) if label not in order]
    if unlisted:
        these = "label" if len(unlisted) == 1 else "labels"
        raise InputError(f"{these} {_quoted(unlisted)} of column '{column}' {_are(unlisted)} not in the ordinal "
                         f"order ({', '.join(order)}). Add {_them(unlisted)} to the order, or fix those rows.",
                         source=source)
    absent = [o for o in order if o not in counts.index]
    if absent:
        raise InputError(f"the ordinal order lists {_quoted(absent)}, which never occur in column '{column}'. "
                         f"Remove {_them(absent)} from the order.", source=source)
    return list(order)


def _classes(labels: pd.Series, choice: ColumnChoice, settings: Settings, source: str) -> list[str]:
    """Class order after checking the number of classes and rows per class."""
    counts = labels.value_counts()
    column = choice.label
    if len(counts) < 2:
        raise InputError(f"column '{column}' has only one class ({_quoted(counts.index)}); a classifier needs at "
                         "least 2. Pick another label column, or add rows of other classes.", source=source)
    if len(counts) > settings.max_classes:
        raise InputError(
            f"column '{column}' has {len(counts):,} classes; the limit is {settings.max_classes:,} "
            f"({ENV_PREFIX}MAX_CLASSES). Check that '{column}' holds class labels, not IDs or free text; merge rare "
            "classes, or raise the limit.", source=source)
    if choice.ordinal_order is not None:
        classes = _ordinal_classes(counts, choice.ordinal_order, choice.normalise_labels, column, source)
    else:
        classes = natural_order(counts.index)
    small = [c for c in classes if counts[c] < settings.min_class_rows]
    if small:
        listed = ", ".join(f"{c}: {counts[c]}" for c in small[:10]) + (f" and {len(small) - 10} more"
                                                                        if len(small) > 10 else "")
        subject = "1 class has" if len(small) == 1 else f"{len(small)} classes have"
        raise InputError(
            f"{subject} fewer than {settings.min_class_rows} rows ({listed}) — too few to split into "
            f"train/validation/test. Merge {_them(small)} into a related class or drop {_them(small)}, then upload "
            "again.",
            source=source)
    return classes


def _target_values(column: pd.Series, name: str, source: str, unit: str) -> np.ndarray:
    """A continuous target: every kept row needs a finite number."""
    numbers = pd.to_numeric(_texts_of(column).str.strip(), errors="coerce").astype(float)
    bad = numbers.isna() | ~np.isfinite(numbers)
    if bad.any():
        shown = _quoted(column[bad].map(lambda v: "" if _is_missing(v) else cell_text(v)).head(5))
        rows = describe_rows(bad[bad].index, unit)
        raise InputError(f"target column '{name}' must hold a number in every row; {rows} {_hold(bad[bad])} "
                         f"{shown}. Fix or remove those rows, or pick another target column.", source=source)
    return numbers.to_numpy(dtype=np.float64)


def _test_flags(column: pd.Series, name: str, source: str, unit: str) -> np.ndarray:
    """The user's split column: 'train' or 'test' (any case) in every kept row."""
    values = column.map(lambda v: "" if _is_missing(v) else cell_text(v).strip().lower())
    bad = ~values.isin(["train", "test"])
    if bad.any():
        shown = _quoted(column[bad].map(lambda v: "" if _is_missing(v) else cell_text(v)).unique())
        raise InputError(f"split column '{name}' must say 'train' or 'test' in every row; "
                         f"{describe_rows(bad[bad].index, unit)} {_hold(bad[bad])} {shown}. Fix those rows.",
                         source=source)
    is_test = (values == "test").to_numpy()
    if is_test.all() or not is_test.any():
        missing = "train" if is_test.all() else "test"
        raise InputError(f"split column '{name}' has no '{missing}' rows; it needs both. Fix the column or do not "
                         "use it (a split is then drawn for you).", source=source)
    return is_test


# ---------------------------------------------------------------- validation


def _usable_rows(texts: pd.Series, labels: pd.Series, choice: ColumnChoice, settings: Settings, source: str,
                 unit: str, warnings: list[str]) -> pd.Index:
    """Rows with a label and a text that has at least one token; the text
    length cap is checked on these before tokenising."""
    if labels.isna().all():
        raise InputError(f"column '{choice.label}' has no labels: it is empty in all {len(labels):,} rows. "
                         "Pick the column that holds the labels.", source=source)
    keep = _drop_rows(labels.isna(), f"without a label in column '{choice.label}'", unit, warnings)
    blank = texts[keep].isna() | (texts[keep].str.strip() == "")
    keep[keep] = _drop_rows(blank, f"with an empty text in column '{choice.text}'", unit, warnings)
    if not keep.any():
        raise InputError(f"no row has both a text in '{choice.text}' and a label in '{choice.label}'. "
                         "Check the column choice.", source=source)
    _refuse_long_texts(texts[keep], choice.text, settings, source, unit)
    wordless = pd.Series(~has_tokens(texts[keep]), index=texts[keep].index)
    if wordless.all():
        raise InputError(f"no text in column '{choice.text}' contains a word: they are only punctuation. "
                         "Pick the column that holds the texts.", source=source)
    keep[keep] = _drop_rows(wordless, f"whose text in column '{choice.text}' has no words, only punctuation",
                            unit, warnings)
    return keep[keep].index


def to_labeled_texts(table: RawTable, choice: ColumnChoice, *, settings: Settings | None = None) -> LabeledTexts:
    """Apply the column choice and every data rule; refuse what the user must
    fix, drop unusable rows with a warning, and fix the class order."""
    settings = settings or get_settings()
    frame, source, unit = table.frame, table.source, _row_unit(table.frame)
    _require_columns(frame, choice, source)
    _refuse_too_many_rows(len(frame), settings, source)
    _refuse_nested(frame, choice.text, "text", source)
    _refuse_nested(frame, choice.label, "label", source)
    _refuse_numeric_texts(frame, choice.text, source)
    warnings = list(table.notes)
    labels, label_warnings = _label_strings(frame[choice.label], choice.label)
    texts = _texts_of(frame[choice.text])
    rows = _usable_rows(texts, labels, choice, settings, source, unit, warnings)
    warnings += label_warnings
    labels = _reconcile_variants(labels.loc[rows], choice.label, choice.normalise_labels, warnings)
    classes = _classes(labels, choice, settings, source)
    target = _target_values(frame.loc[rows, choice.target], choice.target, source, unit) if choice.target else None
    is_test = _test_flags(frame.loc[rows, choice.split], choice.split, source, unit) if choice.split else None
    return LabeledTexts(
        texts=tuple(texts.loc[rows]),
        y=pd.Categorical(labels, categories=classes).codes.astype(np.int64),
        classes=tuple(classes),
        ordinal=choice.ordinal_order is not None,
        target=target,
        is_test=is_test,
        name=source,
        warnings=tuple(warnings),
    )


def load_labeled_texts(path: str | os.PathLike | bytes, choice: ColumnChoice, *, encoding: str | None = None,
                       settings: Settings | None = None) -> LabeledTexts:
    """``read_table`` then ``to_labeled_texts``: the one call the CLI and workers need."""
    settings = settings or get_settings()
    return to_labeled_texts(read_table(path, encoding=encoding, settings=settings), choice, settings=settings)


def label_variants(table: RawTable, label_column: str) -> dict[str, list[str]]:
    """Normalised label (case-folded, spaces collapsed) -> its distinct
    spellings in the column, most frequent first, only where there are several."""
    _require_column(table.frame, label_column, "label", table.source)
    labels, _ = _label_strings(table.frame[label_column], label_column)
    return _variant_groups(labels.dropna())


def distinct_labels(table: RawTable, label_column: str) -> list[str]:
    """The column's labels as ``to_labeled_texts`` reads them (whole-number
    decimals made whole, blanks skipped), in natural order: a default for an
    ordinal order the user then edits."""
    _require_column(table.frame, label_column, "label", table.source)
    labels, _ = _label_strings(table.frame[label_column], label_column)
    return natural_order(labels.dropna().unique())

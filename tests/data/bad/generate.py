"""Write the corpus files that are too large or too binary to commit.

Cases marked ``generated = true`` in ``expected.toml`` live in the folder this
writes, not beside the manifest. Usage from Python: ``generate(out_dir)``;
from a shell: ``python tests/data/bad/generate.py OUT_DIR``. Output is
deterministic, and each file takes well under a second to write.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Callable

MIB = 1024 * 1024
GOOD_ROWS = [
    ("Great value, would buy again", "pos"), ("Arrived quickly and works well", "pos"),
    ("Lovely colour and soft fabric", "pos"), ("Broke after two days", "neg"),
    ("Too small and badly stitched", "neg"), ("Refund took a month", "neg"),
]


def _csv(rows: list[tuple[str, ...]]) -> bytes:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value

    return ("\n".join(",".join(cell(v) for v in row) for row in rows) + "\n").encode("utf-8")


def binary_garbage(path: Path) -> None:
    """Deterministic pseudo-random bytes (with NULs) under a .csv name."""
    state, out = 12345, bytearray()
    for _ in range(8192):
        state = (1103515245 * state + 12345) % 2**31
        out.append(state >> 16 & 0xFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(out))


def big_cell(path: Path) -> None:
    """A 10 MB text in one cell (row 3, as a spreadsheet numbers it)."""
    words = ("lorem ipsum dolor sit amet " * (10 * MIB // 27 + 1))[: 10 * MIB]
    path.write_bytes(_csv([("text", "label"), GOOD_ROWS[0], (words, "neg")] + GOOD_ROWS[1:]))


def too_many_rows(path: Path) -> None:
    """60 data rows: over the cap of 50 that the manifest sets for this case."""
    rows = [(f"Review number {i} says something", "pos" if i % 2 else "neg") for i in range(60)]
    path.write_bytes(_csv([("text", "label")] + rows))


def too_big(path: Path) -> None:
    """About 1.2 MB: over the 1 MB upload cap that the manifest sets for this case."""
    rows = [(f"Review number {i} with enough words to fill the file up quickly", "pos" if i % 2 else "neg")
            for i in range(18_000)]
    path.write_bytes(_csv([("text", "label")] + rows))


def classes_500(path: Path) -> None:
    """500 classes of 3 rows each: over the default cap of 200 classes."""
    rows = [(f"Message {i} about topic {i % 500}", f"topic_{i % 500}") for i in range(1500)]
    path.write_bytes(_csv([("text", "label")] + rows))


def _workbook_bytes(rows: list[tuple[object, ...]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "reviews"
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def valid_xlsx(path: Path) -> None:
    path.write_bytes(_workbook_bytes([("text", "label", "stars")] + [(t, l, i + 1) for i, (t, l) in
                                                                      enumerate(GOOD_ROWS)]))


def excel_named_csv(path: Path) -> None:
    """A real workbook saved under a .csv name."""
    valid_xlsx(path)


def corrupt_xlsx(path: Path) -> None:
    """A workbook cut in half, as an interrupted download leaves it."""
    data = _workbook_bytes([("text", "label")] + GOOD_ROWS)
    path.write_bytes(data[: len(data) // 2])


def zip_bomb_xlsx(path: Path) -> None:
    """An .xlsx whose sheet unzips to 64 MB from about 64 kB; the manifest sets
    a 1 MB upload cap, so the 10x expansion cap is 10 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"<row/>" * (MIB // 6)
            for _ in range(64):
                member.write(chunk)


def _parquet(path: Path, columns: dict[str, list]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)


def valid_parquet(path: Path) -> None:
    _parquet(path, {"text": [t for t, _ in GOOD_ROWS], "label": [l for _, l in GOOD_ROWS]})


def nested_parquet(path: Path) -> None:
    """Plain text and label columns beside a list column and a struct column."""
    _parquet(path, {
        "text": [t for t, _ in GOOD_ROWS],
        "label": [l for _, l in GOOD_ROWS],
        "tags": [["a", "b"], ["a"], ["b"], [], ["c"], ["a", "c"]],
        "meta": [{"source": "web", "score": i} for i in range(len(GOOD_ROWS))],
    })


GENERATORS: dict[str, Callable[[Path], None]] = {
    "binary_garbage.csv": binary_garbage,
    "big_cell.csv": big_cell,
    "too_many_rows.csv": too_many_rows,
    "too_big.csv": too_big,
    "classes_500.csv": classes_500,
    "valid.xlsx": valid_xlsx,
    "excel_named_csv.csv": excel_named_csv,
    "corrupt.xlsx": corrupt_xlsx,
    "zip_bomb.xlsx": zip_bomb_xlsx,
    "valid.parquet": valid_parquet,
    "nested.parquet": nested_parquet,
}


def generate(out_dir: str | Path) -> dict[str, Path]:
    """Write every generated corpus file into ``out_dir``; file name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, write in GENERATORS.items():
        write(out / name)
        written[name] = out / name
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/data/bad/generate.py OUT_DIR")
    for file_name, file_path in generate(sys.argv[1]).items():
        print(f"{file_path}  ({file_path.stat().st_size:,} bytes)")

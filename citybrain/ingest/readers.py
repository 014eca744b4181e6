"""Read landed extracts (CSV, JSONL, XLSX, Parquet) into text columns, or say why a file is unreadable.

Every value stays as delivered, in text form (empty CSV/XLSX cells become null). Problems of the
whole file raise UnreadableFile (the file goes to rejected/); problems of one record are marked on
the record (`_parse_rule`, `_parse_detail`, `_raw`) so that it goes to quarantine.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

RULE_FIELD_COUNT = "ingest.field_count"
RULE_UNPARSEABLE = "ingest.unparseable_record"
PARSE_COLUMNS = ("_row_number", "_parse_rule", "_parse_detail", "_raw")
_OTHER_DELIMITERS = (",", ";", "\t", "|")


class UnreadableFile(Exception):
    """The whole file cannot be read as its catalogue entry says; `kind` is a short stable code."""

    def __init__(self, kind: str, reason: str, columns: list[str] | None = None):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.columns = columns  # the header, when it could be read (drift is reported even for rejects)


@dataclass
class Extract:
    """A parsed extract: the source's column names and one text column each, plus parse columns."""

    columns: list[str]
    table: pa.Table

    @property
    def rows(self) -> int:
        return self.table.num_rows


class _Rows:
    """Accumulates records column-wise with their parse marks."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self.values: dict[str, list] = {c: [] for c in columns}
        self.marks: dict[str, list] = {c: [] for c in PARSE_COLUMNS}

    def add_column(self, name: str) -> None:
        self.columns.append(name)
        self.values[name] = [None] * len(self.marks["_row_number"])

    def add(self, record: dict[str, str | None], rule: str | None = None, detail: str | None = None,
            raw: str | None = None) -> None:
        n = len(self.marks["_row_number"]) + 1
        for c in self.columns:
            self.values[c].append(record.get(c))
        for key, value in zip(PARSE_COLUMNS, (n, rule, detail, raw), strict=True):
            self.marks[key].append(value)

    def to_extract(self) -> Extract:
        import pyarrow as pa

        arrays = {c: pa.array(self.values[c], pa.string()) for c in self.columns}
        arrays["_row_number"] = pa.array(self.marks["_row_number"], pa.int64())
        for key in PARSE_COLUMNS[1:]:
            arrays[key] = pa.array(self.marks[key], pa.string())
        return Extract(self.columns, pa.table(arrays))


def read_extract(path: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str | None = ",",
                 date_items: frozenset[str] = frozenset()) -> Extract:
    """Parse a landed extract of format csv, jsonl, xlsx or parquet (database extracts)."""
    path = Path(path)
    if fmt == "parquet":
        return _read_parquet(path)
    if path.stat().st_size == 0:
        raise UnreadableFile("empty", f"{path.name} is empty (0 bytes): nothing was delivered")
    if fmt == "csv":
        return _read_csv(path, encoding, delimiter or ",")
    if fmt == "jsonl":
        return _read_jsonl(path, encoding)
    if fmt == "xlsx":
        return _read_xlsx(path, date_items)
    raise UnreadableFile("format", f"{path.name}: format {fmt!r} is not one of csv, jsonl, xlsx, parquet")


def decode(raw: bytes, encoding: str, name: str) -> str:
    """Bytes -> text in the catalogue's encoding; a wrong or broken encoding is an UnreadableFile."""
    enc = encoding.lower()
    if enc in ("gbk", "gb2312", "gb18030") and not raw.isascii() and _is_utf8(raw):
        raise UnreadableFile(
            "encoding", f"{name} is UTF-8 encoded but the catalogue declares {encoding}: ask the department to "
            f"deliver {encoding} or correct the catalogue's source.encoding")
    try:
        return raw.decode("utf-8-sig" if enc in ("utf-8", "utf8") else enc)
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 4 and not raw.endswith((b"\n", b"\r")):
            raise UnreadableFile(
                "truncated", f"{name} ends in the middle of a {encoding} character and without a line break: "
                "the file was cut off in transfer; ask the department to re-deliver it") from None
        line = raw[: exc.start].count(b"\n") + 1
        hint = " (it decodes as gbk: wrong encoding)" if enc.startswith("utf") and _decodes(raw, "gbk") else ""
        raise UnreadableFile(
            "encoding", f"{name} is not valid {encoding}: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            f"(line {line}){hint}; ask the department to deliver {encoding} text") from None


def _is_utf8(raw: bytes) -> bool:
    return _decodes(raw, "utf-8")


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _read_csv(path: Path, encoding: str, delimiter: str) -> Extract:
    text = decode(path.read_bytes(), encoding, path.name)
    if not text.strip():
        raise UnreadableFile("empty", f"{path.name} holds only whitespace: nothing was delivered")
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    header = [h.strip() for h in records[0]]
    if len(header) == 1:
        first_line = text.splitlines()[0]
        for other in _OTHER_DELIMITERS:
            if other != delimiter and len(first_line.split(other)) > 1:
                raise UnreadableFile(
                    "delimiter", f"{path.name} separates fields with {other!r}, the catalogue declares "
                    f"{delimiter!r} (header read as one column {first_line[:60]!r}); ask the department to "
                    f"re-deliver with {delimiter!r}")
    _check_header(header, path.name)
    data = records[1:]
    if not data:
        raise UnreadableFile("header_only", f"{path.name} has a header but no data rows: an incomplete delivery, "
                                            "or no records that day (confirm with the department)", header)
    if not text.endswith(("\n", "\r")):
        # Exports end every record with a line break; without it the last value may be cut short too.
        raise UnreadableFile(
            "truncated", f"{path.name} was cut off: the file does not end with a line break and its last record "
            f"(data row {len(data)}) has {len(data[-1])} of {len(header)} fields; ask the department to re-deliver it",
            header)
    rows = _Rows(header)
    for record in data:
        values = {c: (v if v != "" else None) for c, v in zip(header, record, strict=False)}
        if len(record) != len(header):
            rows.add(values, RULE_FIELD_COUNT, f"{len(record)} fields, the header has {len(header)}",
                     delimiter.join(record))
        else:
            rows.add(values)
    return rows.to_extract()


def _check_header(header: list[str], name: str) -> None:
    seen, dupes = set(), []
    for h in header:
        if h in seen:
            dupes.append(h)
        seen.add(h)
    if dupes:
        raise UnreadableFile("header", f"{name} names column(s) {', '.join(sorted(set(dupes)))} more than once: "
                                       "values cannot be assigned to items")
    if any(not h for h in header):
        raise UnreadableFile("header", f"{name} has a column without a name at position "
                                       f"{[i + 1 for i, h in enumerate(header) if not h]}")


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(path: Path, encoding: str) -> Extract:
    text = decode(path.read_bytes(), encoding, path.name)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise UnreadableFile("empty", f"{path.name} holds no JSON lines: nothing was delivered")
    rows = _Rows([])
    for pos, (n, line) in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if pos == len(lines) and not text.endswith(("\n", "\r")):
                raise UnreadableFile(
                    "truncated", f"{path.name} was cut off: its last line ({n}) is incomplete JSON ({exc.msg}) and "
                    "the file does not end with a line break; ask the department to re-deliver it") from None
            rows.add({}, RULE_UNPARSEABLE, f"line {n} is not valid JSON: {exc.msg} at column {exc.colno}", line)
            continue
        if not isinstance(obj, dict):
            rows.add({}, RULE_UNPARSEABLE, f"line {n} is a JSON {type(obj).__name__}, not an object", line)
            continue
        for key in obj:
            if key not in rows.values:
                rows.add_column(key)
        nested = [k for k, v in obj.items() if isinstance(v, dict | list)]
        record = {k: _json_text(v) for k, v in obj.items()}
        if nested:
            rows.add(record, RULE_UNPARSEABLE, f"item(s) {', '.join(nested)} hold a JSON object or array, "
                                               "not a single value", line)
        else:
            rows.add(record)
    return rows.to_extract()


def _cell_text(value: Any, as_date: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if as_date and value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, date_items: frozenset[str]) -> Extract:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for broken workbooks
        raise UnreadableFile("unreadable", f"{path.name} is not a readable xlsx workbook: "
                                           f"{type(exc).__name__}: {exc}") from None
    try:
        sheet_rows = [r for r in book.worksheets[0].iter_rows(values_only=True)
                      if any(v is not None and v != "" for v in r)]
    finally:
        book.close()
    if not sheet_rows:
        raise UnreadableFile("empty", f"{path.name}: the first worksheet is empty; nothing was delivered")
    header_cells = list(sheet_rows[0])
    while header_cells and header_cells[-1] in (None, ""):
        header_cells.pop()
    header = ["" if h is None else str(h).strip() for h in header_cells]
    _check_header(header, path.name)
    if len(sheet_rows) == 1:
        raise UnreadableFile("header_only", f"{path.name} has a header row but no data rows: an incomplete "
                                            "delivery, or no records that day (confirm with the department)", header)
    rows = _Rows(header)
    for cells in sheet_rows[1:]:
        cells = list(cells)
        while len(cells) > len(header) and cells[-1] in (None, ""):
            cells.pop()
        values = {c: _cell_text(v, c in date_items) for c, v in zip(header, cells, strict=False)}
        if len(cells) > len(header):
            raw = "\t".join("" if v is None else str(v) for v in cells)
            rows.add(values, RULE_FIELD_COUNT, f"{len(cells)} cells, the header has {len(header)}", raw)
        else:
            rows.add(values)
    return rows.to_extract()


def _read_parquet(path: Path) -> Extract:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    n = table.num_rows
    columns = list(table.column_names)
    table = table.append_column("_row_number", pa.array(range(1, n + 1), pa.int64()))
    for key in PARSE_COLUMNS[1:]:
        table = table.append_column(key, pa.nulls(n, pa.string()))
    return Extract(columns, table)

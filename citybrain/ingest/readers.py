"""Read landed extracts (CSV, JSONL, XLSX, Parquet) into text columns, or say why a file is unreadable.

Every value stays as delivered, in text form (empty CSV/XLSX cells become null). Problems of the
whole file raise UnreadableFile (the file goes to rejected/); problems of one record are marked on
the record (`_parse_rule`, `_parse_detail`, `_raw`) so that it goes to quarantine.

What the catalogue says of the items (ItemHints) decides how a file's layout is read:
  - header names are read as meant (`normalise_name`: full-width, invisible marks, no-break spaces)
    and a header naming an item by its catalogue label is read as the item;
  - the header row is the row among the first HEADER_SEARCH_ROWS that names most items: title rows
    above it are dropped, and so is a header row repeated further down (two exports concatenated);
    both are counted (`Extract.dropped`, control.batches.header_rows_dropped) and listed by line;
  - trailing unnamed columns empty in every record (a delimiter at the end of every line) are dropped;
  - a number that cannot hold an identifier's digits exactly in a C item is `ingest.precision_lost`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.ingest.cells import cell_text, json_text, lost_digits, precision_mark, shown
from citybrain.ingest.layout import (
    RULE_HEADER_NAME,
    RULE_REPEATED_HEADER,
    RULE_TITLE_ROW,
    DroppedRow,
    HeaderCell,
    ItemHints,
    Layout,
    UnreadableFile,
)
from citybrain.standards.text import visible

if TYPE_CHECKING:
    import pyarrow as pa


RULE_FIELD_COUNT = "ingest.field_count"
RULE_UNPARSEABLE = "ingest.unparseable_record"
# Outcomes of a file's layout (documented rules, recorded in the batch audit, not row failures).
PARSE_COLUMNS = ("_row_number", "_parse_rule", "_parse_detail", "_raw", "_parse_item")  # _parse_item: the item named
# Excel keeps 15 significant digits of a number: an integer of 16 or more digits lost its last ones.
# How Excel shows (and saves as CSV) a number too wide for its column: 3.70602E+17, 1.38E+10.
_EXPONENT = re.compile(r"\d[eE][+-]\d")  # a delimited record without one holds no scientific number
_OTHER_DELIMITERS = (",", ";", "\t", "|")
_NOTE_ROWS = 10  # dropped rows listed one by one in the batch reason (the rest counted)
_NOTE_TEXT = 80  # characters of a dropped row's text quoted in the reason


@dataclass
class Extract:
    """A parsed extract: the source's column names and one text column each, plus parse columns."""

    columns: list[str]
    table: pa.Table
    dropped: list[DroppedRow] = field(default_factory=list)
    header_cells: list[HeaderCell] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def notes(self, file_name: str) -> list[str]:
        """What the reading rules did to the file's layout, for the batch reason (empty: nothing)."""
        out = []
        if self.header_cells:
            cells = ", ".join(f"column {c.position} {visible(c.text)!r} as {c.column}" for c in self.header_cells)
            out.append(f"{file_name}: header cell(s) read by rule {RULE_HEADER_NAME}: {cells}")
        for rule, what in ((RULE_TITLE_ROW, "title row(s) above the header"),
                           (RULE_REPEATED_HEADER, "repeated header row(s)")):
            rows = [r for r in self.dropped if r.rule == rule]
            if rows:
                listed = "; ".join(f"line {r.line} {_quote(r.text)}" for r in rows[:_NOTE_ROWS])
                more = f"; and {len(rows) - _NOTE_ROWS} more" if len(rows) > _NOTE_ROWS else ""
                out.append(f"{file_name}: {len(rows)} {what} dropped (rule {rule}, no record): {listed}{more}")
        return out


def _quote(text: str) -> str:
    text = visible(text)
    return repr(text if len(text) <= _NOTE_TEXT else text[:_NOTE_TEXT] + "...")


class _Rows:
    """Accumulates records column-wise with their parse marks."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self.values: dict[str, list] = {c: [] for c in columns}
        self.marks: dict[str, list] = {c: [] for c in PARSE_COLUMNS}
        self.dropped: list[DroppedRow] = []
        self.header_cells: list[HeaderCell] = []

    def add_column(self, name: str) -> None:
        self.columns.append(name)
        self.values[name] = [None] * len(self.marks["_row_number"])

    def add(self, record: dict[str, str | None], rule: str | None = None, detail: str | None = None,
            raw: str | None = None, item: str | None = None) -> None:
        n = len(self.marks["_row_number"]) + 1
        for c in self.columns:
            self.values[c].append(record.get(c))
        for key, value in zip(PARSE_COLUMNS, (n, rule, detail, raw, item), strict=True):
            self.marks[key].append(value)

    def to_extract(self) -> Extract:
        import pyarrow as pa

        arrays = {c: pa.array(self.values[c], pa.string()) for c in self.columns}
        arrays["_row_number"] = pa.array(self.marks["_row_number"], pa.int64())
        for key in PARSE_COLUMNS[1:]:
            arrays[key] = pa.array(self.marks[key], pa.string())
        return Extract(self.columns, pa.table(arrays), self.dropped, self.header_cells)


def read_extract(path: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str | None = ",",
                 items: ItemHints | None = None) -> Extract:
    """Parse a landed extract of format csv, jsonl, xlsx or parquet (database extracts)."""
    path = Path(path)
    items = items or ItemHints()
    if fmt == "parquet":
        return _read_parquet(path)
    if path.stat().st_size == 0:
        raise UnreadableFile("empty", f"{path.name} is empty (0 bytes): nothing was delivered")
    if fmt == "csv":
        return _read_csv(path, encoding, delimiter or ",", items)
    if fmt == "jsonl":
        return _read_jsonl(path, encoding, items)
    if fmt == "xlsx":
        return _read_xlsx(path, items)
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


def _read_csv(path: Path, encoding: str, delimiter: str, items: ItemHints) -> Extract:
    text = decode(path.read_bytes(), encoding, path.name)
    if not text.strip():
        raise UnreadableFile("empty", f"{path.name} holds only whitespace: nothing was delivered")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, line = [], 1
    for record in reader:
        if record:
            records.append((line, record))
        line = reader.line_num + 1
    layout = Layout(records, items, path.name, delimiter)
    header = layout.header
    if len(header) == 1:
        header_line = layout.header_text
        for other in _OTHER_DELIMITERS:
            if other != delimiter and len(header_line.split(other)) > 1:
                raise UnreadableFile(
                    "delimiter", f"{path.name} separates fields with {other!r}, the catalogue declares "
                    f"{delimiter!r} (header read as one column {header_line[:60]!r}); ask the department to "
                    f"re-deliver with {delimiter!r}")
    data = layout.data()
    if not data:
        raise UnreadableFile("header_only", f"{path.name} has a header but no data rows: an incomplete delivery, "
                                            "or no records that day (confirm with the department)", header)
    if not text.endswith(("\n", "\r")):
        # Exports end every record with a line break; without it the last value may be cut short too.
        raise UnreadableFile(
            "truncated", f"{path.name} was cut off: the file does not end with a line break and its last record "
            f"(data row {len(data)}) has {len(data[-1][1])} of {len(header)} fields; ask the department to "
            "re-deliver it", header)
    rows = _Rows(header)
    rows.dropped, rows.header_cells = layout.dropped, layout.header_cells
    for _, record in data:
        fields = layout.fields(record)
        values = {c: (v if v != "" else None) for c, v in zip(header, fields, strict=False)}
        raw = delimiter.join(record)
        if len(fields) != len(header):
            rows.add(values, RULE_FIELD_COUNT, f"{len(fields)} fields, the header has {len(header)}", raw)
        elif _EXPONENT.search(raw):
            rows.add(values, *precision_mark(values, values, items, raw))
        else:
            rows.add(values)
    return rows.to_extract()


def _read_jsonl(path: Path, encoding: str, items: ItemHints) -> Extract:
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
        named: dict[str, list[str]] = {}
        for key in obj:  # keys are header names too
            named.setdefault(items.column(key), []).append(key)
        twice = {c: keys for c, keys in named.items() if len(keys) > 1}
        cells = {column: obj[keys[0]] for column, keys in named.items()}
        for column in cells:
            if column not in rows.values:
                rows.add_column(column)
        nested = [k for k, v in cells.items() if isinstance(v, dict | list)]
        record = {k: json_text(v) for k, v in cells.items()}
        if twice:
            rows.add(record, RULE_UNPARSEABLE, "; ".join(
                f"keys {', '.join(repr(visible(k)) for k in keys)} all name {c}" for c, keys in twice.items()), line)
        elif nested:
            rows.add(record, RULE_UNPARSEABLE, f"item(s) {', '.join(nested)} hold a JSON object or array, "
                                               "not a single value", line)
        else:
            rows.add(record, *precision_mark(cells, record, items, line))
    return rows.to_extract()


def _read_xlsx(path: Path, items: ItemHints) -> Extract:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for broken workbooks
        raise UnreadableFile("unreadable", f"{path.name} is not a readable xlsx workbook: "
                                           f"{type(exc).__name__}: {exc}") from None
    try:
        sheet_rows = [(n, list(r)) for n, r in enumerate(book.worksheets[0].iter_rows(values_only=True), 1)
                      if any(v is not None and v != "" for v in r)]
    finally:
        book.close()
    if not sheet_rows:
        raise UnreadableFile("empty", f"{path.name}: the first worksheet is empty; nothing was delivered")
    for _, cells in sheet_rows:
        while cells and cells[-1] in (None, ""):
            cells.pop()
    cells_by_row = dict(sheet_rows)
    layout = Layout([(n, [shown(v) for v in cells]) for n, cells in sheet_rows], items, path.name, "\t")
    header = layout.header
    data = layout.data()
    if not data:
        raise UnreadableFile("header_only", f"{path.name} has a header row but no data rows: an incomplete "
                                            "delivery, or no records that day (confirm with the department)", header)
    rows = _Rows(header)
    rows.dropped, rows.header_cells = layout.dropped, layout.header_cells
    for n, texts in data:
        cells = layout.fields(cells_by_row[n])
        by_item = dict(zip(header, cells, strict=False))
        values = {c: shown(v) if c in items.text_items and lost_digits(v) else cell_text(v, c in items.date_items)
                  for c, v in by_item.items()}
        raw = "\t".join(texts)
        if len(cells) > len(header):
            rows.add(values, RULE_FIELD_COUNT, f"{len(cells)} cells, the header has {len(header)}", raw)
        else:
            rows.add(values, *precision_mark(by_item, values, items, raw))
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

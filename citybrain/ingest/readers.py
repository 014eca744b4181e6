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
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citybrain.standards.text import normalise_name, visible

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.catalog import Resource

RULE_FIELD_COUNT = "ingest.field_count"
RULE_UNPARSEABLE = "ingest.unparseable_record"
RULE_PRECISION_LOST = "ingest.precision_lost"
# Outcomes of a file's layout (documented rules, recorded in the batch audit, not row failures).
RULE_TITLE_ROW = "ingest.title_row"
RULE_REPEATED_HEADER = "ingest.repeated_header"
RULE_HEADER_NAME = "ingest.header_name"
PARSE_COLUMNS = ("_row_number", "_parse_rule", "_parse_detail", "_raw", "_parse_item")  # _parse_item: the item named
HEADER_SEARCH_ROWS = 10  # a header below a title and blank rows is among a sheet's first rows
# Excel keeps 15 significant digits of a number: an integer of 16 or more digits lost its last ones.
EXACT_DIGITS = 15
# How Excel shows (and saves as CSV) a number too wide for its column: 3.70602E+17, 1.38E+10.
_SCIENTIFIC = re.compile(r"^[+-]?\d(?:\.\d+)?[eE][+-]\d{2,3}$")
_EXPONENT = re.compile(r"\d[eE][+-]\d")  # a delimited record without one holds no scientific number
_OTHER_DELIMITERS = (",", ";", "\t", "|")
_PLAIN_SPACES = " \t\r\n"  # a header cell only trimmed of these is not noted as cleaned
_NOTE_ROWS = 10  # dropped rows listed one by one in the batch reason (the rest counted)
_NOTE_TEXT = 80  # characters of a dropped row's text quoted in the reason


class UnreadableFile(Exception):
    """The whole file cannot be read as its catalogue entry says; `kind` is a short stable code."""

    def __init__(self, kind: str, reason: str, columns: list[str] | None = None):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.columns = columns  # the header, when it could be read (drift is reported even for rejects)


@dataclass(frozen=True)
class ItemHints:
    """What reading a file needs from the catalogue about its items (the defaults: read it as it is)."""

    headers: dict[str, str] = field(default_factory=dict)  # normalised item name or label -> item name
    date_items: frozenset[str] = frozenset()  # type D: a spreadsheet date-time at midnight is a date
    text_items: frozenset[str] = frozenset()  # type C (identifiers, phones, codes): a number must be exact

    @classmethod
    def of(cls, resource: Resource) -> ItemHints:
        """The hints of a catalogue resource; a label shared by two items (or equal to a name) names none."""
        headers = {normalise_name(it.name): it.name for it in resource.items}
        labels = Counter(normalise_name(it.label) for it in resource.items)
        for it in resource.items:
            label = normalise_name(it.label)
            if labels[label] == 1 and label not in headers:
                headers[label] = it.name
        return cls(headers=headers, date_items=frozenset(i.name for i in resource.items if i.type == "D"),
                   text_items=frozenset(i.name for i in resource.items if i.type == "C"))

    def column(self, cell: str) -> str:
        """The column a header cell names: its item when it gives an item's name or label, else its text."""
        text = normalise_name(cell)
        return self.headers.get(text, text)

    def header_score(self, cells: list[str]) -> int:
        """How many items a row names, 0 unless most of its filled cells name one (a data row never does)."""
        filled = [normalise_name(c) for c in cells if c.strip()]
        named = {self.headers[c] for c in filled if c in self.headers}
        return len(named) if 2 * len(named) >= len(filled) else 0


@dataclass(frozen=True)
class DroppedRow:
    """A row of the file that holds no record: a title above the header, or the header repeated."""

    line: int  # the file's line (CSV, JSONL) or the sheet's row number (XLSX)
    rule: str  # RULE_TITLE_ROW or RULE_REPEATED_HEADER
    text: str  # the row as delivered (cells joined by the delimiter or a tab)


@dataclass(frozen=True)
class HeaderCell:
    """A header cell read as another name than its text: cleaned (invisible or full-width) or a label."""

    position: int  # 1-based column position
    text: str  # as delivered
    column: str  # as read


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


class _Layout:
    """A delimited or spreadsheet file's rows split into title rows, header and records (one rule for both)."""

    def __init__(self, rows: list[tuple[int, list[str]]], items: ItemHints, name: str, joiner: str):
        """`rows`: (line, cell texts) of every non-blank row; the header is found, its names read."""
        self.items, self.joiner = items, joiner
        scores = [items.header_score(cells) for _, cells in rows[:HEADER_SEARCH_ROWS]]
        at = max(range(len(scores)), key=lambda i: (scores[i], -i))  # the best match, the first on a tie
        self.dropped = [DroppedRow(line, RULE_TITLE_ROW, joiner.join(cells)) for line, cells in rows[:at]]
        self.header_line, cells = rows[at]
        self.header_text = joiner.join(cells)
        self.records = rows[at + 1:]
        columns = [items.column(c) for c in cells]
        self.delivered = self.width = len(columns)
        while self.width > 1 and not columns[self.width - 1] and not any(
                _filled(record, self.width - 1) for _, record in self.records):
            self.width -= 1  # a delimiter ending every line: an unnamed column no record fills
        self.header = columns[: self.width]
        named = enumerate(zip(cells, self.header, strict=False), 1)
        self.header_cells = [HeaderCell(i, c, h) for i, (c, h) in named if c.strip(_PLAIN_SPACES) != h]
        _check_header(self.header, cells, name)

    def is_header(self, cells: list[str]) -> bool:
        """A record naming the header's columns again (two exports concatenated)."""
        if not cells or self.items.column(cells[0]) != self.header[0]:  # one cell read per record, not all
            return False
        columns = [self.items.column(c) for c in cells]
        while columns and not columns[-1]:
            columns.pop()
        return columns == self.header

    def data(self) -> list[tuple[int, list[str]]]:
        """The records below the header, repeated header rows dropped (and kept in `dropped`)."""
        out = []
        for line, cells in self.records:
            if self.is_header(cells):
                self.dropped.append(DroppedRow(line, RULE_REPEATED_HEADER, self.joiner.join(cells)))
            else:
                out.append((line, cells))
        return out

    def fields(self, cells: list):
        """A record without the empty cells of the header's dropped unnamed columns."""
        if self.width < len(cells) <= self.delivered and not any(
                _filled(cells, i) for i in range(self.width, len(cells))):
            return cells[: self.width]
        return cells


def _filled(cells: list, index: int) -> bool:
    value = cells[index] if index < len(cells) else None
    return value is not None and str(value).strip() != ""


def _check_header(header: list[str], cells: list[str], name: str) -> None:
    seen, dupes = set(), []
    for h in header:
        if h in seen:
            dupes.append(h)
        seen.add(h)
    if dupes:
        texts = ", ".join(repr(visible(c)) for c, h in zip(cells, header, strict=False) if h in dupes)
        raise UnreadableFile("header", f"{name} names column(s) {', '.join(sorted(set(dupes)))} more than once "
                                       f"(header cells {texts}): values cannot be assigned to items")
    if any(not h for h in header):
        raise UnreadableFile("header", f"{name} has a column without a name at position "
                                       f"{[i + 1 for i, h in enumerate(header) if not h]}")


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
    layout = _Layout(records, items, path.name, delimiter)
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
            rows.add(values, *_precision_mark(values, values, items, raw))
        else:
            rows.add(values)
    return rows.to_extract()


def lost_digits(value: Any) -> bool:
    """Whether a value of a C item is a number that cannot hold an identifier's digits exactly.

    A spreadsheet number keeps 15 significant digits: 3.70602199001011E+17 was an 18-digit ID
    number whose last digits are gone (converting it would invent them), and scientific text is how
    Excel shows and saves such a number; a fraction is no identifier or code either.
    """
    if isinstance(value, str):
        return bool(_SCIENTIFIC.match(value.strip()))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not value.is_integer():
        return True
    return abs(value) >= 10 ** EXACT_DIGITS


def _precision_mark(cells: dict[str, Any], texts: dict[str, str | None], items: ItemHints,
                    raw: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(rule, detail, raw, item) marking a record whose C items hold numbers that lost digits, else Nones; the
    item is the first such item (the detail names every one)."""
    lost = [c for c in cells if c in items.text_items and lost_digits(cells[c])]
    if not lost:
        return None, None, None, None
    detail = "; ".join(f"item {c} holds {texts[c]!r}, a number that cannot hold its digits exactly "
                       f"(scientific notation, more than {EXACT_DIGITS} digits or a fraction)" for c in lost)
    return RULE_PRECISION_LOST, detail, raw, lost[0]


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


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
        record = {k: _json_text(v) for k, v in cells.items()}
        if twice:
            rows.add(record, RULE_UNPARSEABLE, "; ".join(
                f"keys {', '.join(repr(visible(k)) for k in keys)} all name {c}" for c, keys in twice.items()), line)
        elif nested:
            rows.add(record, RULE_UNPARSEABLE, f"item(s) {', '.join(nested)} hold a JSON object or array, "
                                               "not a single value", line)
        else:
            rows.add(record, *_precision_mark(cells, record, items, line))
    return rows.to_extract()


def _number_text(value: int | float) -> str:
    """A number cell as Excel shows it (General format): integers in full, else 15 significant digits."""
    if isinstance(value, int) or (value.is_integer() and abs(value) < 10 ** EXACT_DIGITS):
        return str(int(value))
    return f"{value:.{EXACT_DIGITS}G}"


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


def _shown(value: Any) -> str:
    """A cell's text as the department sees it (raw records and header matching)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    return _cell_text(value, False) or ""


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
    layout = _Layout([(n, [_shown(v) for v in cells]) for n, cells in sheet_rows], items, path.name, "\t")
    header = layout.header
    data = layout.data()
    if not data:
        raise UnreadableFile("header_only", f"{path.name} has a header row but no data rows: an incomplete "
                                            "delivery, or no records that day (confirm with the department)", header)
    rows = _Rows(header)
    rows.dropped, rows.header_cells = layout.dropped, layout.header_cells
    for n, shown in data:
        cells = layout.fields(cells_by_row[n])
        by_item = dict(zip(header, cells, strict=False))
        values = {c: _shown(v) if c in items.text_items and lost_digits(v) else _cell_text(v, c in items.date_items)
                  for c, v in by_item.items()}
        raw = "\t".join(shown)
        if len(cells) > len(header):
            rows.add(values, RULE_FIELD_COUNT, f"{len(cells)} cells, the header has {len(header)}", raw)
        else:
            rows.add(values, *_precision_mark(by_item, values, items, raw))
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

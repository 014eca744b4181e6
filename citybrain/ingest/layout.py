"""Where a delivered file's records are: its header row found by the catalogue's item names and labels, title
rows above it and header rows repeated below it dropped (and counted), trailing unnamed empty columns dropped,
header names read as meant (full-width, invisible marks, labels). One rule for delimited files and sheets.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from citybrain.standards.text import normalise_name, visible

if TYPE_CHECKING:
    from citybrain.catalog import Resource

RULE_TITLE_ROW = "ingest.title_row"
RULE_REPEATED_HEADER = "ingest.repeated_header"
RULE_HEADER_NAME = "ingest.header_name"
HEADER_SEARCH_ROWS = 10  # a header below a title and blank rows is among a sheet's first rows
_PLAIN_SPACES = " \t\r\n"  # a header cell only trimmed of these is not noted as cleaned


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


class Layout:
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

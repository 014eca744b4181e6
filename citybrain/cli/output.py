"""Console output shared by CLI commands: rich tables for people, JSON for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

# Logs and CI capture stdout: keep tables readable there instead of rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


def _default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def print_json(data) -> None:
    """Machine-readable output on stdout (no colours, stable key order)."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def print_table(title: str, rows: Iterable[Mapping], columns: Sequence[str] | None = None) -> None:
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)

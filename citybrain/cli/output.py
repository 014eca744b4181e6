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


def conform_progress(kind: str, name: str, done: int, total: int, result) -> None:
    """One line as each conformed resource or refreshed entity finishes (run_conform's progress callback)."""
    r = result if isinstance(result, dict) else {}
    if kind == "resource":
        detail = (f"{r.get('rows_in', 0):,} in, {r.get('rows_silver', 0):,} silver, "
                  f"{r.get('rows_quarantined', 0):,} quarantined, {r.get('rows_duplicate', 0):,} duplicates")
    else:
        detail = r.get("skipped") or ", ".join(f"{k} {v}" for k, v in r.items())
    seconds = f" in {r['seconds']:.0f}s" if isinstance(r.get("seconds"), int | float) else ""
    console.print(f"  [{done}/{total}] {kind} {name}: {detail}{seconds}")

"""`citybrain sql "SELECT ..."` and `citybrain duckdb PATH`: DuckDB over the silver, gold and open tables."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from citybrain.cli.output import console, err_console, print_json, print_table

VERSION_HELP = "pin a table to a Delta version: layer.table=N (repeatable)"
AS_OF_HELP = "read every table as it was at this time (ISO, e.g. 2026-11-20T00:00:00Z)"


def _versions(specs: list[str]) -> dict[str, int]:
    from citybrain.analyst.sql import parse_versions

    try:
        return parse_versions(specs)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc


def sql(
    statement: str = typer.Argument(..., help="SQL over views named layer.table, e.g. gold.indicator_values"),
    version: list[str] = typer.Option([], "--version", help=VERSION_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout"),
    as_json: bool = typer.Option(False, "--json", help="JSON records on stdout"),
    limit: int = typer.Option(200, "--limit", help="rows shown in the table view (CSV/JSON print all)"),
) -> None:
    """Run DuckDB SQL over the current silver, gold and open tables (no Spark), with time travel."""
    from citybrain.analyst.sql import query

    try:
        result = query(statement, versions=_versions(version), as_of=as_of)
    except Exception as exc:
        err_console.print(f"[red]query failed:[/] {exc}")
        raise typer.Exit(1) from exc
    rows = result.to_pylist()
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.column_names)
        writer.writerows([["" if r[c] is None else r[c] for c in result.column_names] for r in rows])
    elif as_json:
        print_json(rows)
    else:
        print_table(f"{len(rows)} row(s)", rows[:limit], result.column_names)
        if len(rows) > limit:
            console.print(f"... {len(rows) - limit} more rows (use --csv or --json for all)")


def duckdb_file(
    path: Path = typer.Argument(..., help="DuckDB database file to write (replaced when complete)"),
    version: list[str] = typer.Option([], "--version", help=VERSION_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    layer: list[str] = typer.Option(["silver", "gold", "open"], "--layer", help="layers to include"),
) -> None:
    """Write a DuckDB database file holding the silver, gold and open tables (layer.table) for other tools."""
    import logging

    from citybrain.analyst.sql import write_database

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = write_database(str(path), layers=layer, versions=_versions(version), as_of=as_of)
    console.print(f"{len(rows)} tables, {sum(rows.values())} rows -> {path}")

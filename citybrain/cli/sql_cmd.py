"""`citybrain sql "SELECT ..."` and `citybrain duckdb PATH`: DuckDB over the silver, gold and open tables.

Read-only: a statement that would write, read files or load extensions is refused (exit 2), and every
statement is written to the audit log <var>/audit/sql.jsonl (citybrain.analyst.audit)."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import typer

from citybrain.cli.output import console, print_json, print_table
from citybrain.cli.params import VersionPin, iso_time, one_of, version_pin

VERSION_HELP = "pin a table to a Delta version: layer.table=N (repeatable)"
AS_OF_HELP = "read every table as it was at this time (ISO 8601, e.g. 2026-11-20T00:00:00Z; no offset = UTC)"


def sql(
    statement: str = typer.Argument(..., help="one SELECT over views named layer.table, e.g. gold.indicator_values"),
    version: list[VersionPin] = typer.Option([], "--version", parser=version_pin, metavar="layer.table=N",
                                             help=VERSION_HELP),
    as_of: dt.datetime | None = typer.Option(None, "--as-of", parser=iso_time, metavar="TIME", help=AS_OF_HELP),
    as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout"),
    as_json: bool = typer.Option(False, "--json", help="JSON records on stdout"),
    limit: int = typer.Option(200, "--limit", help="rows shown in the table view (CSV/JSON print all)"),
) -> None:
    """Run one read-only DuckDB SELECT over the current silver, gold and open tables (no Spark), with time
    travel; refused statements exit 2, failing ones 1; every statement is audited in var/audit/sql.jsonl."""
    from citybrain.analyst.sql import AnalystInputError, run_sql

    try:
        result = run_sql(statement, versions=dict(version), as_of=as_of)
    except AnalystInputError as exc:  # refused statement, a version or time the table does not have
        typer.echo(f"error: {exc}", err=True)  # one line, never wrapped
        raise typer.Exit(2) from exc
    except Exception as exc:
        typer.echo(f"query failed: {exc}", err=True)
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


def _layers(values: list[str]) -> list[str]:
    from citybrain.analyst.sql import ANALYST_LAYERS

    return [one_of(v, ANALYST_LAYERS, "layer", param_hint="'--layer'") for v in values]


def duckdb_file(
    path: Path = typer.Argument(..., dir_okay=False, help="DuckDB database file to write (replaced when complete)"),
    version: list[VersionPin] = typer.Option([], "--version", parser=version_pin, metavar="layer.table=N",
                                             help=VERSION_HELP),
    as_of: dt.datetime | None = typer.Option(None, "--as-of", parser=iso_time, metavar="TIME", help=AS_OF_HELP),
    layer: list[str] = typer.Option(["silver", "gold", "open"], "--layer", help="layers to include"),
) -> None:
    """Write a DuckDB database file holding the silver, gold and open tables (layer.table) for other tools;
    the export is audited in var/audit/sql.jsonl."""
    import logging

    from citybrain.analyst.sql import write_database

    layers = _layers(layer)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = write_database(str(path), layers=layers, versions=dict(version), as_of=as_of)
    console.print(f"{len(rows)} tables, {sum(rows.values())} rows -> {path}")

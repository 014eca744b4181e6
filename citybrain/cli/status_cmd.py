"""`citybrain status`: the latest ingestion run per resource (rows pulled, loaded, quarantined, rejects)."""

from __future__ import annotations

import typer

from citybrain.cli.output import console, print_json


def status(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    resource: str | None = typer.Option(None, help="only this resource (name or code)"),
) -> None:
    """Latest ingestion run per resource: rows pulled/loaded/quarantined, rejected files, watermark, time."""
    from citybrain.ingest.report import ingestion_table
    from citybrain.ingest.status import latest_runs

    try:
        rows = latest_runs(resource)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/]")
        raise typer.Exit(2) from None
    if as_json:
        print_json(rows)
        return
    if not any(r["status"] != "not run" for r in rows):
        console.print("nothing ingested yet: run `citybrain demo` or trigger an ingest_<department> DAG")
    console.print(ingestion_table(rows, "Latest ingestion run per resource", watermarks=True))

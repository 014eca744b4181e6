"""`citybrain status`: the latest ingestion run per resource (rows pulled, loaded, quarantined, rejects) and the
latest reconciliation of each database resource with its source (keys missing from bronze, null keys)."""

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
    checked = [r for r in rows if r.get("reconciliation")]
    if checked:
        console.print(reconciliation_table(checked))


def _count(value, style: str = "") -> str:
    text = "" if value is None else f"{value:,}"
    return f"[{style}]{text}[/]" if style and value else text


def reconciliation_table(rows: list[dict]):
    """A rich Table: per database resource, the source's rows and keys against bronze's at the latest pull."""
    from rich.table import Table

    table = Table(title="Database sources against bronze (control.reconciliation, latest pull)")
    for label in ("resource", "date", "src rows", "src keys", "in bronze", "landed", "quarant.", "missing",
                  "null keys", "re-read", "checked (UTC)"):
        table.add_column(label, justify="left" if label in ("resource", "date", "checked (UTC)") else "right",
                         no_wrap=True)
    table.add_column("missing keys (sample)", overflow="fold", min_width=18, max_width=60)
    for r in rows:
        c = r["reconciliation"]
        table.add_row(r["resource"], str(c["batch_date"]), _count(c["source_rows"]), _count(c["source_keys"]),
                      _count(c["bronze_keys"]), _count(c["pending_keys"]), _count(c["quarantined_keys"]),
                      _count(c["missing_keys"], "bold red"), _count(c["null_key_rows"], "bold yellow"),
                      _count(c["rows_reread"]), f"{c['checked_at']:%Y-%m-%d %H:%M:%S}", c["missing_sample"] or "")
    return table

"""`citybrain corrections DEPT`: a department's correction list from multi-source verification (多源校核) and
the conflicting duplicates of its own extracts."""

from __future__ import annotations

from pathlib import Path

import typer

from citybrain.cli.output import console, print_json


def corrections(
    dept: str = typer.Argument(..., help="department code, e.g. HRSS (catalog/departments.yaml)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV path (default var/site/corrections/<DEPT>.csv)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON summary instead of a table"),
) -> None:
    """Write the department's disagreements with the authoritative sources, and the records its extracts sent
    twice at one time with different values, as CSV."""
    from citybrain.conform.catalog import load_catalog
    from citybrain.conform.corrections import write_corrections

    departments = load_catalog().departments
    if dept.upper() not in departments:
        console.print(f"[red]unknown department {dept!r}[/]; departments: {', '.join(sorted(departments))}")
        raise typer.Exit(2)
    summary = write_corrections(dept, out)
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]{summary['department']}[/]: {summary['rows']} correction(s) -> {summary['path']}")
    for kind, n in summary["by_kind"].items():
        console.print(f"  {kind:22} {n}")
    for name, n in list(summary["by_resource_attribute"].items())[:10]:
        console.print(f"  {name:40} {n}")

"""`citybrain sources ...`: generate the simulated department sources and hash them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from citybrain.cli.params import CitybrainGroup, fault_rate, iso_date, positive, scale_factor

sources_app = typer.Typer(
    name="sources",
    help="Simulated department sources (databases and file drops) of the demo city, with injected faults.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=CitybrainGroup,
)

OutOpt = Annotated[Path | None, typer.Option("--out", help="sources folder (default: settings.sources_dir, var/sources)")]


def _paths(out: Path | None, catalog_dir: Path | None) -> dict:
    try:
        from citybrain.settings import get_settings

        s = get_settings()
        sources, catalog = Path(s.sources_dir), Path(s.catalog_dir)
    except ImportError:
        sources, catalog = Path("var/sources"), Path("catalog")
    return {"sources_dir": out or sources, "catalog_dir": catalog_dir or catalog}


@sources_app.command("generate")
def generate(
    scale: Annotated[float, typer.Option(parser=scale_factor,
                                         help="city size: 1 = 1,000,000 residents (demo 0.01)")] = 0.01,
    seed: Annotated[int, typer.Option(help="random seed; same inputs give byte-identical sources")] = 42,
    days: Annotated[int, typer.Option(parser=positive, help="simulated days; day 0 is the full initial load")] = 1,
    faults: Annotated[str, typer.Option(parser=fault_rate,
                                        help="fault rate (e.g. 0.02) or 'none' for clean sources")] = "0.02",
    start_date: Annotated[dt.date, typer.Option("--start-date", parser=iso_date, metavar="YYYY-MM-DD",
                                                help="calendar date of day 0")] = "2026-11-01",
    db_url: Annotated[str | None, typer.Option("--db-url", help="SQLAlchemy URL (e.g. postgresql://...): "
                                               "each logical database becomes a schema; default SQLite files")] = None,
    out: OutOpt = None,
    catalog_dir: Annotated[Path | None, typer.Option("--catalog", help="catalogue folder")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the generation report as JSON")] = False,
) -> None:
    """Build every catalogue resource's source: databases through SQLAlchemy and daily file drops, with faults."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from citybrain.sources.generate import generate_sources
    from citybrain.sources.spec import load_spec

    paths = _paths(out, catalog_dir)
    console = Console(stderr=True)
    n_res = len(load_spec(paths["catalog_dir"]).resources)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, disable=as_json) as bar:
            task = bar.add_task("generating", total=n_res * days)

            def tick(resource: str, day: int, rows: int) -> None:
                bar.update(task, advance=1, description=f"day {day} {resource:<28} {rows:>9,} rows")

            report = generate_sources(paths, scale=scale, seed=seed, days=days, faults=faults,
                                      start_date=start_date, db_url=db_url, progress=tick)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    out_console = Console(width=120)
    rows = Table(title=f"rows per resource ({days} day(s), scale {scale}, seed {seed})")
    rows.add_column("resource")
    rows.add_column("rows", justify="right")
    for name, n in sorted(report.rows.items()):
        rows.add_row(name, f"{n:,}")
    out_console.print(rows)
    kinds = Table(title=f"faults by kind (rate {report.fault_rate})")
    kinds.add_column("kind")
    kinds.add_column("faults", justify="right")
    for kind, n in report.faults_by_kind.items():
        kinds.add_row(kind, f"{n:,}")
    kinds.add_row("total", f"{report.faults_total:,}")
    out_console.print(kinds)
    if report.generic_items:
        out_console.print(f"items without a builder (filled from their type): {report.generic_items}")
    out_console.print(f"sources in {report.sources_dir}, databases at {report.db_target}, "
                      f"manifest in {report.manifest_dir}; {report.seconds} s")


@sources_app.command("hash")
def hash_(
    out: OutOpt = None,
    parts: Annotated[bool, typer.Option("--parts", help="also print the hash of every file and table")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print hashes as JSON")] = False,
) -> None:
    """Content hash of generated sources (file bytes and SQLite table contents): equal hash, equal sources."""
    from citybrain.sources.hashing import hash_sources

    folder = _paths(out, None)["sources_dir"]
    if not Path(folder).is_dir():
        typer.echo(f"error: {folder} does not exist; run `citybrain sources generate` first", err=True)
        raise typer.Exit(1)
    result = hash_sources(Path(folder))
    if as_json:
        typer.echo(json.dumps(result if parts else {"total": result["total"], "count": len(result["parts"])},
                              indent=2))
        return
    if parts:
        for name, digest in sorted(result["parts"].items()):
            typer.echo(f"{digest}  {name}")
    typer.echo(f"{result['total']}  {folder}")

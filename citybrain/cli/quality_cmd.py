"""`citybrain quality`: run the gates, the GB/T 36344 league table, fault detection, suites."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from citybrain.cli.output import console, print_json
from citybrain.cli.params import CitybrainGroup, Weight, dimension_weight, iso_date, lake_table

quality_app = typer.Typer(help="Quality gates (Great Expectations), GB/T 36344 scorecard, fault detection.",
                          no_args_is_help=True, cls=CitybrainGroup)


@quality_app.command("gate")
def gate(
    tables: list[str] = typer.Argument(None, parser=lake_table, metavar="TABLES",
                                       help="layer.table names (default: every silver/gold/open table)"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
) -> None:
    """Validate the current version of tables, record control.quality_results, build Data Docs."""
    from dataclasses import asdict

    from citybrain.quality.gates import run_gates
    from citybrain.quality.project import docs_dir
    from citybrain.settings import get_settings

    results = run_gates(tables or None)
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        for r in results:
            console.print(r.describe() if r.failures else f"{r.table}@v{r.delta_version}: passed ({r.evaluated})")
        console.print(f"Data Docs: {docs_dir(get_settings()) / 'index.html'}")
    if any(not r.passed for r in results):
        raise typer.Exit(1)


@quality_app.command("report")
def report(
    as_json: bool = typer.Option(False, "--json", help="print the league table as JSON"),
    date: dt.date | None = typer.Option(None, "--date", parser=iso_date, metavar="YYYY-MM-DD",
                                        help="day of the league table (default: newest)"),
    weight: list[Weight] = typer.Option(None, "--weight", "-w", parser=dimension_weight, metavar="DIMENSION=W",
                                        help="dimension=weight override, e.g. timeliness=2"),
) -> None:
    """Build gold.quality_scorecard and print the department league table (and write quality.html)."""
    from citybrain.quality.policy import DIMENSION_ZH, DIMENSIONS
    from citybrain.quality.scorecard import build_scorecard, league_table, render_page

    rows = build_scorecard(weight_override=dict(weight or []))
    league = league_table(rows, date)
    page = render_page(rows, league)
    if as_json:
        print_json({"league": league, "page": page})
        return
    header = "rank dept      score " + " ".join(f"{DIMENSION_ZH[d]:>5}" for d in DIMENSIONS)
    console.print(f"[bold]GB/T 36344 league table {league[0]['date'] if league else '-'}[/]\n{header}")
    for e in league:
        console.print(f"{e['rank']:>4} {e['department']:<8} {e['score']:6.1f} "
                      + " ".join(f"{e[d]:8.1f}" for d in DIMENSIONS))
    console.print(f"page: {page}")


@quality_app.command("faults")
def faults(
    manifest: Path | None = typer.Option(None, "--manifest", exists=True, file_okay=False,
                                         help="manifest folder (default sources/manifest)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which gate caught each fault kind of the simulator's manifest, and the recall."""
    from citybrain.quality.faults import detection, format_detection

    table = detection(manifest)
    if as_json:
        print_json(table)
    else:
        console.print(format_detection(table))


@quality_app.command("suites")
def suites(
    export: Path | None = typer.Option(None, "--export", help="also copy the generated suites to this GX project "
                                       "(`quality` refreshes the committed quality/gx/expectations/)"),
) -> None:
    """Generate every table's suite, validation definition and checkpoint from catalog/ (var/quality/gx)."""
    import shutil

    from citybrain.catalog import get_catalog
    from citybrain.quality.project import project_root, write_suites
    from citybrain.quality.suites import table_specs
    from citybrain.settings import get_settings

    specs = table_specs(get_catalog())
    n = write_suites(specs)
    rules = sum(len(s.rules) for s in specs.values())
    console.print(f"{n} suites ({rules} expectations) generated from the catalogue in {project_root(get_settings())}")
    if export:
        target = export / "gx" / "expectations"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(project_root(get_settings()) / "gx" / "expectations", target)
        console.print(f"suites copied to {target}")

"""`citybrain conform run|evaluate`: bronze -> silver outside Airflow, and its score against the fault manifest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from citybrain.cli.output import conform_progress, console, print_json, print_table
from citybrain.cli.params import CitybrainGroup, iso_date, positive, resource_name

conform_app = typer.Typer(help="Conform bronze to silver (standardise, validate, history, golden records, 多源校核).",
                          no_args_is_help=True, cls=CitybrainGroup)


@conform_app.command("run")
def run(
    until: dt.date | None = typer.Option(None, parser=iso_date, metavar="YYYY-MM-DD",
                                         help="conform only batches up to this batch date"),
    resource: list[str] | None = typer.Option(None, "--resource", "-r", parser=resource_name, metavar="NAME",
                                              help="only these resources, by name or code (repeatable)"),
    rerun: list[dt.date] | None = typer.Option(None, parser=iso_date, metavar="YYYY-MM-DD",
                                               help="conform the batches of this date again (repeatable)"),
    workers: int | None = typer.Option(None, parser=positive, help="resources in flight at once (default: the job's)"),
    as_json: bool = typer.Option(False, "--json", help="print the run's summary as JSON"),
) -> None:
    """Conform every pending bronze batch (not yet in control.conformed_batches); a line per resource and
    entity as it finishes (not with --json)."""
    from citybrain.conform.job import DEFAULT_WORKERS, run_conform
    from citybrain.conform.wiring import summary

    result = summary(run_conform(resource or None, until=until, rerun=rerun or None,
                                 workers=workers or DEFAULT_WORKERS,
                                 progress=None if as_json else conform_progress))
    if as_json:
        print_json(result)
        return
    print_table("conform: rows per resource", [{"resource": name, **figures}
                                               for name, figures in result["resources"].items()])
    console.print(f"conformed in {result['seconds']:.0f}s; entities: "
                  + ", ".join(f"{n} ({', '.join(f'{k}={v}' for k, v in e.items())})"
                              for n, e in result["entities"].items()))


@conform_app.command("evaluate")
def evaluate(
    manifest: Path | None = typer.Option(None, exists=True, file_okay=False,
                                         help="fault manifest folder (default <sources>/manifest)"),
    as_json: bool = typer.Option(False, "--json", help="print the scores as JSON"),
) -> None:
    """Precision and recall of conform per fault kind it owns, against the simulator's ground truth."""
    from citybrain.conform.evaluate import evaluate as score
    from citybrain.conform.evaluate import format_table

    scores = score(manifest)
    if as_json:
        print_json(scores)
        return
    console.print(format_table(scores))

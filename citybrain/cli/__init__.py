"""`citybrain`: the command line of the city-brain data lake."""

from __future__ import annotations

import typer

from citybrain.cli import airflow_cmd, bench_cmd, corrections_cmd, demo_cmd, doctor_cmd, setup_cmd, status_cmd
from citybrain.cli.catalog_cmd import catalog_app
from citybrain.cli.conform_cmd import conform_app
from citybrain.cli.opendata_cmd import publish, releases_app
from citybrain.cli.params import CitybrainGroup
from citybrain.cli.quality_cmd import quality_app
from citybrain.cli.sources_cmd import sources_app
from citybrain.cli.spark_cmd import spark_app
from citybrain.cli.sql_cmd import duckdb_file, sql

app = typer.Typer(
    name="citybrain",
    help="City-brain data lake: catalogue, sources, pipeline runs, quality, open data and analyst SQL.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=CitybrainGroup,  # a wrong invocation is one line and exit 2 (citybrain.cli.params)
)
app.command("doctor")(doctor_cmd.doctor)
app.command("demo")(demo_cmd.demo)
app.command("bench")(bench_cmd.bench)
app.add_typer(setup_cmd.setup_app, name="setup")
app.add_typer(airflow_cmd.airflow_app, name="airflow")
app.add_typer(catalog_app, name="catalog")
app.add_typer(sources_app, name="sources")
app.add_typer(spark_app, name="spark")
app.add_typer(quality_app, name="quality")
app.command("status")(status_cmd.status)
app.command("corrections")(corrections_cmd.corrections)
app.add_typer(conform_app, name="conform")
app.command("publish")(publish)
app.add_typer(releases_app, name="releases")
app.command("sql")(sql)
app.command("duckdb")(duckdb_file)


@app.command("version")
def version() -> None:
    """Print the versions of citybrain and its engines."""
    from importlib import metadata

    for name in ["citybrain", "apache-airflow", "pyspark", "delta-spark", "great-expectations", "duckdb", "deltalake"]:
        typer.echo(f"{name} {metadata.version(name)}")


def main() -> None:
    # Airflow reads its configuration at import time: point it at the project first.
    from citybrain.orchestration.airflow_env import apply_airflow_env

    apply_airflow_env()
    app()

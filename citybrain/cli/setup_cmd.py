"""`citybrain setup`: one-time, idempotent set-up steps (jars, Airflow metadata DB)."""

from __future__ import annotations

import typer

from citybrain.cli.output import console
from citybrain.cli.params import CitybrainGroup

setup_app = typer.Typer(help="Idempotent set-up: Delta jars from Maven Central, Airflow metadata DB.",
                        no_args_is_help=True, cls=CitybrainGroup)


@setup_app.command("jars")
def jars() -> None:
    """Fetch Delta Lake jars into var/jars once; later runs work offline."""
    from citybrain.spark.jars import delta_coordinates, fetch_delta_jars, installed_jars

    if installed_jars():
        console.print(f"Delta jars already cached ({delta_coordinates()})")
        return
    with console.status(f"fetching {delta_coordinates()} from Maven Central…"):
        found = fetch_delta_jars()
    console.print(f"fetched {len(found)} jars for {delta_coordinates()}")


@setup_app.command("airflow")
def airflow() -> None:
    """Create or upgrade the Airflow metadata DB (SQLite under var/airflow by default)."""
    from citybrain.orchestration.airflow_env import migrate_db

    with console.status("airflow db migrate…"):
        changed = migrate_db()
    console.print("Airflow metadata DB migrated" if changed else "Airflow metadata DB already current")

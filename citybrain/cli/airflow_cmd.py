"""`citybrain airflow`: run Airflow with the project's environment (home, DAGs folder, no examples)."""

from __future__ import annotations

import os

import typer

from citybrain.cli.output import console

airflow_app = typer.Typer(help="Airflow with the project's settings: the UI, DAG runs, any airflow command.",
                          no_args_is_help=True)


@airflow_app.command("standalone")
def standalone() -> None:
    """Start API server, scheduler, DAG processor and triggerer on http://127.0.0.1:8080."""
    from citybrain.orchestration.airflow_env import (
        API_HOST,
        API_PORT,
        airflow_bin,
        ensure_passwords_file,
        migrate_db,
    )

    migrate_db()
    ensure_passwords_file()
    console.print(
        f"[bold]Airflow UI:[/] http://{API_HOST}:{API_PORT}  login [bold]admin[/] / [bold]admin[/] "
        f"(passwords file {os.environ['AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE']}); Ctrl-C stops it."
    )
    os.execv(airflow_bin(), [airflow_bin(), "standalone"])


@airflow_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context) -> None:
    """Any airflow command with the project's environment, e.g. `citybrain airflow run dags list`."""
    from citybrain.orchestration.airflow_env import airflow_bin

    os.execv(airflow_bin(), [airflow_bin(), *ctx.args])

"""`citybrain airflow`: run Airflow with the project's environment (home, DAGs folder, no examples)."""

from __future__ import annotations

import os

import typer

from citybrain.cli.output import console

airflow_app = typer.Typer(help="Airflow with the project's settings: the UI, DAG runs, any airflow command.",
                          no_args_is_help=True)


@airflow_app.command("standalone")
def standalone() -> None:
    """Start API server, scheduler, DAG processor and triggerer on http://127.0.0.1:8080; Ctrl-C (or SIGTERM)
    stops all of them."""
    from citybrain.orchestration.airflow_env import API_HOST, ensure_passwords_file, migrate_db, process_env
    from citybrain.orchestration.processes import run_process_group

    migrate_db()
    ensure_passwords_file()
    env = process_env()
    console.print(
        f"[bold]Airflow UI:[/] http://{API_HOST}:{env['AIRFLOW__API__PORT']}  login [bold]admin[/] / [bold]admin[/] "
        f"(passwords file {env['AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE']}); "
        f"{env['AIRFLOW__CORE__PARALLELISM']} task slots; Ctrl-C stops it."
    )
    raise typer.Exit(run_process_group(["airflow", "standalone"], env))


@airflow_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context) -> None:
    """Any airflow command with the project's environment, e.g. `citybrain airflow run dags list`."""
    from citybrain.orchestration.airflow_env import airflow_bin, process_env

    os.execve(airflow_bin(), [airflow_bin(), *ctx.args], process_env())

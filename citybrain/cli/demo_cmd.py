"""`citybrain demo`: the whole pipeline end to end on embedded defaults."""

from __future__ import annotations

import time

import typer

from citybrain.cli.output import console


def demo(
    rows: int = typer.Option(10_000, help="rows in the smoke batch"),
) -> None:
    """Run the pipeline stages that exist so far, each as a headless Airflow DAG run."""
    from citybrain.orchestration.airflow_env import migrate_db
    from citybrain.orchestration.runner import run_dag

    migrate_db()
    started = time.perf_counter()
    console.rule("[bold]smoke: Airflow → Spark → Delta → DuckDB")
    run = run_dag("citybrain_smoke", conf={"rows": rows})
    console.print(f"[green]✔[/] citybrain_smoke {run.run_id}: {rows} rows written by Spark, read back by DuckDB")
    console.print(f"demo finished in {time.perf_counter() - started:.0f}s")

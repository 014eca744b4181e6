"""Smoke DAG: proves Airflow -> Spark -> Delta -> DuckDB works on this installation."""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from citybrain.orchestration.policy import BASE_TAGS, DEFAULT_ARGS, START_DATE


@dag(
    dag_id="citybrain_smoke",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[*BASE_TAGS, "smoke"],
    params={"rows": Param(1000, type="integer", minimum=1)},
    doc_md=__doc__ + "\n\nTask 1 writes `smoke.numbers` with Spark; task 2 reads it with DuckDB and checks the count.",
)
def citybrain_smoke():
    @task
    def write_delta(params=None, run_id=None) -> dict:
        from citybrain.pipelines.smoke import batch_id_for, write_smoke

        return write_smoke(int(params["rows"]), batch_id_for(run_id))

    @task
    def read_with_duckdb(written: dict) -> dict:
        from citybrain.pipelines.smoke import check_smoke

        return check_smoke(written["batch_id"], written["rows"])

    read_with_duckdb(write_delta())


citybrain_smoke()

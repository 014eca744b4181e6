"""Conform: bronze -> silver for every catalogue resource, golden records and multi-source verification.

Runs when any department's bronze table receives a batch (AssetAny over every bronze Asset) and conforms
every batch not yet in `control.conformed_batches`: items standardised, validated and cast to catalogue
types (rejects to `quarantine.rejected_rows`), duplicates superseded, entities kept as SCD2 history and
events merged by event date; then golden records (`silver.<entity>_golden`), `silver.discrepancies` and
`silver.agreement_rates` for the keys the batches touched. One run at a time: a run picks up whatever
arrived meanwhile. Logic: `citybrain.conform`; correction lists: `citybrain corrections DEPT`.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from citybrain.conform.wiring import bronze_assets, silver_outlets
from citybrain.orchestration.policy import BASE_TAGS, DEFAULT_ARGS, SPARK_POOL, START_DATE


@dag(
    dag_id="citybrain_conform",
    schedule=AssetAny(*bronze_assets()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*BASE_TAGS, "conform", "silver"],
    doc_md=__doc__,
)
def citybrain_conform():
    @task(outlets=silver_outlets(), pool=SPARK_POOL)
    def conform_pending() -> dict:
        from citybrain.conform.job import run_conform
        from citybrain.conform.wiring import log_progress, summary

        return summary(run_conform(progress=log_progress))

    conform_pending()


citybrain_conform()

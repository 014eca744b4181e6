"""Quality: Great Expectations gates on every silver and gold table, then the GB/T 36344 scorecard.

Runs whenever a silver table is updated (Assets). Task 1 validates the current Delta version of every
silver/gold table of the catalogue (control.quality_results, control.quality_checks, Data Docs in
var/site/quality/); task 2 rebuilds gold.quality_scorecard and the league page
var/site/dashboard/quality.html. Publishing (citybrain_publish) gates its own inputs before releasing.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from citybrain.gold.wiring import silver_assets
from citybrain.orchestration.assets import lake_asset
from citybrain.orchestration.policy import BASE_TAGS, DEFAULT_ARGS, START_DATE


@dag(
    dag_id="citybrain_quality",
    schedule=AssetAny(*silver_assets()),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[*BASE_TAGS, "quality"],
    doc_md=__doc__,
)
def citybrain_quality():
    @task
    def gates(run_id=None) -> dict:
        from citybrain.quality.job import gate_summary

        return gate_summary(run_id=run_id)

    @task(outlets=[lake_asset("gold.quality_scorecard")])
    def scorecard(summary: dict) -> dict:
        from citybrain.quality.job import scorecard_summary

        return {**scorecard_summary(), "gates": summary}

    scorecard(gates())


citybrain_quality()

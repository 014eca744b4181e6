"""Open data: quality gates on the release's inputs, then a de-identified release (var/open/releases/).

Runs whenever a gold table is updated (Assets). Task 1 validates the current versions of every silver and
gold table a release reads (control.quality_results); task 2 publishes from the latest quality-passed
version of each (a blocked dataset keeps the previous release's copy) and switches `latest` only after the
frictionless validation and the PII leak scan pass.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from citybrain.gold.wiring import gold_outlets
from citybrain.opendata.wiring import open_outlets
from citybrain.orchestration.policy import BASE_TAGS, DEFAULT_ARGS, START_DATE


@dag(
    dag_id="citybrain_publish",
    schedule=AssetAny(*gold_outlets()),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[*BASE_TAGS, "open-data"],
    doc_md=__doc__,
)
def citybrain_publish():
    @task
    def quality_gates(run_id=None) -> dict:
        from citybrain.opendata.wiring import run_publish_gates

        return run_publish_gates(run_id=run_id)

    @task(outlets=open_outlets())
    def publish(gates: dict) -> dict:
        from citybrain.opendata.publish import run_publish

        summary = run_publish()
        return {**summary, "gates_blocked": sorted(gates["blocked"])}

    publish(quality_gates())


citybrain_publish()

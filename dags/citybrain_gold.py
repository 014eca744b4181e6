"""Gold: thematic databases, city indicators per district and period, and the operations panorama.

Runs whenever a silver table it reads is updated (Assets); each run rebuilds the themes whose inputs changed,
recomputes only the indicator periods whose inputs changed (control.gold_inputs), refreshes
gold.indicator_wide and re-renders var/site/dashboard/.
"""

from __future__ import annotations

from airflow.sdk import AssetAny, dag, task

from citybrain.gold.wiring import gold_outlets, silver_assets
from citybrain.orchestration.policy import BASE_TAGS, DEFAULT_ARGS, SPARK_POOL, START_DATE


@dag(
    dag_id="citybrain_gold",
    schedule=AssetAny(*silver_assets()),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[*BASE_TAGS, "gold"],
    doc_md=__doc__,
)
def citybrain_gold():
    @task(outlets=gold_outlets(), pool=SPARK_POOL)
    def build_gold() -> dict:
        from citybrain.gold.job import run_gold

        return run_gold(dashboard=False)

    @task
    def render_panorama(summary: dict) -> dict:
        from citybrain.gold.job import render_panorama

        return render_panorama(summary)

    render_panorama(build_gold())


citybrain_gold()

"""DagBag integrity: every DAG imports, follows the house policy, and all parse quickly."""

import time

import pytest

from citybrain.orchestration.policy import OWNER

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dagbag(settings):
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(settings.dags_dir))
    return bag, time.perf_counter() - started


def test_no_import_errors(dagbag):
    bag, _ = dagbag
    assert bag.import_errors == {}
    assert "citybrain_smoke" in bag.dags


def test_all_dags_parse_in_under_5_seconds(dagbag):
    _, seconds = dagbag
    assert seconds < 5, f"parsing dags/ took {seconds:.1f}s: something runs at parse time"


def test_policy(dagbag):
    bag, _ = dagbag
    for dag_id, dag in bag.dags.items():
        assert "citybrain" in dag.tags, dag_id
        assert dag.catchup is False or dag.schedule is not None, dag_id
        assert dag.doc_md, f"{dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.owner == OWNER, f"{dag_id}.{task.task_id} owner {task.owner}"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_spark_tasks_share_the_spark_pool_that_setup_creates(dagbag, airflow_db, settings):
    import os
    import subprocess

    from citybrain.orchestration.airflow_env import airflow_bin, airflow_env
    from citybrain.orchestration.policy import SPARK_POOL

    bag, _ = dagbag
    used = {task.pool for dag in bag.dags.values() for task in dag.tasks}
    assert used <= {"default_pool", SPARK_POOL}, used
    loads = [t for dag_id, dag in bag.dags.items() if dag_id.startswith("ingest_") for t in dag.tasks
             if t.task_id.endswith(".load")]
    assert loads and all(t.pool == SPARK_POOL for t in loads)
    spark_jobs = [bag.dags["citybrain_conform"].get_task("conform_pending"), bag.dags["citybrain_gold"].get_task("build_gold")]
    assert all(t.pool == SPARK_POOL for t in spark_jobs)
    proc = subprocess.run([airflow_bin(), "pools", "get", SPARK_POOL, "-o", "json"], capture_output=True, text=True,
                          env={**os.environ, **airflow_env(settings)}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f'"slots": "{settings.spark_pool_slots}"' in proc.stdout.replace("'", '"') or \
        f'"slots": {settings.spark_pool_slots}' in proc.stdout, proc.stdout

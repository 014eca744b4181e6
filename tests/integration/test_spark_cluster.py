"""The pipeline's stages run unchanged on a real Spark standalone cluster and give the local run's tables:
the foundation's smoke/upsert stages, and conform + gold over a small bronze lake built by the real ingestion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from citybrain.settings import Settings
from citybrain.spark.lake_stages import SCALEOUT_RESOURCES, seed_lake
from citybrain.spark.stages import reference_fingerprints, run_stages_subprocess, table_fingerprint
from citybrain.spark.standalone import start_standalone

pytestmark = pytest.mark.integration

STAGES = ["smoke", "upsert"]
PIPELINE = ["conform", "gold"]  # over a copy of the same bronze lake in every run


@pytest.fixture(scope="module")
def cluster_starting(tmp_path_factory):
    """A master and one worker on 127.0.0.1 (free ports), booting in the background while the local
    reference runs; stopped with the module, so no JVM outlives it."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(start_standalone, workers=1, worker_cores=2, worker_memory="1g",
                             log_dir=tmp_path_factory.mktemp("standalone"))
        try:
            yield future
        finally:
            running = future.result()  # start_standalone stops what it started if it fails
            running.stop()
            assert not running.master.running and not any(w.running for w in running.workers)


@pytest.mark.parametrize("stages", [STAGES], ids=lambda s: "+".join(s))
def test_stages_on_standalone_cluster_match_local_run(cluster_starting, spark, settings, tmp_path, stages):
    expected = reference_fingerprints(stages, settings)
    cluster = cluster_starting.result(timeout=180)

    result = run_on_cluster(cluster, stages, tmp_path / "cluster-lake", tmp_path)

    # The job was a real application of the cluster, not a local session.
    assert result["session"] == {"connect": False, "master": cluster.master_url}
    assert cluster.applications()["completed"] >= 1
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    assert {table: table_fingerprint(table, remote) for table in result["tables"]} == expected


def run_on_cluster(cluster, stages, lake, tmp_path) -> dict:
    return run_stages_subprocess(stages, master=cluster.master_url, lake_uri=str(lake),
                                 result_path=tmp_path / "cluster-result.json",
                                 env={"CITYBRAIN_SPARK_DRIVER_MEMORY": "1g"}, timeout=900)


def test_conform_and_gold_on_standalone_cluster_match_local_run(cluster_starting, spark, settings, tmp_path,
                                                                 scaleout_bronze):
    expected = reference_fingerprints(PIPELINE, settings, seed=scaleout_bronze)
    cluster = cluster_starting.result(timeout=180)

    result = run_on_cluster(cluster, PIPELINE, seed_lake(scaleout_bronze, tmp_path / "cluster-lake"), tmp_path)

    assert result["session"] == {"connect": False, "master": cluster.master_url}
    # The comparison covers real work: every resource reached silver, gold computed indicators.
    assert {f"silver.{r}" for r in SCALEOUT_RESOURCES} <= set(expected)
    assert all(result["stages"]["conform"]["rows_silver"][r] > 0 for r in SCALEOUT_RESOURCES)
    assert result["stages"]["gold"]["indicators_computed"] and "gold.indicator_values" in expected
    assert not expected["gold.indicator_values"].endswith("(0 rows)")
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    assert {table: table_fingerprint(table, remote) for table in result["tables"]} == expected

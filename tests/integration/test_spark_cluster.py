"""The pipeline's stages run unchanged on a real Spark standalone cluster and give the local run's tables."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from citybrain.settings import Settings
from citybrain.spark.stages import reference_fingerprints, run_stages_subprocess, table_fingerprint
from citybrain.spark.standalone import start_standalone

pytestmark = pytest.mark.integration

# The stage runner is the parameter: conform and gold join this list once they exist.
STAGES = ["smoke", "upsert"]


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

    result = run_stages_subprocess(
        stages, master=cluster.master_url, lake_uri=str(tmp_path / "cluster-lake"),
        result_path=tmp_path / "cluster-result.json",
        env={"CITYBRAIN_SPARK_DRIVER_MEMORY": "1g"}, timeout=300,
    )

    # The job was a real application of the cluster, not a local session.
    assert result["session"] == {"connect": False, "master": cluster.master_url}
    assert cluster.applications()["completed"] >= 1
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    assert {table: table_fingerprint(table, remote) for table in result["tables"]} == expected

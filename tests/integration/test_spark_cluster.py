"""The pipeline's stages run unchanged on a real Spark standalone cluster and give the local run's tables."""

from __future__ import annotations

import pytest

from citybrain.settings import Settings
from citybrain.spark.stages import run_stages, run_stages_subprocess, stage_tables, table_fingerprint
from citybrain.spark.standalone import start_standalone

pytestmark = pytest.mark.integration

# The stage runner is the parameter: conform and gold join this list once they exist.
STAGES = ["smoke", "upsert"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A master and one worker on 127.0.0.1 (free ports), stopped with the module: no JVM outlives it."""
    with start_standalone(workers=1, worker_cores=2, worker_memory="1g",
                          log_dir=tmp_path_factory.mktemp("standalone")) as running:
        yield running
    assert not running.master.running and not any(w.running for w in running.workers)


@pytest.mark.parametrize("stages", [STAGES], ids=lambda s: "+".join(s))
def test_stages_on_standalone_cluster_match_local_run(cluster, spark, settings, tmp_path, stages):
    local = Settings(var_dir=settings.var_dir, lake_uri=str(tmp_path / "local-lake"))
    expected = run_stages(stages, local)

    result = run_stages_subprocess(
        stages, master=cluster.master_url, lake_uri=str(tmp_path / "cluster-lake"),
        result_path=tmp_path / "cluster-result.json",
        env={"CITYBRAIN_SPARK_DRIVER_MEMORY": "1g"}, timeout=240,
    )

    # The job was a real application of the cluster, not a local session.
    assert result["session"] == {"connect": False, "master": cluster.master_url}
    assert cluster.applications()["completed"] >= 1
    assert result["tables"] == stage_tables(expected)
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    for table in result["tables"]:
        assert table_fingerprint(table, remote) == table_fingerprint(table, local), table

"""The pipeline's stages run unchanged through a Spark Connect server with Delta and give the local run's tables:
the foundation's smoke/upsert stages, and conform + gold over a small bronze lake built by the real ingestion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from citybrain.settings import Settings
from citybrain.spark.connect_server import connect_url, start_connect_server
from citybrain.spark.lake_stages import SCALEOUT_RESOURCES, seed_lake
from citybrain.spark.stages import reference_fingerprints, run_stages_subprocess, table_fingerprint

pytestmark = pytest.mark.integration

STAGES = ["smoke", "upsert"]
PIPELINE = ["conform", "gold"]  # over a copy of the same bronze lake in every run


@pytest.fixture(scope="module")
def server_starting(settings, tmp_path_factory):
    """A Connect server with Delta on 127.0.0.1 (free port, 2 local cores), booting in the background
    while the local reference runs; stopped with the module."""
    server_settings = settings.model_copy(update={"spark_driver_memory": "1g"})
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(start_connect_server, server_settings, master="local[2]",
                             log_dir=tmp_path_factory.mktemp("connect"))
        try:
            yield future
        finally:
            server = future.result()  # start_connect_server stops the JVM itself if it fails to come up
            server.stop()
            assert not server.running


@pytest.mark.parametrize("stages", [STAGES], ids=lambda s: "+".join(s))
def test_stages_through_spark_connect_match_local_run(server_starting, spark, settings, tmp_path, stages):
    expected = reference_fingerprints(stages, settings)
    url = connect_url(server_starting.result(timeout=180))

    result = run_through_connect(url, stages, tmp_path / "connect-lake", tmp_path)

    # The job's session was a thin Connect client: the server did the work (DeltaTable calls via SQL).
    assert result["session"] == {"connect": True, "master": url}
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    assert {table: table_fingerprint(table, remote) for table in result["tables"]} == expected


def run_through_connect(url, stages, lake, tmp_path) -> dict:
    return run_stages_subprocess(stages, master=url, lake_uri=str(lake), result_path=tmp_path / "connect-result.json",
                                 timeout=900)


def test_conform_and_gold_through_spark_connect_match_local_run(server_starting, spark, settings, tmp_path,
                                                                 scaleout_bronze):
    expected = reference_fingerprints(PIPELINE, settings, seed=scaleout_bronze)
    url = connect_url(server_starting.result(timeout=180))

    result = run_through_connect(url, PIPELINE, seed_lake(scaleout_bronze, tmp_path / "connect-lake"), tmp_path)

    assert result["session"] == {"connect": True, "master": url}
    assert {f"silver.{r}" for r in SCALEOUT_RESOURCES} <= set(expected)
    assert all(result["stages"]["conform"]["rows_silver"][r] > 0 for r in SCALEOUT_RESOURCES)
    assert result["stages"]["gold"]["indicators_computed"]
    assert not expected["gold.indicator_values"].endswith("(0 rows)")
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    assert {table: table_fingerprint(table, remote) for table in result["tables"]} == expected

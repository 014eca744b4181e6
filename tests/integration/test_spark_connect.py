"""The pipeline's stages run unchanged through a Spark Connect server with Delta and give the local run's tables."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from citybrain.settings import Settings
from citybrain.spark.connect_server import connect_url, start_connect_server
from citybrain.spark.stages import reference_fingerprints, run_stages_subprocess, table_fingerprint

pytestmark = pytest.mark.integration

# The stage runner is the parameter: conform and gold join this list once they exist.
STAGES = ["smoke", "upsert"]


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

    result = run_stages_subprocess(stages, master=url, lake_uri=str(tmp_path / "connect-lake"),
                                   result_path=tmp_path / "connect-result.json", timeout=300)

    # The job's session was a thin Connect client: the server did the work (DeltaTable calls via SQL).
    assert result["session"] == {"connect": True, "master": url}
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    assert {table: table_fingerprint(table, remote) for table in result["tables"]} == expected

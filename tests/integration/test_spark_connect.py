"""The pipeline's stages run unchanged through a Spark Connect server with Delta and give the local run's tables."""

from __future__ import annotations

import pytest

from citybrain.settings import Settings
from citybrain.spark.connect_server import connect_url, start_connect_server
from citybrain.spark.stages import run_stages, run_stages_subprocess, stage_tables, table_fingerprint

pytestmark = pytest.mark.integration

# The stage runner is the parameter: conform and gold join this list once they exist.
STAGES = ["smoke", "upsert"]


@pytest.fixture(scope="module")
def connect_server(settings, tmp_path_factory):
    """A Connect server with Delta on 127.0.0.1 (free port, 2 local cores), stopped with the module."""
    server_settings = settings.model_copy(update={"spark_driver_memory": "1g"})
    server = start_connect_server(server_settings, master="local[2]",
                                  log_dir=tmp_path_factory.mktemp("connect"))
    try:
        yield server
    finally:
        server.stop()
    assert not server.running


@pytest.mark.parametrize("stages", [STAGES], ids=lambda s: "+".join(s))
def test_stages_through_spark_connect_match_local_run(connect_server, spark, settings, tmp_path, stages):
    local = Settings(var_dir=settings.var_dir, lake_uri=str(tmp_path / "local-lake"))
    expected = run_stages(stages, local)

    url = connect_url(connect_server)
    result = run_stages_subprocess(stages, master=url, lake_uri=str(tmp_path / "connect-lake"),
                                   result_path=tmp_path / "connect-result.json", timeout=240)

    # The job's session was a thin Connect client: the server did the work.
    assert result["session"] == {"connect": True, "master": url}
    assert result["tables"] == stage_tables(expected)
    remote = Settings(var_dir=settings.var_dir, lake_uri=result["lake_uri"])
    for table in result["tables"]:
        assert table_fingerprint(table, remote) == table_fingerprint(table, local), table

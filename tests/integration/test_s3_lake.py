"""An s3a:// lake on a real S3-compatible HTTP server (moto's server, a process of its own on 127.0.0.1):
Spark writes Delta through hadoop-aws, deltalake/Arrow read it, list_tables finds the tables, DuckDB queries them.

moto cannot live in the project venv (botocore needs python-dateutil<3, the constraints pin 4.0.0), so the
server comes from a tool venv of its own: `python3.11 -m venv var/tools/moto && var/tools/moto/bin/pip install
"moto[server]==5.2.5"`, or any moto_server named by CITYBRAIN_MOTO_SERVER or on PATH. Without one the module
is skipped with that hint.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from citybrain.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

BUCKET = "citybrain"
STAGES = ["upsert"]  # partitioned write, MERGE, read back, aggregate with a pandas UDF
# moto accepts any key pair; these are only what the clients sign with.
KEYS = {"s3_access_key": "AKIACBTESTKEY4PS", "s3_secret_key": "cb-Secret-9f3e1d-never-in-ps"}  # found nowhere else on a command line


def moto_server_path() -> str | None:
    candidates = [os.environ.get("CITYBRAIN_MOTO_SERVER"), shutil.which("moto_server"),
                  str(REPO_ROOT / "var" / "tools" / "moto" / "bin" / "moto_server")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto's S3 server on a free loopback port with the lake bucket created; stopped with the module."""
    from pyarrow import fs

    from citybrain.spark.processes import Daemon, free_port

    server = moto_server_path()
    if server is None:
        pytest.skip("no S3-compatible server here: install moto[server]==5.2.5 in a venv of its own "
                    "(python3.11 -m venv var/tools/moto && var/tools/moto/bin/pip install 'moto[server]==5.2.5') "
                    "or set CITYBRAIN_MOTO_SERVER to a moto_server executable")
    port = free_port()
    daemon = Daemon("moto S3 server", [server, "-H", "127.0.0.1", "-p", str(port)], "127.0.0.1", port,
                    tmp_path_factory.mktemp("moto") / "moto.log")
    with daemon.start():
        daemon.wait_until_listening(60)
        s3 = fs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", access_key=KEYS["s3_access_key"],
                             secret_key=KEYS["s3_secret_key"], region="us-east-1", allow_bucket_creation=True)
        s3.create_dir(BUCKET)
        yield f"http://127.0.0.1:{port}"
    assert not daemon.running


def s3_settings(settings: Settings, endpoint: str, prefix: str) -> Settings:
    return Settings(var_dir=settings.var_dir, lake_uri=f"s3a://{BUCKET}/{prefix}", s3_endpoint=endpoint, **KEYS)


def test_arrow_writes_lists_and_duckdb_reads_an_s3_lake(s3_endpoint, settings):
    import pyarrow as pa

    from citybrain.lake import arrow_io

    lake = s3_settings(settings, s3_endpoint, "arrow-lake")
    assert arrow_io.list_tables(settings=lake) == []  # an empty bucket prefix is an empty lake
    arrow_io.append_arrow("gold.s3_probe", pa.table({"district_code": ["370602", "370603"], "value": [1.5, 2.5]}),
                          settings=lake)
    arrow_io.append_arrow("control.s3_audit", pa.table({"run": ["r1"]}), settings=lake)

    assert [str(t) for t in arrow_io.list_tables(settings=lake)] == ["gold.s3_probe", "control.s3_audit"]
    assert arrow_io.table_exists("gold.s3_probe", lake) and not arrow_io.table_exists("gold.absent", lake)
    con = arrow_io.duckdb_connect(["gold"], settings=lake)
    assert con.execute('SELECT sum(value), count(*) FROM gold.s3_probe').fetchone() == (4.0, 2)
    from citybrain.analyst.sql import query  # citybrain sql's locked connection reads S3 through Arrow still

    assert query("SELECT sum(value) AS v FROM gold.s3_probe", settings=lake).to_pylist() == [{"v": 4.0}]


class JvmWatch:
    """Command lines of the Spark JVMs whose environment holds `marker`, sampled from /proc while a job runs
    (`ps` shows every local user these; the environment only to the owner)."""

    def __init__(self, marker: str):
        import threading

        self.marker, self.cmdlines, self._stop = marker.encode(), {}, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                    if b"org.apache.spark" in cmdline and self.marker in (proc / "environ").read_bytes():
                        self.cmdlines[proc.name] = cmdline.replace(b"\0", b" ").decode(errors="replace")
                except OSError:  # gone, or not ours
                    continue

    def __enter__(self) -> JvmWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_spark_job_on_s3a_lake_equals_the_local_run(s3_endpoint, spark, settings, tmp_path):
    from citybrain.lake import arrow_io
    from citybrain.spark.jars import fetch_s3a_jars
    from citybrain.spark.stages import reference_fingerprints, run_stages_subprocess, table_fingerprint

    lake = s3_settings(settings, s3_endpoint, "spark-lake")
    fetch_s3a_jars(lake)  # hadoop-aws + AWS SDK matching Spark's Hadoop: cached after the first fetch
    expected = reference_fingerprints(STAGES, settings)

    # A driver of its own: the test session's JVM was started without hadoop-aws.
    with JvmWatch(lake.lake_uri) as jvms:
        result = run_stages_subprocess(
            STAGES, master="local[2]", lake_uri=lake.lake_uri, result_path=tmp_path / "s3-result.json",
            timeout=300,
            env={"CITYBRAIN_S3_ENDPOINT": s3_endpoint, "CITYBRAIN_S3_ACCESS_KEY": KEYS["s3_access_key"],
                 "CITYBRAIN_S3_SECRET_KEY": KEYS["s3_secret_key"], "CITYBRAIN_SPARK_DRIVER_MEMORY": "1g",
                 "AWS_REGION": "us-east-1"},
        )

    assert result["lake_uri"] == lake.lake_uri
    # the driver JVM's command line (what `ps` shows) holds the S3 settings but not the key pair
    assert jvms.cmdlines and all(s3_endpoint in c and KEYS["s3_secret_key"] not in c
                                 and KEYS["s3_access_key"] not in c for c in jvms.cmdlines.values()), jvms.cmdlines
    # Spark wrote through s3a://, deltalake reads through s3://: same objects, same rows as the local run.
    assert {t: table_fingerprint(t, lake) for t in result["tables"]} == expected
    assert {str(t) for t in arrow_io.list_tables(["smoke"], lake)} == set(expected)
    con = arrow_io.duckdb_connect(["smoke"], settings=lake)
    assert con.execute("SELECT count(*) FROM smoke.aq_daily").fetchone()[0] > 0

"""Scale-out configuration without starting anything: jar bundles, session conf per master, daemon commands.

(Pure-Python checks, marked unit; they live next to the integration tests they back.)
"""

from __future__ import annotations

import subprocess

import pytest

from citybrain.settings import Settings
from citybrain.spark import jars
from citybrain.spark.connect_server import DELTA_CONNECT_PLUGINS, connect_server_command
from citybrain.spark.session import SparkSetupError, _base_conf, session_jars
from citybrain.spark.standalone import master_command, worker_command

pytestmark = pytest.mark.unit


def _settings(tmp_path, **kw) -> Settings:
    return Settings(var_dir=tmp_path / "var", jars_dir=tmp_path / "jars", **kw)


def _fake_bundle(settings: Settings, coordinates: str, names: list[str]) -> None:
    folder = jars.bundle_dir(coordinates, settings)
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(b"")
    (folder / jars.MARKER).write_text("\n".join(names))


def test_coordinates_match_the_installed_spark_and_its_hadoop():
    # hadoop-aws must be exactly Spark's Hadoop; pyspark 4.1.1 ships Hadoop 3.4.2.
    assert jars.hadoop_version() == "3.4.2"
    assert jars.s3a_coordinates() == "org.apache.hadoop:hadoop-aws:3.4.2"
    assert jars.delta_coordinates() == "io.delta:delta-spark_4.1_2.13:4.3.1"
    assert jars.delta_connect_coordinates() == "io.delta:delta-connect-server_4.1_2.13:4.3.1"


@pytest.mark.parametrize(
    "lake, bundles, expect_jars",
    [
        ("var/lake", ["delta"], 1),  # local lake: Delta alone is enough
        ("s3a://citybrain/lake", ["delta"], 0),  # s3a lake without hadoop-aws: not set up yet
        ("s3a://citybrain/lake", ["delta", "s3a"], 2),  # both cached: a session ships both
    ],
)
def test_installed_jars_cover_what_the_lake_needs(tmp_path, lake, bundles, expect_jars):
    settings = _settings(tmp_path, lake_uri=lake)
    coords = {"delta": jars.delta_coordinates(), "s3a": jars.s3a_coordinates()}
    for bundle in bundles:
        _fake_bundle(settings, coords[bundle], [f"{bundle}.jar"])
    assert len(jars.installed_jars(settings)) == expect_jars


def test_fetch_is_offline_once_cached(tmp_path, monkeypatch):
    settings = _settings(tmp_path, lake_uri="s3a://citybrain/lake")
    _fake_bundle(settings, jars.delta_coordinates(), ["delta.jar"])
    _fake_bundle(settings, jars.s3a_coordinates(), ["hadoop-aws.jar"])

    def no_network(*args, **kwargs):
        raise AssertionError("fetch reached for Maven Central although every bundle is cached")

    monkeypatch.setattr(subprocess, "run", no_network)
    assert [p.name for p in jars.fetch_delta_jars(settings)] == ["delta.jar", "hadoop-aws.jar"]


def test_missing_s3a_jars_say_how_to_fetch_them(tmp_path):
    settings = _settings(tmp_path, lake_uri="s3a://citybrain/lake")
    _fake_bundle(settings, jars.delta_coordinates(), ["delta.jar"])
    with pytest.raises(SparkSetupError, match=r"hadoop-aws.*citybrain setup jars"):
        session_jars(settings)


@pytest.mark.parametrize(
    "master, driver_host",
    [
        ("local[*]", "127.0.0.1"),  # one machine: loopback only
        ("spark://127.0.0.1:7077", "127.0.0.1"),  # a cluster on this machine: still loopback
        ("spark://localhost:7077", "127.0.0.1"),
    ],
)
def test_driver_address_follows_the_master(tmp_path, master, driver_host):
    conf = _base_conf(_settings(tmp_path, spark_master=master))
    assert conf["spark.driver.host"] == driver_host
    assert conf["spark.driver.bindAddress"] == driver_host


def test_remote_cluster_driver_advertises_its_route_and_listens_everywhere(tmp_path):
    # 192.0.2.0/24 is TEST-NET-1: routing to it picks an interface without sending anything.
    conf = _base_conf(_settings(tmp_path, spark_master="spark://192.0.2.10:7077"))
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert not conf["spark.driver.host"].startswith("127.")


def test_s3_settings_reach_hadoop(tmp_path):
    conf = _base_conf(_settings(tmp_path, lake_uri="s3a://citybrain/lake", s3_endpoint="http://minio:9000",
                                s3_access_key="k", s3_secret_key="s"))
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    # the key pair is never conf (it would be on the JVM's command line): see tests/unit/test_spark_secrets.py
    assert "spark.hadoop.fs.s3a.access.key" not in conf and "spark.hadoop.fs.s3a.secret.key" not in conf


@pytest.mark.parametrize("plugin_cached", [False, True])
def test_connect_server_command_carries_delta_and_the_plugin_only_when_present(tmp_path, plugin_cached):
    settings = _settings(tmp_path)
    _fake_bundle(settings, jars.delta_coordinates(), ["delta.jar"])
    if plugin_cached:
        _fake_bundle(settings, jars.delta_connect_coordinates(), ["delta-connect-server.jar"])
    argv = connect_server_command(settings, host="127.0.0.1", port=15999, master="local[2]")
    assert argv[argv.index("--class") + 1] == "org.apache.spark.sql.connect.service.SparkConnectServer"
    shipped = argv[argv.index("--jars") + 1]
    assert "delta.jar" in shipped and ("delta-connect-server.jar" in shipped) == plugin_cached
    confs = dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--conf")
    assert confs["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert confs["spark.connect.grpc.binding.port"] == "15999"
    assert confs["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert (DELTA_CONNECT_PLUGINS.items() <= confs.items()) == plugin_cached


def test_connect_server_needs_a_real_master(tmp_path):
    with pytest.raises(ValueError, match="local\\[\\*\\] or a spark:// master"):
        connect_server_command(_settings(tmp_path), master="sc://elsewhere:15002")


def test_standalone_commands_bind_where_told():
    assert master_command("127.0.0.1", 7077, 8080)[1:] == [
        "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "7077", "--webui-port", "8080"]
    worker = worker_command("spark://127.0.0.1:7077", cores=2, memory="1g", work_dir="/tmp/w")
    assert worker[1:3] == ["org.apache.spark.deploy.worker.Worker", "spark://127.0.0.1:7077"]
    assert worker[worker.index("--work-dir") + 1] == "/tmp/w"  # executors' scratch never inside the venv

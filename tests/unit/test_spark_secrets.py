"""The S3 secret key never reaches a Spark JVM's command line (which every local user sees in `ps`): pyspark's
launch command, the Connect server's argv and the daemons' arguments hold none of it; the key pair travels in
the launched JVMs' environment and, for this process's session, in its Hadoop configuration set after start."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.settings import Settings, get_settings

pytestmark = pytest.mark.unit
ACCESS, SECRET = "AKIA-dummy-access", "dummy-s3-secret-1f9c"


def _settings(tmp_path: Path, **kw) -> Settings:
    # a local lake (no hadoop-aws needed to build the commands) with S3 settings: the keys must still not leak
    return Settings(var_dir=tmp_path, jars_dir=get_settings().jars_dir, lake_uri=str(tmp_path / "lake"),
                    s3_endpoint="http://127.0.0.1:9000", s3_access_key=ACCESS, s3_secret_key=SECRET, **kw)


class _Launched(Exception):
    pass


def test_pyspark_launch_command_holds_no_secret(tmp_path, monkeypatch):
    # The command pyspark itself builds from the session's conf (java_gateway.launch_gateway), captured at Popen.
    import pyspark.java_gateway as gateway
    from pyspark import SparkConf

    from citybrain.spark.session import session_conf

    settings = _settings(tmp_path)
    seen = {}

    def popen(command, **kwargs):
        seen["argv"] = command
        raise _Launched

    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.setattr(gateway, "Popen", popen)
    conf = SparkConf(loadDefaults=False).setAll(list(session_conf(settings, [Path("/jars/delta.jar")]).items()))
    with pytest.raises(_Launched):
        gateway.launch_gateway(conf)
    argv = " ".join(seen["argv"])
    assert "spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:9000" in argv  # the S3 settings do travel
    assert SECRET not in argv and ACCESS not in argv


def test_session_gets_the_key_pair_after_start():
    from citybrain.spark.session import set_s3_credentials

    class Hadoop(dict):
        def set(self, key, value):
            self[key] = value

    hadoop = Hadoop()
    session = type("S", (), {"sparkContext": type("C", (), {"_jsc": type("J", (), {
        "hadoopConfiguration": staticmethod(lambda: hadoop)})})})
    set_s3_credentials(session, _settings(Path("/tmp")))
    assert hadoop == {"fs.s3a.access.key": ACCESS, "fs.s3a.secret.key": SECRET}


def test_connect_server_and_daemons_take_the_secret_from_their_environment(tmp_path):
    from citybrain.spark.connect_server import connect_server_command, connect_server_env
    from citybrain.spark.processes import daemon_env
    from citybrain.spark.standalone import master_command, worker_command

    settings = _settings(tmp_path)
    argvs = [connect_server_command(settings, delta_plugin="off"), master_command("127.0.0.1", 7077, 8080),
             worker_command("spark://127.0.0.1:7077", host="127.0.0.1", cores=1, memory="1g", work_dir="/tmp/w",
                            webui_port=8081)]
    for argv in argvs:
        assert not any(SECRET in a or ACCESS in a for a in argv), argv
    for env in (connect_server_env("127.0.0.1", settings), daemon_env(settings=settings)):
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (ACCESS, SECRET)


def test_no_key_pair_without_an_s3_endpoint(tmp_path):
    from citybrain.spark.session import s3_credentials_env

    assert s3_credentials_env(Settings(var_dir=tmp_path, lake_uri=str(tmp_path / "lake"))) == {}

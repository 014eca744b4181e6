"""A Spark Connect server with Delta Lake: thin clients (sc://host:port) run the same jobs through it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from citybrain.settings import Settings, get_settings
from citybrain.spark.jars import delta_connect_coordinates, fetch_connect_server_jars, installed_bundle
from citybrain.spark.processes import LOG4J_CONF, Daemon, daemon_env, free_port, spark_bin
from citybrain.spark.session import SparkSetupError, _base_conf, session_jars

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_PORT = 15002
# Served by the Delta Connect plugin: the DeltaTable API (forPath, merge builder, history) over Connect.
DELTA_CONNECT_PLUGINS = {
    "spark.connect.extensions.relation.classes": "org.apache.spark.sql.connect.delta.DeltaRelationPlugin",
    "spark.connect.extensions.command.classes": "org.apache.spark.sql.connect.delta.DeltaCommandPlugin",
}
PluginMode = Literal["auto", "require", "off"]


def plugin_jars(settings: Settings, mode: PluginMode) -> list[Path]:
    """Jars of the Delta Connect plugin: cached ones ('auto'), fetched or an error ('require'), none ('off').

    Without the plugin the server still reads, writes and MERGEs Delta through SQL (spark_io's Connect
    path); only the DeltaTable Python API needs it.
    """
    if mode == "off":
        return []
    cached = installed_bundle(delta_connect_coordinates(), settings)
    if cached or mode == "auto":
        return cached
    try:
        return fetch_connect_server_jars(settings)
    except RuntimeError as exc:
        raise SparkSetupError(
            f"The Delta Connect plugin {delta_connect_coordinates()} could not be fetched: {exc}. "
            "Start the server with delta_plugin='auto'/'off' (spark_io works through SQL without it) or put "
            f"the plugin's jars in {settings.jars_dir}/{delta_connect_coordinates().replace(':', '_')}/ "
            "with a .complete marker."
        ) from exc


def connect_server_conf(settings: Settings, *, host: str, port: int, master: str, plugin: bool,
                        cores_max: int | None = None) -> dict[str, str]:
    """Server-side configuration: the session's Delta/S3 settings plus the gRPC endpoint (and plugin); the S3
    key pair travels in connect_server_env, not here (these become command-line arguments).

    The server is the driver of its master: on a cluster, executors connect back to it, so it advertises
    its address on the route to the master; `cores_max` leaves the cluster's other cores to other drivers.
    """
    conf = _base_conf(settings.model_copy(update={"spark_master": master}))
    if cores_max:
        conf["spark.cores.max"] = str(cores_max)
    conf.update({
        "spark.connect.grpc.binding.address": host,
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONF} -XX:+UseG1GC",
    })
    if plugin:
        conf.update(DELTA_CONNECT_PLUGINS)
    return conf


def connect_server_command(
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    master: str = "local[*]",
    delta_plugin: PluginMode = "auto",
    cores_max: int | None = None,
) -> list[str]:
    """`spark-submit --class SparkConnectServer` of the pyspark install, with Delta's jars and settings."""
    settings = settings or get_settings()
    if master.startswith("sc://"):
        raise ValueError(f"A Connect server runs on local[*] or a spark:// master, not on {master}")
    plugin = plugin_jars(settings, delta_plugin)
    jars = session_jars(settings) + plugin
    conf = connect_server_conf(settings, host=host, port=port, master=master, plugin=bool(plugin),
                               cores_max=cores_max)
    argv = [spark_bin("spark-submit"), "--class", SERVER_CLASS, "--name", "citybrain-connect",
            "--master", master, "--driver-memory", settings.spark_driver_memory,
            "--jars", ",".join(str(j) for j in jars)]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    return argv


def connect_server_env(host: str, settings: Settings | None = None) -> dict[str, str]:
    """The server's environment: daemon_env, with the S3 key pair its S3A reads (never in its argv)."""
    return daemon_env(host=host, coordinator=False, settings=settings)


def start_connect_server(
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    master: str = "local[*]",
    delta_plugin: PluginMode = "auto",
    log_dir: Path | str | None = None,
    timeout: float = 120.0,
) -> Daemon:
    """Start a Connect server (free port by default) and wait until it accepts clients; `.url` is its sc:// URL."""
    settings = settings or get_settings()
    port = port or free_port(host)
    argv = connect_server_command(settings, host=host, port=port, master=master, delta_plugin=delta_plugin)
    log_path = Path(log_dir or tempfile.mkdtemp(prefix="citybrain-connect-")) / "connect-server.log"
    server = Daemon("spark connect server", argv, host, port, log_path, env=connect_server_env(host, settings))
    server.start().wait_until_listening(timeout)
    return server


def stop_connect_server(server: Daemon, timeout: float = 20.0) -> None:
    """Stop a server started by start_connect_server (bounded wait, then kill)."""
    server.stop(timeout)


def connect_url(server: Daemon) -> str:
    """The sc:// URL clients (CITYBRAIN_SPARK_MASTER) use for a started server."""
    return f"sc://{server.host}:{server.port}"

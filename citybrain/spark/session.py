"""The SparkSession factory: Delta-enabled, master from settings, one session per process."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from citybrain.settings import Settings, get_settings
from citybrain.spark.jars import installed_jars
from citybrain.spark.jvm_logs import launch_gateway

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG4J_CONF = Path(__file__).with_name("log4j2.properties")
_lock = threading.Lock()
_session: SparkSession | None = None


class SparkSetupError(RuntimeError):
    """Spark cannot start: says what is missing and how to fix it."""


def _base_conf(settings: Settings) -> dict[str, str]:
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Tuned for a 2-core machine and small-to-medium batches.
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(max(2, settings.spark_shuffle_partitions)),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        # let AQE coalesce a cached plan's partitions too: a small cached result (a day's changes) then is one
        # partition, not spark.sql.shuffle.partitions near-empty ones that every later job runs a task for
        "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
        "spark.sql.session.timeZone": settings.spark_timezone,
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Spark keeps every query's plan graph and every stage's and task's figures for its UI in driver memory
        # even with the UI off (by default up to 1,000 queries and 100,000 tasks): after a full conform run, its
        # wide plans stay in the heap of the process (the bench's, a notebook's). The UI is off: keep a few.
        "spark.sql.ui.retainedExecutions": "50",
        "spark.ui.retainedJobs": "200",
        "spark.ui.retainedStages": "200",
        "spark.ui.retainedTasks": "5000",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONF} -XX:+UseG1GC",
    }
    if settings.spark_master.startswith("local") or _master_is_loopback(settings.spark_master):
        # Everything stays on loopback on a single machine.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        # shuffle and spill files beside the run's var/ (not a shared /tmp another job may clean)
        conf["spark.local.dir"] = str(Path(settings.var_dir) / "spark-local")
    elif settings.spark_master.startswith("spark://"):
        # Executors on other hosts connect back to this driver: advertise the address that routes to
        # the master, listen on every interface (a loopback SPARK_LOCAL_IP would strand the executors).
        conf["spark.driver.host"] = _address_towards(settings.spark_master)
        conf["spark.driver.bindAddress"] = "0.0.0.0"
    if settings.s3_endpoint:
        conf.update(
            {
                "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            }
        )
    # no credentials here: this conf becomes `--conf` arguments of the JVM, which every local user sees in `ps`
    # (s3_credentials_env for launched JVMs, set_s3_credentials for this process's session)
    return conf


def s3_credentials_env(settings: Settings) -> dict[str, str]:
    """The lake's S3 key pair as the AWS variables S3A's default provider chain reads (its
    EnvironmentVariableCredentialsProvider): the environment of the Spark JVMs we launch (Connect server,
    standalone workers and so their executors), private to the user, never their command line."""
    if not (settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key):
        return {}
    return {"AWS_ACCESS_KEY_ID": settings.s3_access_key.get_secret_value(),
            "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key.get_secret_value()}


def set_s3_credentials(session: SparkSession, settings: Settings) -> None:
    """Give a started session's Hadoop configuration the S3 key pair (S3A's SimpleAWSCredentialsProvider reads
    it): set through py4j after the JVM started, it never appears on a command line; jobs ship this configuration
    to their executors, local or on a cluster."""
    keys = s3_credentials_env(settings)
    if not keys:
        return
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    hadoop.set("fs.s3a.access.key", keys["AWS_ACCESS_KEY_ID"])
    hadoop.set("fs.s3a.secret.key", keys["AWS_SECRET_ACCESS_KEY"])


def _master_is_loopback(master: str) -> bool:
    host = urlparse(master).hostname or ""
    return host == "localhost" or host.startswith("127.")


def _address_towards(master: str) -> str:
    """This host's address on the route to the master (no packet is sent: UDP connect only picks a route)."""
    parsed = urlparse(master)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((parsed.hostname, parsed.port or 7077))
            return sock.getsockname()[0]
    except OSError as exc:
        raise SparkSetupError(
            f"Cannot route to the Spark master {master} ({exc}): check CITYBRAIN_SPARK_MASTER and that its host "
            "resolves from here"
        ) from exc


def session_jars(settings: Settings) -> list[Path]:
    """The jars a session ships to its driver and executors (Delta; hadoop-aws for an s3a:// lake)."""
    jars = installed_jars(settings)
    if not jars:
        extra = " and hadoop-aws (the lake is s3a://)" if settings.lake_uri.startswith("s3a://") else ""
        raise SparkSetupError(
            f"Delta Lake jars{extra} are not in {settings.jars_dir}. Run `make jars` (or `citybrain setup jars`) "
            "once with access to Maven Central; later runs work offline."
        )
    return jars


def _build_connect(settings: Settings, app_name: str) -> SparkSession:
    """A Spark Connect client session; the server holds the jars, session-level settings are set here."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(settings.spark_master).appName(app_name).getOrCreate()
    # Runtime settings travel with the session, so results match a local run of the same job.
    session.conf.set("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
    session.conf.set("spark.sql.session.timeZone", settings.spark_timezone)
    session.conf.set("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")
    return session


def build_spark(settings: Settings | None = None, app_name: str = "citybrain") -> SparkSession:
    """A new session for the configured master (local[*], spark://host:port or sc://host:port)."""
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    master = settings.spark_master
    if master.startswith("sc://"):
        return _build_connect(settings, app_name)
    jars = session_jars(settings)
    # Executors start Python workers with the driver's interpreter path: same Python, same packages
    # (same machine, or the same image in docker/).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if master.startswith("local") or _master_is_loopback(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    options = session_conf(settings, jars)
    # the driver JVM starts with its stderr routed to logging at each line's real level (not ERROR for all)
    launch_gateway({"spark.master": master, "spark.app.name": app_name, **options})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in options.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    set_s3_credentials(session, settings)
    session.sparkContext.setLogLevel(settings.spark_log_level)
    return session


def session_conf(settings: Settings, jars: list[Path]) -> dict[str, str]:
    """Everything a new local or cluster session is configured with before its JVM starts (pyspark passes it
    to spark-submit as `--conf` arguments: nothing secret)."""
    # Client mode everywhere: the driver runs in this process, so its heap is set here too.
    return {"spark.jars": ",".join(str(j) for j in jars), "spark.driver.memory": settings.spark_driver_memory,
            **_base_conf(settings)}


def get_spark(settings: Settings | None = None) -> SparkSession:
    """The process's shared session, created on first use and reused afterwards."""
    global _session
    with _lock:
        if _session is None or _is_stopped(_session):
            _session = build_spark(settings)
        return _session


def is_connect_session(session) -> bool:
    """True for a Spark Connect client session (no JVM in this process)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def _is_stopped(session: SparkSession) -> bool:
    if is_connect_session(session):
        return bool(session.is_stopped)
    try:
        jsc = getattr(session, "_jsc", None)
        return jsc is not None and jsc.sc().isStopped()
    except Exception:  # a dead py4j gateway counts as stopped
        return True


def stop_spark() -> None:
    """Stop the shared session (end of a CLI command or test run)."""
    global _session
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None

"""The SparkSession factory: Delta-enabled, master from settings, one session per process."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.settings import Settings, get_settings
from citybrain.spark.jars import installed_jars

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
        "spark.sql.session.timeZone": settings.spark_timezone,
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONF} -XX:+UseG1GC",
    }
    if settings.spark_master.startswith("local"):
        # Everything stays on loopback on a single machine.
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    if settings.s3_endpoint:
        conf.update(
            {
                "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
                "spark.hadoop.fs.s3a.path.style.access": "true",
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            }
        )
        if settings.s3_access_key and settings.s3_secret_key:
            conf["spark.hadoop.fs.s3a.access.key"] = settings.s3_access_key.get_secret_value()
            conf["spark.hadoop.fs.s3a.secret.key"] = settings.s3_secret_key.get_secret_value()
    return conf


def build_spark(settings: Settings | None = None, app_name: str = "citybrain") -> SparkSession:
    """A new session for the configured master (local[*], spark://host:port or sc://host:port)."""
    from pyspark.sql import SparkSession

    settings = settings or get_settings()
    master = settings.spark_master
    if master.startswith("sc://"):
        # Spark Connect: the server holds the Delta jars and configuration.
        return SparkSession.builder.remote(master).appName(app_name).getOrCreate()
    jars = installed_jars(settings)
    if not jars:
        raise SparkSetupError(
            f"Delta Lake jars are not in {settings.jars_dir}. Run `make jars` (or `citybrain setup jars`) "
            "once with access to Maven Central; later runs work offline."
        )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app_name)
    builder = builder.config("spark.jars", ",".join(str(j) for j in jars))
    if master.startswith("local"):
        builder = builder.config("spark.driver.memory", settings.spark_driver_memory)
    for key, value in _base_conf(settings).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel(settings.spark_log_level)
    return session


def get_spark(settings: Settings | None = None) -> SparkSession:
    """The process's shared session, created on first use and reused afterwards."""
    global _session
    with _lock:
        if _session is None or _is_stopped(_session):
            _session = build_spark(settings)
        return _session


def _is_stopped(session: SparkSession) -> bool:
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

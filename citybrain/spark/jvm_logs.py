"""The driver JVM's stderr as Python log records, each at its real level.

A JVM started by pyspark writes to the process's stderr, which Airflow's task runner (and any log collector)
labels ERROR line by line: a successful load showed "WARNING: Using incubator modules" and Spark's
"Setting default log level" as errors. The gateway is launched here with its stderr piped instead, and a
reader thread logs each line on the `citybrain.spark.jvm` logger: log4j lines (our pattern
`HH:mm:ss LEVEL logger: message`, citybrain/spark/log4j2.properties) at their own level, stack-trace lines at
the level of the line they belong to, anything else (JVM and launcher notices) at DEBUG: noise below WARN
stays out of INFO logs, a real JVM error is still an error.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading

log = logging.getLogger("citybrain.spark.jvm")

_LOG4J = re.compile(r"^\d{2}:\d{2}:\d{2} (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) ")
_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
_CONTINUATION = re.compile(r"^(\s+|at |Caused by|\.\.\. \d+ more|[\w.$]+(Exception|Error)\b)")


def line_level(line: str, previous: int) -> int:
    """The level of one stderr line: log4j's own, a stack trace's parent line's, else DEBUG."""
    match = _LOG4J.match(line)
    if match:
        return _LEVELS[match.group(1)]
    if previous >= logging.WARNING and _CONTINUATION.match(line):
        return previous
    return logging.DEBUG


def _pump(stream) -> None:
    level = logging.DEBUG
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            level = line_level(line, level)
            log.log(level, "%s", line)


def launch_gateway(options: dict[str, str]) -> None:
    """Start the driver JVM (once per process) with ``options`` as the SparkConf, its stderr routed to logging;
    SparkSession.builder then finds the gateway running and uses it."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway as pyspark_launch

    with SparkContext._lock:
        if SparkContext._gateway is not None:
            return
        conf = SparkConf(loadDefaults=False)
        for key, value in options.items():
            conf.set(key, value)
        gateway = pyspark_launch(conf, popen_kwargs={"stderr": subprocess.PIPE})
        threading.Thread(target=_pump, args=(gateway.proc.stderr,), name="spark-jvm-stderr", daemon=True).start()
        SparkContext._gateway = gateway
        SparkContext._jvm = gateway.jvm

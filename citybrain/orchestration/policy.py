"""Defaults every DAG of the project shares (owner, retries, tags): the integrity test enforces them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

OWNER = "citybrain-data-platform"
START_DATE = datetime(2026, 11, 1, tzinfo=UTC)
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 1,
    "retry_delay": timedelta(minutes=2),
}
BASE_TAGS = ["citybrain"]

# Spark tasks (bronze loads, conform, gold, quality gates, publish) each start a JVM with a multi-GiB driver:
# they share one pool so a burst of department DAGs cannot start more of them than the machine holds.
# `citybrain setup airflow` creates it with CITYBRAIN_SPARK_POOL_SLOTS slots (default 2).
SPARK_POOL = "citybrain_spark"
SPARK_POOL_DESCRIPTION = "Spark jobs of the city-brain lake (one driver JVM each)"

"""Foundation self-test: Spark writes a Delta table, DuckDB reads it back through Arrow."""

from __future__ import annotations

import re

from citybrain.settings import Settings, get_settings

SMOKE_TABLE = "smoke.numbers"


def batch_id_for(run_id: str) -> str:
    """A filesystem- and SQL-safe batch id derived from an Airflow run id."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def build_numbers(spark, rows: int, batch_id: str):
    """The smoke batch: `rows` numbered rows tagged with their batch (pure: no I/O)."""
    from pyspark.sql import functions as F

    return (
        spark.range(rows)
        .withColumn("batch_id", F.lit(batch_id))
        .withColumn("value", F.col("id") * 2)
        .withColumn("bucket", (F.col("id") % 10).cast("int"))
    )


def write_smoke(rows: int, batch_id: str, settings: Settings | None = None) -> dict:
    """Write one batch with Spark; re-running the same batch replaces it (idempotent)."""
    from citybrain.lake import spark_io
    from citybrain.spark import get_spark

    settings = settings or get_settings()
    spark = get_spark(settings)
    df = build_numbers(spark, rows, batch_id)
    if spark_io.table_exists(spark, SMOKE_TABLE, settings):
        spark_io.replace_where(df, SMOKE_TABLE, f"batch_id = '{batch_id}'", settings=settings)
    else:
        spark_io.append(df, SMOKE_TABLE, settings=settings)
    return {"table": SMOKE_TABLE, "batch_id": batch_id, "rows": rows,
            "version": spark_io.table_version(spark, SMOKE_TABLE, settings)}


def check_smoke(batch_id: str, expected_rows: int, settings: Settings | None = None) -> dict:
    """Read the batch with DuckDB over the deltalake/Arrow reader (no Spark) and check its size."""
    from citybrain.lake.arrow_io import duckdb_connect

    con = duckdb_connect(["smoke"], settings=settings)
    count, total = con.execute(
        "SELECT count(*), coalesce(sum(value), 0) FROM smoke.numbers WHERE batch_id = ?", [batch_id]
    ).fetchone()
    expected_total = expected_rows * (expected_rows - 1)
    if count != expected_rows or total != expected_total:
        raise ValueError(
            f"{SMOKE_TABLE} batch {batch_id!r}: DuckDB read {count} rows (sum {total}), "
            f"expected {expected_rows} rows (sum {expected_total}): the Spark write and Arrow read disagree"
        )
    return {"batch_id": batch_id, "rows": count}

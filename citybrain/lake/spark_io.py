"""Read and write Delta tables by logical name with Spark: append, partition overwrite, MERGE.

The same calls work on a local or standalone-cluster session and on a Spark Connect client session.
Through Connect, the DeltaTable API needs the Delta Connect server plugin, which is not published for
every Spark/Delta pair; those calls (exists, MERGE, version) therefore go through Delta SQL there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from citybrain.lake.names import TableName, table_uri
from citybrain.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def _is_connect(spark: SparkSession) -> bool:
    from citybrain.spark.session import is_connect_session

    return is_connect_session(spark)


def _delta_path(uri: str) -> str:
    """A table path as a Delta SQL identifier: delta.`<uri>`."""
    return "delta.`" + uri.replace("`", "``") + "`"


def table_exists(spark: SparkSession, name: str | TableName, settings: Settings | None = None) -> bool:
    """Whether the table has a first commit (see arrow_io.table_exists: a log folder alone is no table)."""
    if not _is_connect(spark):
        from citybrain.lake import arrow_io

        return arrow_io.table_exists(name, settings)
    from pyspark.errors import AnalysisException

    try:
        row = spark.sql(f"DESCRIBE DETAIL {_delta_path(table_uri(name, settings))}").select("format").first()
    except AnalysisException:  # no table there, or not a Delta table
        return False
    return row is not None and row[0] == "delta"


def read_table(
    spark: SparkSession, name: str | TableName, *, version: int | None = None, settings: Settings | None = None
) -> DataFrame:
    """The table as a DataFrame; `version` reads an earlier snapshot (time travel)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(table_uri(name, settings))


def append(
    df: DataFrame,
    name: str | TableName,
    *,
    partition_by: Sequence[str] = (),
    merge_schema: bool = False,
    settings: Settings | None = None,
) -> None:
    """Append rows (bronze is append-only; callers guard against re-loading a batch)."""
    writer = df.write.format("delta").mode("append")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if merge_schema:
        writer = writer.option("mergeSchema", "true")
    writer.save(table_uri(name, settings))


def overwrite(df: DataFrame, name: str | TableName, *, settings: Settings | None = None, partition_by=()) -> None:
    """Replace the whole table atomically (small derived tables)."""
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(table_uri(name, settings))


def overwrite_partitions(
    df: DataFrame,
    name: str | TableName,
    partition_by: Sequence[str],
    *,
    settings: Settings | None = None,
) -> None:
    """Idempotent write: replace exactly the partitions present in `df`, leave the others."""
    if not partition_by:
        raise ValueError(f"overwrite_partitions({name}): give the partition columns")
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy(*partition_by)
        .save(table_uri(name, settings))
    )


def replace_where(df: DataFrame, name: str | TableName, predicate: str, *, settings: Settings | None = None) -> None:
    """Idempotent write of one slice (e.g. batch_id = 'x'): rows matching `predicate` are replaced."""
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", predicate)
        .save(table_uri(name, settings))
    )


def merge(
    df: DataFrame,
    name: str | TableName,
    keys: Sequence[str],
    *,
    update_condition: str | None = None,
    delete_missing: bool = False,
    settings: Settings | None = None,
) -> None:
    """Upsert `df` into the table on `keys`; creates the table on first use."""
    spark = df.sparkSession
    uri = table_uri(name, settings)
    if not table_exists(spark, name, settings):
        df.write.format("delta").mode("overwrite").save(uri)
        return
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    if _is_connect(spark):
        _merge_sql(df, uri, on, update_condition=update_condition, delete_missing=delete_missing)
        return
    from delta.tables import DeltaTable

    builder = DeltaTable.forPath(spark, uri).alias("t").merge(df.alias("s"), on)
    builder = builder.whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll()
    if delete_missing:
        builder = builder.whenNotMatchedBySourceDelete()
    builder.execute()


def _merge_sql(df: DataFrame, uri: str, on: str, *, update_condition: str | None, delete_missing: bool) -> None:
    """The same upsert as the DeltaTable merge builder, as Delta SQL over a temporary view of `df`."""
    matched = f"WHEN MATCHED AND ({update_condition})" if update_condition else "WHEN MATCHED"
    clauses = [f"{matched} THEN UPDATE SET *", "WHEN NOT MATCHED THEN INSERT *"]
    if delete_missing:
        clauses.append("WHEN NOT MATCHED BY SOURCE THEN DELETE")
    _run_merge(df, uri, on, clauses)


def merge_sql(df: DataFrame, name: str | TableName, on: str, clauses: Sequence[str], *,
              settings: Settings | None = None) -> None:
    """`MERGE INTO <table> AS t USING df AS s ON <on> <clauses>` as Delta SQL (classic and Connect sessions
    alike), for merges `merge` does not express: extra match conditions, conditional deletes and inserts.
    The table must exist."""
    _run_merge(df, table_uri(name, settings), on, list(clauses))


def _run_merge(df: DataFrame, uri: str, on: str, clauses: list[str]) -> None:
    spark = df.sparkSession
    view = f"citybrain_merge_source_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(view)
    try:
        spark.sql(f"MERGE INTO {_delta_path(uri)} AS t USING {view} AS s ON {on} " + " ".join(clauses)).collect()
    finally:
        spark.catalog.dropTempView(view)


def table_version(spark: SparkSession, name: str | TableName, settings: Settings | None = None) -> int:
    """The latest committed version of a table (recorded as lineage by downstream stages)."""
    uri = table_uri(name, settings)
    if _is_connect(spark):
        row = spark.sql(f"DESCRIBE HISTORY {_delta_path(uri)} LIMIT 1").select("version").first()
        return int(row[0])
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, uri).history(1).select("version").first()
    return int(row[0])


def union_all(frames: Sequence[DataFrame]) -> DataFrame:
    """The rows of every frame (by column name), in one DataFrame; frames must not be empty."""
    out = frames[0]
    for part in frames[1:]:
        out = out.unionByName(part)
    return out

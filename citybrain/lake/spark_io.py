"""Read and write Delta tables by logical name with Spark: append, partition overwrite, MERGE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from citybrain.lake.names import TableName, table_uri
from citybrain.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def table_exists(spark: SparkSession, name: str | TableName, settings: Settings | None = None) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, table_uri(name, settings))


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
    from delta.tables import DeltaTable

    spark = df.sparkSession
    uri = table_uri(name, settings)
    if not DeltaTable.isDeltaTable(spark, uri):
        df.write.format("delta").mode("overwrite").save(uri)
        return
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    builder = DeltaTable.forPath(spark, uri).alias("t").merge(df.alias("s"), on)
    builder = builder.whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll()
    if delete_missing:
        builder = builder.whenNotMatchedBySourceDelete()
    builder.execute()


def table_version(spark: SparkSession, name: str | TableName, settings: Settings | None = None) -> int:
    """The latest committed version of a table (recorded as lineage by downstream stages)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, table_uri(name, settings)).history(1).select("version").first()
    return int(row[0])

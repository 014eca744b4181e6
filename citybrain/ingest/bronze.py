"""bronze.<resource>: every value as pulled (text) plus lineage columns, one replaceable slice per batch."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from citybrain.ingest.batches import Batch
from citybrain.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

LINEAGE_COLUMNS = ("_batch_id", "_batch_date", "_source_system", "_source", "_file_name", "_file_checksum",
                   "_extract_time", "_ingest_time", "_row_number")
PARTITION = "_batch_date"


def bronze_table(resource: str) -> str:
    return f"bronze.{resource}"


def transform(df: DataFrame, batch: Batch, source_system: str, data_columns: list[str],
              ingest_time: datetime) -> DataFrame:
    """Rows for bronze: the data columns in order, then the contract's lineage columns; pure, no I/O."""
    from pyspark.sql import functions as F

    lineage = {
        "_batch_id": F.lit(batch.batch_id),
        "_batch_date": F.lit(batch.batch_date).cast("date"),
        "_source_system": F.lit(source_system),
        "_source": F.lit(batch.source),
        "_file_name": F.lit(batch.file_name).cast("string"),
        "_file_checksum": F.lit(batch.checksum).cast("string"),
        "_extract_time": F.lit(batch.extract_time).cast("timestamp"),
        "_ingest_time": F.lit(ingest_time).cast("timestamp"),
        "_row_number": F.col("_row_number").cast("long"),
    }
    return df.select(*[F.col(c).cast("string") for c in data_columns],
                     *[value.alias(name) for name, value in lineage.items()])


def batch_predicate(batches: list[Batch]) -> str:
    """The slice some batches own in bronze (partition first, so Delta prunes)."""
    days = ", ".join(sorted({f"DATE'{b.batch_date.isoformat()}'" for b in batches}))
    ids = ", ".join(f"'{b.batch_id}'" for b in batches)
    return f"{PARTITION} IN ({days}) AND _batch_id IN ({ids})"


def write_batches(df: DataFrame, batches: list[Batch], settings: Settings | None = None) -> None:
    """Replace the batches' slices of bronze (idempotent); new source columns are added to the table."""
    from citybrain.lake import arrow_io, spark_io

    table = bronze_table(batches[0].resource)
    if not arrow_io.table_exists(table, settings):
        spark_io.append(df, table, partition_by=[PARTITION], settings=settings)
        return
    current = {f.name for f in arrow_io.delta_table(table, settings=settings).schema().fields}
    if set(df.columns) - current:
        # Schema drift: add the new columns first (an empty mergeSchema append), then replace the slices.
        spark_io.append(df.limit(0), table, partition_by=[PARTITION], merge_schema=True, settings=settings)
    spark_io.replace_where(df, table, batch_predicate(batches), settings=settings)


def count_batch(batch: Batch, settings: Settings | None = None) -> int:
    """Rows of the batch now in bronze, read back through deltalake (what an analyst would see)."""
    from citybrain.ingest.control_io import count_rows

    return count_rows(bronze_table(batch.resource), settings, _batch_date=batch.batch_date, _batch_id=batch.batch_id)

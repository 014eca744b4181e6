"""De-duplicate a batch by primary key: the latest version by source timestamp wins, the rest are counted."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

SUPERSEDED = "_superseded"
KEPT_ROW = "_kept_row_number"
SOURCE_TS = "_source_ts"
ROW_NUMBER = "_row_number"


def latest_first(extra: Sequence[str] = ()) -> list:
    """Ordering of versions of one key: newest source timestamp first (then newest batch); on a tie the
    first row of the extract wins (a repeated row is the copy, the first one the original)."""
    return [F.col(SOURCE_TS).desc_nulls_last(), *[F.col(c).desc_nulls_last() for c in extra],
            F.col(ROW_NUMBER).asc_nulls_last()]


def transform(df: DataFrame, keys: Sequence[str], within: Sequence[str] = ("_batch_id",)) -> DataFrame:
    """Add ``_superseded`` (true for every row of a key within a batch but the latest) and the kept row's number."""
    w = Window.partitionBy(*within, *keys).orderBy(*latest_first())
    return (df.withColumn(SUPERSEDED, F.row_number().over(w) > 1)
            .withColumn(KEPT_ROW, F.first(ROW_NUMBER).over(w)))


def latest(df: DataFrame, keys: Sequence[str], order_extra: Sequence[str] = ("_batch_date",)) -> DataFrame:
    """One row per key across batches: the latest by source timestamp, then batch date, then row number."""
    w = Window.partitionBy(*keys).orderBy(*latest_first(order_extra))
    return df.withColumn("_rank", F.row_number().over(w)).where("_rank = 1").drop("_rank")

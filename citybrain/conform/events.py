"""Events and readings in silver: one row per primary key, partitioned by the event's date, merged."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from citybrain.conform import dedupe
from citybrain.conform.catalog import ResourceDef
from citybrain.conform.scd2 import BATCH_ID, ROW_HASH, row_hash

EVENT_DATE = "event_date"


def table_columns(resource: ResourceDef) -> list[str]:
    return [*resource.item_names, ROW_HASH, BATCH_ID, EVENT_DATE]


def rows(silver_rows: DataFrame, resource: ResourceDef) -> DataFrame:
    """The run's latest version of each key (a later batch updates an earlier one), with event date and hash."""
    latest = dedupe.latest(silver_rows, resource.primary_key)
    hashed = [n for n in resource.item_names if n != resource.incremental_key]
    return latest.select(
        *resource.item_names,
        row_hash(hashed).alias(ROW_HASH),
        F.col("_batch_id").alias(BATCH_ID),
        F.to_date(F.col(resource.event_time)).alias(EVENT_DATE),
    )


def merge_condition(resource: ResourceDef, dates: list) -> str:
    """Match on the primary key inside the partitions the run touches (Delta prunes the others)."""
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in resource.primary_key)
    if not dates:
        return on
    days = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(dates))
    return f"t.{EVENT_DATE} IN ({days}) AND {on}"

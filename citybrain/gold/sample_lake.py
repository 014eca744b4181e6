"""Silver tables in the lake contract's shape, written from a few Python rows: for gold's tests and for running
the gold stage where conform has not built silver yet. Entity resources get SCD2 columns, events and
readings an ``event_date`` partition from their catalogue event_time item, <entity>_golden one row per key.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from citybrain.gold.scope import validity_columns

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from citybrain.catalog import Catalog
    from citybrain.settings import Settings

FIRST_DAY = dt.date(2026, 11, 1)


def golden_items(catalog: Catalog, entity: str) -> list:
    """The items of silver.<entity>_golden: the key, each attribute (typed as its authority), <attr>__source."""
    from citybrain.catalog.models import Item

    ent = catalog.entities[entity]
    first = ent.attributes[0].authority
    first = first[0] if isinstance(first, list) else first
    key = catalog.item_ref(f"{first.split('.')[0]}.{ent.key_item(first.split('.')[0])}")
    items = [key.model_copy(update={"name": ent.key})]
    for a in ent.attributes:
        ref = a.authority[0] if isinstance(a.authority, list) else a.authority
        items.append(catalog.item_ref(ref).model_copy(update={"name": a.name, "nullable": True}))
    items += [Item(name=f"{a.name}__source", label=f"{a.label}来源", type="C", length=64) for a in ent.attributes]
    return items


def silver_frame(spark: SparkSession, catalog: Catalog, name: str, rows: list[dict], *,
                 valid_from: dt.date = FIRST_DAY, batch_day: dt.date | None = None) -> DataFrame:
    """A DataFrame shaped like silver.<name> holding ``rows`` (items missing from a row are null)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from citybrain.catalog.schemas import spark_schema

    if name.endswith("_golden"):
        schema = spark_schema(golden_items(catalog, name.removesuffix("_golden")))
        kind, event_time = "golden", None
    else:
        res = catalog.resource(name)
        schema, kind, event_time = res.spark_schema(), res.kind, res.event_time
    schema = T.StructType([T.StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields])
    # entity versions: valid_from / valid_to, prefixed when the resource's own items use those names (elic_licence)
    vf, vt = validity_columns(["_scd_valid_from"] if {"valid_from", "valid_to"} & set(schema.fieldNames()) else [])
    extra = {n for r in rows for n in r if n not in schema.fieldNames() and n not in (vf, vt)}
    if extra:
        raise KeyError(f"silver.{name} has no items {sorted(extra)}")
    data = [tuple(_cast(r.get(f.name), f.dataType) for f in schema.fields) for r in rows]
    if kind != "entity":
        df = spark.createDataFrame(data, schema)
    else:
        scd2 = [T.StructField(vf, T.DateType()), T.StructField(vt, T.DateType())]
        data = [(*d, r.get(vf, valid_from), r.get(vt)) for d, r in zip(data, rows, strict=True)]
        df = spark.createDataFrame(data, T.StructType([*schema.fields, *scd2]))
        df = df.withColumn("is_current", F.col(vt).isNull())
        df = df.withColumn("_row_hash", F.sha2(F.to_json(F.struct(*schema.fieldNames())), 256))
        day = (batch_day or valid_from).strftime("%Y%m%d")
        # <resource>:<batch date>:<fingerprint> as in the lake contract (the version's start as fingerprint)
        df = df.withColumn("_batch_id", F.concat(F.lit(f"{name}:{day}:"), F.date_format(vf, "yyyyMMdd")))
    if kind in ("event", "reading"):
        df = df.withColumn("event_date", F.to_date(F.col(event_time)))
        # brought by the batch of the given day, else of the day it happened
        day = F.lit(batch_day.strftime("%Y%m%d")) if batch_day else F.date_format("event_date", "yyyyMMdd")
        df = df.withColumn("_batch_id", F.concat(F.lit(f"{name}:"), F.coalesce(day, F.lit("00000000")),
                                                 F.lit(":sample")))
    return df


def _cast(value, data_type):
    from pyspark.sql import types as T

    if value is None:
        return None
    if isinstance(data_type, T.DecimalType):
        return Decimal(str(value))
    if isinstance(data_type, T.LongType | T.IntegerType):
        return int(value)
    if isinstance(data_type, T.DoubleType | T.FloatType):
        return float(value)
    return value


def write_silver(spark: SparkSession, catalog: Catalog, name: str, rows: list[dict], settings: Settings,
                 **kw) -> None:
    """Replace silver.<name> with ``rows`` (events and readings partitioned by event_date)."""
    from citybrain.lake import spark_io

    df = silver_frame(spark, catalog, name, rows, **kw)
    parts = ["event_date"] if "event_date" in df.columns else []
    spark_io.overwrite(df, f"silver.{name}", settings=settings, partition_by=parts)


def write_empty_silver(spark: SparkSession, catalog: Catalog, names: list[str], settings: Settings) -> None:
    """Empty silver tables (schemas only) for every name not already in the lake."""
    from concurrent.futures import ThreadPoolExecutor

    from citybrain.lake import spark_io

    todo = [n for n in names if not spark_io.table_exists(spark, f"silver.{n}", settings)]
    with ThreadPoolExecutor(max_workers=4) as pool:  # small commits are latency-bound
        list(pool.map(lambda n: write_silver(spark, catalog, n, [], settings), todo))

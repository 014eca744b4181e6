"""A silver lake straight from the simulator's sources, for benching gold at scales where ingestion + conform
would take too long on the bench machine. Each resource's rows as the department holds them (databases: the
current tables; file drops: every drop, a later drop's row replacing an earlier one of the same key) are cast
to the catalogue's types and written in the lake contract's silver shape: entities as one open SCD2 version
(valid from the batch day), events and readings partitioned by event_date. Golden records come from conform's
own rule (``build_golden``: each attribute from its authority only). No standardisation or validation: this is
a stand-in for silver of clean sources, not a replacement for conform.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.gold.scope import validity_columns

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from citybrain.catalog import Catalog
    from citybrain.catalog.models import Resource
    from citybrain.settings import Settings

log = logging.getLogger(__name__)


def source_rows(sources_dir: Path, resource: Resource) -> pd.DataFrame:
    """The resource's rows at the source, every value as text (None when missing)."""
    import pandas as pd

    src = resource.source
    if src.kind == "database":
        db = Path(sources_dir) / "db" / f"{src.database}.sqlite"
        if not db.exists():
            raise FileNotFoundError(f"{resource.name}: no database {db} (citybrain sources generate)")
        with sqlite3.connect(db) as con:
            frame = pd.read_sql_query(f'SELECT * FROM "{src.table}"', con)
    elif src.kind == "file":
        files = sorted((Path(sources_dir) / "files").glob(src.pattern))
        frames = []
        for f in files:
            if src.format == "csv":
                frames.append(pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""],
                                          sep=src.delimiter or ",", encoding=src.encoding or "utf-8"))
            elif src.format == "jsonl":
                frames.append(pd.read_json(f, lines=True, dtype=False, convert_dates=False))
            else:
                frames.append(pd.read_excel(f, dtype=str))
        frames = [f for f in frames if len(f)]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=resource.item_names)
        frame = frame.drop_duplicates(resource.primary_key, keep="last")
    else:
        raise ValueError(f"{resource.name}: source kind {src.kind!r} is not read by the source lake")
    return as_text(frame)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as Python str or None (whole floats without '.0'), for Spark to cast to the item types."""
    import pandas as pd

    def one(v):
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return pd.DataFrame({c: frame[c].map(one).astype(object) for c in frame.columns})


def silver_from_rows(spark: SparkSession, resource: Resource, rows: pd.DataFrame, batch_day: dt.date) -> DataFrame:
    """Text rows -> silver.<resource> columns (items typed, SCD2 or event_date, _row_hash, _batch_id)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = resource.spark_schema()
    text = T.StructType([T.StructField(f.name, T.StringType()) for f in schema.fields])
    missing = [f.name for f in schema.fields if f.name not in rows.columns]
    for name in missing:
        rows[name] = None
    data = rows[[f.name for f in schema.fields]]
    df = spark.createDataFrame(data, text) if len(data) else spark.createDataFrame([], text)
    df = df.select(*[F.expr(f"try_cast(`{f.name}` AS {f.dataType.simpleString()})").alias(f.name)
                     for f in schema.fields])
    df = df.withColumn("_row_hash", F.sha2(F.to_json(F.struct(*schema.fieldNames())), 256))
    df = df.withColumn("_batch_id", F.lit(f"{resource.name}:{batch_day:%Y%m%d}:sources"))
    if resource.kind == "entity":
        vf, vt = validity_columns(["_scd_valid_from"] if {"valid_from", "valid_to"} & set(schema.fieldNames())
                                  else [])
        df = (df.withColumn(vf, F.lit(batch_day).cast("timestamp")).withColumn(vt, F.lit(None).cast("timestamp"))
              .withColumn("is_current", F.lit(True)))
    elif resource.event_time:
        df = df.withColumn("event_date", F.to_date(F.col(resource.event_time)))
    return df


def build_source_lake(spark: SparkSession, catalog: Catalog, names: list[str], settings: Settings,
                      batch_day: dt.date) -> dict[str, int]:
    """Write silver.<name> for every named catalogue resource from settings.sources_dir; rows per table."""
    import pandas as pd

    from citybrain.lake import spark_io

    out = {}
    for name in names:
        res = catalog.resource(name)
        if res.source.kind == "catalog":
            rows = as_text(pd.DataFrame(catalog.catalog_rows()))
        else:
            rows = source_rows(Path(settings.sources_dir), res)
        df = silver_from_rows(spark, res, rows, batch_day)
        parts = ["event_date"] if "event_date" in df.columns else []
        spark_io.overwrite(df, f"silver.{name}", settings=settings, partition_by=parts)
        out[name] = len(rows)
        log.info("source lake: silver.%s <- %d rows", name, len(rows))
    return out


def golden_entities(inputs: list[str]):
    """The conform entities whose golden table (``<entity>_golden``) is among the silver inputs."""
    from citybrain.conform.catalog import get_conform_catalog
    from citybrain.conform.golden import golden_table

    wanted = {f"silver.{n}" for n in inputs}
    return [e for e in get_conform_catalog().entities if golden_table(e.name) in wanted]


def build_golden(spark: SparkSession, entities, settings: Settings) -> dict[str, int]:
    """silver.<entity>_golden of each entity from the lake's authority tables (which must be there)."""
    from citybrain.conform import golden
    from citybrain.conform.catalog import get_conform_catalog
    from citybrain.lake import spark_io

    cat, out = get_conform_catalog(), {}
    for entity in entities:
        frames = {r: spark_io.read_table(spark, f"silver.{r}", settings=settings) for r in entity.authority_resources}
        table = golden.golden_table(entity.name)
        spark_io.overwrite(golden.build(entity, frames, cat), table, settings=settings)
        out[table.removeprefix("silver.")] = spark_io.read_table(spark, table, settings=settings).count()
        log.info("source lake: %s <- %d golden records", table, out[table.removeprefix("silver.")])
    return out

"""Row-level conform of bronze batches: standardise, validate text, cast, validate values, references.

``transform`` is pure (DataFrame in, DataFrame out): every bronze row comes out once, typed, with
its violations; ``quarantine_rows`` turns the rejected ones into `quarantine.rejected_rows` rows.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from citybrain.conform import cast, dedupe, scd2, standardise, validate
from citybrain.conform.cast import RAW, VIOLATIONS
from citybrain.conform.catalog import ConformCatalog, ResourceDef

RECORD_KEY = "_record_key"
LINEAGE = ("_batch_id", "_batch_date", "_row_number", "_extract_time")

QUARANTINE_COLUMNS = ("resource", "stage", "batch_id", "row_number", "record_key", "rule_id", "item", "value",
                      "reason", "payload", "quarantined_at")


def _lineage(df: DataFrame) -> list[Column]:
    cols = []
    for name, typ in (("_batch_id", "string"), ("_batch_date", "date"), ("_row_number", "long"),
                      ("_extract_time", "timestamp")):
        cols.append((F.col(name) if name in df.columns else F.lit(None)).cast(typ).alias(name))
    return cols


def prepare(bronze: DataFrame, resource: ResourceDef) -> DataFrame:
    """Catalogue items as text (absent ones null), lineage, and the raw row kept as a map for quarantine."""
    present = set(bronze.columns)
    raw_names = [c for c in bronze.columns]
    raw = F.map_from_arrays(F.array(*[F.lit(c) for c in raw_names]),
                            F.array(*[F.col(f"`{c}`").cast("string") for c in raw_names]))
    items = [(F.col(it.name) if it.name in present else F.lit(None)).cast("string").alias(it.name)
             for it in resource.items]
    return bronze.select(*items, *_lineage(bronze), raw.alias(RAW))


def _source_ts(resource: ResourceDef) -> Column:
    """When the department says the row's version is from: watermark or event time, else the extract time
    when it falls on the batch's day, else the start of that day. A batch extracted days after its date (a
    backfill, a re-delivery, a simulated past day) stands for its date, not for the day it was pulled: the
    wall clock of the pull must not move a version into the future."""
    parts = []
    if resource.source_ts_item:
        parts.append(F.col(resource.source_ts_item).cast("timestamp"))
    extract = F.col("_extract_time").cast("timestamp")
    parts += [F.when(F.to_date(extract) == F.col("_batch_date"), extract), F.col("_batch_date").cast("timestamp")]
    return F.coalesce(*parts)


def _as_of(resource: ResourceDef) -> Column:
    """The day codes must be valid on: the event's day, or the batch date for current entity records."""
    if resource.event_time and not resource.is_history:
        return F.coalesce(F.to_date(F.col(resource.event_time)), F.col("_batch_date"))
    return F.col("_batch_date")


def record_key(resource: ResourceDef) -> Column:
    """Primary-key values joined by '|' (null when every part is empty)."""
    parts = [F.coalesce(F.col(k).cast("string"), F.lit("")) for k in resource.primary_key]
    joined = F.concat_ws("|", *parts)
    return F.when(F.regexp_replace(joined, r"\|", "") == "", F.lit(None)).otherwise(joined)


def transform(bronze: DataFrame, resource: ResourceDef, catalog: ConformCatalog,
              ref_keys: dict[str, DataFrame] | None = None) -> DataFrame:
    """Every bronze row once: typed items, lineage, ``_violations`` (empty = valid), source timestamp, key."""
    df = prepare(bronze, resource)
    df = standardise.transform(df, resource, catalog)
    df = validate.transform_text(df, resource, catalog)
    df = cast.transform(df, resource)
    df = df.withColumn("_as_of", _as_of(resource))
    df = validate.transform(df, resource, catalog)
    df = df.withColumn(dedupe.SOURCE_TS, _source_ts(resource)).withColumn(RECORD_KEY, record_key(resource))
    return check_references(df, resource, ref_keys)


def check_references(conformed: DataFrame, resource: ResourceDef, ref_keys: dict[str, DataFrame] | None) -> DataFrame:
    """The ``references`` rules, last: each joins the rows with the values the batch refers to, so a job
    holding the conformed rows (a checkpoint) first computes the wide pipeline once instead of once per
    reference (the join's side of the batch's distinct values is built from the same rows)."""
    return validate.with_reference_checks(conformed, resource, ref_keys) if ref_keys else conformed


VALID = "_valid"


def is_valid() -> Column:
    return F.col(VALID)


def classify(conformed: DataFrame, resource: ResourceDef) -> DataFrame:
    """Add ``_valid`` (no violation) and ``_superseded``: all but the latest row of a key within a batch,
    valid rows and rejected rows each among themselves. A rejected record sent twice is quarantined once (the
    latest) and its other copies are superseded duplicates, like a valid one's; rejected rows without a key
    are never duplicates of each other. Valid rows of a key tied on source time with different content are
    conflicting duplicates, rejected (``dedupe.transform``). One window over all rows: splitting valid and
    rejected rows and uniting them again would make Spark plan the whole row pipeline twice."""
    df = conformed.withColumn(VALID, F.size(F.col(VIOLATIONS)) == 0)
    df = dedupe.transform(df, resource.primary_key, within=("_batch_id", VALID), content=scd2.hashed_items(resource),
                          valid=VALID)
    keyed = F.col(VALID) | F.col(RECORD_KEY).isNotNull()
    return (df.withColumn(dedupe.SUPERSEDED, keyed & F.col(dedupe.SUPERSEDED))
            .withColumn(dedupe.KEPT_ROW, F.when(keyed, F.col(dedupe.KEPT_ROW))))


def is_quarantined() -> Column:
    return ~F.col(VALID) & ~F.col(dedupe.SUPERSEDED)


def reason(resource: ResourceDef, table: str) -> Column:
    """A sentence naming table, key, item, value and rule of the first violation, and the others."""
    first = F.col(VIOLATIONS)[0]
    value = F.try_element_at(F.col(RAW), first["item"])
    others = F.slice(F.col(VIOLATIONS), 2, 1000)
    also = F.array_join(F.transform(others, lambda v: F.concat_ws(" ", F.lit("item"), v["item"], v["rule_id"])),
                        "; ")
    return F.concat(
        F.lit(f"{table} key "), F.coalesce(F.col(RECORD_KEY), F.lit("(no key)")),
        F.lit(": item "), first["item"], F.lit(" = '"), F.coalesce(value, F.lit("")), F.lit("' fails "),
        first["rule_id"], F.lit(": "), first["detail"],
        F.when(F.size(others) > 0, F.concat(F.lit(" (also: "), also, F.lit(")"))).otherwise(F.lit("")),
        F.lit(f". Correct the record in {resource.provider}'s source system and send it again."),
    )


def quarantine_rows(classified: DataFrame, resource: ResourceDef, quarantined_at: dt.datetime) -> DataFrame:
    """Rejected rows in the `quarantine.rejected_rows` contract (stage 'conform', the first rule as rule_id)."""
    first = F.col(VIOLATIONS)[0]
    return classified.where(is_quarantined()).select(
        F.lit(resource.name).alias("resource"),
        F.lit("conform").alias("stage"),
        F.col("_batch_id").alias("batch_id"),
        F.col("_row_number").cast("long").alias("row_number"),
        F.col(RECORD_KEY).alias("record_key"),
        first["rule_id"].alias("rule_id"),
        first["item"].alias("item"),
        F.try_element_at(F.col(RAW), first["item"]).alias("value"),
        reason(resource, f"silver.{resource.name}").alias("reason"),
        F.to_json(F.col(RAW)).alias("payload"),
        F.lit(quarantined_at).cast("timestamp").alias("quarantined_at"),
    )


DUPLICATE_COLUMNS = ("resource", "batch_id", "row_number", "record_key", "kept_row_number", "payload")


def duplicate_rows(classified: DataFrame, resource: ResourceDef) -> DataFrame:
    """Superseded duplicates, listed (not only counted): which row of the batch was kept instead (for a
    rejected record, the copy that was quarantined)."""
    return classified.where(F.col(dedupe.SUPERSEDED)).select(
        F.lit(resource.name).alias("resource"),
        F.col("_batch_id").alias("batch_id"),
        F.col("_row_number").cast("long").alias("row_number"),
        F.col(RECORD_KEY).alias("record_key"),
        F.col(dedupe.KEPT_ROW).cast("long").alias("kept_row_number"),
        F.to_json(F.col(RAW)).alias("payload"),
    )


def silver_rows(classified: DataFrame, resource: ResourceDef) -> DataFrame:
    """Valid, non-superseded rows: typed items plus the columns silver keeps."""
    keep = [*resource.item_names, "_batch_id", "_batch_date", "_row_number", dedupe.SOURCE_TS]
    return classified.where(is_valid() & ~F.col(dedupe.SUPERSEDED)).select(*keep)


def accounting(classified: DataFrame) -> DataFrame:
    """Per batch: rows in, to silver, quarantined, superseded duplicates."""
    superseded = F.col(dedupe.SUPERSEDED)
    return classified.groupBy("_batch_id").agg(
        F.count(F.lit(1)).alias("rows_in"),
        F.sum(F.when(is_valid() & ~superseded, 1).otherwise(0)).cast("long").alias("rows_silver"),
        F.sum(F.when(is_quarantined(), 1).otherwise(0)).cast("long").alias("rows_quarantined"),
        F.sum(F.when(superseded, 1).otherwise(0)).cast("long").alias("rows_duplicate"),
    )

"""History of entity resources (SCD2): a new version whenever a record's content changes.

A version is valid from the department's change time (the watermark item, e.g. ``updated_at``;
the batch date for file drops without one) until the next version of the same key. ``plan`` is
pure: it merges the run's versions into the existing history of the keys they touch and returns
only the rows to upsert on (key, valid_from), so that re-running a batch changes nothing and a
late version slots into its place in time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from citybrain.conform.catalog import ResourceDef

ROW_HASH = "_row_hash"
IS_CURRENT = "is_current"
BATCH_ID = "_batch_id"
HAD_HISTORY = "_had_history"
NEW = "_new"  # a version of this run (all items), not a stored one whose validity moves (key, validity, hash)


def validity_columns(resource: ResourceDef) -> tuple[str, str]:
    """(valid_from, valid_to) column names; prefixed when the resource has items of those names (elic_licence)."""
    if resource.has_item("valid_from") or resource.has_item("valid_to"):
        return "_scd_valid_from", "_scd_valid_to"
    return "valid_from", "valid_to"


def hashed_items(resource: ResourceDef) -> list[str]:
    """Items whose change makes a new version: all but the watermark (a touch without a change is no version)."""
    return [n for n in resource.item_names if n != resource.incremental_key]


def row_hash(columns: Sequence[str]) -> Column:
    """sha256 over the typed values (null distinct from empty), stable across runs."""
    parts = [F.coalesce(F.col(c).cast("string"), F.lit("\u0000")) for c in columns]
    return F.sha2(F.concat_ws("\u001f", *parts), 256)


def versions(rows: DataFrame, resource: ResourceDef) -> DataFrame:
    """Silver rows of one run as versions: items, valid_from (source time), hash, batch id, ordering helpers."""
    vf, _ = validity_columns(resource)
    return rows.select(
        *resource.item_names,
        F.col("_source_ts").alias(vf),
        row_hash(hashed_items(resource)).alias(ROW_HASH),
        F.col("_batch_id").alias(BATCH_ID),
        F.col("_batch_date").alias("_order_batch"),
        F.col("_row_number").alias("_order_row"),
    )


def table_columns(resource: ResourceDef) -> list[str]:
    vf, vt = validity_columns(resource)
    return [*resource.item_names, vf, vt, IS_CURRENT, ROW_HASH, BATCH_ID]


def touched(existing: DataFrame, incoming: DataFrame, resource: ResourceDef) -> DataFrame:
    """The existing versions of the keys ``incoming`` has versions of: key, validity and hash, all that ``plan``
    reads of the table (a stored version's items never change: the MERGE only moves its validity), so the
    scan of the table reads five columns, not every item."""
    keys = list(resource.primary_key)
    vf, vt = validity_columns(resource)
    return existing.select(*keys, vf, vt, IS_CURRENT, ROW_HASH).join(
        incoming.select(*keys).distinct(), keys, "left_semi")


def plan(incoming: DataFrame, existing: DataFrame | None, resource: ResourceDef,
         flag_history: bool = False) -> DataFrame:
    """Rows to upsert on (primary key, valid_from): new versions and existing ones whose validity changed.

    ``incoming`` comes from ``versions``; ``existing`` is None before the first load, else the stored
    versions of the keys (``touched``: key, validity and hash). Versions equal to the one before them in
    time are dropped. With ``flag_history`` two columns are added: `_had_history` says whether the row's key
    had versions in ``existing`` (when no row's key had, the rows can be appended instead of merged: nothing
    in the table changes), and `_new` whether the row is a version of this run (all items) or a stored one
    whose validity moves (its other items null: ``merge_clauses`` updates its validity only).
    """
    keys = list(resource.primary_key)
    vf, vt = validity_columns(resource)
    # one version per key and instant: the latest batch's reading of it
    same_instant = Window.partitionBy(*keys, vf).orderBy(F.col("_order_batch").desc(), F.col("_order_row").asc())
    new = (incoming.withColumn("_rank", F.row_number().over(same_instant)).where("_rank = 1")
           .drop("_rank", "_order_batch", "_order_row")
           .withColumn("_new", F.lit(True)))
    cols = table_columns(resource)
    if existing is None:
        timeline = new.withColumn(vt, F.lit(None).cast("timestamp")).withColumn(IS_CURRENT, F.lit(True))
        timeline = timeline.withColumn("_old_vt", F.lit(None).cast("timestamp")).withColumn(
            "_old_cur", F.lit(None).cast("boolean"))
    else:
        old = touched(existing, new, resource)
        # a version already in the table (a re-run) is not new
        new = new.join(old.select(*keys, vf, ROW_HASH), [*keys, vf, ROW_HASH], "left_anti")
        # a new reading of an existing instant replaces it (the MERGE updates that row)
        old = old.join(new.select(*keys, vf), [*keys, vf], "left_anti")
        types = dict(new.dtypes)
        old = old.select(*[F.col(c) if c in old.columns else F.lit(None).cast(types[c]).alias(c) for c in cols],
                         F.lit(False).alias("_new"), F.col(vt).alias("_old_vt"), F.col(IS_CURRENT).alias("_old_cur"))
        new = new.withColumn(vt, F.lit(None).cast("timestamp")).withColumn(IS_CURRENT, F.lit(True))
        new = new.withColumn("_old_vt", F.lit(None).cast("timestamp")).withColumn(
            "_old_cur", F.lit(None).cast("boolean"))
        timeline = old.unionByName(new.select(*old.columns))
    in_time = Window.partitionBy(*keys).orderBy(F.col(vf).asc(), F.col("_new").asc())
    timeline = timeline.withColumn("_prev_hash", F.lag(ROW_HASH).over(in_time))
    # an unchanged new version (same content as the version before it) adds nothing
    kept = timeline.where(~(F.col("_new") & F.coalesce(F.col("_prev_hash") == F.col(ROW_HASH), F.lit(False))))
    kept = kept.withColumn(vt, F.lead(vf).over(in_time)).withColumn(IS_CURRENT, F.col(vt).isNull())
    changed = (F.col("_new") | ~F.col(vt).eqNullSafe(F.col("_old_vt"))
               | ~F.col(IS_CURRENT).eqNullSafe(F.col("_old_cur")))
    if flag_history:
        had = F.max((~F.col("_new")).cast("int")).over(Window.partitionBy(*keys)) == 1
        return kept.withColumn(HAD_HISTORY, had).where(changed).select(*cols, HAD_HISTORY, NEW)
    return kept.where(changed).select(*cols)


def merge_condition(resource: ResourceDef) -> str:
    vf, _ = validity_columns(resource)
    return " AND ".join(f"t.`{k}` = s.`{k}`" for k in [*resource.primary_key, vf])


def merge_clauses(resource: ResourceDef) -> tuple[str, ...]:
    """MERGE clauses for ``plan(..., flag_history=True)`` rows on ``merge_condition``: a version of this run
    replaces the stored one of its instant (a new reading of it) or is inserted; a stored version moves its
    validity only (the plan read nothing else of it)."""
    cols = table_columns(resource)
    _, vt = validity_columns(resource)
    every = ", ".join(f"t.`{c}` = s.`{c}`" for c in cols)
    names, values = ", ".join(f"`{c}`" for c in cols), ", ".join(f"s.`{c}`" for c in cols)
    return (f"WHEN MATCHED AND s.`{NEW}` THEN UPDATE SET {every}",
            f"WHEN MATCHED THEN UPDATE SET t.`{vt}` = s.`{vt}`, t.`{IS_CURRENT}` = s.`{IS_CURRENT}`",
            f"WHEN NOT MATCHED AND s.`{NEW}` THEN INSERT ({names}) VALUES ({values})")

"""De-duplicate a batch by primary key: the latest version by source timestamp wins, the rest are counted.

Rows of a key that tie at its latest source time are the same version sent twice when their content (the
standardised, typed items that make a version, ``scd2.hashed_items``) is the same: the first row of the
extract is kept and its copies are superseded duplicates. When their content differs the batch says two
things about one record at one instant, and which is right cannot be told: they are conflicting
duplicates (rule ``conform.conflicting_duplicate``), none is kept, and the key gets no new version from
the batch (its older rows in the batch are superseded as usual).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from citybrain.conform.cast import VIOLATIONS
from citybrain.conform.scd2 import row_hash

SUPERSEDED = "_superseded"
KEPT_ROW = "_kept_row_number"
SOURCE_TS = "_source_ts"
ROW_NUMBER = "_row_number"
CONFLICT_RULE = "conform.conflicting_duplicate"
SHOWN_ROWS = 5  # other rows of a conflict its reason names one by one (then "and N more")


def latest_first(extra: Sequence[str] = ()) -> list:
    """Ordering of versions of one key: newest source timestamp first (then newest batch); on a tie the
    first row of the extract wins (a repeated row is the copy, the first one the original)."""
    return [F.col(SOURCE_TS).desc_nulls_last(), *[F.col(c).desc_nulls_last() for c in extra],
            F.col(ROW_NUMBER).asc_nulls_last()]


def transform(df: DataFrame, keys: Sequence[str], within: Sequence[str] = ("_batch_id",),
              content: Sequence[str] = (), valid: str | None = None) -> DataFrame:
    """Add ``_superseded`` (true for every row of a key within a batch but the latest) and the kept row's number.

    With ``content`` (the items compared) and ``valid`` (the boolean column of rows passing every rule, one
    of ``within``): valid rows tied at their key's latest source time with different content are
    conflicting duplicates. The first row of each content gets ``valid`` false and a
    `conform.conflicting_duplicate` violation (``_violations``) naming the other rows and the values that
    differ; that row's exact copies are superseded by it."""
    ordered = Window.partitionBy(*within, *keys).orderBy(*latest_first())
    df = (df.withColumn(SUPERSEDED, F.row_number().over(ordered) > 1)
          .withColumn(KEPT_ROW, F.first(ROW_NUMBER).over(ordered)))
    if not content or valid is None:
        return df
    return _conflicts(df, [*within, *keys], list(content), valid)


def _conflicts(df: DataFrame, group: list[str], content: list[str], valid: str) -> DataFrame:
    """``transform``'s conflicting duplicates. Windows over the same partitions as the ordering (one shuffle);
    the rows' values are collected for conflicting keys only, so a batch without conflicts carries no lists."""
    whole = Window.partitionBy(*group)
    df = (df.withColumn("_content", row_hash(content))
          .withColumn("_tied", F.col(valid) & F.col(SOURCE_TS).eqNullSafe(F.max(SOURCE_TS).over(whole))))
    df = df.withColumn("_variants", F.size(F.collect_set(F.when(F.col("_tied"), F.col("_content"))).over(whole)))
    contested = F.col("_variants") > 1
    entry = F.struct(F.col(ROW_NUMBER).alias("row"), F.col("_content").alias("h"),
                     F.array(*[F.col(c).cast("string") for c in content]).alias("v"))
    df = (df.withColumn("_ties", F.array_sort(F.collect_list(F.when(contested & F.col("_tied"), entry)).over(whole)))
          .withColumn("_older", F.array_sort(F.collect_list(
              F.when(contested & F.col(valid) & ~F.col("_tied"), F.col(ROW_NUMBER))).over(whole))))
    mine = F.filter("_ties", lambda x: x["h"] == F.col("_content"))
    df = (df.withColumn("_conflict", contested & F.col("_tied"))
          .withColumn("_first", F.array_min(F.transform(mine, lambda x: x["row"])))
          .withColumn("_others", F.filter("_ties", lambda x: x["h"] != F.col("_content"))))
    lead = F.col("_conflict") & (F.col(ROW_NUMBER) == F.col("_first"))
    violation = F.struct(F.lit(CONFLICT_RULE).alias("rule_id"), _first_difference(content).alias("item"),
                         _detail(content).alias("detail"))
    return (df.withColumn("_lead", lead)
            .withColumn(VIOLATIONS, F.when(F.col("_lead"), F.array(violation)).otherwise(F.col(VIOLATIONS)))
            .withColumn(SUPERSEDED, F.when(F.col("_conflict"), ~F.col("_lead")).otherwise(F.col(SUPERSEDED)))
            .withColumn(KEPT_ROW, F.when(F.col("_conflict") & ~F.col("_lead"), F.col("_first"))
                        .otherwise(F.col(KEPT_ROW)))
            .withColumn(valid, F.col(valid) & ~F.col("_lead"))
            .drop("_content", "_tied", "_variants", "_ties", "_older", "_conflict", "_first", "_others", "_lead"))


def _differs(other: Column, i: int, content: list[str]) -> Column:
    return ~other["v"][i].eqNullSafe(F.col(content[i]).cast("string"))


def _quoted(value: Column) -> Column:
    return F.coalesce(F.concat(F.lit("'"), value, F.lit("'")), F.lit("(empty)"))


def _first_difference(content: list[str]) -> Column:
    """The first item in which the first other row differs from this one."""
    first = F.col("_others")[0]
    return F.coalesce(*[F.when(_differs(first, i, content), F.lit(name)) for i, name in enumerate(content)])


def _detail(content: list[str]) -> Column:
    """The violation's text: the source time, the other rows and each differing item's two values, and what
    became of the key (no version from this batch; its older rows superseded)."""

    def one(x: Column) -> Column:
        diffs = [F.when(_differs(x, i, content), F.concat(
            F.lit(f"{name} "), _quoted(x["v"][i]), F.lit(" (this row "), _quoted(F.col(name).cast("string")),
            F.lit(")"))) for i, name in enumerate(content)]
        return F.concat(F.lit("row "), x["row"].cast("string"), F.lit(" has "), F.concat_ws(", ", *diffs))

    others = F.col("_others")
    numbers = F.array_join(F.transform(others, lambda x: x["row"].cast("string")), ", ")
    more = F.size(others) - SHOWN_ROWS
    older = F.array_join(F.transform("_older", lambda r: r.cast("string")), ", ")
    return F.concat(
        F.lit("a conflicting duplicate: row(s) "), numbers, F.lit(" of the batch have the same key and source time ("),
        F.coalesce(F.col(SOURCE_TS).cast("string"), F.lit("none")), F.lit(") with other values: "),
        F.array_join(F.transform(F.slice(others, 1, SHOWN_ROWS), one), "; "),
        F.when(more > 0, F.concat(F.lit("; and "), more.cast("string"), F.lit(" more row(s)"))).otherwise(F.lit("")),
        F.lit(". Which is right cannot be told, so no row of this key is kept and the key gets no new version from "
              "this batch"),
        F.when(F.size("_older") > 0, F.concat(F.lit(" (its older row(s) "), older, F.lit(" are superseded)")))
        .otherwise(F.lit("")),
    )


def latest(df: DataFrame, keys: Sequence[str], order_extra: Sequence[str] = ("_batch_date",)) -> DataFrame:
    """One row per key across batches: the latest by source timestamp, then batch date, then row number."""
    w = Window.partitionBy(*keys).orderBy(*latest_first(order_extra))
    return df.withColumn("_rank", F.row_number().over(w)).where("_rank = 1").drop("_rank")

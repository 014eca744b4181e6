"""Row rules of ingestion: records that parse but break the catalogue's structure go to quarantine.

Rules (first failing rule per row; one quarantine row per rejected source row keeps the
accounting exact):
  ingest.field_count        the record does not split into the header's columns
  ingest.unparseable_record the record is not a JSON object of single values
  ingest.primary_key_null   a primary-key item is empty
  ingest.length             a text value is more than LENGTH_MARGIN times the item's length
Type and code-list checks are conform's job: bronze keeps every value as pulled.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from citybrain.ingest.readers import RULE_FIELD_COUNT, RULE_UNPARSEABLE

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from citybrain.catalog import Resource

QUARANTINE_TABLE = "quarantine.rejected_rows"
STAGE = "ingest"
RULE_PK_NULL = "ingest.primary_key_null"
RULE_LENGTH = "ingest.length"
LENGTH_MARGIN = 2  # "longer by a wide margin": over twice the catalogue length (slight overruns are conform's)
PARSE_COLUMNS = ("_row_number", "_parse_rule", "_parse_detail", "_raw")

# Reasons name the table, row, key, item and rule, and say what to do; {placeholders} are per row.
REASONS = {
    RULE_FIELD_COUNT: "{table} row {row}: {detail}; rule " + RULE_FIELD_COUNT + ": the record does not split "
                      "into the file's columns (an unquoted delimiter or line break in a value?); correct the "
                      "record at the source and re-deliver it",
    RULE_UNPARSEABLE: "{table} row {row}: {detail}; rule " + RULE_UNPARSEABLE + ": the record cannot be read "
                      "as one value per item; correct the record at the source and re-deliver it",
    RULE_PK_NULL: "{table} row {row} (key {key}): primary-key item {item} is empty; rule " + RULE_PK_NULL
                  + ": the record cannot be identified; the department must supply {item}",
    RULE_LENGTH: "{table} row {row} (key {key}): item {item} holds {value_length} characters, the catalogue "
                 "allows {length} (quarantined above {limit}); rule " + RULE_LENGTH + ": likely a shifted "
                 "column or run-together values; correct the record at the source",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render_reason(rule_id: str, **values) -> str:
    """The reason text of a rule with its placeholders filled (Python side; Spark uses spark_reason)."""
    return REASONS[rule_id].format(**values)


def spark_reason(rule_id: str, static: dict[str, object], per_row: dict[str, Column]) -> Column:
    """The reason of a rule as a Spark column: static placeholders filled now, per-row ones by format_string."""
    from pyspark.sql import functions as F

    template, args = REASONS[rule_id].replace("%", "%%"), []

    def fill(match: re.Match) -> str:
        name = match[1]
        if name in static:
            return str(static[name]).replace("%", "%%")
        args.append(F.coalesce(per_row[name].cast("string"), F.lit("none")))
        return "%s"

    return F.format_string(_PLACEHOLDER.sub(fill, template), *args)


def record_key(primary_key: list[str]) -> Column:
    """Primary-key values joined by '|' (null when every key item is empty)."""
    from pyspark.sql import functions as F

    parts = [F.coalesce(F.col(k), F.lit("")) for k in primary_key]
    all_null = F.lit(True)
    for k in primary_key:
        all_null = all_null & F.col(k).isNull()
    return F.when(all_null, F.lit(None)).otherwise(F.concat_ws("|", *parts))


def _violations(resource: Resource, table: str) -> list[tuple[Column, Column]]:
    """(condition, struct(rule_id, item, value, reason)) per rule, in priority order."""
    from pyspark.sql import functions as F

    row, key = F.col("_row_number"), F.col("_record_key")

    def violation(rule: Column | str, item: str | None, value: Column, reason: Column) -> Column:
        rule_col = rule if not isinstance(rule, str) else F.lit(rule)
        return F.struct(rule_col.alias("rule_id"), F.lit(item).cast("string").alias("item"),
                        value.cast("string").alias("value"), reason.alias("reason"))

    parse_reason = F.when(
        F.col("_parse_rule") == RULE_FIELD_COUNT,
        spark_reason(RULE_FIELD_COUNT, {"table": table}, {"row": row, "detail": F.col("_parse_detail")}),
    ).otherwise(spark_reason(RULE_UNPARSEABLE, {"table": table}, {"row": row, "detail": F.col("_parse_detail")}))
    out = [(F.col("_parse_rule").isNotNull(), violation(F.col("_parse_rule"), None, F.col("_raw"), parse_reason))]
    for item in resource.primary_key:
        col = F.col(item)
        reason = spark_reason(RULE_PK_NULL, {"table": table, "item": item}, {"row": row, "key": key})
        out.append((col.isNull() | (F.trim(col) == ""), violation(RULE_PK_NULL, item, col, reason)))
    for it in resource.items:
        if it.type in ("C", "M") and it.length:
            col, limit = F.col(it.name), LENGTH_MARGIN * it.length
            reason = spark_reason(RULE_LENGTH, {"table": table, "item": it.name, "length": it.length, "limit": limit},
                                  {"row": row, "key": key, "value_length": F.length(col)})
            out.append((F.length(col) > limit, violation(RULE_LENGTH, it.name, col, reason)))
    return out


def transform(df: DataFrame, resource: Resource, batch_id: str, payload_columns: list[str],
              quarantined_at) -> tuple[DataFrame, DataFrame]:
    """Split parsed rows into (rows for bronze, quarantine.rejected_rows rows); pure, no I/O."""
    from pyspark.sql import functions as F

    table = f"bronze.{resource.name}"
    df = df.withColumn("_record_key", record_key(resource.primary_key))
    first = F.lit(None)
    for condition, violation in reversed(_violations(resource, table)):
        first = F.when(condition, violation).otherwise(first)
    flagged = df.withColumn("_violation", first)
    good = flagged.where(F.col("_violation").isNull()).drop("_violation", "_record_key", *PARSE_COLUMNS[1:])
    payload = F.coalesce(F.col("_raw"), F.to_json(F.struct(*[F.col(c) for c in payload_columns])))
    bad = flagged.where(F.col("_violation").isNotNull()).select(
        F.lit(resource.name).alias("resource"),
        F.lit(STAGE).alias("stage"),
        F.lit(batch_id).alias("batch_id"),
        F.col("_row_number").cast("long").alias("row_number"),
        F.col("_record_key").alias("record_key"),
        F.col("_violation.rule_id").alias("rule_id"),
        F.col("_violation.item").alias("item"),
        F.col("_violation.value").alias("value"),
        F.col("_violation.reason").alias("reason"),
        payload.alias("payload"),
        F.lit(quarantined_at).cast("timestamp").alias("quarantined_at"),
    )
    return good, bad

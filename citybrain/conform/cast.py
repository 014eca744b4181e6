"""Cast standardised text to the catalogue types; a value that does not cast is a violation, never a null.

Types (STANDARDS section 1): C/M string, N decimal(length, scale) (double without a length),
Y decimal(18,2), D date, T timestamp, L boolean, I long, F float, B double, G binary.
D and T text is the standardised form of the date and time grammar (standardise.DATETIME_RE) and nothing
else Spark's cast would take; a T value is the city's wall-clock time: text with an offset other than
+08:00 is converted to Asia/Shanghai (``local_time``; docs/lake-contract.md, Time).
Violations are SQL structs (rule_id, item, detail) collected into the ``_violations`` array.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from citybrain.conform.catalog import ItemDef, ResourceDef
from citybrain.conform.sql import col, lit, to_column
from citybrain.conform.standardise import ISO_DATE_RE, ISO_TIMESTAMP_RE, OFFSET_TIMESTAMP_RE

VIOLATIONS = "_violations"
RAW = "_raw"  # the bronze row as delivered (a map item -> text), kept for quarantine rows and details
# The city's time zone: T values are its wall-clock time (text with another offset is converted to it).
CITY_TIME_ZONE = "Asia/Shanghai"
VIOLATION_TYPE = "array<struct<rule_id:string,item:string,detail:string>>"

_TYPE_WORDS = {
    "D": "a date (yyyy-MM-dd, yyyy/M/d, yyyy.M.d, yyyyMMdd or yyyy年M月d日; a time only if midnight)",
    "T": "a date and time (a date as for D items plus H:mm[:ss[.f]], H时m分[s秒] or HHmm[ss], optional offset)",
    "N": "a number", "Y": "an amount of money", "F": "a number", "B": "a number",
    "I": "a whole number", "L": "a yes/no value (true/false, 1/0, 是/否, Y/N)", "G": "binary data",
}
_RULE_SUFFIX = {"D": "date", "T": "timestamp", "L": "boolean", "G": "binary", "I": "integer"}

Check = tuple[str, str]  # (failure condition, violation struct), both SQL text


def spark_type_name(item: ItemDef) -> str:
    """Spark SQL type of an item (the catalogue's mapping, citybrain.catalog.schemas)."""
    simple = {"C": "string", "M": "string", "D": "date", "T": "timestamp", "L": "boolean", "I": "bigint",
              "F": "float", "B": "double", "G": "binary"}
    if item.type in simple:
        return simple[item.type]
    if item.type == "Y":
        return "decimal(18,2)"
    if item.length:
        return f"decimal({min(item.length, 38)},{item.scale or 0})"
    return "double"


def violation(rule_id: str, item: str | None, detail: str, *, detail_is_sql: bool = False) -> str:
    """One violation struct; ``detail`` is text, or SQL text when ``detail_is_sql``."""
    d = detail if detail_is_sql else lit(detail)
    return (f"named_struct('rule_id', {lit(rule_id)}, 'item', CAST({lit(item)} AS STRING), "
            f"'detail', CAST({d} AS STRING))")


def collect(checks: list[Check]) -> str:
    """SQL array of the violations whose condition holds (a null condition counts as a pass)."""
    if not checks:
        return f"CAST(array() AS {VIOLATION_TYPE})"
    whens = ", ".join(f"CASE WHEN coalesce({cond}, FALSE) THEN {v} END" for cond, v in checks)
    return f"CAST(filter(array({whens}), x -> x IS NOT NULL) AS {VIOLATION_TYPE})"


def local_time(ts: str, offset: str) -> str:
    """The city's wall-clock time of ``ts`` read on the clock of ``offset`` (Z, ±hh or ±hhmm): the lake holds
    local time (docs/lake-contract.md, Time), so a UTC or foreign instant is moved to Asia/Shanghai."""
    return f"from_utc_timestamp(to_utc_timestamp({ts}, upper({offset})), {lit(CITY_TIME_ZONE)})"


def cast_expr(x: str, item: ItemDef) -> str:
    """The typed value of standardised text (null when it does not cast)."""
    target = spark_type_name(item)
    # standardise wrote dates and times as yyyy-MM-dd[ HH:mm:ss[.f][offset]]: other shapes Spark's cast would
    # also accept ('2024-1-5', '2024-01-05 8:30', '2024-01-05T08:30Z' read in UTC) are not catalogue forms
    if item.type == "D":
        return f"CASE WHEN length({x}) = 10 AND {x} RLIKE {lit(ISO_DATE_RE)} THEN try_cast({x} AS date) END"
    if item.type == "T":
        offset_ts = local_time(f"try_cast(regexp_extract({x}, {lit(OFFSET_TIMESTAMP_RE)}, 1) AS timestamp)",
                               f"regexp_extract({x}, {lit(OFFSET_TIMESTAMP_RE)}, 2)")
        return (f"CASE WHEN {x} RLIKE {lit(ISO_TIMESTAMP_RE)} THEN try_cast({x} AS timestamp) "
                f"WHEN {x} RLIKE {lit(OFFSET_TIMESTAMP_RE)} THEN {offset_ts} END")
    if target in ("float", "double"):
        typed = f"try_cast({x} AS {target})"
        return f"CASE WHEN NOT isnan({typed}) AND abs({typed}) != CAST('Infinity' AS DOUBLE) THEN {typed} END"
    return x if target == "string" else f"try_cast({x} AS {target})"


def parse_check(x: str, typed: str, item: ItemDef) -> Check | None:
    """(condition, violation) when text is present but is not a value of the item's type."""
    if item.type in ("C", "M"):
        return None
    what = _TYPE_WORDS.get(item.type, item.type)
    if spark_type_name(item).startswith("decimal"):
        what += f" fitting {spark_type_name(item)}"
    return (f"{x} IS NOT NULL AND {typed} IS NULL",
            violation("conform.type." + _RULE_SUFFIX.get(item.type, "number"), item.name, f"is not {what}"))


def transform(df: DataFrame, resource: ResourceDef) -> DataFrame:
    """Item columns cast to their catalogue types; ``_violations`` gets one entry per value that did not cast."""
    checks: list[Check] = []
    cols = []
    items = {it.name: it for it in resource.items}
    for name in df.columns:
        if name == VIOLATIONS:
            continue
        if name not in items:
            cols.append(to_column(col(name)))
            continue
        typed = cast_expr(col(name), items[name])
        cols.append(to_column(typed, name))
        check = parse_check(col(name), typed, items[name])
        if check:
            checks.append(check)
    new = collect(checks)
    if VIOLATIONS in df.columns:
        new = f"concat({col(VIOLATIONS)}, {new})"
    return df.select(*cols, to_column(new, VIOLATIONS))

"""Spark and Arrow schemas derived from catalogue items: the read/write contract of every table.

Type mapping (STANDARDS section 1 types): C/M -> string, N -> decimal(length, scale) (double when
no length), Y -> decimal(18,2), D -> date, T -> timestamp, L -> boolean, I -> long, F -> float,
B -> double, G -> binary. pyspark and pyarrow are imported inside the functions so that importing
the catalogue (e.g. at DAG-parse time) never loads them.
"""

from __future__ import annotations

from collections.abc import Iterable

from citybrain.catalog.models import Item

MAX_DECIMAL_PRECISION = 38


def decimal_precision(item: Item) -> tuple[int, int] | None:
    """(precision, scale) for N and Y items, None when an N item has no length (-> double)."""
    if item.type == "Y":
        return 18, 2
    if item.type == "N" and item.length:
        return min(item.length, MAX_DECIMAL_PRECISION), item.scale or 0
    return None


def logical_type(item: Item) -> str:
    """Engine-neutral type name, e.g. 'decimal(10,6)', also used in docs and DuckDB casts."""
    simple = {"C": "string", "M": "string", "D": "date", "T": "timestamp", "L": "boolean", "I": "long",
              "F": "float", "B": "double", "G": "binary"}
    if item.type in simple:
        return simple[item.type]
    prec = decimal_precision(item)
    return f"decimal({prec[0]},{prec[1]})" if prec else "double"


def spark_type(item: Item):
    from pyspark.sql import types as T

    simple = {"C": T.StringType, "M": T.StringType, "D": T.DateType, "T": T.TimestampType,
              "L": T.BooleanType, "I": T.LongType, "F": T.FloatType, "B": T.DoubleType, "G": T.BinaryType}
    if item.type in simple:
        return simple[item.type]()
    prec = decimal_precision(item)
    return T.DecimalType(*prec) if prec else T.DoubleType()


def spark_schema(items: Iterable[Item]):
    """StructType with one field per item; the field comment is the item's Chinese label."""
    from pyspark.sql import types as T

    return T.StructType(
        [T.StructField(it.name, spark_type(it), it.nullable, {"comment": it.label}) for it in items]
    )


def arrow_type(item: Item, timestamp_tz: str | None = "UTC"):
    import pyarrow as pa

    simple = {"C": pa.string, "M": pa.string, "D": pa.date32, "L": pa.bool_, "I": pa.int64,
              "F": pa.float32, "B": pa.float64, "G": pa.binary}
    if item.type in simple:
        return simple[item.type]()
    if item.type == "T":
        return pa.timestamp("us", tz=timestamp_tz)
    prec = decimal_precision(item)
    return pa.decimal128(*prec) if prec else pa.float64()


def arrow_schema(items: Iterable[Item], timestamp_tz: str | None = "UTC"):
    """pyarrow schema; T items are timestamp[us] in ``timestamp_tz`` (UTC as Spark/Delta store them)."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(it.name, arrow_type(it, timestamp_tz), it.nullable, {"label": it.label}) for it in items]
    )

"""Spark and Arrow schemas follow the catalogue type mapping (no JVM needed: types only)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyspark.sql import types as T

from citybrain.catalog import Item, get_catalog
from citybrain.catalog.schemas import arrow_schema, logical_type, spark_schema

pytestmark = pytest.mark.unit


def _item(type_, length=None, scale=None, nullable=True):
    return Item(name="x", label="x", type=type_, length=length, scale=scale, nullable=nullable)


# (item, Spark type, Arrow type) - one row per catalogue type code
MAPPING = [
    (_item("C", 18), T.StringType(), pa.string()),
    (_item("M"), T.StringType(), pa.string()),
    (_item("N", 10, 6), T.DecimalType(10, 6), pa.decimal128(10, 6)),
    (_item("N", 8), T.DecimalType(8, 0), pa.decimal128(8, 0)),  # no scale: whole numbers
    (_item("N"), T.DoubleType(), pa.float64()),  # no length: double
    (_item("Y"), T.DecimalType(18, 2), pa.decimal128(18, 2)),  # money is always decimal(18,2)
    (_item("D"), T.DateType(), pa.date32()),
    (_item("T"), T.TimestampType(), pa.timestamp("us", tz="UTC")),
    (_item("L"), T.BooleanType(), pa.bool_()),
    (_item("I"), T.LongType(), pa.int64()),
    (_item("F"), T.FloatType(), pa.float32()),
    (_item("B"), T.DoubleType(), pa.float64()),
    (_item("G"), T.BinaryType(), pa.binary()),
]


@pytest.mark.parametrize(("item", "spark", "arrow"), MAPPING, ids=[f"{m[0].type}{m[0].length or ''}" for m in MAPPING])
def test_type_mapping(item, spark, arrow):
    assert spark_schema([item]).fields[0].dataType == spark
    assert arrow_schema([item]).field(0).type == arrow


def test_logical_type_names():
    assert [logical_type(m[0]) for m in MAPPING] == [
        "string", "string", "decimal(10,6)", "decimal(8,0)", "double", "decimal(18,2)", "date", "timestamp",
        "boolean", "long", "float", "double", "binary",
    ]


def test_resource_schemas_keep_order_nullability_and_labels():
    res = get_catalog().resource("health_hospital")
    spark = res.spark_schema()
    arrow = res.arrow_schema()
    assert spark.fieldNames() == res.item_names == arrow.names
    assert spark["credit_code"].nullable is False and spark["emr_level"].nullable is True
    assert spark["beds"].dataType == T.LongType() and spark["emr_enabled"].dataType == T.BooleanType()
    assert spark["credit_code"].metadata == {"comment": "统一社会信用代码"}
    assert arrow.field("credit_code").metadata == {b"label": "统一社会信用代码".encode()}
    assert res.arrow_schema(timestamp_tz=None).field("updated_at").type == pa.timestamp("us")


def test_every_shipped_resource_has_valid_schemas():
    for res in get_catalog().resources.values():
        assert len(res.spark_schema().fields) == len(res.items)
        assert len(res.arrow_schema()) == len(res.items)

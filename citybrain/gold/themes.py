"""Thematic databases (主题库): each catalogue theme is Spark SQL over silver inputs, written to gold.<name>."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from citybrain.catalog import Catalog
    from citybrain.catalog.themes import Theme

SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")


class ThemeError(ValueError):
    """A theme cannot be built or breaks its declared primary key (names the theme and what to fix)."""


def input_view(df: DataFrame, name: str, catalog: Catalog) -> DataFrame:
    """What a theme sees as ``{name}``: an entity resource's current rows with its catalogue items only; events,
    readings and golden records as stored."""
    if name not in catalog.resources:
        return df
    res = catalog.resources[name]
    if "is_current" in df.columns:
        df = df.where("is_current")
    missing = [c for c in res.item_names if c not in df.columns]
    if missing:
        raise ThemeError(f"silver.{name} lacks catalogue items {missing}; rebuild it with the conform stage")
    return df.select(*res.item_names)


def transform(theme: Theme, inputs: Mapping[str, DataFrame]) -> DataFrame:
    """The theme's table: its SQL with every {input} bound to the given DataFrame (no temporary views left)."""
    missing = [name for name in theme.inputs if name not in inputs]
    if missing:
        raise ThemeError(f"theme {theme.name}: inputs {missing} were not given")
    spark = inputs[theme.inputs[0]].sparkSession
    return spark.sql(theme.sql, **{name: inputs[name] for name in theme.inputs})


def duplicate_keys(df: DataFrame, theme: Theme, limit: int = 3) -> list[dict]:
    """Primary-key values held by more than one row (empty when the declared grain holds)."""
    from pyspark.sql import functions as F

    dup = df.groupBy(*theme.primary_key).agg(F.count(F.lit(1)).alias("rows")).where("rows > 1").limit(limit)
    return [r.asDict() for r in dup.collect()]

"""Golden records of the base entities (一数一源): each attribute from its authoritative resource only.

``build`` reads nothing but the authority resources' current rows, so a verification copy cannot set
or change a golden value whatever it holds; copies are compared with the golden values in verify.py.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from citybrain.conform.catalog import ConformCatalog, EntityDef, ResourceDef
from citybrain.conform.scd2 import IS_CURRENT, validity_columns

KEY = "_key"


def golden_table(entity: str) -> str:
    return f"silver.{entity}_golden"


def current(df: DataFrame, resource: ResourceDef, key_item: str) -> DataFrame:
    """One row per entity key: the current version (entities) or the latest event (events, readings). Records
    of one entity key that tie (a person's two current records of a resource keyed otherwise, two events at
    one time) are ordered by their own primary key last, so the same record is picked in every run."""
    if IS_CURRENT in df.columns:
        df = df.where(F.col(IS_CURRENT))
        vf, _ = validity_columns(resource)
        order = [F.col(vf).desc()]
    else:
        order = [F.col(resource.event_time).desc_nulls_last()] if resource.event_time else []
    order += [F.col("_batch_id").desc(), *[F.col(k).asc_nulls_last() for k in resource.primary_key]]
    w = Window.partitionBy(key_item).orderBy(*order)
    return (df.where(F.col(key_item).isNotNull()).withColumn("_rank", F.row_number().over(w))
            .where("_rank = 1").drop("_rank"))


def authority_columns(entity: EntityDef) -> dict[str, list[tuple[str, str]]]:
    """authority resource -> [(attribute, item)] in entities.yaml order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for attr in entity.attributes:
        res, item = attr.authority.split(".", 1)
        out.setdefault(res, []).append((attr.name, item))
    return out


def build(entity: EntityDef, frames: dict[str, DataFrame], catalog: ConformCatalog) -> DataFrame:
    """silver.<entity>_golden rows: the key, each attribute from its authority, and `<attr>__source`.

    ``frames`` maps each authority resource to its silver rows (all versions or events); keys that
    no authority holds are not golden records.
    """
    parts = []
    for res_name, pairs in authority_columns(entity).items():
        res = catalog.resource(res_name)
        key_item = entity.key_item(res_name)
        cur = current(frames[res_name], res, key_item)
        cols = [F.col(key_item).cast("string").alias(KEY)]
        for attr, item in pairs:
            cols.append(F.col(item).alias(attr))
            cols.append(F.lit(f"{res_name}.{item}").alias(f"{attr}__source"))
        parts.append(cur.select(*cols))
    golden = parts[0]
    for part in parts[1:]:
        golden = golden.join(part, KEY, "full_outer")
    attrs = [a.name for a in entity.attributes]
    return golden.select(F.col(KEY).alias(entity.key), *attrs, *[f"{a}__source" for a in attrs])

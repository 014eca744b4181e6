"""Multi-source verification (多源校核): every verification copy compared with the authority's value.

For each entity and each resource holding copies, the copy's current rows are joined to the golden
record on the entity key. A disagreement is one `silver.discrepancies` row per copy record (named by its
own primary key, ``copy_record_key``: a person may hold several records of one copy resource, e.g. one per
insurance type) and attribute:

| kind | when |
|---|---|
| mismatch | both hold a value and the values differ |
| missing_in_authority | the copy holds a value the authority lacks (no golden record, or its value is empty) |
| missing_in_copy | the authority holds a value, the copy's is empty |

`silver.agreement_rates` counts, per attribute and copy resource, the copy records whose key the
authority knows (compared) and those equal to the authority (agreed, empty = empty counts as equal).
It is the sum of `silver.agreement_keys`, each key's share, which a run recomputes for the keys it
touched only: the rates cost follows the day's changes, not the size of the copies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from citybrain.conform.catalog import ConformCatalog, EntityDef, ItemDef

DISCREPANCY_COLUMNS = ("entity", "entity_key", "attribute", "authority_resource", "authority_department",
                       "authority_value", "copy_resource", "copy_department", "copy_value", "kind", "batch_id",
                       "detected_at", "_disc_id", "copy_record_key")
# what makes a discrepancy itself: the copy record (its own full key) and attribute, and what was found there
DISCREPANCY_IDENTITY = ("entity", "entity_key", "copy_resource", "copy_record_key", "attribute", "kind",
                        "authority_value", "copy_value")
AGREEMENT_COLUMNS = ("entity", "attribute", "copy_department", "copy_resource", "compared", "agreed", "rate")
SHARE_COLUMNS = ("entity", "copy_resource", "entity_key", "attribute", "copy_department", "compared", "agreed")
NUMBER_TOLERANCE = 1e-9
KEY = "_key"
COPY_KEY = "copy_record_key"
IN_GOLDEN = "_in_golden"


@dataclass(frozen=True)
class CopyPair:
    """One attribute's copy in a copy resource."""

    attribute: str
    authority: str  # resource.item
    copy_item: str
    authority_item: ItemDef
    copy_item_def: ItemDef


def copy_pairs(entity: EntityDef, copy_resource: str, catalog: ConformCatalog) -> list[CopyPair]:
    out = []
    for attr in entity.attributes:
        for copy in attr.copies:
            res, item = copy.split(".", 1)
            if res == copy_resource:
                a_res, a_item = attr.authority.split(".", 1)
                out.append(CopyPair(attr.name, attr.authority, item, catalog.resource(a_res).item(a_item),
                                    catalog.resource(res).item(item)))
    return out


def _family(t: str) -> str:
    return {"C": "text", "M": "text", "N": "number", "Y": "number", "I": "number", "F": "number", "B": "number",
            "D": "time", "T": "time", "L": "bool", "G": "binary"}.get(t, "text")


def same(a: Column, b: Column, pair: CopyPair) -> Column:
    """Equality of an authority and a copy value of the same type family (null-safe)."""
    fam = _family(pair.authority_item.type)
    if fam == "number":
        both = a.isNotNull() & b.isNotNull()
        return (a.isNull() & b.isNull()) | (both & (F.abs(a.cast("double") - b.cast("double")) <= NUMBER_TOLERANCE))
    if fam == "time" and pair.authority_item.type != pair.copy_item_def.type:
        return F.to_date(a).eqNullSafe(F.to_date(b))
    return a.eqNullSafe(b)


def as_text(c: Column, item: ItemDef) -> Column:
    """The value as the discrepancy table shows it (dates ISO, numbers without exponent)."""
    if item.type == "D":
        return F.date_format(c, "yyyy-MM-dd")
    if item.type == "T":
        return F.date_format(c, "yyyy-MM-dd HH:mm:ss")
    if item.type in ("F", "B") or (item.type == "N" and not item.length):
        return F.format_string("%.6f", c.cast("double"))  # 6 places, the precision of a coordinate
    return c.cast("string")


def copy_rows(current_copy: DataFrame, entity: EntityDef, copy_resource: str, pairs: list[CopyPair],
              record_key: Column) -> DataFrame:
    """The copy resource's current records (one per primary key, ``record_key`` its text): entity key, the
    record's key, its copy values and batch id. Records are not merged by value: two records of one person
    are two copies, each compared (and each to be corrected) on its own."""
    key_item = entity.key_item(copy_resource)
    cols = [F.col(key_item).cast("string").alias(KEY), record_key.alias(COPY_KEY)] + [
        F.col(p.copy_item).alias(f"c__{p.attribute}") for p in pairs]
    return current_copy.where(F.col(key_item).isNotNull()).select(*cols, F.col("_batch_id"))


def joined(golden: DataFrame, copies: DataFrame, entity: EntityDef, pairs: list[CopyPair]) -> DataFrame:
    """Copy rows with the golden values of the compared attributes (null when the authority lacks the key)."""
    gold = golden.select(F.col(entity.key).cast("string").alias(KEY),
                         *[F.col(p.attribute).alias(f"a__{p.attribute}") for p in pairs], F.lit(True).alias(IN_GOLDEN))
    return copies.join(gold, KEY, "left").withColumn(IN_GOLDEN, F.coalesce(F.col(IN_GOLDEN), F.lit(False)))


def discrepancies(base: DataFrame, entity: EntityDef, copy_resource: str, pairs: list[CopyPair],
                  catalog: ConformCatalog, detected_at: dt.datetime) -> DataFrame:
    """The copy resource's disagreements with the authority, one row per (copy record, attribute); ``base``
    is ``joined(...)``. ``_disc_id`` hashes ``DISCREPANCY_IDENTITY``: unique, since the copy record's full
    key is part of it."""
    copy_dept = catalog.resource(copy_resource).provider
    out = []
    for p in pairs:
        a, c = F.col(f"a__{p.attribute}"), F.col(f"c__{p.attribute}")
        kind = (F.when(c.isNotNull() & (~F.col(IN_GOLDEN) | a.isNull()), F.lit("missing_in_authority"))
                .when(F.col(IN_GOLDEN) & a.isNotNull() & c.isNull(), F.lit("missing_in_copy"))
                .when(a.isNotNull() & c.isNotNull() & ~same(a, c, p), F.lit("mismatch")))
        a_res = p.authority.split(".", 1)[0]
        out.append(base.select(
            F.lit(entity.name).alias("entity"), F.col(KEY).alias("entity_key"), F.lit(p.attribute).alias("attribute"),
            F.lit(a_res).alias("authority_resource"),
            F.lit(catalog.resource(a_res).provider).alias("authority_department"),
            as_text(a, p.authority_item).alias("authority_value"), F.lit(copy_resource).alias("copy_resource"),
            F.lit(copy_dept).alias("copy_department"), as_text(c, p.copy_item_def).alias("copy_value"),
            kind.alias("kind"), F.col("_batch_id").alias("batch_id"), F.col(COPY_KEY),
        ).where(F.col("kind").isNotNull()))
    from citybrain.lake.spark_io import union_all

    result = union_all(out)
    ident = F.sha2(F.concat_ws("\u001f", *[F.coalesce(F.col(c), F.lit("\u0000")) for c in DISCREPANCY_IDENTITY]),
                   256)
    return (result.withColumn("detected_at", F.lit(detected_at).cast("timestamp")).withColumn("_disc_id", ident)
            .select(*DISCREPANCY_COLUMNS))


def key_agreement(base: DataFrame, entity: EntityDef, copy_resource: str, pairs: list[CopyPair],
                  catalog: ConformCatalog) -> DataFrame:
    """Each entity key's share of the agreement rates (``silver.agreement_keys``): per attribute, the key's
    copy records the authority knows (compared) and those equal to the authority (agreed). ``base`` is
    ``joined(...)``; keys the authority lacks count nowhere. Summing the shares gives the rates, so a run
    recomputes the shares of the keys it touched and re-adds, without re-joining the whole copy."""
    aggs = [F.count(F.lit(1)).alias("_compared")]
    for p in pairs:
        ok = same(F.col(f"a__{p.attribute}"), F.col(f"c__{p.attribute}"), p)
        aggs.append(F.sum(F.when(ok, 1).otherwise(0)).alias(f"ok__{p.attribute}"))
    per_key = base.where(F.col(IN_GOLDEN)).groupBy(KEY).agg(*aggs)
    shares = F.explode(F.array(*[F.struct(F.lit(p.attribute).alias("attribute"),
                                          F.col(f"ok__{p.attribute}").alias("agreed")) for p in pairs]))
    return per_key.select(
        F.lit(entity.name).alias("entity"), F.lit(copy_resource).alias("copy_resource"),
        F.col(KEY).alias("entity_key"), F.lit(catalog.resource(copy_resource).provider).alias("copy_department"),
        F.col("_compared").cast("long").alias("compared"), shares.alias("_share"),
    ).select(*[F.col(c) for c in ("entity", "copy_resource", "entity_key")], F.col("_share.attribute"),
             "copy_department", "compared", F.col("_share.agreed").cast("long").alias("agreed"))


def rates_from_shares(shares: DataFrame, zeros: DataFrame) -> DataFrame:
    """``silver.agreement_rates`` rows: the keys' shares summed per attribute and copy resource; ``zeros``
    (one row per compared pair, compared = agreed = 0) keeps a pair nobody's key reached, with a null rate."""
    group = ["entity", "attribute", "copy_department", "copy_resource"]
    summed = (shares.select(*group, "compared", "agreed").unionByName(zeros).groupBy(*group)
              .agg(F.sum("compared").cast("long").alias("compared"), F.sum("agreed").cast("long").alias("agreed")))
    return summed.withColumn("rate", F.when(F.col("compared") > 0, F.round(F.col("agreed") / F.col("compared"), 6)))


def zero_rates(spark, entity: EntityDef, copies: list[str], catalog: ConformCatalog) -> DataFrame:
    """One (entity, attribute, copy department, copy resource, 0, 0) row per compared pair of ``copies``."""
    rows = [(entity.name, p.attribute, catalog.resource(c).provider, c, 0, 0)
            for c in copies for p in copy_pairs(entity, c, catalog)]
    return spark.createDataFrame(rows, "entity string, attribute string, copy_department string, "
                                       "copy_resource string, compared long, agreed long")

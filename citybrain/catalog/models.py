"""Typed catalogue entries: what one YAML entry may say (field types and enumerations only).

Cross-references (provider exists, primary key among items, one authority per attribute...) are
checked in rules.py so that every broken reference is reported, not only the first per entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from citybrain.catalog.fields import (
    DEFAULT_LOOKBACK,
    DropPattern,
    ItemRef,
    ItemType,
    Lookback,
    NullMarkerText,
    ResourceCode,
    SnakeName,
    null_marker_key,
)
from citybrain.catalog.lookup import ItemLookup

ShareType = Literal["无条件共享", "有条件共享", "不予共享"]
OpenType = Literal["无条件开放", "有条件开放", "不予开放"]
Pii = Literal["direct", "quasi", "sensitive", "none"]
ItemFormat = Literal["id_number", "credit_code", "division_code", "phone", "grid_component_id", "email"]
Deidentify = Literal["drop", "hash", "mask", "year", "band5", "district", "street"]




class Entry(BaseModel):
    """Base of every catalogue entry: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)


class Department(Entry):
    """A provider department (信息资源提供方)."""

    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    org_code: str
    name_zh: str
    name_en: str
    system: str
    contact: str | None = None


class Library(Entry):
    """A base (基础库), thematic (主题库) or departmental (部门库) database."""

    code: SnakeName
    kind: Literal["base", "thematic", "departmental"]
    class_code: Annotated[str, Field(pattern=r"^[1-3]\d{2}$")]
    name_zh: str
    name_en: str
    seed_name: str | None = None


class Range(Entry):
    min: float | int | dt.date | dt.datetime | None = None
    max: float | int | dt.date | dt.datetime | None = None


class Item(Entry):
    """One data item (信息项) of a resource: a column in the source and in the lake."""

    name: SnakeName
    label: str
    type: ItemType
    length: Annotated[int, Field(gt=0)] | None = None
    scale: Annotated[int, Field(ge=0)] | None = None
    nullable: bool = True
    pii: Pii = "none"
    format: ItemFormat | None = None
    code_list: str | None = None
    range: Range | None = None
    references: ItemRef | None = None
    description: str | None = None


class Share(Entry):
    type: ShareType
    condition: str | None = None
    legal_basis: str | None = None
    method: Literal["共享平台/数据库", "共享平台/接口", "共享平台/文件", "邮件", "介质"] = "共享平台/数据库"


class Open(Entry):
    type: OpenType
    condition: str | None = None


class DatabaseSource(Entry):
    kind: Literal["database"]
    database: SnakeName
    table: str | None = None
    query: str | None = None
    # how far before the watermark each pull re-reads: rows committed late with an earlier key (SCHEMA.md)
    lookback: Lookback = DEFAULT_LOOKBACK


class FileSource(Entry):
    kind: Literal["file"]
    pattern: DropPattern
    format: Literal["csv", "jsonl", "xlsx"]
    encoding: Literal["utf-8", "gbk"] = "utf-8"
    delimiter: str | None = None


class CatalogSource(Entry):
    """Rows derived from the catalogue itself (meta_catalog_resource): nothing to pull."""

    kind: Literal["catalog"]


Source = Annotated[DatabaseSource | FileSource | CatalogSource, Field(discriminator="kind")]


class NullMarker(Entry):
    """A text departments write for 'no value' (reference/null_markers.yaml): conform reads it as null."""

    text: NullMarkerText
    meaning: str


class NullMarkerOverride(Entry):
    """A resource's change to the catalogue's null markers: more its department writes, and catalogue markers
    that are real values in its items (compared ignoring case, as markers are)."""

    add: list[NullMarkerText] = []
    remove: list[NullMarkerText] = []

    def apply(self, markers: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        removed = {null_marker_key(m) for m in self.remove}
        return tuple(m for m in markers if null_marker_key(m) not in removed) + tuple(self.add)


class Resource(Entry, ItemLookup):
    """A government information resource (信息资源): one logical table."""

    code: ResourceCode
    name: SnakeName
    title_zh: str
    title_en: str
    library: str
    provider: str
    abstract: str
    format: Literal["电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式", "服务接口"]
    update_cycle: Literal["实时", "每日", "每周", "每月", "每季度", "每年", "其他"]
    kind: Literal["entity", "event", "reading", "reference"]
    grain: str
    primary_key: Annotated[list[str], Field(min_length=1)]
    incremental_key: str | None = None
    event_time: str | None = None
    share: Share
    open: Open
    published: dt.date
    related: list[str] = []
    source: Source
    items: Annotated[list[Item], Field(min_length=1)]
    deidentify: dict[str, Deidentify] | None = None
    k_anonymity: list[str] | None = None
    null_markers: NullMarkerOverride | None = None  # the catalogue's list when absent

    # -- derived views used by the pipeline (item, has_item, item_names: ItemLookup) ----------
    @property
    def source_columns(self) -> list[str]:
        """Columns expected from the source, in catalogue order (lineage columns are added later)."""
        return self.item_names

    @property
    def direct_identifiers(self) -> list[str]:
        return [it.name for it in self.items if it.pii == "direct"]

    @property
    def quasi_identifiers(self) -> list[str]:
        return [it.name for it in self.items if it.pii == "quasi"]

    @property
    def sensitive_items(self) -> list[str]:
        return [it.name for it in self.items if it.pii == "sensitive"]

    @property
    def is_openable(self) -> bool:
        return self.open.type != "不予开放"

    @property
    def department_code(self) -> str:
        return self.provider

    def spark_schema(self):
        """pyspark StructType of the items (pyspark imported here, never at module import)."""
        from citybrain.catalog.schemas import spark_schema

        return spark_schema(self.items)

    def arrow_schema(self, timestamp_tz: str | None = "UTC"):
        """pyarrow schema of the items; T items are timestamp[us, timestamp_tz]."""
        from citybrain.catalog.schemas import arrow_schema

        return arrow_schema(self.items, timestamp_tz=timestamp_tz)


class EntityAttribute(Entry):
    """An attribute of a base entity: one authoritative resource.item and its verification copies."""

    name: SnakeName
    label: str
    # typed loosely on purpose: rules.py turns "none" and "two" into precise one-datum-one-source errors
    authority: ItemRef | list[ItemRef] | None = None
    copies: list[ItemRef] = []


class Entity(Entry):
    """A base entity (person, legal entity, address, building) and where each attribute comes from."""

    name: SnakeName
    label: str
    key: SnakeName
    description: str | None = None
    key_items: dict[str, str] = {}
    attributes: Annotated[list[EntityAttribute], Field(min_length=1)]

    def key_item(self, resource: str) -> str:
        """Name of the entity key in ``resource`` (key_items overrides the key name)."""
        return self.key_items.get(resource, self.key)

    def attribute(self, name: str) -> EntityAttribute:
        for attr in self.attributes:
            if attr.name == name:
                return attr
        raise KeyError(f"entity {self.name} has no attribute {name!r}")


class IndicatorTerm(Entry):
    """One side of an indicator ratio: a measure over a resource, optionally filtered."""

    resource: str
    measure: str = "count"
    filter: str | None = None
    having: str | None = None
    plus: list[IndicatorTerm] = []

    @property
    def measure_kind(self) -> str:
        return self.measure.split(":", 1)[0]

    @property
    def measure_item(self) -> str | None:
        return self.measure.split(":", 1)[1] if ":" in self.measure else None

    def terms(self) -> list[IndicatorTerm]:
        """This term and its `plus` terms, flattened."""
        out = [self]
        for extra in self.plus:
            out.extend(extra.terms())
        return out


Grain = Literal[
    "district_day", "district_month", "district_quarter", "district_year",
    "city_day", "city_month", "city_quarter", "city_year",
]


class Indicator(Entry):
    """A city indicator: value = numerator / denominator * scale per district and period."""

    code: Annotated[str, Field(pattern=r"^IND_[A-Z0-9_]+$")]
    name_zh: str
    name_en: str
    definition: str
    unit: str
    scale: float = 1
    numerator: IndicatorTerm
    denominator: IndicatorTerm
    district_item: dict[str, str] = {}
    period_item: dict[str, str] = {}
    grain: Annotated[list[Grain], Field(min_length=1)]
    target: float | None = None
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    open: OpenType
    source_doc: str

    @property
    def resources(self) -> list[str]:
        """Every resource the indicator reads, numerator first, without duplicates."""
        seen: dict[str, None] = {}
        for term in self.numerator.terms() + self.denominator.terms():
            seen.setdefault(term.resource, None)
        return list(seen)


class Division(Entry):
    """A GB/T 2260 division code with its validity period (valid_to exclusive)."""

    code: Annotated[str, Field(pattern=r"^\d{6}$")]
    name_zh: str
    name_en: str
    level: Literal["province", "prefecture", "district", "county", "county_city"]
    parent: str | None = None
    valid_from: dt.date
    valid_to: dt.date | None = None
    replaced_by: str | None = None

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


class GridMinorClass(Entry):
    code: Annotated[str, Field(pattern=r"^\d{4}$")]
    name_zh: str
    time_limit_hours: Annotated[float, Field(gt=0)] | None = None


class GridMajorClass(Entry):
    code: Annotated[str, Field(pattern=r"^\d{2}$")]
    name_zh: str
    name_en: str
    minor: list[GridMinorClass]


class CodeList(Entry):
    """A code list: code -> Chinese label."""

    name_zh: str
    standard: str
    codes: Annotated[dict[str, str], Field(min_length=1)]


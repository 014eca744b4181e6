"""What the conform stage needs from the catalogue: resources, entities, code lists and divisions.

A small adapter so that the stage depends on one narrow interface: it takes the catalogue from the
validating loader `citybrain.catalog.get_catalog()`, and reads the YAML directly (catalog/SCHEMA.md
is the contract) for another folder (tests) or when the loader is not importable.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from citybrain.catalog.lookup import ItemLookup
from citybrain.catalog.models import NullMarkerOverride

log = logging.getLogger(__name__)

# A code list name -> codes; divisions and grid classes are added under these names.
DIVISIONS = "divisions"


@dataclass(frozen=True)
class ItemDef:
    """One data item (信息项) with the rules conform enforces."""

    name: str
    type: str
    length: int | None = None
    scale: int | None = None
    nullable: bool = True
    format: str | None = None
    code_list: str | None = None
    range_min: Any = None
    range_max: Any = None
    references: str | None = None
    label: str = ""
    # texts its resource reads as null (reference/null_markers.yaml with the resource's null_markers change)
    null_markers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceDef(ItemLookup):
    """A catalogue resource as conform reads it."""

    name: str
    provider: str
    kind: str  # entity | event | reading | reference
    primary_key: tuple[str, ...]
    items: tuple[ItemDef, ...]
    incremental_key: str | None = None
    event_time: str | None = None
    source_kind: str = "database"

    @property
    def is_history(self) -> bool:
        """Entity and reference resources keep SCD2 history; events and readings are merged by date."""
        return self.kind in ("entity", "reference")

    @property
    def source_ts_item(self) -> str | None:
        """The item that orders versions of a record: the watermark, else the event time."""
        return self.incremental_key or self.event_time


@dataclass(frozen=True)
class AttributeDef:
    name: str
    authority: str  # resource.item
    copies: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityDef:
    """A base entity: each attribute from one authoritative resource.item, others are copies."""

    name: str
    key: str
    attributes: tuple[AttributeDef, ...]
    key_items: dict[str, str] = field(default_factory=dict)

    def key_item(self, resource: str) -> str:
        return self.key_items.get(resource, self.key)

    @property
    def authority_resources(self) -> list[str]:
        return list(dict.fromkeys(a.authority.split(".")[0] for a in self.attributes))

    @property
    def copy_resources(self) -> list[str]:
        return list(dict.fromkeys(c.split(".")[0] for a in self.attributes for c in a.copies))


@dataclass(frozen=True)
class DivisionDef:
    """A GB/T 2260 code with its validity period (valid_to exclusive, None = still valid)."""

    code: str
    level: str
    valid_from: dt.date
    valid_to: dt.date | None = None


@dataclass
class ConformCatalog:
    """The catalogue slice the conform stage reads."""

    resources: dict[str, ResourceDef]
    entities: list[EntityDef]
    code_lists: dict[str, list[str]]
    divisions: list[DivisionDef]
    departments: dict[str, str]  # code -> source system
    root: Path | None = None

    def resource(self, name: str) -> ResourceDef:
        try:
            return self.resources[name]
        except KeyError:
            raise KeyError(f"no resource {name!r} in the catalogue {self.root}") from None

    def codes(self, name: str) -> list[str]:
        try:
            return self.code_lists[name]
        except KeyError:
            raise KeyError(f"no code list {name!r} in {self.root}/reference (known: "
                           f"{', '.join(sorted(self.code_lists))})") from None

    def entity(self, name: str) -> EntityDef:
        for ent in self.entities:
            if ent.name == name:
                return ent
        raise KeyError(f"no entity {name!r} in {self.root}/entities.yaml")

    def conform_order(self) -> list[str]:
        """Resources ordered so that referenced resources are conformed before those referring to them."""
        deps = {
            name: {it.references.split(".")[0] for it in res.items if it.references} - {name}
            for name, res in self.resources.items()
        }
        order: list[str] = []
        done: set[str] = set()

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done or name in path or name not in deps:
                return  # a reference cycle is broken where it closes
            for dep in sorted(deps[name]):
                visit(dep, (*path, name))
            done.add(name)
            order.append(name)

        for name in sorted(deps):
            visit(name, ())
        return order


# -- YAML reading ---------------------------------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _range_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _item(raw: dict, null_markers: tuple[str, ...]) -> ItemDef:
    rng = raw.get("range") or {}
    return ItemDef(
        name=raw["name"], type=str(raw.get("type", "C")), length=raw.get("length"), scale=raw.get("scale"),
        nullable=bool(raw.get("nullable", True)), format=raw.get("format"), code_list=raw.get("code_list"),
        range_min=_range_value(rng.get("min")), range_max=_range_value(rng.get("max")),
        references=raw.get("references"), label=raw.get("label", ""), null_markers=null_markers,
    )


def _read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _reference(root: Path) -> tuple[dict[str, list[str]], list[DivisionDef]]:
    ref = root / "reference"
    lists: dict[str, list[str]] = {}
    body = _read_yaml(ref / "code_lists.yaml") if (ref / "code_lists.yaml").exists() else {}
    for name, entry in (body.get("code_lists") or {}).items():
        lists[name] = [str(c) for c in (entry.get("codes") or {})]
    divisions: list[DivisionDef] = []
    if (ref / "divisions.yaml").exists():
        for row in _read_yaml(ref / "divisions.yaml").get("divisions") or []:
            divisions.append(DivisionDef(str(row["code"]), row.get("level", "county"),
                                         _date(row.get("valid_from")) or dt.date(1980, 1, 1),
                                         _date(row.get("valid_to"))))
    lists[DIVISIONS] = [d.code for d in divisions]
    if (ref / "grid.yaml").exists():
        grid = _read_yaml(ref / "grid.yaml")
        for group, prefix in (("component_classes", "grid_component"), ("event_classes", "grid_event")):
            majors = grid.get(group) or []
            lists[f"{prefix}_major"] = [str(m["code"]) for m in majors]
            lists[f"{prefix}_class"] = [str(mi["code"]) for m in majors for mi in (m.get("minor") or [])]
    return lists, divisions


def _null_markers(catalogue: tuple[str, ...], override: dict | None) -> tuple[str, ...]:
    """The resource's null markers: the catalogue's, changed by the resource's ``null_markers`` (add/remove)."""
    return NullMarkerOverride.model_validate(override).apply(catalogue) if override else catalogue


def _resource_from_yaml(raw: dict, null_markers: tuple[str, ...] = ()) -> ResourceDef:
    markers = _null_markers(null_markers, raw.get("null_markers"))
    return ResourceDef(
        name=raw["name"], provider=raw.get("provider", ""), kind=raw.get("kind", "entity"),
        primary_key=tuple(raw.get("primary_key") or ()),
        items=tuple(_item(i, markers) for i in raw.get("items") or ()),
        incremental_key=raw.get("incremental_key"), event_time=raw.get("event_time"),
        source_kind=(raw.get("source") or {}).get("kind", "database"),
    )


def _entity_from_yaml(raw: dict) -> EntityDef:
    attrs = []
    for a in raw.get("attributes") or []:
        authority = a.get("authority")
        if isinstance(authority, list):  # the loader reports this; conform takes the first
            authority = authority[0]
        attrs.append(AttributeDef(a["name"], authority, tuple(a.get("copies") or ())))
    return EntityDef(raw["name"], raw["key"], tuple(attrs), dict(raw.get("key_items") or {}))


def _from_yaml(root: Path) -> tuple[dict[str, ResourceDef], list[EntityDef], dict[str, str]]:
    markers_file = root / "reference" / "null_markers.yaml"
    markers = tuple(str(m["text"]) for m in (_read_yaml(markers_file).get("null_markers") or [])
                    ) if markers_file.exists() else ()
    resources = {}
    for path in sorted((root / "resources").glob("**/*.yaml")):
        res = _resource_from_yaml(_read_yaml(path), markers)
        resources[res.name] = res
    entities = [_entity_from_yaml(e) for e in _read_yaml(root / "entities.yaml").get("entities") or []]
    departments = {d["code"]: d.get("system", "") for d in _read_yaml(root / "departments.yaml").get("departments") or []}
    return resources, entities, departments


def _from_loader(root: Path):
    """The catalogue from the validating loader, when it is installed (None otherwise)."""
    try:
        from citybrain.catalog import get_catalog  # type: ignore[attr-defined]
    except ImportError:
        return None
    cat = get_catalog()
    try:
        return _convert_loaded(cat)
    except (AttributeError, TypeError, KeyError) as exc:  # loader interface changed: the YAML is the contract
        log.warning("conform: catalogue loader interface not understood (%s); reading %s directly", exc, root)
        return None


def _values(mapping_or_list):
    return list(mapping_or_list.values()) if isinstance(mapping_or_list, dict) else list(mapping_or_list)


def _convert_loaded(cat):
    resources = {r.name: _resource_from_yaml(r.model_dump(mode="json"), tuple(cat.null_markers))
                 for r in _values(cat.resources)}
    entities = [_entity_from_yaml(e.model_dump(mode="json")) for e in _values(cat.entities)]
    departments = {d.code: d.system for d in _values(cat.departments)}
    code_lists = {name: [str(c) for c in codes] for name, codes in cat.code_lists.items()}
    divisions = [DivisionDef(d.code, d.level, d.valid_from, d.valid_to) for d in cat.division_list]
    code_lists[DIVISIONS] = [d.code for d in divisions]
    return resources, entities, departments, code_lists, divisions


def load_catalog(catalog_dir: Path | str | None = None, *, use_loader: bool = True) -> ConformCatalog:
    """The conform view of the catalogue in ``catalog_dir`` (settings' catalog_dir by default)."""
    default_dir = catalog_dir is None
    if default_dir:
        from citybrain.settings import get_settings

        catalog_dir = get_settings().catalog_dir
    root = Path(catalog_dir)
    loaded = None
    if use_loader and default_dir:
        loaded = _from_loader(root)
    if loaded is None:
        loaded = (*_from_yaml(root), *_reference(root))
    resources, entities, departments, code_lists, divisions = loaded
    return ConformCatalog(resources, entities, code_lists, divisions, departments, root)


@lru_cache(maxsize=4)
def get_conform_catalog(catalog_dir: str | None = None) -> ConformCatalog:
    """Cached catalogue view for a process (the catalogue does not change during a run)."""
    return load_catalog(catalog_dir)

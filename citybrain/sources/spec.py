"""The catalogue as the simulator reads it: resources, items, source bindings and code lists.

A small frozen view of ``citybrain.catalog`` (the validating loader): generation code works on
plain dataclasses and never on YAML; ``load_spec`` can be given any catalogue folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE_KINDS = ("database", "file")



@dataclass(frozen=True)
class ItemSpec:
    """One data item (信息项) of a resource."""

    name: str
    type: str
    length: int | None = None
    scale: int | None = None
    nullable: bool = True
    format: str | None = None
    code_list: str | None = None
    range: dict[str, Any] | None = None
    references: str | None = None
    label: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """How the department exposes a resource: a database table or a daily file drop."""

    kind: str
    database: str | None = None
    table: str | None = None
    pattern: str | None = None
    format: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def stem(self) -> str:
        """File-name stem of a drop, e.g. ``tickets`` for ``hotline/tickets_*.csv``."""
        return Path(self.pattern or "").name.split("_*")[0]

    @property
    def folder(self) -> str:
        """Provider folder of a drop, e.g. ``hotline``."""
        return str(Path(self.pattern or "").parent)


@dataclass(frozen=True)
class ResourceSpec:
    """A catalogue resource as the simulator needs it."""

    name: str
    provider: str
    kind: str
    update_cycle: str
    primary_key: tuple[str, ...]
    incremental_key: str | None
    event_time: str | None
    source: SourceSpec
    items: tuple[ItemSpec, ...]
    path: Path

    @property
    def item_names(self) -> list[str]:
        """Item names in catalogue order (the column order of the source)."""
        return [i.name for i in self.items]

    def item(self, name: str) -> ItemSpec:
        """The named item; raises naming the resource when it does not exist."""
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(f"{self.path}: resource {self.name} has no item {name!r}")


@dataclass
class CatalogSpec:
    """Resources with a database or file source, plus every code list they use."""

    root: Path
    resources: dict[str, ResourceSpec]
    code_lists: dict[str, list[str]]
    code_labels: dict[str, dict[str, str]]
    districts: list[tuple[str, str]]
    grid_event_limits: dict[str, float]
    copies: list[tuple[str, str, str, str]] = field(default_factory=list)
    departments: dict[str, tuple[str, str]] = field(default_factory=dict)

    def codes(self, name: str) -> list[str]:
        """Codes of a list; raises naming the catalogue when the list is unknown."""
        try:
            return self.code_lists[name]
        except KeyError:
            raise KeyError(f"{self.root}: no code list {name!r} in reference/ (known: "
                           f"{', '.join(sorted(self.code_lists))})") from None


def _range(rg) -> dict[str, Any] | None:
    if rg is None:
        return None
    out = {}
    for bound in ("min", "max"):
        v = getattr(rg, bound)
        if v is not None:
            out[bound] = v.isoformat() if isinstance(v, dt.date) else v
    return out or None


def _source(src) -> SourceSpec:
    return SourceSpec(kind=src.kind, database=getattr(src, "database", None), table=getattr(src, "table", None),
                      pattern=getattr(src, "pattern", None), format=getattr(src, "format", None),
                      encoding=(getattr(src, "encoding", None) or "utf-8").lower(),
                      delimiter=getattr(src, "delimiter", None) or ",")


def load_spec(catalog_dir: Path) -> CatalogSpec:
    """The validated catalogue (citybrain.catalog) reduced to what generation needs.

    Only resources whose source is a database or a file drop are kept; a catalogue error stops
    generation with the loader's message (file, entry, field).
    """
    from citybrain.catalog import load_catalog

    cat = load_catalog(Path(catalog_dir))
    root = Path(cat.root)
    resources: dict[str, ResourceSpec] = {}
    for r in cat.resources.values():
        if r.source.kind not in SOURCE_KINDS:
            continue
        items = tuple(ItemSpec(name=i.name, type=str(i.type), length=i.length, scale=i.scale, nullable=i.nullable,
                               format=i.format, code_list=i.code_list, range=_range(i.range),
                               references=i.references, label=i.label) for i in r.items)
        resources[r.name] = ResourceSpec(
            name=r.name, provider=r.provider, kind=r.kind, update_cycle=r.update_cycle,
            primary_key=tuple(r.primary_key), incremental_key=r.incremental_key, event_time=r.event_time,
            source=_source(r.source), items=items, path=root / "resources" / r.library / f"{r.name}.yaml")
    labels = {name: dict(cat.code_list(name)) for name in cat.code_lists}
    county_levels = ("district", "county", "county_city")
    districts = sorted((d.code, d.name_zh) for d in cat.division_list if d.level in county_levels and not d.valid_to)
    copies = [(vc.authority_key_item, vc.authority, vc.copy, vc.copy_key_item) for vc in cat.verification_copies()]
    departments = {code: (d.name_zh, d.org_code) for code, d in cat.departments.items()}
    return CatalogSpec(root, resources, {k: list(v) for k, v in labels.items()}, labels, districts,
                       cat.grid_time_limits(), copies, departments)

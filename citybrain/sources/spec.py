"""The catalogue as the simulator reads it: resources, items, source bindings and code lists.

Read straight from the catalogue YAML (catalog/SCHEMA.md is the contract) so that generation
works even where the validating loader is not importable; ``load_spec`` can be given any
catalogue folder (tests use the repository's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCE_KINDS = ("database", "file")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str):
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's when available)


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

    def codes(self, name: str) -> list[str]:
        """Codes of a list; raises naming the catalogue when the list is unknown."""
        try:
            return self.code_lists[name]
        except KeyError:
            raise KeyError(f"{self.root}: no code list {name!r} in reference/ (known: "
                           f"{', '.join(sorted(self.code_lists))})") from None


def _item(raw: dict) -> ItemSpec:
    return ItemSpec(
        name=raw["name"], type=str(raw.get("type", "C")), length=raw.get("length"), scale=raw.get("scale"),
        nullable=bool(raw.get("nullable", True)), format=raw.get("format"), code_list=raw.get("code_list"),
        range=raw.get("range"), references=raw.get("references"), label=raw.get("label", ""),
    )


def _load_reference(root: Path) -> tuple[dict, dict, list, dict]:
    lists: dict[str, list[str]] = {}
    labels: dict[str, dict[str, str]] = {}
    ref = root / "reference"
    cl = _yaml((ref / "code_lists.yaml").read_text(encoding="utf-8")) or {}
    for name, body in (cl.get("code_lists") or {}).items():
        codes = {str(k): str(v) for k, v in (body.get("codes") or {}).items()}
        lists[name], labels[name] = list(codes), codes
    districts: list[tuple[str, str]] = []
    div_path = ref / "divisions.yaml"
    if div_path.exists():
        div = _yaml(div_path.read_text(encoding="utf-8")) or {}
        rows = div.get("divisions") or []
        current = [r for r in rows if not r.get("valid_to")]
        lists["divisions"] = [str(r["code"]) for r in rows]
        labels["divisions"] = {str(r["code"]): r.get("name_zh", "") for r in rows}
        districts = [(str(r["code"]), r.get("name_zh", "")) for r in current
                     if r.get("level") not in ("province", "prefecture") and not str(r["code"]).endswith("00")]
    limits: dict[str, float] = {}
    grid_path = ref / "grid.yaml"
    if grid_path.exists():
        grid = _yaml(grid_path.read_text(encoding="utf-8")) or {}
        for group, prefix in (("component_classes", "grid_component"), ("event_classes", "grid_event")):
            majors = grid.get(group) or []
            lists[f"{prefix}_major"] = [str(m["code"]) for m in majors]
            labels[f"{prefix}_major"] = {str(m["code"]): m.get("name_zh", "") for m in majors}
            minors = [mi for m in majors for mi in (m.get("minor") or [])]
            lists[f"{prefix}_class"] = [str(mi["code"]) for mi in minors]
            labels[f"{prefix}_class"] = {str(mi["code"]): mi.get("name_zh", "") for mi in minors}
            if prefix == "grid_event":
                limits = {str(mi["code"]): float(mi.get("time_limit_hours") or 24) for mi in minors}
    return lists, labels, districts, limits


def _load_copies(root: Path) -> list[tuple[str, str, str, str]]:
    """(entity key, authority resource.item, copy resource.item, copy key item) from entities.yaml."""
    path = root / "entities.yaml"
    if not path.exists():
        return []
    body = _yaml(path.read_text(encoding="utf-8")) or {}
    out = []
    for ent in body.get("entities") or []:
        key = ent.get("key")
        key_items = ent.get("key_items") or {}
        for attr in ent.get("attributes") or []:
            for copy in attr.get("copies") or []:
                res = copy.split(".")[0]
                out.append((key, attr.get("authority"), copy, key_items.get(res, key)))
    return out


def load_spec(catalog_dir: Path) -> CatalogSpec:
    """Read the catalogue folder; only resources whose source is a database or a file drop are kept."""
    root = Path(catalog_dir)
    res_dir = root / "resources"
    if not res_dir.is_dir():
        raise FileNotFoundError(f"{res_dir}: no catalogue resources folder; is CITYBRAIN_CATALOG_DIR right?")
    resources: dict[str, ResourceSpec] = {}
    for path in sorted(res_dir.glob("**/*.yaml")):
        raw = _yaml(path.read_text(encoding="utf-8")) or {}
        src = raw.get("source") or {}
        if src.get("kind") not in SOURCE_KINDS:
            continue
        source = SourceSpec(kind=src["kind"], database=src.get("database"), table=src.get("table"),
                            pattern=src.get("pattern"), format=src.get("format"),
                            encoding=(src.get("encoding") or "utf-8").lower(), delimiter=src.get("delimiter") or ",")
        resources[raw["name"]] = ResourceSpec(
            name=raw["name"], provider=raw.get("provider", ""), kind=raw.get("kind", "entity"),
            update_cycle=raw.get("update_cycle", "每日"), primary_key=tuple(raw.get("primary_key") or ()),
            incremental_key=raw.get("incremental_key"), event_time=raw.get("event_time"), source=source,
            items=tuple(_item(i) for i in raw.get("items") or ()), path=path,
        )
    lists, labels, districts, limits = _load_reference(root)
    return CatalogSpec(root, resources, lists, labels, districts, limits, _load_copies(root))

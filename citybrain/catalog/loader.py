"""Read the catalogue folder, validate every entry, and return a Catalog or one CatalogError listing all problems."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from citybrain.catalog.catalog import Catalog
from citybrain.catalog.errors import CatalogError, CatalogIssue
from citybrain.catalog.fields import null_marker_key
from citybrain.catalog.models import (
    CodeList,
    Department,
    Division,
    Entity,
    GridMajorClass,
    Indicator,
    Library,
    NullMarker,
    Resource,
)
from citybrain.catalog.themes import check_themes, parse_themes

CATALOG_DIR_ENV = "CITYBRAIN_CATALOG_DIR"
M = TypeVar("M", bound=BaseModel)


def default_catalog_dir() -> Path:
    """The repository's catalog/ folder, or $CITYBRAIN_CATALOG_DIR when set."""
    env = os.environ.get(CATALOG_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "catalog"


@dataclass(frozen=True)
class Loc:
    """Where an entry was read: file relative to the catalogue root, entry name, list position."""

    file: str
    entry: str
    pos: str = ""

    @property
    def where(self) -> str:
        return f"{self.file} {self.pos}".strip()


@dataclass
class ParsedCatalog:
    """Entries that passed field validation, each with where it came from (input of rules.py)."""

    root: Path
    departments: list[tuple[Loc, Department]] = field(default_factory=list)
    libraries: list[tuple[Loc, Library]] = field(default_factory=list)
    resources: list[tuple[Loc, Resource]] = field(default_factory=list)
    entities: list[tuple[Loc, Entity]] = field(default_factory=list)
    indicators: list[tuple[Loc, Indicator]] = field(default_factory=list)
    divisions: list[tuple[Loc, Division]] = field(default_factory=list)
    component_classes: list[tuple[Loc, GridMajorClass]] = field(default_factory=list)
    event_classes: list[tuple[Loc, GridMajorClass]] = field(default_factory=list)
    code_lists: list[tuple[Loc, str, CodeList]] = field(default_factory=list)
    null_markers: list[tuple[Loc, NullMarker]] = field(default_factory=list)  # reference/null_markers.yaml
    themes: list = field(default_factory=list)  # [(Loc, citybrain.catalog.themes.Theme)]
    # names/codes of entries that failed field validation: references to them are not reported again
    invalid: set[str] = field(default_factory=set)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Reader:
    """Collects issues while reading files and validating entries."""

    def __init__(self, root: Path):
        self.root = root
        self.issues: list[CatalogIssue] = []

    def issue(self, file: str, entry: str, field_: str, message: str) -> None:
        self.issues.append(CatalogIssue(file, entry, field_, message))

    def read_yaml(self, rel: str, required: bool = True) -> Any:
        path = self.root / rel
        if not path.exists():
            if required:
                self.issue(rel, "file", "", "file is missing (required by catalog/SCHEMA.md)")
            return None
        try:
            with path.open(encoding="utf-8") as fh:
                return yaml.load(fh, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            self.issue(rel, "file", "", f"{line}not valid YAML: {problem}")
            return None
        except UnicodeDecodeError:
            self.issue(rel, "file", "", "not valid UTF-8")
            return None

    def top_list(self, rel: str, data: Any, key: str) -> list:
        if data is None:
            return []
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            self.issue(rel, "file", key, f"expected a top-level mapping with a list under {key!r}")
            return []
        return data[key]

    def validate(self, model: type[M], raw: Any, loc: Loc) -> M | None:
        if not isinstance(raw, dict):
            self.issue(loc.file, loc.entry, "", f"expected a mapping, found {type(raw).__name__}")
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            seen: set[str] = set()
            for err in exc.errors():
                path = _field_path(raw, err["loc"])
                if path in seen:  # union branches repeat the same field: report it once
                    continue
                seen.add(path)
                self.issue(loc.file, loc.entry, path, _message(err))
            return None


def _field_path(raw: Any, loc: tuple) -> str:
    """Render a pydantic error location against the raw YAML: items[id_number].type, not items.3.type."""
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            elem = node[part]
            label = elem.get("name") or elem.get("code") if isinstance(elem, dict) else None
            out += f"[{label if isinstance(label, str) and label else part}]"
            node = elem
        elif isinstance(node, dict) and part in node:
            out += f".{part}" if out else str(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not out.endswith(f".{part}"):
            # a missing key, or a union/discriminator tag (tags are not keys of the raw mapping)
            if part in _TAGS or "[" in part or "-" in part:
                continue
            out += f".{part}" if out else str(part)
            node = None
        else:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
            node = None
    return out


_TAGS = {"database", "file", "catalog", "str", "list", "float", "int", "date", "datetime", "bool", "none"}


def _message(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not in catalog/SCHEMA.md)"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{err.get('input')!r} is not allowed (expected {expected})"
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def _parse(root: Path) -> tuple[ParsedCatalog, list[CatalogIssue]]:
    rd = _Reader(root)
    parsed = ParsedCatalog(root=root)

    def entries(rel: str, key: str, model: type[M], label: str, out: list, name_key: str = "code") -> None:
        for i, raw in enumerate(rd.top_list(rel, rd.read_yaml(rel), key)):
            name = raw.get(name_key) if isinstance(raw, dict) else None
            entry = f"{label} {name}" if isinstance(name, str) and name else f"{key}[{i}]"
            loc = Loc(rel, entry, f"{key}[{i}]")
            obj = rd.validate(model, raw, loc)
            if obj is not None:
                out.append((loc, obj))
            elif isinstance(name, str):
                parsed.invalid.add(name)

    entries("departments.yaml", "departments", Department, "department", parsed.departments)
    entries("libraries.yaml", "libraries", Library, "library", parsed.libraries)
    entries("entities.yaml", "entities", Entity, "entity", parsed.entities, "name")
    entries("indicators.yaml", "indicators", Indicator, "indicator", parsed.indicators)
    entries("reference/divisions.yaml", "divisions", Division, "division", parsed.divisions)

    grid_rel = "reference/grid.yaml"
    grid = rd.read_yaml(grid_rel)
    for key, out in (("component_classes", parsed.component_classes), ("event_classes", parsed.event_classes)):
        label = "component class" if key == "component_classes" else "event class"
        for i, raw in enumerate(rd.top_list(grid_rel, grid, key)):
            name = raw.get("code") if isinstance(raw, dict) else None
            loc = Loc(grid_rel, f"{label} {name}" if isinstance(name, str) else f"{key}[{i}]", f"{key}[{i}]")
            obj = rd.validate(GridMajorClass, raw, loc)
            if obj is not None:
                out.append((loc, obj))

    cl_rel = "reference/code_lists.yaml"
    cl = rd.read_yaml(cl_rel)
    if cl is not None:
        lists = cl.get("code_lists") if isinstance(cl, dict) else None
        if not isinstance(lists, dict):
            rd.issue(cl_rel, "file", "code_lists", "expected a top-level mapping code_lists: {name: {...}}")
        else:
            for name, raw in lists.items():
                loc = Loc(cl_rel, f"code list {name}", f"code_lists.{name}")
                obj = rd.validate(CodeList, raw, loc)
                if obj is not None:
                    parsed.code_lists.append((loc, str(name), obj))

    nm_rel = "reference/null_markers.yaml"  # optional: without it only blank text is null
    for i, raw in enumerate(rd.top_list(nm_rel, rd.read_yaml(nm_rel, required=False), "null_markers")):
        text = raw.get("text") if isinstance(raw, dict) else None
        loc = Loc(nm_rel, f"null marker {text}" if isinstance(text, str) else f"null_markers[{i}]", f"null_markers[{i}]")
        obj = rd.validate(NullMarker, raw, loc)
        if obj is not None:
            parsed.null_markers.append((loc, obj))

    res_dir = root / "resources"
    files = sorted(res_dir.rglob("*.yaml")) if res_dir.is_dir() else []
    if not files:
        rd.issue("resources", "folder", "", "no resource files (expected resources/<library>/<name>.yaml)")
    for path in files:
        rel = path.relative_to(root).as_posix()
        raw = rd.read_yaml(rel)
        if raw is None:
            continue
        name = raw.get("name") if isinstance(raw, dict) else None
        loc = Loc(rel, f"resource {name if isinstance(name, str) and name else path.stem}")
        obj = rd.validate(Resource, raw, loc)
        if obj is not None:
            parsed.resources.append((loc, obj))
        else:
            parsed.invalid.update(str(raw[k]) for k in ("name", "code") if isinstance(raw, dict) and raw.get(k))
    parse_themes(rd, parsed)
    return parsed, rd.issues


def check_null_markers(parsed: ParsedCatalog) -> list[CatalogIssue]:
    """Catalogue markers are unique ignoring case; a resource adds only new markers and removes only listed ones."""
    issues = []
    listed: dict[str, str] = {}
    for loc, marker in parsed.null_markers:
        key = null_marker_key(marker.text)
        if key in listed:
            issues.append(CatalogIssue(loc.file, loc.entry, "text", f"duplicate null marker: {listed[key]!r} is "
                                       "listed already (markers compare ignoring case)"))
        listed.setdefault(key, marker.text)
    for loc, res in parsed.resources:
        override = res.null_markers
        for text in override.add if override else ():
            if null_marker_key(text) in listed:
                issues.append(CatalogIssue(loc.file, loc.entry, "null_markers.add",
                                           f"{text!r} is a catalogue null marker already (reference/null_markers.yaml)"))
        for text in override.remove if override else ():
            if null_marker_key(text) not in listed:
                issues.append(CatalogIssue(loc.file, loc.entry, "null_markers.remove",
                                           f"{text!r} is not a catalogue null marker (reference/null_markers.yaml: "
                                           f"{', '.join(listed.values()) or 'none'})"))
    return issues


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate the catalogue at ``path`` (default: default_catalog_dir()).

    Raises CatalogError listing every problem (file, entry, field, rule) when anything is wrong.
    """
    from citybrain.catalog.rules import check_catalog

    root = Path(path) if path is not None else default_catalog_dir()
    if not root.is_dir():
        raise CatalogError([CatalogIssue(str(root), "folder", "", "catalogue folder does not exist")], str(root))
    parsed, issues = _parse(root)
    issues += check_catalog(parsed)
    issues += check_themes(parsed)
    issues += check_null_markers(parsed)
    if issues:
        raise CatalogError(issues, str(root))
    return Catalog.from_parsed(parsed)


@lru_cache(maxsize=4)
def _cached(root: str) -> Catalog:
    return load_catalog(root)


def get_catalog() -> Catalog:
    """The default catalogue (repo catalog/ or $CITYBRAIN_CATALOG_DIR), loaded once per process."""
    return _cached(str(default_catalog_dir().resolve()))


def clear_cache() -> None:
    """Forget cached catalogues (tests that edit files or change CITYBRAIN_CATALOG_DIR)."""
    _cached.cache_clear()


get_catalog.cache_clear = clear_cache  # type: ignore[attr-defined]

__all__ = ["CATALOG_DIR_ENV", "Loc", "ParsedCatalog", "default_catalog_dir", "get_catalog", "load_catalog",
           "clear_cache"]

"""The validated catalogue: the one object DAGs, jobs, quality suites and open-data metadata read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.catalog.models import (
    Department,
    Division,
    Entity,
    GridMajorClass,
    Indicator,
    Library,
    Resource,
)
from citybrain.catalog.reference import build_code_lists

if TYPE_CHECKING:
    from citybrain.catalog.loader import ParsedCatalog


@dataclass(frozen=True)
class VerificationCopy:
    """A copy of an entity attribute held by another resource, to be compared with the authority."""

    entity: str
    attribute: str
    authority: str  # resource.item
    copy: str  # resource.item
    authority_key_item: str  # the entity key's item name in the authority's resource
    copy_key_item: str  # the entity key's item name in the copy's resource

    @property
    def copy_resource(self) -> str:
        return self.copy.split(".")[0]

    @property
    def copy_item(self) -> str:
        return self.copy.split(".")[1]


class Catalog:
    """Departments, libraries, resources, entities, indicators and reference data, validated.

    Mappings are keyed and ordered as in the files: departments by code, libraries by code,
    resources by name, entities by name, indicators by code.
    """

    def __init__(
        self,
        root: Path,
        departments: dict[str, Department],
        libraries: dict[str, Library],
        resources: dict[str, Resource],
        entities: dict[str, Entity],
        indicators: dict[str, Indicator],
        code_lists: dict[str, dict[str, str]],
        division_list: list[Division],
        component_classes: list[GridMajorClass],
        event_classes: list[GridMajorClass],
        resource_files: dict[str, str],
        themes: dict | None = None,
        null_markers: tuple[str, ...] = (),
    ):
        self.root = root
        self.departments = departments
        self.libraries = libraries
        self.resources = resources
        self.entities = entities
        self.indicators = indicators
        self.code_lists = code_lists
        self.division_list = division_list
        self.component_classes = component_classes
        self.event_classes = event_classes
        self.resource_files = resource_files
        self.themes = themes or {}  # theme name -> citybrain.catalog.themes.Theme (catalog/themes.yaml)
        self.null_markers = null_markers  # texts meaning "no value" (reference/null_markers.yaml)
        self._by_code = {r.code: r for r in resources.values()}

    @classmethod
    def from_parsed(cls, parsed: ParsedCatalog) -> Catalog:
        return cls(
            root=parsed.root,
            departments={d.code: d for _, d in parsed.departments},
            libraries={lib.code: lib for _, lib in parsed.libraries},
            resources={r.name: r for _, r in sorted(parsed.resources, key=lambda lr: _code_key(lr[1].code))},
            entities={e.name: e for _, e in parsed.entities},
            indicators={i.code: i for _, i in parsed.indicators},
            code_lists=build_code_lists(
                [(n, cl) for _, n, cl in parsed.code_lists],
                [d for _, d in parsed.divisions],
                [c for _, c in parsed.component_classes],
                [c for _, c in parsed.event_classes],
            ),
            division_list=[d for _, d in parsed.divisions],
            component_classes=[c for _, c in parsed.component_classes],
            event_classes=[c for _, c in parsed.event_classes],
            resource_files={r.name: loc.file for loc, r in parsed.resources},
            themes={t.name: t for _, t in parsed.themes},
            null_markers=tuple(m.text for _, m in parsed.null_markers),
        )

    # -- resources ---------------------------------------------------------------------------
    def resource(self, name_or_code: str) -> Resource:
        """A resource by logical name (pop_resident) or resource code (101001/0001)."""
        found = self.resources.get(name_or_code) or self._by_code.get(name_or_code)
        if found is None:
            raise KeyError(f"no catalogue resource named or coded {name_or_code!r} (see `citybrain catalog list`)")
        return found

    def has_resource(self, name_or_code: str) -> bool:
        return name_or_code in self.resources or name_or_code in self._by_code

    def resources_by_department(self, code: str) -> list[Resource]:
        """Resources a provider department supplies (one ingestion DAG per department)."""
        if code not in self.departments:
            raise KeyError(f"no department {code!r} in departments.yaml")
        return [r for r in self.resources.values() if r.provider == code]

    def resources_by_library(self, code: str) -> list[Resource]:
        if code not in self.libraries:
            raise KeyError(f"no library {code!r} in libraries.yaml")
        return [r for r in self.resources.values() if r.library == code]

    def department_of(self, resource: str) -> Department:
        return self.departments[self.resource(resource).provider]

    def library_of(self, resource: str) -> Library:
        return self.libraries[self.resource(resource).library]

    def item_ref(self, ref: str):
        """The Item named by 'resource.item'."""
        res, item = ref.split(".", 1)
        return self.resource(res).item(item)

    # -- entities: one datum, one source -------------------------------------------------------
    def authority_map(self) -> dict[str, dict[str, tuple[str, list[str]]]]:
        """entity -> attribute -> (authoritative 'resource.item', ['resource.item' verification copies])."""
        return {
            e.name: {a.name: (_single(a.authority), list(a.copies)) for a in e.attributes}
            for e in self.entities.values()
        }

    def authority_department(self, entity: str, attribute: str) -> Department:
        ref = _single(self.entities[entity].attribute(attribute).authority)
        return self.department_of(ref.split(".")[0])

    def verification_copies(self, resource: str | None = None) -> list[VerificationCopy]:
        """Every verification copy (optionally only those held by ``resource``)."""
        out = []
        for e in self.entities.values():
            for a in e.attributes:
                auth = _single(a.authority)
                for copy in a.copies:
                    vc = VerificationCopy(e.name, a.name, auth, copy, e.key_item(auth.split(".")[0]),
                                          e.key_item(copy.split(".")[0]))
                    if resource is None or vc.copy_resource == resource:
                        out.append(vc)
        return out

    def authoritative_items(self, resource: str) -> dict[str, tuple[str, str]]:
        """item -> (entity, attribute) for the items ``resource`` is the authority of."""
        out = {}
        for e in self.entities.values():
            for a in e.attributes:
                res, item = _single(a.authority).split(".")
                if res == resource:
                    out[item] = (e.name, a.name)
        return out

    # -- reference data ------------------------------------------------------------------------
    def code_list(self, name: str) -> dict[str, str]:
        """code -> label of a code list (code_lists.yaml, or derived: divisions, grid_event_class...)."""
        if name not in self.code_lists:
            raise KeyError(f"no code list {name!r} (see catalog/reference/)")
        return dict(self.code_lists[name])

    def divisions(self, as_of: dt.date | None = None) -> dict[str, Division]:
        """GB/T 2260 divisions by code: all (historical too) when as_of is None, else those valid that day."""
        return {d.code: d for d in self.division_list if as_of is None or d.valid_on(as_of)}

    def current_division(self, code: str, as_of: dt.date | None = None) -> str:
        """Follow replaced_by from a historical code to the code valid on ``as_of`` (default today)."""
        day = as_of or dt.date.today()
        by_code = {d.code: d for d in self.division_list}
        seen = set()
        while code in by_code and not by_code[code].valid_on(day) and by_code[code].replaced_by:
            if code in seen:
                break
            seen.add(code)
            code = by_code[code].replaced_by
        return code

    def grid_time_limits(self) -> dict[str, float]:
        """Grid event minor class -> disposal time limit in hours."""
        return {m.code: m.time_limit_hours for c in self.event_classes for m in c.minor if m.time_limit_hours}

    # -- summaries -----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """The numbers `citybrain catalog validate` prints."""
        attrs = [a for e in self.entities.values() for a in e.attributes]
        return {
            "departments": len(self.departments),
            "libraries": len(self.libraries),
            "resources": len(self.resources),
            "items": sum(len(r.items) for r in self.resources.values()),
            "entities": len(self.entities),
            "entity_attributes": len(attrs),
            "verification_copies": sum(len(a.copies) for a in attrs),
            "indicators": len(self.indicators),
            "code_lists": len(self.code_lists),
        }

    def catalog_rows(self) -> list[dict]:
        """Rows of meta_catalog_resource (source kind `catalog`): one per catalogue resource."""
        return [
            {
                "code": r.code, "name": r.name, "title_zh": r.title_zh, "library": r.library,
                "provider": r.provider, "share_type": r.share.type, "open_type": r.open.type,
                "update_cycle": r.update_cycle, "published": r.published, "item_count": len(r.items),
            }
            for r in self.resources.values()
        ]

    def __repr__(self) -> str:
        c = self.counts()
        return f"Catalog({self.root}, {c['resources']} resources, {c['indicators']} indicators)"


def _code_key(code: str) -> tuple[int, int]:
    classification, sequence = code.split("/")
    return int(classification), int(sequence)


def _single(authority) -> str:
    # validated catalogues hold exactly one authority per attribute
    return authority[0] if isinstance(authority, list) else authority

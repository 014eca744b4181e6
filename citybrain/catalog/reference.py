"""Code lists derived from reference data (divisions, grid classes) next to those in code_lists.yaml."""

from __future__ import annotations

from collections.abc import Iterable

from citybrain.catalog.models import CodeList, Division, GridMajorClass

# Names of code lists built from divisions.yaml and grid.yaml; code_lists.yaml must not reuse them.
DERIVED_LISTS = ("divisions", "grid_component_major", "grid_component_class", "grid_event_major",
                 "grid_event_class")


def build_code_lists(
    code_lists: Iterable[tuple[str, CodeList]],
    divisions: Iterable[Division],
    component_classes: Iterable[GridMajorClass],
    event_classes: Iterable[GridMajorClass],
) -> dict[str, dict[str, str]]:
    """Every code list an item may name: code -> Chinese label."""
    component_classes, event_classes = list(component_classes), list(event_classes)
    out: dict[str, dict[str, str]] = {
        "divisions": {d.code: d.name_zh for d in divisions},
        "grid_component_major": {c.code: c.name_zh for c in component_classes},
        "grid_component_class": {m.code: m.name_zh for c in component_classes for m in c.minor},
        "grid_event_major": {c.code: c.name_zh for c in event_classes},
        "grid_event_class": {m.code: m.name_zh for c in event_classes for m in c.minor},
    }
    for name, cl in code_lists:
        out.setdefault(name, dict(cl.codes))
    return out

"""Cross-entry rules of the catalogue (STANDARDS section 1, one datum one source, open-data safety).

Each check_* function returns every problem it finds as CatalogIssue; none stops at the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from citybrain.catalog.errors import CatalogIssue
from citybrain.catalog.fields import DROP_PATTERN_RE
from citybrain.catalog.models import Indicator, IndicatorTerm, Item, Resource
from citybrain.catalog.reference import DERIVED_LISTS, build_code_lists

if TYPE_CHECKING:
    from citybrain.catalog.loader import Loc, ParsedCatalog

# Type families whose values can be compared between an authority and its verification copies.
TYPE_FAMILY = {"C": "text", "M": "text", "N": "number", "Y": "number", "I": "number", "F": "number",
               "B": "number", "D": "datetime", "T": "datetime", "L": "boolean", "G": "binary"}
NUMERIC = {"N", "Y", "I", "F", "B"}
KIND_CLASS_DIGIT = {"base": "1", "thematic": "2", "departmental": "3"}
DIRECT_ID_METHODS = {"drop", "hash", "mask"}
SQL_WORDS = {
    "and", "or", "not", "in", "is", "null", "true", "false", "like", "ilike", "between", "case", "when",
    "then", "else", "end", "as", "date", "timestamp", "interval", "distinct", "day", "days", "hour", "hours",
    "month", "year",
}
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def is_valid_credit_code(value: str) -> bool:
    """GB 32100 check character (STANDARDS section 2)."""
    if len(value) != 18 or any(c not in _CREDIT_ALPHABET for c in value):
        return False
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(value[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31] == value[17]


def _issue(loc: Loc, field: str, message: str) -> CatalogIssue:
    return CatalogIssue(loc.file, loc.entry, field, message)


def _duplicates(entries: Iterable[tuple[Loc, str]], what: str, field: str) -> list[CatalogIssue]:
    first: dict[str, Loc] = {}
    out = []
    for loc, value in entries:
        if value in first:
            out.append(_issue(loc, field, f"duplicate {what} {value!r} (first defined at {first[value].where})"))
        else:
            first[value] = loc
    return out


def check_catalog(p: ParsedCatalog) -> list[CatalogIssue]:
    """Every cross-entry rule over a parsed catalogue."""
    code_lists = build_code_lists(
        [(n, cl) for _, n, cl in p.code_lists], [d for _, d in p.divisions],
        [c for _, c in p.component_classes], [c for _, c in p.event_classes],
    )
    resources = {r.name: r for _, r in p.resources}
    issues: list[CatalogIssue] = []
    issues += check_departments(p)
    issues += check_libraries(p)
    issues += check_reference(p)
    issues += check_resources(p, code_lists)
    issues += check_entities(p, resources)
    issues += check_indicators(p, resources)
    # an entry that failed field validation is reported once; drop follow-on "unknown ..." errors about it
    return [i for i in issues if not _about_invalid(i, p.invalid)]


def _about_invalid(issue: CatalogIssue, invalid: set[str]) -> bool:
    m = re.match(r"^unknown (?:resource|department|library|related resource code) '([^']+)'", issue.message)
    return bool(m and m.group(1) in invalid)


# ---------------------------------------------------------------------------------- providers
def check_departments(p: ParsedCatalog) -> list[CatalogIssue]:
    out = _duplicates(((loc, d.code) for loc, d in p.departments), "department code", "code")
    for loc, d in p.departments:
        if not is_valid_credit_code(d.org_code):
            out.append(_issue(loc, "org_code", f"{d.org_code!r} is not a valid unified social credit code "
                                               "(GB 32100 check character)"))
    return out


def check_libraries(p: ParsedCatalog) -> list[CatalogIssue]:
    out = _duplicates(((loc, lib.code) for loc, lib in p.libraries), "library code", "code")
    out += _duplicates(((loc, lib.class_code) for loc, lib in p.libraries), "library class_code", "class_code")
    for loc, lib in p.libraries:
        if lib.class_code[0] != KIND_CLASS_DIGIT[lib.kind]:
            out.append(_issue(loc, "class_code", f"class_code {lib.class_code!r} does not match kind {lib.kind} "
                                                 "(base 1xx, thematic 2xx, departmental 3xx)"))
    return out


# ---------------------------------------------------------------------------------- reference data
def check_reference(p: ParsedCatalog) -> list[CatalogIssue]:
    out = _duplicates(((loc, d.code) for loc, d in p.divisions), "division code", "code")
    codes = {d.code for _, d in p.divisions}
    for loc, d in p.divisions:
        if d.parent and d.parent not in codes:
            out.append(_issue(loc, "parent", f"unknown parent division {d.parent!r}"))
        if d.replaced_by and d.replaced_by not in codes:
            out.append(_issue(loc, "replaced_by", f"unknown division {d.replaced_by!r}"))
        if d.valid_to and d.valid_to <= d.valid_from:
            out.append(_issue(loc, "valid_to", f"valid_to {d.valid_to} is not after valid_from {d.valid_from}"))
    for classes, what in ((p.component_classes, "component class"), (p.event_classes, "event class")):
        out += _duplicates(((loc, c.code) for loc, c in classes), f"{what} code", "code")
        out += _duplicates(((loc, m.code) for loc, c in classes for m in c.minor), f"{what} code", "minor")
        for loc, c in classes:
            for m in c.minor:
                if not m.code.startswith(c.code):
                    out.append(_issue(loc, f"minor[{m.code}]", f"minor class {m.code!r} must start with {c.code!r}"))
    for loc, c in p.event_classes:
        for m in c.minor:
            if m.time_limit_hours is None:
                out.append(_issue(loc, f"minor[{m.code}].time_limit_hours", "every event class needs a time limit"))
    for loc, name, _ in p.code_lists:
        if name in DERIVED_LISTS:
            out.append(_issue(loc, "", f"code list name {name!r} is reserved (derived from reference/ data)"))
    return out


# ---------------------------------------------------------------------------------- resources
def check_resources(p: ParsedCatalog, code_lists: dict[str, dict[str, str]]) -> list[CatalogIssue]:
    out = _duplicates(((loc, r.code) for loc, r in p.resources), "resource code", "code")
    out += _duplicates(((loc, r.name) for loc, r in p.resources), "resource name", "name")
    departments = {d.code for _, d in p.departments}
    libraries = {lib.code: lib for _, lib in p.libraries}
    resources = {r.name: r for _, r in p.resources}
    codes = {r.code for _, r in p.resources}
    for loc, r in p.resources:
        out += _check_resource(loc, r, departments, libraries, resources, codes, code_lists)
    return out


def _check_resource(loc, r: Resource, departments, libraries, resources, codes, code_lists) -> list[CatalogIssue]:
    out: list[CatalogIssue] = []
    add = out.append
    expected_file = f"resources/{r.library}/{r.name}.yaml"
    if loc.file != expected_file:
        add(_issue(loc, "name", f"file must be {expected_file} (resources/<library>/<name>.yaml)"))
    if r.provider not in departments:
        add(_issue(loc, "provider", f"unknown department {r.provider!r} (not in departments.yaml)"))
    lib = libraries.get(r.library)
    if lib is None:
        add(_issue(loc, "library", f"unknown library {r.library!r} (not in libraries.yaml)"))
    elif not r.code.startswith(lib.class_code):
        add(_issue(loc, "code", f"resource code {r.code!r} must start with class_code {lib.class_code!r} "
                                f"of library {lib.code!r}"))
    for code in r.related:
        if code not in codes:
            add(_issue(loc, "related", f"unknown related resource code {code!r}"))

    names = [it.name for it in r.items]
    items = {it.name: it for it in r.items}
    seen: set[str] = set()
    for n in names:
        if n in seen:
            add(_issue(loc, f"items[{n}]", f"duplicate item name {n!r}"))
        seen.add(n)
    for it in r.items:
        out += _check_item(loc, it, resources, code_lists)

    for key in r.primary_key:
        if key not in items:
            add(_issue(loc, "primary_key", f"primary key item {key!r} is not an item of the resource"))
    for field in ("incremental_key", "event_time"):
        value = getattr(r, field)
        if value is None:
            continue
        if value not in items:
            add(_issue(loc, field, f"{field} {value!r} is not an item of the resource"))
        elif field == "event_time" and items[value].type not in ("D", "T"):
            add(_issue(loc, field, f"event_time {value!r} must be a D or T item, found type {items[value].type}"))
    if r.kind in ("event", "reading") and r.event_time is None:
        add(_issue(loc, "event_time", f"kind {r.kind} requires event_time (the D or T item that partitions silver)"))
    if r.source.kind == "database":
        if r.incremental_key is None:
            add(_issue(loc, "incremental_key", "a database source requires incremental_key (usually updated_at)"))
        if bool(r.source.table) == bool(r.source.query):
            add(_issue(loc, "source", "a database source needs exactly one of table or query"))
    elif r.source.kind == "file":
        drop = DROP_PATTERN_RE.match(r.source.pattern)
        if drop["folder"] != r.provider.lower():
            add(_issue(loc, "source.pattern", f"file pattern {r.source.pattern!r} must lie in the provider's folder "
                                              f"{r.provider.lower()}/ (files/<provider lower>/<stem>_*.<ext>)"))
        if drop["ext"] != r.source.format:
            add(_issue(loc, "source.pattern", f"file pattern {r.source.pattern!r} must end in .{r.source.format} "
                                              f"(source.format {r.source.format})"))

    if r.share.type == "有条件共享" and not r.share.condition:
        add(_issue(loc, "share.condition", "share.type 有条件共享 requires share.condition (共享条件)"))
    if r.share.type == "不予共享" and not r.share.legal_basis:
        add(_issue(loc, "share.legal_basis", "share.type 不予共享 requires share.legal_basis (法律法规依据)"))
    if r.open.type == "有条件开放" and not r.open.condition:
        add(_issue(loc, "open.condition", "open.type 有条件开放 requires open.condition (开放条件)"))
    if lib is not None and lib.kind == "base" and r.share.type != "无条件共享":
        add(_issue(loc, "share.type", f"resources of base library {lib.code!r} must be 无条件共享 "
                                      f"(base-library basic items are shared unconditionally), found {r.share.type}"))

    rules = r.deidentify or {}
    for key, method in rules.items():
        if key not in items:
            add(_issue(loc, f"deidentify.{key}", f"{key!r} is not an item of the resource"))
        elif items[key].pii == "direct" and method not in DIRECT_ID_METHODS:
            add(_issue(loc, f"deidentify.{key}", f"direct identifier {key!r} needs drop, hash or mask, not {method!r}"))
    if r.open.type != "不予开放":
        missing = [n for n in r.direct_identifiers if n not in rules]
        if missing:
            add(_issue(loc, "deidentify", f"open.type {r.open.type} but direct identifiers have no de-identification "
                                          f"rule: {', '.join(missing)} (add drop, hash or mask for each)"))
    return out


def _check_item(loc, it: Item, resources, code_lists) -> list[CatalogIssue]:
    out = []
    f = f"items[{it.name}]"
    if it.type == "C" and it.length is None:
        out.append(_issue(loc, f"{f}.length", "type C requires length"))
    if it.type in ("N", "Y") and it.scale is not None and it.length is not None and it.scale > it.length:
        out.append(_issue(loc, f"{f}.scale", f"scale {it.scale} exceeds length {it.length}"))
    if it.format and it.type not in ("C", "M"):
        out.append(_issue(loc, f"{f}.format", f"format {it.format} applies to C items, not type {it.type}"))
    if it.code_list and it.code_list not in code_lists:
        out.append(_issue(loc, f"{f}.code_list", f"unknown code list {it.code_list!r} (not in reference/)"))
    if it.range and it.range.min is not None and it.range.max is not None:
        try:
            if it.range.min > it.range.max:
                out.append(_issue(loc, f"{f}.range", f"range min {it.range.min} is greater than max {it.range.max}"))
        except TypeError:
            out.append(_issue(loc, f"{f}.range", "range min and max are of different kinds"))
    if it.references:
        res, item = it.references.split(".")
        if res not in resources:
            out.append(_issue(loc, f"{f}.references", f"unknown resource {res!r}"))
        elif not resources[res].has_item(item):
            out.append(_issue(loc, f"{f}.references", f"resource {res!r} has no item {item!r}"))
    return out


# ---------------------------------------------------------------------------------- entities
def _resolve(ref: str, resources: dict[str, Resource]) -> tuple[Item | None, str | None]:
    if not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", ref):
        return None, f"{ref!r} is not of the form resource.item"
    res, item = ref.split(".")
    if res not in resources:
        return None, f"unknown resource {res!r}"
    if not resources[res].has_item(item):
        return None, f"resource {res!r} has no item {item!r}"
    return resources[res].item(item), None


def check_entities(p: ParsedCatalog, resources: dict[str, Resource]) -> list[CatalogIssue]:
    out = _duplicates(((loc, e.name) for loc, e in p.entities), "entity name", "name")
    for loc, e in p.entities:
        counts: dict[str, int] = {}
        for a in e.attributes:
            counts[a.name] = counts.get(a.name, 0) + 1
        for key_res in e.key_items:
            if key_res not in resources:
                out.append(_issue(loc, f"key_items.{key_res}", f"unknown resource {key_res!r}"))
        for a in e.attributes:
            aloc = type(loc)(loc.file, f"entity {e.name}, attribute {a.name}", loc.pos)
            if counts[a.name] > 1:
                out.append(_issue(aloc, "", f"attribute {a.name!r} is defined {counts[a.name]} times in entity "
                                            f"{e.name!r}; give it one entry with exactly one authority"))
            auth = a.authority if isinstance(a.authority, list) else ([a.authority] if a.authority else [])
            if not auth:
                out.append(_issue(aloc, "authority", "no authoritative source (一数一源: exactly one resource.item "
                                                     "is required)"))
                continue
            if len(auth) > 1:
                out.append(_issue(aloc, "authority", f"{len(auth)} authoritative sources ({', '.join(auth)}); exactly "
                                                     "one is allowed (一数一源), list the others under copies"))
                continue
            auth_item, problem = _resolve(auth[0], resources)
            if problem:
                out.append(_issue(aloc, "authority", problem))
            else:
                out += _check_key(aloc, "authority", e, auth[0], resources)
            for copy in a.copies:
                cfield = f"copies[{copy}]"
                if copy == auth[0]:
                    out.append(_issue(aloc, cfield, f"{copy} is the authority itself, not a verification copy"))
                    continue
                copy_item, problem = _resolve(copy, resources)
                if problem:
                    out.append(_issue(aloc, cfield, problem))
                    continue
                out += _check_key(aloc, cfield, e, copy, resources)
                if auth_item is None:
                    continue
                if TYPE_FAMILY[copy_item.type] != TYPE_FAMILY[auth_item.type]:
                    out.append(_issue(aloc, cfield, f"verification copy {copy} (type {copy_item.type}) cannot be "
                                                    f"compared with authority {auth[0]} (type {auth_item.type})"))
                elif copy_item.code_list and auth_item.code_list and copy_item.code_list != auth_item.code_list:
                    out.append(_issue(aloc, cfield, f"verification copy {copy} uses code list {copy_item.code_list!r} "
                                                    f"but authority {auth[0]} uses {auth_item.code_list!r}"))
    return out


def _check_key(loc, field: str, e, ref: str, resources: dict[str, Resource]) -> list[CatalogIssue]:
    res = ref.split(".")[0]
    key = e.key_item(res)
    if resources[res].has_item(key):
        return []
    return [_issue(loc, field, f"resource {res!r} does not hold the entity key {key!r} "
                               f"(add the item or map it under key_items)")]


# ---------------------------------------------------------------------------------- indicators
def filter_identifiers(expr: str) -> list[str]:
    """Bare identifiers of a SQL boolean expression (string literals, keywords and function names removed)."""
    text = re.sub(r"'(?:[^']|'')*'", " ", expr)
    out = []
    for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\b(\s*\()?", text):
        word = m.group(1)
        if m.group(2) or word.lower() in SQL_WORDS or text[max(m.start() - 1, 0)].isdigit():
            continue
        if word not in out:
            out.append(word)
    return out


def check_indicators(p: ParsedCatalog, resources: dict[str, Resource]) -> list[CatalogIssue]:
    out = _duplicates(((loc, i.code) for loc, i in p.indicators), "indicator code", "code")
    for loc, ind in p.indicators:
        out += _check_indicator(loc, ind, resources)
    return out


def _terms(term: IndicatorTerm, path: str) -> list[tuple[str, IndicatorTerm]]:
    out = [(path, term)]
    for i, extra in enumerate(term.plus):
        out += _terms(extra, f"{path}.plus[{i}]")
    return out


def _check_indicator(loc, ind: Indicator, resources: dict[str, Resource]) -> list[CatalogIssue]:
    out = []
    terms = _terms(ind.numerator, "numerator") + _terms(ind.denominator, "denominator")
    used = set()
    for path, t in terms:
        r = resources.get(t.resource)
        if r is None:
            out.append(_issue(loc, f"{path}.resource", f"unknown resource {t.resource!r}"))
            continue
        used.add(t.resource)
        kind, item = t.measure_kind, t.measure_item
        if kind not in ("count", "count_distinct", "sum") or (kind == "count") != (item is None):
            out.append(_issue(loc, f"{path}.measure", f"measure {t.measure!r} must be count, count_distinct:<item> "
                                                      "or sum:<item>"))
        elif item is not None and not r.has_item(item):
            out.append(_issue(loc, f"{path}.measure", f"resource {t.resource!r} has no item {item!r}"))
        elif kind == "sum" and r.item(item).type not in NUMERIC:
            out.append(_issue(loc, f"{path}.measure", f"sum needs a numeric item; {item!r} is type {r.item(item).type}"))
        for expr_field in ("filter", "having"):
            expr = getattr(t, expr_field)
            if not expr:
                continue
            for word in filter_identifiers(expr):
                if not r.has_item(word):
                    out.append(_issue(loc, f"{path}.{expr_field}", f"unknown item {word!r} of resource {t.resource!r}"))
        if t.having and kind != "count_distinct":
            out.append(_issue(loc, f"{path}.having", "having needs measure count_distinct:<item>"))
    for mapping_field in ("district_item", "period_item"):
        for res, item in getattr(ind, mapping_field).items():
            f = f"{mapping_field}.{res}"
            if res not in resources:
                out.append(_issue(loc, f, f"unknown resource {res!r}"))
            elif res not in used:
                out.append(_issue(loc, f, f"resource {res!r} is not used by the numerator or denominator"))
            elif not resources[res].has_item(item):
                out.append(_issue(loc, f, f"resource {res!r} has no item {item!r}"))
            elif mapping_field == "period_item" and resources[res].item(item).type not in ("D", "T"):
                out.append(_issue(loc, f, f"period item {res}.{item} must be a D or T item"))
    if any(g.startswith("district_") for g in ind.grain):
        for res in sorted(used - set(ind.district_item)):
            out.append(_issue(loc, "district_item", f"district grain needs district_item for resource {res!r}"))
    return out

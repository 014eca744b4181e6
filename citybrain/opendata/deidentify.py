"""De-identification of one resource's rows for publishing (STANDARDS section 7, GB/T 37964-2019).

Direct identifiers are dropped unless the catalogue's `deidentify` says `hash` (HMAC-SHA256 with the data
centre's key) or `mask` (张*, 138****5678, 110105********002X); quasi-identifiers are generalised as the catalogue
says (`year`, `band5`, `district`, `street`); sensitive items are dropped from public releases. A unified social credit code of an individual business
(`92...`, 个体工商户) identifies a natural person: in any credit-code item it is replaced by its keyed hash row
by row, while legal persons' codes stay (STANDARDS section 7 lists the sole-trader credit code as direct).
Phone items not declared direct (an organisation's contact number) are masked too: in the departments'
data they are often a person's mobile.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.catalog import Item, Resource

STREET_RE = re.compile(r"^(.*?(?:街道|镇|乡|社区))")
SOLE_TRADER_PREFIX = "92"


def keyed_hash(value: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 of the value (hex): stable linkage without the identifier."""
    if value is None:
        return None
    return hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()


def mask_name(value: str | None) -> str | None:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the first character only."""
    if not value:
        return value
    return value[0] + "*" * max(1, len(value) - 1)


def mask_phone(value: str | None) -> str | None:
    """13812345678 -> 138****5678 (any length: the first 3 and last 4 kept)."""
    if not value:
        return value
    digits = str(value)
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id(value: str | None) -> str | None:
    """110105194912310021 -> 110105********0021 (address code and the last 4 kept)."""
    if not value:
        return value
    text = str(value)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def hash_sole_trader(value: str | None, key: bytes) -> str | None:
    """A sole trader's credit code -> its keyed hash; any other code unchanged."""
    if value is not None and str(value).upper().startswith(SOLE_TRADER_PREFIX):
        return keyed_hash(str(value).upper(), key)
    return value


def mask(item: Item, value):
    if item.format == "id_number":
        return mask_id(value)
    if item.format == "phone":
        return mask_phone(value)
    return mask_name(value)


def generalise_street(value: str | None) -> str | None:
    """An address line cut after its street/town/community; a 9+-digit code cut to the 9-digit street."""
    if value is None:
        return None
    text = str(value)
    if text.isdigit() and len(text) >= 9:
        return text[:9]
    match = STREET_RE.match(text)
    return match.group(1) if match else None


def generalised_name(item: str, rule: str) -> str:
    """The published column of a generalised item: birth_date -> birth_year, age -> age_band5."""
    if rule == "year":
        return item.removesuffix("_date") + "_year"
    if rule == "band5":
        return item.removesuffix("_date") + "_band5"
    return item


def _year(value):
    if value is None:
        return None
    return value.year if hasattr(value, "year") else int(str(value)[:4])


def _band5(value):
    year = _year(value)
    if year is None:
        return None
    start = year - year % 5
    return f"{start}-{start + 4}"


def _district(value):
    return None if value is None else str(value)[:6]


RULES = {"year": _year, "band5": _band5, "district": _district, "street": generalise_street}


DATE_TYPES = ("D", "T")
QUASI_DATE_RULE = "year"


def column_plan(resource: Resource, *, restricted: bool) -> dict[str, tuple[str, str]]:
    """item -> (published column, rule) for every item published; items absent are withheld.

    rule is one of keep, hash, mask, year, band5, district, street. Direct identifiers without a rule are
    dropped; sensitive items are dropped from public releases (kept in restricted ones). A quasi date or time
    item (a birth date, or a date equal to or derived from it, such as a birth registration date) is never
    published at full precision: without a catalogue rule it is published as its year (QUASI_DATE_RULE)."""
    rules = resource.deidentify or {}
    plan: dict[str, tuple[str, str]] = {}
    for item in resource.items:
        rule = rules.get(item.name)
        if rule == "drop":
            continue
        if rule is None:
            if item.pii == "direct" or (item.pii == "sensitive" and not restricted):
                continue
            rule = QUASI_DATE_RULE if item.pii == "quasi" and item.type in DATE_TYPES else "keep"
        plan[item.name] = (generalised_name(item.name, rule), rule)
    return plan


def deidentify(table: pa.Table, resource: Resource, key: bytes, *, restricted: bool) -> pa.Table:
    """The published columns of ``table`` (catalogue items only, lineage and SCD2 columns left out)."""
    import pyarrow as pa

    columns, names = [], []
    for item_name, (out_name, rule) in column_plan(resource, restricted=restricted).items():
        if item_name not in table.column_names:
            continue
        col = table.column(item_name)
        item = resource.item(item_name)
        if rule == "keep" and item.format == "credit_code":
            columns.append(pa.array([hash_sole_trader(v, key) for v in col.to_pylist()], type=pa.string()))
        elif rule == "keep" and item.format == "phone":
            columns.append(pa.array([mask_phone(v) for v in col.to_pylist()], type=pa.string()))
        elif rule == "keep":
            columns.append(col)
        else:
            values = col.to_pylist()
            if rule == "hash":
                out = [keyed_hash(v, key) for v in values]
            elif rule == "mask":
                out = [mask(item, v) for v in values]
            else:
                out = [RULES[rule](v) for v in values]
            columns.append(pa.array(out, type=pa.int32() if rule == "year" else pa.string()))
        names.append(out_name)
    return pa.table(columns, names=names)

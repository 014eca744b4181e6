"""Turn one dataset's passed input rows into the published table: de-identified microdata where
k-anonymity holds, otherwise counts by the quasi-identifiers with small cells suppressed; indicators with
small denominators of person-level data suppressed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, ClassVar

from citybrain.opendata.datasets import PUBLIC, Dataset
from citybrain.opendata.deidentify import column_plan, deidentify
from citybrain.opendata.privacy import (
    DEFAULT_K,
    DEFAULT_THRESHOLD,
    RESTRICTED_K,
    KAnonymity,
    count_by,
    k_anonymity,
    linkage,
    suppress_small_cells,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.catalog import Catalog


class PolicyBelowFloor(ValueError):
    """Privacy parameters below the policy's floor; ``below`` maps each parameter to (value, floor)."""

    def __init__(self, below: dict[str, tuple[int, int]]):
        self.below = below
        super().__init__("privacy parameters below the policy's floor (STANDARDS section 7): " + "; ".join(
            f"{name}={value} < {floor} ({PrivacyPolicy.MEANING[name]})" for name, (value, floor) in below.items()))


@dataclass(frozen=True)
class PrivacyPolicy:
    """k-anonymity of public and restricted microdata and the small-cell threshold of counts and indicators.

    FLOORS (STANDARDS section 7, GB/T 37964) are the least each may be: a stricter value is allowed, a weaker
    one raises PolicyBelowFloor, whoever asks (CLI, DAG, tests). The defaults are the floors."""

    k_public: int = DEFAULT_K
    k_restricted: int = RESTRICTED_K
    small_cell_threshold: int = DEFAULT_THRESHOLD

    FLOORS: ClassVar[dict[str, int]] = {"k_public": DEFAULT_K, "k_restricted": RESTRICTED_K,
                                        "small_cell_threshold": DEFAULT_THRESHOLD}
    MEANING: ClassVar[dict[str, str]] = {
        "k_public": "k-anonymity of 无条件开放 microdata",
        "k_restricted": "k-anonymity of 有条件开放 microdata",
        "small_cell_threshold": "smallest published count of a cell",
    }

    def __post_init__(self):
        below = {f.name: (getattr(self, f.name), self.FLOORS[f.name]) for f in fields(self)
                 if getattr(self, f.name) < self.FLOORS[f.name]}
        if below:
            raise PolicyBelowFloor(below)

    def k_for(self, access: str) -> int:
        return self.k_public if access == PUBLIC else self.k_restricted


@dataclass
class Built:
    """A dataset's published rows and how they were made."""

    table: pa.Table
    form: str  # microdata | aggregate | indicators
    notes: list[str] = field(default_factory=list)


def quasi_identifiers(ds: Dataset) -> list[str]:
    """Published columns the k-anonymity check runs on: the catalogue's k_anonymity list, then every other
    published quasi item (`pii: quasi`, under its published name): no published quasi item is left out."""
    res = ds.resource
    plan = column_plan(res, restricted=ds.access != PUBLIC)
    out = list(res.k_anonymity or [])
    return out + [plan[q][0] for q in res.quasi_identifiers if q in plan and plan[q][0] not in out]


def count_keys(ds: Dataset) -> list[str]:
    """What a dataset that fails k-anonymity is counted by: the catalogue's k_anonymity columns (the dimensions
    it is studied by), else every published quasi item. Counts disclose nobody once small cells are suppressed,
    so they need not carry every quasi item (counting by all of them would suppress nearly every cell)."""
    return list(ds.resource.k_anonymity or []) or quasi_identifiers(ds)


class LinkageRisk(Exception):
    """Published microdata joins another published dataset on shared items into classes below k."""


def _plan(ds: Dataset) -> dict[str, tuple[str, str]]:
    return {} if ds.resource is None else column_plan(ds.resource, restricted=ds.access != PUBLIC)


def _quasi_columns(ds: Dataset) -> set[str]:
    plan = _plan(ds)
    return set() if ds.resource is None else {plan[q][0] for q in ds.resource.quasi_identifiers if q in plan}


def _references(ds: Dataset, other: Dataset) -> list[tuple[str, str]]:
    """(ds column, other column) for each catalogue reference from ds's items to other's (both published)."""
    mine, theirs = _plan(ds), _plan(other)
    out = []
    for item in ds.resource.items if ds.resource is not None and other.resource is not None else ():
        target, _, ref = (item.references or "").partition(".")
        if target == other.resource.name and item.name in mine and ref in theirs:
            out.append((mine[item.name][0], theirs[ref][0]))
    return out


def linkable_items(ds: Dataset, columns: list[str], other: Dataset, other_columns: list[str]
                   ) -> list[tuple[str, str]]:
    """(column, other column) pairs on which published ``ds`` joins published ``other``: a column both publish
    under one name where either catalogue declares it quasi, and every catalogue reference between the two
    (pop_resident.address_code -> geo_address.address_code), either way."""
    quasi = _quasi_columns(ds) | _quasi_columns(other)
    pairs = [(c, c) for c in columns if c in other_columns and c in quasi]
    pairs += [p for p in _references(ds, other) + [(a, b) for b, a in _references(other, ds)] if p not in pairs]
    return [(a, b) for a, b in pairs if a in columns and b in other_columns]


def linkage_checks(published: list[tuple[Dataset, Built]], policy: PrivacyPolicy
                   ) -> list[tuple[Dataset, Dataset, KAnonymity]]:
    """Every join of a microdata dataset holding quasi items with every other published dataset, on each shared
    item alone and on all of them together, against the microdata's k (STANDARDS section 7)."""
    out = []
    for ds, built in published:
        if built.form != "microdata" or not _quasi_columns(ds):
            continue
        for other, other_built in published:
            if other is ds:
                continue
            pairs = linkable_items(ds, built.table.column_names, other, other_built.table.column_names)
            for keys in [[p] for p in pairs] + ([pairs] if len(pairs) > 1 else []):
                out.append((ds, other, linkage(built.table, other_built.table, keys, policy.k_for(ds.access))))
    return out


def check_linkage(published: list[tuple[Dataset, Built]], policy: PrivacyPolicy) -> int:
    """LinkageRisk naming every join that isolates fewer than k rows; else the number of joins checked."""
    checks = linkage_checks(published, policy)
    bad = [f"{ds.access}/{ds.name} joined to {other.access}/{other.name}: {check.describe()}"
           for ds, other, check in checks if not check.holds]
    if bad:
        raise LinkageRisk("published microdata links to other published data (withhold or generalise the "
                          "shared items in the catalogue's deidentify):\n  " + "\n  ".join(bad))
    return len(checks)


def build_resource(ds: Dataset, rows: pa.Table, key: bytes, policy: PrivacyPolicy) -> Built:
    table = deidentify(rows, ds.resource, key, restricted=ds.access != PUBLIC)
    qis = quasi_identifiers(ds)
    if not qis:
        return Built(table, "microdata")
    check = k_anonymity(table, qis, policy.k_for(ds.access))
    if check.holds:
        return Built(table, "microdata", [check.describe() + ": microdata published"])
    keys = count_keys(ds)
    counts = count_by(table, keys, policy.small_cell_threshold)
    return Built(counts, "aggregate", [check.describe() + f": published as counts by ({', '.join(keys)}) "
                                       f"with cells below {policy.small_cell_threshold} suppressed"])


def person_level_indicators(catalog: Catalog) -> set[str]:
    """Indicators reading a resource that holds direct or quasi identifiers: their small cells disclose people."""
    out = set()
    for ind in catalog.indicators.values():
        for name in ind.resources:
            if catalog.has_resource(name) and (catalog.resource(name).direct_identifiers
                                               or catalog.resource(name).quasi_identifiers):
                out.add(ind.code)
    return out


def build_indicators(ds: Dataset, rows: pa.Table, catalog: Catalog, policy: PrivacyPolicy) -> Built:
    """The dataset's indicator rows; person-level indicators with 0 < denominator < threshold suppressed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = rows.filter(pc.is_in(rows.column("indicator_code"), pa.array(list(ds.indicator_codes))))
    table = table.drop_columns([c for c in ("source_versions",) if c in table.column_names])
    person = pc.is_in(table.column("indicator_code"), pa.array(sorted(person_level_indicators(catalog))))
    base = pc.if_else(person, table.column("denominator"), pa.scalar(None, pa.float64()))
    table = table.append_column("_cell", base)
    out = suppress_small_cells(table, "_cell", policy.small_cell_threshold, ["numerator", "denominator", "value"])
    suppressed = out.column("suppressed")
    reason = pc.if_else(suppressed, pa.scalar(f"suppressed: fewer than {policy.small_cell_threshold} cases"),
                        out.column("reason"))
    out = out.set_column(out.column_names.index("reason"), "reason", reason)
    out = out.set_column(out.column_names.index("status"), "status",
                         pc.if_else(suppressed, pa.scalar("none"), out.column("status")))
    n = pc.sum(suppressed).as_py() or 0
    return Built(out.drop_columns(["_cell"]), "indicators",
                 [f"{n} cells of person-level indicators suppressed (denominator below "
                  f"{policy.small_cell_threshold})"])

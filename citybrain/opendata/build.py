"""Turn one dataset's passed input rows into the published table: de-identified microdata where
k-anonymity holds, otherwise counts by the quasi-identifiers with small cells suppressed; indicators with
small denominators of person-level data suppressed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from citybrain.opendata.datasets import PUBLIC, Dataset
from citybrain.opendata.deidentify import column_plan, deidentify
from citybrain.opendata.privacy import DEFAULT_K, RESTRICTED_K, count_by, k_anonymity, suppress_small_cells

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.catalog import Catalog


@dataclass(frozen=True)
class PrivacyPolicy:
    k_public: int = DEFAULT_K
    k_restricted: int = RESTRICTED_K
    small_cell_threshold: int = 10

    def k_for(self, access: str) -> int:
        return self.k_public if access == PUBLIC else self.k_restricted


@dataclass
class Built:
    """A dataset's published rows and how they were made."""

    table: pa.Table
    form: str  # microdata | aggregate | indicators
    notes: list[str] = field(default_factory=list)


def quasi_identifiers(ds: Dataset) -> list[str]:
    """Published columns the k-anonymity check runs on: the catalogue's k_anonymity list, else its quasi items."""
    res = ds.resource
    if res.k_anonymity:
        return list(res.k_anonymity)
    plan = column_plan(res, restricted=ds.access != PUBLIC)
    return [plan[q][0] for q in res.quasi_identifiers if q in plan]


def build_resource(ds: Dataset, rows: pa.Table, key: bytes, policy: PrivacyPolicy) -> Built:
    table = deidentify(rows, ds.resource, key, restricted=ds.access != PUBLIC)
    qis = quasi_identifiers(ds)
    if not qis:
        return Built(table, "microdata")
    check = k_anonymity(table, qis, policy.k_for(ds.access))
    if check.holds:
        return Built(table, "microdata", [check.describe() + ": microdata published"])
    counts = count_by(table, qis, policy.small_cell_threshold)
    return Built(counts, "aggregate", [check.describe() + ": published as counts by the quasi-identifiers "
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

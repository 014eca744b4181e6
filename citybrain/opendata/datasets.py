"""What may be published, from the catalogue: one dataset per openable resource and the open indicators.

无条件开放 -> the public release; 有条件开放 -> the restricted release (exports logged); 不予开放 never leaves
the lake. Indicators are published from gold.indicator_values, split by each indicator's open class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citybrain.catalog import Catalog, Resource

PUBLIC, RESTRICTED = "public", "restricted"
ACCESS_OF_OPEN = {"无条件开放": PUBLIC, "有条件开放": RESTRICTED}
INDICATOR_TABLE = "gold.indicator_values"
INDICATOR_DATASET = "indicator_values"


@dataclass(frozen=True)
class Dataset:
    """One published dataset: its name, access level and the lake table it is built from."""

    name: str
    access: str  # public | restricted
    source: str  # layer.table
    resource: Resource | None = None  # None for indicators
    indicator_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def open_table(self) -> str:
        """The Delta table of the published rows: open.<name> (restricted: open.restricted_<name>)."""
        return f"open.{self.name}" if self.access == PUBLIC else f"open.restricted_{self.name}"

    @property
    def title(self) -> tuple[str, str]:
        if self.resource is not None:
            return self.resource.title_zh, self.resource.title_en
        return "城市运行指标(按区县、周期)", "City indicators by district and period"


def plan(catalog: Catalog) -> tuple[list[Dataset], dict[str, str]]:
    """(datasets to publish, withheld resource -> reason)."""
    datasets: list[Dataset] = []
    withheld: dict[str, str] = {}
    for res in sorted(catalog.resources.values(), key=lambda r: r.name):
        access = ACCESS_OF_OPEN.get(res.open.type)
        if access is None:
            withheld[res.name] = f"{res.name}: open class {res.open.type}: never leaves the lake"
            continue
        datasets.append(Dataset(res.name, access, f"silver.{res.name}", resource=res))
    for access in (PUBLIC, RESTRICTED):
        codes = tuple(sorted(i.code for i in catalog.indicators.values() if ACCESS_OF_OPEN.get(i.open) == access))
        if codes:
            datasets.append(Dataset(INDICATOR_DATASET, access, INDICATOR_TABLE, indicator_codes=codes))
    withheld.update({i.code: f"indicator {i.code}: open class {i.open}" for i in catalog.indicators.values()
                     if i.open not in ACCESS_OF_OPEN})
    return datasets, withheld


def input_tables(catalog: Catalog) -> list[str]:
    """Every lake table a release reads (the quality gates run on these before publishing)."""
    return sorted({ds.source for ds in plan(catalog)[0]})


def open_tables(catalog: Catalog) -> list[str]:
    """Every open.* table a release may write (the publish DAG's outlets)."""
    return sorted({ds.open_table for ds in plan(catalog)[0]})

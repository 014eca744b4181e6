"""Catalogue validation problems: each names the file, the entry and the field that failed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class CatalogIssue:
    """One problem found in the catalogue."""

    file: str  # path relative to the catalogue folder, e.g. resources/population/pop_resident.yaml
    entry: str  # e.g. "resource pop_resident", "department PSB", "entity person, attribute name"
    field: str  # e.g. "items[id_number].type"; "" when the problem is the entry as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class CatalogError(ValueError):
    """The catalogue is invalid; ``issues`` lists every problem found (not only the first)."""

    def __init__(self, issues: list[CatalogIssue], catalog_dir: str = "catalog"):
        self.issues = list(issues)
        self.catalog_dir = catalog_dir
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(
            f"catalogue {catalog_dir} has {len(self.issues)} error(s); fix them in the files named:\n{lines}"
        )

    @property
    def messages(self) -> list[str]:
        """Every issue as one line 'file: entry: field: message'."""
        return [str(issue) for issue in self.issues]

"""Schema drift: source columns compared with the catalogue's items (added, missing, likely renamed).

Added columns are kept in bronze (never dropped silently); a rename shows up as one missing
catalogue item plus one unknown column, and is reported as a likely rename with its evidence.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher

RENAME_SIMILARITY = 0.6  # name similarity (0..1) above which an unknown column may replace a missing one
# Characters Delta rejects in column names (without column mapping), and Spark's struct dot and quote.
_BAD_NAME_CHARS = re.compile(r"[ ,;{}()\n\t=.`]+")


@dataclass(frozen=True)
class Rename:
    """A likely rename: catalogue item `missing` appears to arrive as source column `found`."""

    missing: str
    found: str
    similarity: float
    same_position: bool

    @property
    def evidence(self) -> str:
        parts = [f"name similarity {self.similarity:.2f}"]
        if self.same_position:
            parts.append("same column position")
        return ", ".join(parts)


@dataclass
class Drift:
    """Differences between the columns a source delivered and the catalogue items of its resource."""

    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    renamed: list[Rename] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.missing or self.renamed)

    @property
    def extra_columns(self) -> list[str]:
        """Every source column outside the catalogue (added and renamed ones): kept in bronze."""
        return self.added + [r.found for r in self.renamed]

    @property
    def absent_items(self) -> list[str]:
        """Every catalogue item the source did not deliver (missing and renamed-away ones)."""
        return self.missing + [r.missing for r in self.renamed]

    def to_json_dict(self) -> dict | None:
        """The control.batches.drift value (None when the columns match the catalogue)."""
        if not self:
            return None
        return {"added": self.added, "missing": self.missing,
                "renamed": [{**asdict(r), "evidence": r.evidence} for r in self.renamed],
                "summary": self.summary()}

    def summary(self) -> str:
        """One sentence for logs and the audit, e.g. `likely rename ticket_no -> ticket_number (...)`."""
        parts = [f"likely rename {r.missing} -> {r.found} ({r.evidence})" for r in self.renamed]
        if self.added:
            parts.append("added column(s) " + ", ".join(self.added) + " (kept in bronze)")
        if self.missing:
            parts.append("missing item(s) " + ", ".join(self.missing) + " (null in bronze)")
        return "; ".join(parts) if parts else "no drift"


def detect_drift(source_columns: list[str], catalogue_items: list[str]) -> Drift:
    """Compare the delivered columns with the catalogue items and pair missing/unknown ones as renames."""
    known = set(catalogue_items)
    delivered = set(source_columns)
    unknown = [c for c in source_columns if c not in known]
    missing = [i for i in catalogue_items if i not in delivered]
    candidates = []
    for m in missing:
        for u in unknown:
            similarity = SequenceMatcher(None, m.lower(), u.lower()).ratio()
            same_position = catalogue_items.index(m) == source_columns.index(u)
            if similarity >= RENAME_SIMILARITY or same_position:
                candidates.append((same_position, similarity, m, u))
    renamed: list[Rename] = []
    paired: set[str] = set()
    # Strongest evidence first: a column in the missing item's place, then the most similar name.
    for same_position, similarity, m, u in sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True):
        if m in paired or u in paired:
            continue
        renamed.append(Rename(m, u, round(similarity, 2), same_position))
        paired.update((m, u))
    renamed.sort(key=lambda r: catalogue_items.index(r.missing))
    return Drift(
        added=[u for u in unknown if u not in paired],
        missing=[m for m in missing if m not in paired],
        renamed=renamed,
    )


def safe_column_name(name: str, taken: set[str]) -> str:
    """A Delta-safe name for an unknown source column (kept in bronze under this name)."""
    clean = _BAD_NAME_CHARS.sub("_", name.strip()) or "unnamed"
    if clean.startswith("_"):  # lineage columns own the leading underscore
        clean = "src" + clean
    out, n = clean, 2
    while out in taken:
        out, n = f"{clean}_{n}", n + 1
    return out

"""Thematic databases (主题库) as catalogue entries: catalog/themes.yaml, one gold table per theme.

A theme is declarative Spark SQL over silver inputs; the SQL names each input as ``{input}``
(entity resources are their current SCD2 rows, golden records and events as stored). Adding a
theme is a YAML edit: the gold stage builds every theme the catalogue lists.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from citybrain.catalog.errors import CatalogIssue
from citybrain.catalog.fields import SnakeName
from citybrain.catalog.models import Entry

if TYPE_CHECKING:
    from citybrain.catalog.loader import Loc, ParsedCatalog, _Reader

THEMES_FILE = "themes.yaml"
# silver tables other than resources and golden records that themes may read (docs/lake-contract.md)
SILVER_EXTRAS = ("discrepancies", "agreement_rates")
PLACEHOLDER_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class Theme(Entry):
    """A thematic table gold.<name>: its grain, key, owner, inputs and the Spark SQL that builds it."""

    name: Annotated[str, Field(pattern=r"^theme_[a-z0-9_]+$")]
    library: str
    title_zh: str
    title_en: str
    grain: str
    primary_key: Annotated[list[SnakeName], Field(min_length=1)]
    owner: str = "BDB"
    refresh: str = "rebuilt whenever one of its inputs has a new silver version"
    description: str
    inputs: Annotated[list[SnakeName], Field(min_length=1)]
    columns: dict[str, str] = {}
    sql: str

    @property
    def table(self) -> str:
        return f"gold.{self.name}"

    def placeholders(self) -> list[str]:
        """Inputs named in the SQL as {input}, in order of first use."""
        return list(dict.fromkeys(PLACEHOLDER_RE.findall(self.sql)))


def parse_themes(rd: _Reader, parsed: ParsedCatalog) -> None:
    """Read the optional themes.yaml into parsed.themes, recording field errors on the reader."""
    from citybrain.catalog.loader import Loc

    for i, raw in enumerate(rd.top_list(THEMES_FILE, rd.read_yaml(THEMES_FILE, required=False), "themes")):
        name = raw.get("name") if isinstance(raw, dict) else None
        loc = Loc(THEMES_FILE, f"theme {name}" if isinstance(name, str) and name else f"themes[{i}]", f"themes[{i}]")
        theme = rd.validate(Theme, raw, loc)
        if theme is not None:
            parsed.themes.append((loc, theme))


def silver_inputs(parsed: ParsedCatalog) -> set[str]:
    """Names a theme may read: resources, <entity>_golden and the verification tables."""
    names = {r.name for _, r in parsed.resources}
    names |= {f"{e.name}_golden" for _, e in parsed.entities}
    return names | set(SILVER_EXTRAS)


def check_themes(parsed: ParsedCatalog) -> list[CatalogIssue]:
    """Unique names, known library/owner/inputs, and SQL placeholders that match the declared inputs."""
    out: list[CatalogIssue] = []
    libraries = {lib.code for _, lib in parsed.libraries}
    departments = {d.code for _, d in parsed.departments}
    known = silver_inputs(parsed)
    seen: dict[str, Loc] = {}
    for loc, t in parsed.themes:
        def issue(field: str, message: str, loc=loc) -> None:
            out.append(CatalogIssue(loc.file, loc.entry, field, message))

        if t.name in seen:
            issue("name", f"duplicate theme {t.name!r} (first defined at {seen[t.name].where})")
        seen.setdefault(t.name, loc)
        if t.library not in libraries:
            issue("library", f"unknown library {t.library!r}")
        if t.owner not in departments:
            issue("owner", f"unknown department {t.owner!r}")
        for name in t.inputs:
            if name not in known:
                issue("inputs", f"unknown silver input {name!r} (a resource, <entity>_golden, "
                                f"{' or '.join(SILVER_EXTRAS)})")
        used = t.placeholders()
        for name in used:
            if name not in t.inputs:
                issue("sql", f"{{{name}}} is not listed in inputs")
        for name in t.inputs:
            if name not in used:
                issue("inputs", f"{name!r} is never read by the sql (write it as {{{name}}})")
    return out

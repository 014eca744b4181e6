"""Logical table names (layer.table) and where each lives in the lake."""

from __future__ import annotations

import re
from dataclasses import dataclass

from citybrain.settings import Settings, get_settings

# control: watermarks, audits; quarantine: rejected rows; smoke: the foundation's self-test.
LAYERS = ("bronze", "silver", "gold", "open", "quarantine", "control", "smoke")
_NAME = re.compile(r"^(?P<layer>[a-z]+)\.(?P<table>[a-z][a-z0-9_]*)$")


@dataclass(frozen=True)
class TableName:
    """A lake table: layer plus snake_case table name, e.g. bronze.pop_resident."""

    layer: str
    table: str

    @classmethod
    def parse(cls, name: str | TableName) -> TableName:
        if isinstance(name, TableName):
            return name
        match = _NAME.match(name)
        if not match:
            raise ValueError(f"Table name {name!r} is not 'layer.table' in snake_case (e.g. bronze.pop_resident)")
        if match["layer"] not in LAYERS:
            raise ValueError(f"Table name {name!r}: unknown layer {match['layer']!r}; layers are {', '.join(LAYERS)}")
        return cls(match["layer"], match["table"])

    def __str__(self) -> str:
        return f"{self.layer}.{self.table}"


def table_uri(name: str | TableName, settings: Settings | None = None) -> str:
    """Location of a table: <lake>/<layer>/<table> (a path or an s3a:// URI)."""
    settings = settings or get_settings()
    parsed = TableName.parse(name)
    return f"{settings.lake_uri.rstrip('/')}/{parsed.layer}/{parsed.table}"

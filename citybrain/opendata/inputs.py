"""Read each input at its latest quality-passed Delta version (time travel), never the current one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from citybrain.lake import arrow_io
from citybrain.quality.results import last_passed_version

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.settings import Settings


class NotPublishable(Exception):
    """An input cannot be published now (no passed version, not in the lake); the reason names the table."""


@dataclass(frozen=True)
class PassedInput:
    table: str
    version: int
    current_version: int


def passed_input(table: str, settings: Settings) -> PassedInput:
    """The newest quality-passed version of ``table`` (NotPublishable when there is none)."""
    if not arrow_io.table_exists(table, settings):
        raise NotPublishable(f"{table} is not in the lake")
    version = last_passed_version(table, settings=settings)
    if version is None:
        raise NotPublishable(f"{table} has no quality-passed Delta version (control.quality_results)")
    current = arrow_io.delta_table(table, settings=settings).version()
    if version > current:
        raise NotPublishable(f"{table}: passed version {version} is newer than the table's version {current}")
    return PassedInput(table, version, current)


def read_passed(inp: PassedInput, settings: Settings) -> pa.Table:
    """The rows of the passed version; SCD2 tables reduced to their rows current at that version."""
    import pyarrow.compute as pc

    table = arrow_io.read_arrow(inp.table, version=inp.version, settings=settings)
    if "is_current" in table.column_names:
        table = table.filter(pc.fill_null(table.column("is_current"), False))
    return table

"""What the commands' arguments may be, checked once for every command: dates and times, catalogue resources,
departments and libraries, lake tables, choices. A wrong invocation is one line on stderr that names the bad
value and the accepted ones (the closest match of a mistyped name) and exits 2, never a traceback.

Parsers (``typer.Option(parser=...)``) and in-command checks raise ``typer.BadParameter``; ``CitybrainGroup``,
the class of every command group, prints any usage error (these, and click's own: unknown option, missing
argument) as that one line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import sys
from collections.abc import Iterable
from typing import NamedTuple

import typer
from typer.core import TyperGroup

SHOWN = 12  # accepted values listed in full up to this many; beyond, the close matches and where to look


class CitybrainGroup(TyperGroup):
    """A command group whose usage errors are one line: `error: Invalid value for '--until': ...`, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                              **extra)
        except typer.TyperException as exc:  # click's usage errors (typer vendors click)
            if not standalone_mode:
                raise
            typer.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            if not standalone_mode:
                raise
            typer.echo("aborted", err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


def one_of(value: str, accepted: Iterable[str], what: str, *, more: str = "",
           param_hint: str | None = None) -> str:
    """``value`` if it is accepted, else a BadParameter naming it, the closest accepted values and the rest."""
    accepted = sorted(set(accepted))
    if value in accepted:
        return value
    close = difflib.get_close_matches(value, accepted, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    if not accepted:
        listed = f"; there is no {what} yet"
    elif len(accepted) <= SHOWN or not close:
        listed = f"; accepted: {', '.join(accepted)}"
    else:
        listed = f"; {len(accepted)} {what}s{more}"
    raise typer.BadParameter(f"unknown {what} {value!r}{hint}{listed}", param_hint=param_hint)


def positive(value: str | int) -> int:
    """A count of at least 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise typer.BadParameter(f"{value!r} is not a whole number of at least 1")
    return number


def iso_date(value: str | dt.date) -> dt.date:
    """A calendar date written YYYY-MM-DD."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2026-11-02") from None


def iso_time(value: str | dt.datetime) -> dt.datetime:
    """A point in time in ISO 8601 (a date alone is its midnight; without an offset it is UTC)."""
    if not isinstance(value, dt.datetime):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a time: write ISO 8601, e.g. 2026-11-20, "
                                     "2026-11-20T08:00:00Z or 2026-11-20 08:00+08:00") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def resource_name(value: str) -> str:
    """A catalogue resource, by name (pop_resident) or code (101001/0001); returns its name."""
    from citybrain.catalog import get_catalog

    catalog = get_catalog()
    if catalog.has_resource(value):
        return catalog.resource(value).name
    return one_of(value, catalog.resources, "resource", more=": see `citybrain catalog list`")


def lake_table(value: str, layers: Iterable[str] | None = None) -> str:
    """A table of the lake, layer.table (e.g. gold.indicator_values)."""
    from citybrain.lake import arrow_io
    from citybrain.lake.names import LAYERS, TableName

    try:
        TableName.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    tables = [str(t) for t in arrow_io.list_tables(tuple(layers or LAYERS))]
    return one_of(value, tables, "table", more=": see `citybrain sql \"SHOW ALL TABLES\"`")


class VersionPin(NamedTuple):
    table: str
    version: int


def version_pin(value: str) -> VersionPin:
    """``layer.table=N``: a silver, gold or open table of the lake pinned to Delta version N."""
    name, sep, version = value.partition("=")
    if not sep or not version.strip().isdigit():
        raise typer.BadParameter(f"{value!r} is not layer.table=N, e.g. gold.indicator_values=3")
    from citybrain.analyst.sql import ANALYST_LAYERS

    return VersionPin(lake_table(name.strip(), ANALYST_LAYERS), int(version))


class Weight(NamedTuple):
    dimension: str
    weight: float


def dimension_weight(value: str) -> Weight:
    """``dimension=weight`` of the GB/T 36344 scorecard, e.g. timeliness=2."""
    from citybrain.quality.policy import DIMENSIONS

    name, sep, number = value.partition("=")
    try:
        weight = float(number)
    except ValueError:
        weight = -1.0
    if not sep or weight < 0:
        raise typer.BadParameter(f"{value!r} is not dimension=weight with a weight >= 0, e.g. timeliness=2")
    return Weight(one_of(name.strip(), DIMENSIONS, "dimension"), weight)


def bench_stage(value: str) -> str:
    """A stage of `citybrain bench`."""
    from citybrain.bench import stages as _registered  # noqa: F401  (registers the stages)
    from citybrain.bench.harness import STAGES

    return one_of(value, STAGES, "bench stage")


def scale_factor(value: str | float) -> float:
    """A city size: a number above 0 (1 = 1,000,000 residents)."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise typer.BadParameter(f"{value!r} is not a scale factor: a number above 0 (1 = 1,000,000 residents, "
                                 "0.01 the demo's)")
    return number


def fault_rate(value: str) -> str:
    """A fault rate of the simulated sources: a fraction in [0, 0.5) or none."""
    from citybrain.sources.generate import _rate

    try:
        _rate(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a fault rate: a fraction in [0, 0.5) such as 0.02, "
                                 "or none") from None
    return value

"""What the publish DAG runs on, checks and produces (catalogue YAML only: cheap at DAG-parse time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citybrain.settings import Settings


def open_outlets() -> list:
    from citybrain.catalog import get_catalog
    from citybrain.opendata.datasets import open_tables
    from citybrain.orchestration.assets import lake_asset

    return [lake_asset(name) for name in open_tables(get_catalog())]


def run_publish_gates(settings: Settings | None = None, run_id: str | None = None) -> dict:
    """Quality gates on every input of a release that is in the lake; a blocked table is reported, not
    raised: publishing then keeps the previous release's copy of the datasets built from it. A table version
    the quality DAG already validated is not validated again (its recorded outcome counts)."""
    from citybrain.catalog import get_catalog
    from citybrain.lake import arrow_io
    from citybrain.opendata.datasets import input_tables
    from citybrain.quality.gates import run_gates
    from citybrain.settings import get_settings

    settings = settings or get_settings()
    tables = [t for t in input_tables(get_catalog()) if arrow_io.table_exists(t, settings)]
    results = run_gates(tables, settings=settings, run_id=run_id, reuse_checked=True)
    return {"checked": len(results), "reused": sum(r.run_id != run_id for r in results) if run_id else None,
            "blocked": {r.table: r.describe() for r in results if not r.passed}}

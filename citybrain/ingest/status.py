"""The latest ingestion run of each resource, from control.batches, .watermarks and .reconciliation (no Spark)."""

from __future__ import annotations

from collections import defaultdict

from citybrain.ingest import audit
from citybrain.ingest.reconcile import latest_reconciliations
from citybrain.ingest.watermarks import read_watermarks
from citybrain.settings import Settings


def latest_runs(resource: str | None = None, settings: Settings | None = None) -> list[dict]:
    """Per catalogue resource (or the one named): its latest run's counts, rejects, watermark and time, and for a
    database resource its latest reconciliation with the source (`reconciliation`, None before the first)."""
    from citybrain.catalog import get_catalog

    catalog = get_catalog()
    resources = [catalog.resource(resource)] if resource else list(catalog.resources.values())
    by_resource: dict[str, list[dict]] = defaultdict(list)
    for row in audit.read_rows(audit.BATCHES_TABLE, resources[0].name if resource else None, settings):
        by_resource[row["resource"]].append(row)
    marks = read_watermarks(settings)
    checks = latest_reconciliations(settings)
    out = []
    for res in resources:
        rows = sorted(by_resource.get(res.name, []), key=lambda r: r["finished_at"])
        last_run = rows[-1]["run_id"] if rows else None
        latest = [r for r in rows if r["run_id"] == last_run] if rows else []
        summary = audit.summarise_resource(res.name, res.provider, latest)
        summary["watermark"] = marks.get(res.name, {}).get("watermark")
        summary["source"] = res.source.kind
        if res.source.kind == "database":
            check = checks.get(res.name)
            summary["reconciliation"] = {k: v for k, v in check.items() if k != "resource"} if check else None
        out.append(summary)
    return out

"""The pull task of a resource: land what is new at the source for a logical date (pure Python, no Spark).

Database resources pull by watermark (with a look-back) and are then reconciled with their source
(control.reconciliation), file resources discover new drops, the catalogue-derived resource materialises the
catalogue's own rows. `reload` re-offers the date's loaded batches from
landing/ instead (they replace themselves in bronze).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from citybrain.ingest import audit
from citybrain.ingest.batches import LOADED, SKIPPED, Batch, make_batch_id, utcnow
from citybrain.ingest.control_io import read_rows
from citybrain.ingest.landing import batch_dir, landing_root, read_manifest, sha256_file, write_manifest
from citybrain.lake.lease import DEFAULT_WAIT_SECONDS, stage_lease
from citybrain.settings import Settings, get_settings

log = logging.getLogger(__name__)


def pull_resource(resource_name: str, batch_date: date, *, run_id: str | None = None, reload: bool = False,
                  settings: Settings | None = None) -> list[dict]:
    """Land the resource's new extracts for `batch_date`; returns the batches (as dicts) for the load task."""
    from citybrain.catalog import get_catalog

    settings = settings or get_settings()
    resource = get_catalog().resource(resource_name)
    # the resource's loader lease: a pull never overlaps another run's pull or load of the same resource (both
    # write its landing folder; a second run's pull then lands the same batch, which its load skips)
    with stage_lease(f"ingest.{resource_name}", settings, wait=DEFAULT_WAIT_SECONDS,
                     purpose=f"pull of {resource_name} ({run_id or 'no run id'})"):
        return _pull(resource, resource_name, batch_date, run_id, reload, settings)


def _pull(resource, resource_name: str, batch_date: date, run_id: str | None, reload: bool,
          settings: Settings) -> list[dict]:
    started = utcnow()
    kind = resource.source.kind
    if reload:
        batches = reload_batches(resource_name, resource.provider, batch_date, settings)
    elif kind == "database":
        from citybrain.ingest.pull_db import pull_database
        from citybrain.ingest.reconcile import reconcile_pull
        from citybrain.ingest.watermarks import current_watermark

        batches = [pull_database(resource, batch_date, current_watermark(resource.name, settings), settings)]
        reconcile_pull(resource, batches[0], settings)  # the source's keys against bronze's, every pull
    elif kind == "file":
        from citybrain.ingest.pull_files import pull_files

        batches = pull_files(resource, batch_date, audit.handled_sources(resource.name, settings), settings)
    elif kind == "catalog":
        batches = [pull_catalog(resource_name, resource.provider, batch_date, settings)]
    else:
        raise ValueError(f"resource {resource_name}: source kind {kind!r} has no pull")
    for batch in batches:
        batch.run_id, batch.started_at = run_id, started
        if batch.landing_path and not reload:
            write_manifest(batch)
        log.info("%s %s: %s %s", resource_name, batch.batch_id, batch.status,
                 batch.reason or f"landed {batch.landing_path}")
    return [b.to_dict() for b in batches]


def pull_catalog(resource_name: str, provider: str, batch_date: date, settings: Settings) -> Batch:
    """Rows derived from the catalogue itself (meta_catalog_resource): a Parquet extract, skipped if unchanged."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from citybrain.catalog import get_catalog
    from citybrain.ingest.pull_db import as_text

    rows = get_catalog().catalog_rows()
    columns = list(rows[0]) if rows else []
    table = pa.table({c: pa.array([as_text(r[c]) for r in rows], pa.string()) for c in columns})
    source = f"catalog:{resource_name}"
    tmp = landing_root(settings) / f".{resource_name}.parquet.tmp"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp)
    checksum = sha256_file(tmp)
    batch = Batch(resource_name, provider, make_batch_id(resource_name, batch_date, checksum[:12]), batch_date,
                  source, rows_pulled=len(rows), extract_time=utcnow())
    if checksum in audit.handled_sources(resource_name, settings).get(source, ()):
        tmp.unlink()
        batch.status, batch.rows_pulled = SKIPPED, 0
        batch.reason = "the catalogue is unchanged since its last load (same sha256)"
        return batch
    folder = batch_dir(provider, batch.batch_id, settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{resource_name}_{batch_date:%Y%m%d}.parquet"
    os.replace(tmp, target)
    batch.file_name, batch.landing_path, batch.checksum = target.name, str(target), checksum
    return batch


def reload_batches(resource_name: str, provider: str, batch_date: date, settings: Settings) -> list[Batch]:
    """The date's loaded batches, offered again from their landed extracts (the load replaces them)."""
    loaded = {r["batch_id"]: r for r in read_rows(audit.BATCHES_TABLE, resource_name, settings)
              if r["status"] == LOADED and r["logical_date"] == batch_date}
    batches = []
    for batch_id in sorted(loaded):
        folder = batch_dir(provider, batch_id, settings)
        manifest = read_manifest(folder)
        batch = Batch.from_dict({**manifest, "landing_path": str(folder / manifest["file_name"])})
        if not Path(batch.landing_path).exists():
            raise FileNotFoundError(f"reload of {batch_id}: landed extract {batch.landing_path} is gone")
        batches.append(batch)
    if not batches:
        nothing = Batch(resource_name, provider, make_batch_id(resource_name, batch_date, "reload"), batch_date,
                        "landing", status=SKIPPED, rows_pulled=0,
                        reason=f"reload asked but no batch of {batch_date} was loaded; nothing to reload")
        return [nothing]
    return batches

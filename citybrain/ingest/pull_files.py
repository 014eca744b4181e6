"""Discovery of new file drops: `<stem>_YYYYMMDD.<ext>` files up to the batch date not yet loaded or rejected.

A run for logical date D picks the file dated D plus any earlier drop that has never been handled
(late deliveries), so a backfill of successive dates and a single catch-up run both load each file
once. A file counts as handled when control.batches holds it (same path and sha256) as loaded or
rejected; a corrected re-delivery (new sha256) is a new batch.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from citybrain.ingest.batches import EMPTY, SKIPPED, Batch, file_date, make_batch_id, utcnow
from citybrain.ingest.landing import land_file, sha256_file
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    from citybrain.catalog import Resource

log = logging.getLogger(__name__)


def drop_folder(settings: Settings | None = None) -> Path:
    return Path((settings or get_settings()).sources_dir) / "files"


def pattern_parts(pattern: str) -> tuple[str, str]:
    """(stem, extension) of a drop pattern, e.g. 'hotline/tickets_*.csv' -> ('tickets', 'csv')."""
    name = PurePosixPath(pattern).name
    stem, _, ext = name.partition("_*.")
    if not ext:
        raise ValueError(f"file pattern {pattern!r} is not <folder>/<stem>_*.<ext> (catalog/SCHEMA.md)")
    return stem, ext


def discover(resource: Resource, batch_date: date, handled: dict[str, set[str]],
             settings: Settings | None = None) -> tuple[list[tuple[Path, date, str]], list[str]]:
    """New drops to load as (path, file date, sha256), and the sources of this date already handled."""
    settings = settings or get_settings()
    root = Path(settings.sources_dir)
    stem, ext = pattern_parts(resource.source.pattern)
    new, seen_today = [], []
    for path in sorted(drop_folder(settings).glob(resource.source.pattern)):
        day = file_date(path.name, stem, ext)
        if day is None:
            log.warning("%s: %s does not follow %s_YYYYMMDD.%s; ignored", resource.name, path, stem, ext)
            continue
        if day > batch_date:
            continue
        source = path.relative_to(root).as_posix()
        if day < batch_date and source in handled:
            continue  # handled on an earlier run; earlier dates are re-checked only when run for that date
        checksum = sha256_file(path)
        if checksum in handled.get(source, ()):
            seen_today.append(source)
            continue
        new.append((path, day, checksum))
    return new, seen_today


def pull_files(resource: Resource, batch_date: date, handled: dict[str, set[str]],
               settings: Settings | None = None) -> list[Batch]:
    """Land every new drop (one batch per file); a single skipped/empty batch when there is none."""
    settings = settings or get_settings()
    root = Path(settings.sources_dir)
    new, seen_today = discover(resource, batch_date, handled, settings)
    batches = []
    for path, day, checksum in new:
        batch = Batch(resource.name, resource.provider, make_batch_id(resource.name, day, checksum[:12]), day,
                      path.relative_to(root).as_posix(),
                      extract_time=utcnow())
        land_file(path, batch, settings)
        if batch.checksum != checksum:
            raise RuntimeError(f"{path} changed while it was copied to landing ({checksum[:12]}… -> "
                               f"{batch.checksum[:12]}…); the department is still writing it: retry later")
        batches.append(batch)
    if batches:
        return batches
    stem, ext = pattern_parts(resource.source.pattern)
    expected = f"{stem}_{batch_date:%Y%m%d}.{ext}"
    fingerprint = hashlib.sha256(expected.encode()).hexdigest()[:12]
    nothing = Batch(resource.name, resource.provider, make_batch_id(resource.name, batch_date, fingerprint),
                    batch_date, f"files/{PurePosixPath(resource.source.pattern).parent}/{expected}", rows_pulled=0)
    if seen_today:
        nothing.status, nothing.reason = SKIPPED, f"{', '.join(seen_today)} already handled (same sha256)"
    else:
        nothing.status = EMPTY
        nothing.reason = f"no new drop {expected} (or earlier unhandled one) in {drop_folder(settings)}"
    return [nothing]

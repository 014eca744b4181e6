"""Discovery of new file drops: `<stem>_YYYYMMDD.<ext>` files up to the batch date not yet loaded or rejected.

A run for logical date D picks the file dated D plus any earlier drop that has never been handled
(late deliveries), so a backfill of successive dates and a single catch-up run both load each file
once. A file counts as handled when control.batches holds it (same path and sha256) as loaded or
rejected; a corrected re-delivery (new sha256) is a new batch.

Only files inside the pattern's department folder are read: the catalogue confines the pattern
(catalog.fields.DROP_PATTERN_RE), and a drop that resolves elsewhere (a symlink out of the folder) is a
rejected batch naming the file and where it points, never landed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.catalog.fields import DROP_PATTERN_RE
from citybrain.ingest.batches import EMPTY, REJECTED, SKIPPED, Batch, file_date, make_batch_id, utcnow
from citybrain.ingest.landing import land_file, sha256_file
from citybrain.settings import Settings, get_settings

if TYPE_CHECKING:
    from citybrain.catalog import Resource

log = logging.getLogger(__name__)


def drop_folder(settings: Settings | None = None) -> Path:
    return Path((settings or get_settings()).sources_dir) / "files"


def pattern_parts(pattern: str) -> tuple[str, str, str]:
    """(folder, stem, extension) of a drop pattern, e.g. 'hotline/tickets_*.csv' -> ('hotline', 'tickets', 'csv')."""
    match = DROP_PATTERN_RE.match(pattern)
    if not match:
        raise ValueError(f"file pattern {pattern!r} is not <folder>/<stem>_*.<ext> (catalog/SCHEMA.md)")
    return match["folder"], match["stem"], match["ext"]


def department_folder(resource: Resource, settings: Settings | None = None) -> Path:
    """files/<folder of the pattern>, under the resolved drop folder: the only place the resource's drops may be
    (a department folder that is itself a symlink out of files/ holds nothing that counts)."""
    return drop_folder(settings).resolve() / pattern_parts(resource.source.pattern)[0]


def confined(path: Path, folder: Path) -> bool:
    """Whether a path, every symlink resolved, lies inside the folder."""
    return path.resolve().is_relative_to(folder)


def discover(resource: Resource, batch_date: date, handled: dict[str, set[str]],
             settings: Settings | None = None
             ) -> tuple[list[tuple[Path, date, str]], list[str], list[tuple[Path, date]]]:
    """New drops to load as (path, file date, sha256), the sources of this date already handled, and the drops
    that resolve outside the department folder (path, file date: refused, not read)."""
    settings = settings or get_settings()
    root = Path(settings.sources_dir)
    folder_name, stem, ext = pattern_parts(resource.source.pattern)
    folder = department_folder(resource, settings)
    new, seen_today, outside = [], [], []
    for path in sorted((drop_folder(settings) / folder_name).glob(f"{stem}_*.{ext}")):
        day = file_date(path.name, stem, ext)
        if day is None:
            log.warning("%s: %s does not follow %s_YYYYMMDD.%s; ignored", resource.name, path, stem, ext)
            continue
        if day > batch_date:
            continue
        source = path.relative_to(root).as_posix()
        if day < batch_date and source in handled:
            continue  # handled on an earlier run; earlier dates are re-checked only when run for that date
        if not confined(path, folder):
            outside.append((path, day))
            continue
        checksum = sha256_file(path)
        if checksum in handled.get(source, ()):
            seen_today.append(source)
            continue
        new.append((path, day, checksum))
    return new, seen_today, outside


def pull_files(resource: Resource, batch_date: date, handled: dict[str, set[str]],
               settings: Settings | None = None) -> list[Batch]:
    """Land every new drop (one batch per file); a single skipped/empty batch when there is none."""
    settings = settings or get_settings()
    root = Path(settings.sources_dir)
    new, seen_today, outside = discover(resource, batch_date, handled, settings)
    batches = []
    for path, day in outside:
        source = path.relative_to(root).as_posix()
        batches.append(Batch(
            resource.name, resource.provider,
            make_batch_id(resource.name, day, hashlib.sha256(source.encode()).hexdigest()[:12]), day, source,
            status=REJECTED, rows_pulled=0, extract_time=utcnow(),
            reason=f"{source} resolves to {path.resolve()}, outside the department folder "
                   f"{department_folder(resource, settings)}: not read (a symlink out of the folder); the "
                   "department must deliver the file itself"))
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
    folder_name, stem, ext = pattern_parts(resource.source.pattern)
    expected = f"{stem}_{batch_date:%Y%m%d}.{ext}"
    fingerprint = hashlib.sha256(expected.encode()).hexdigest()[:12]
    nothing = Batch(resource.name, resource.provider, make_batch_id(resource.name, batch_date, fingerprint),
                    batch_date, f"files/{folder_name}/{expected}", rows_pulled=0)
    if seen_today:
        nothing.status, nothing.reason = SKIPPED, f"{', '.join(seen_today)} already handled (same sha256)"
    else:
        nothing.status = EMPTY
        nothing.reason = f"no new drop {expected} (or earlier unhandled one) in {drop_folder(settings)}"
    return [nothing]

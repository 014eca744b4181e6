"""landing/ and rejected/: raw extracts kept exactly as pulled, each with its sha256 and a manifest.

Layout (next to the lake, e.g. var/landing when the lake is var/lake):
    landing/<provider lower>/<resource>/<YYYYMMDD>_<fingerprint>/<extract file>
    landing/<provider lower>/<resource>/<YYYYMMDD>_<fingerprint>/manifest.json
    rejected/<provider lower>/<file>  +  <file>.reason.txt
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from citybrain.ingest.batches import Batch, parse_batch_id
from citybrain.settings import Settings, get_settings

MANIFEST = "manifest.json"


def _beside_lake(settings: Settings, name: str) -> Path:
    # A local lake keeps landing/ and rejected/ next to it (tests isolate them with the lake);
    # an object-store lake keeps them under var/.
    if settings.lake_is_local:
        return Path(settings.lake_uri.removeprefix("file://")).parent / name
    return settings.var_dir / name


def landing_root(settings: Settings | None = None) -> Path:
    return _beside_lake(settings or get_settings(), "landing")


def rejected_root(settings: Settings | None = None) -> Path:
    return _beside_lake(settings or get_settings(), "rejected")


def batch_dir(provider: str, batch_id: str, settings: Settings | None = None) -> Path:
    """Folder of one batch's landed extract."""
    resource, day, fingerprint = parse_batch_id(batch_id)
    return landing_root(settings) / provider.lower() / resource / f"{day:%Y%m%d}_{fingerprint}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def land_file(source: Path, batch: Batch, settings: Settings | None = None) -> Path:
    """Copy a dropped file into the batch's landing folder (atomically) and record it in the batch."""
    target_dir = batch_dir(batch.department, batch.batch_id, settings)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / source.name
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copy2(source, tmp)
    os.replace(tmp, target)
    batch.file_name = target.name
    batch.landing_path = str(target)
    batch.checksum = sha256_file(target)
    return target


def write_manifest(batch: Batch) -> Path:
    """manifest.json beside the extract: what was pulled, from where, when, and its checksum."""
    path = Path(batch.landing_path).with_name(MANIFEST)
    keys = ("resource", "department", "batch_id", "batch_date", "source", "file_name", "checksum",
            "extract_time", "rows_pulled", "watermark_from", "watermark_to", "run_id")
    data = {k: v for k, v in batch.to_dict().items() if k in keys}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def read_manifest(batch_folder: Path) -> dict:
    return json.loads((batch_folder / MANIFEST).read_text(encoding="utf-8"))


def verify_checksum(batch: Batch) -> None:
    """The landed extract still has the checksum recorded at pull time (it is loaded as pulled)."""
    actual = sha256_file(Path(batch.landing_path))
    if actual != batch.checksum:
        raise ValueError(
            f"landing file {batch.landing_path} of batch {batch.batch_id} has sha256 {actual[:12]}…, the pull "
            f"recorded {batch.checksum[:12]}…: the extract changed after landing; re-run the pull task"
        )


def move_to_rejected(path: Path, provider: str, reason: str, settings: Settings | None = None) -> Path:
    """Move an unreadable landed file to rejected/<provider>/ with a <file>.reason.txt beside it."""
    folder = rejected_root(settings) / provider.lower()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    shutil.move(str(path), target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    # The batch folder held only this file and its manifest: nothing of it was accepted.
    for leftover in path.parent.glob("*"):
        leftover.unlink()
    path.parent.rmdir()
    return target

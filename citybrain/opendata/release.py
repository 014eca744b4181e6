"""Release folders: var/open/releases/<version>/ (public) and var/open/restricted/releases/<version>/, each
with one folder per dataset, catalog.jsonld and manifest.json; `latest` is a symlink switched atomically
(a new link renamed over the old one) only after the release is complete and validated."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

from citybrain.opendata.datasets import PUBLIC

MANIFEST = "manifest.json"
CATALOGUE = "catalog.jsonld"
# What a demo/test run's release says about itself (manifest, DCAT catalogue, every datapackage.json).
DEMO_NOTICE = ("DEMO RELEASE, not official open data: built by a demo or test run (CITYBRAIN_DEMO=1 or "
               "CITYBRAIN_ENV=test) from simulated data; its keyed hashes may use the public built-in demo key "
               "and then protect nothing.")


def demo_marks(demo: bool) -> dict:
    """The manifest keys that mark a demo release ({} for a real one)."""
    return {"demo": True, "notice": DEMO_NOTICE} if demo else {}


def area(open_dir: Path, access: str) -> Path:
    """The root of one access level's releases: var/open (public) or var/open/restricted."""
    return Path(open_dir) if access == PUBLIC else Path(open_dir) / "restricted"


def new_version(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def leftover_staging(root: Path) -> list[Path]:
    """Staging folders of earlier runs (a run killed before finalise or discard left them)."""
    releases = root / "releases"
    return sorted(p for p in releases.glob(".staging-*") if p.is_dir()) if releases.is_dir() else []


def staging_dir(root: Path, version: str) -> Path:
    path = root / "releases" / f".staging-{version}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def latest_dir(root: Path) -> Path | None:
    """Where `latest` points (None before the first release)."""
    link = root / "latest"
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_entries(release: Path, dataset: str) -> dict[str, dict]:
    """relative path -> sha256 and bytes of every file of a dataset's folder."""
    return {str(p.relative_to(release)): {"sha256": sha256(p), "bytes": p.stat().st_size}
            for p in sorted((release / dataset).rglob("*")) if p.is_file()}


def carry_forward(previous: Path | None, staging: Path, dataset: str) -> dict | None:
    """Copy a dataset's folder from the previous release (its manifest entry, or None if it had none)."""
    if previous is None or not (previous / dataset).is_dir():
        return None
    entry = json.loads((previous / MANIFEST).read_text(encoding="utf-8"))["datasets"].get(dataset)
    if entry is None:
        return None
    shutil.copytree(previous / dataset, staging / dataset)
    return {**entry, "status": "carried", "carried_from": entry.get("carried_from") or previous.name}


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def finalise(root: Path, staging: Path, version: str) -> Path:
    """Rename the staging folder to releases/<version> and switch `latest` to it atomically."""
    final = root / "releases" / version
    staging.rename(final)
    tmp = root / f".latest-{version}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("releases") / version)
    os.replace(tmp, root / "latest")
    return final


def discard(root: Path, staging: Path, version: str, error: str) -> Path:
    """Remove a failed release (its files may hold what the scan found) and keep the reason."""
    shutil.rmtree(staging, ignore_errors=True)
    failed = root / "failed"
    failed.mkdir(parents=True, exist_ok=True)
    report = failed / f"{version}.txt"
    report.write_text(error + "\n", encoding="utf-8")
    return report

"""Publish a release: read each openable dataset's inputs at their latest quality-passed Delta versions,
de-identify, check k-anonymity / suppress small cells, write open.<dataset> Delta tables and the release
files, validate every data package with frictionless, scan for PII, then switch `latest`.

A dataset whose input has no passed version is blocked: the previous release's copy is carried forward.
Any invalid package, PII finding or linkage risk (microdata that joins another published dataset on shared
items into classes below k) fails the whole publish and leaves `latest` where it was. Outside a demo or
test run the built-in HMAC key is refused; a demo/test run's release says it is a demo release.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.catalog import get_catalog
from citybrain.lake.lease import DEFAULT_WAIT_SECONDS, stage_lease
from citybrain.opendata import release as rel
from citybrain.opendata.build import Built, PrivacyPolicy, build_indicators, build_resource, check_linkage
from citybrain.opendata.datasets import PUBLIC, RESTRICTED, Dataset, plan
from citybrain.opendata.dcat import catalogue
from citybrain.opendata.export import datapackage, validate_package, write_files
from citybrain.opendata.inputs import NotPublishable, PassedInput, passed_input, read_passed
from citybrain.opendata.leakscan import scan_release
from citybrain.settings import get_settings

if TYPE_CHECKING:
    from citybrain.catalog import Catalog
    from citybrain.settings import Settings

log = logging.getLogger("citybrain.opendata")


class PublishFailed(RuntimeError):
    """The release failed validation or the leak scan; `latest` was not switched."""


@dataclass
class Level:
    """One access level's release being assembled."""

    access: str
    root: Path
    version: str
    staging: Path
    previous: Path | None
    demo: bool = False  # a demo/test run's release: marked as such in every file that describes it
    entries: dict[str, dict] = field(default_factory=dict)


def _label(ds: Dataset) -> str:
    return ds.name if ds.access == PUBLIC else f"{RESTRICTED}/{ds.name}"


def build_dataset(ds: Dataset, catalog: Catalog, settings: Settings, policy: PrivacyPolicy
                  ) -> tuple[Built, PassedInput]:
    inp = passed_input(ds.source, settings)
    rows = read_passed(inp, settings)
    key = settings.release_hmac_key()
    built = (build_resource(ds, rows, key, policy) if ds.resource is not None
             else build_indicators(ds, rows, catalog, policy))
    return built, inp


def _stage_dataset(level: Level, ds: Dataset, built: Built, inp: PassedInput) -> None:
    folder = level.staging / ds.name
    write_files(ds, built, folder)
    validate_package(datapackage(ds, built, folder, level.version, demo=level.demo))
    level.entries[ds.name] = {
        "status": "published", "access": ds.access, "form": built.form, "rows": built.table.num_rows,
        "notes": built.notes, "inputs": {inp.table: inp.version},
        "inputs_current": {inp.table: inp.current_version}, "open_table": ds.open_table,
    }


def _write_open_table(ds: Dataset, built: Built, settings: Settings) -> int:
    from deltalake import write_deltalake

    from citybrain.lake import arrow_io
    from citybrain.lake.names import table_uri

    uri = arrow_io._delta_rs_uri(table_uri(ds.open_table, settings))
    write_deltalake(uri, built.table, mode="overwrite", schema_mode="overwrite",
                    storage_options=arrow_io._storage_options(settings))
    return arrow_io.delta_table(ds.open_table, settings=settings).version()


def run_publish(settings: Settings | None = None, spark=None, *, policy: PrivacyPolicy | None = None) -> dict:
    """Publish one release of every openable dataset; returns release_dir, restricted_dir, version,
    datasets (published), carried, blocked (dataset -> reason) and withheld (不予开放)."""
    del spark  # the publisher reads through deltalake/Arrow: no Spark needed
    settings = settings or get_settings()
    settings.release_hmac_key()  # refuse the built-in key outside a demo/test run before any work
    # one publisher at a time (a second waits): any staging folder found under the lease is a killed run's
    with stage_lease("publish", settings, wait=DEFAULT_WAIT_SECONDS, purpose="publish"):
        return _publish(settings, policy or PrivacyPolicy())


def _publish(settings: Settings, policy: PrivacyPolicy) -> dict:
    catalog = get_catalog()
    started = time.perf_counter()
    datasets, withheld = plan(catalog)
    version = rel.new_version()
    levels = {}
    for access in (PUBLIC, RESTRICTED):
        root = rel.area(settings.open_dir, access)
        for leftover in rel.leftover_staging(root):
            log.warning("removing %s, left by a publish run that was killed before it finished", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
        levels[access] = Level(access, root, version, rel.staging_dir(root, version), rel.latest_dir(root),
                               demo=settings.demo_run)
    built: dict[str, tuple[Dataset, Built]] = {}
    blocked: dict[str, str] = {}
    try:
        for i, ds in enumerate(datasets, 1):
            level = levels[ds.access]
            try:
                result, inp = build_dataset(ds, catalog, settings, policy)
            except NotPublishable as exc:
                blocked[_label(ds)] = str(exc)
                carried = rel.carry_forward(level.previous, level.staging, ds.name)
                if carried:
                    level.entries[ds.name] = carried
                log.info("[%d/%d] %s blocked: %s%s", i, len(datasets), _label(ds), exc,
                         " (previous release's copy kept)" if carried else "")
                continue
            _stage_dataset(level, ds, result, inp)
            built[_label(ds)] = (ds, result)
            log.info("[%d/%d] %s: %d rows (%s) from %s@v%d", i, len(datasets), _label(ds),
                     result.table.num_rows, result.form, inp.table, inp.version)
        joins = check_linkage(list(built.values()), policy)
        log.info("linkage: %d joins of microdata with the other published datasets, none below k", joins)
        for level in levels.values():
            direct = {ds.name: frozenset(ds.resource.direct_identifiers) for ds in datasets
                      if ds.resource is not None and ds.access == level.access}
            scan_release(level.staging, direct)
    except Exception as exc:
        for level in levels.values():
            report = rel.discard(level.root, level.staging, version, f"{type(exc).__name__}: {exc}")
        raise PublishFailed(f"release {version} not published, `latest` unchanged (report {report}):\n{exc}") from exc
    open_versions = {}
    for ds, result in built.values():
        open_versions[ds.open_table] = _write_open_table(ds, result, settings)
        levels[ds.access].entries[ds.name]["open_table_version"] = open_versions[ds.open_table]
    finals = {}
    for access, level in levels.items():
        finals[access] = _finalise_level(level, datasets, catalog)
    summary = {
        "version": version,
        "release_dir": str(finals[PUBLIC]),
        "restricted_dir": str(finals[RESTRICTED]),
        "datasets": sorted(built),
        "carried": sorted(_label(ds) for ds in datasets
                          if levels[ds.access].entries.get(ds.name, {}).get("status") == "carried"),
        "blocked": blocked,
        "withheld": withheld,
        "open_tables": open_versions,
        "seconds": round(time.perf_counter() - started, 2),
    }
    log.info("release %s: %d datasets published, %d blocked, in %.1fs -> %s", version, len(built), len(blocked),
             summary["seconds"], finals[PUBLIC])
    return summary


def _finalise_level(level: Level, datasets: list[Dataset], catalog: Catalog) -> Path:
    for name, entry in level.entries.items():
        entry["files"] = rel.file_entries(level.staging, name)
    manifest = {"version": level.version, "access": level.access,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "previous": level.previous.name if level.previous else None,
                **rel.demo_marks(level.demo), "datasets": level.entries}
    mine = [ds for ds in datasets if ds.access == level.access]
    title = "烟台市公共数据开放目录" if level.access == PUBLIC else "烟台市有条件开放数据目录"
    rel.write_json(level.staging / rel.CATALOGUE, catalogue(mine, manifest, catalog, title))
    manifest["catalogue"] = {"path": rel.CATALOGUE, "sha256": rel.sha256(level.staging / rel.CATALOGUE)}
    rel.write_json(level.staging / rel.MANIFEST, manifest)
    return rel.finalise(level.root, level.staging, level.version)

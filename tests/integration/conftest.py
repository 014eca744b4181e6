"""Integration fixtures: the department sources of a tiny simulated city, generated once per test run, and one
throwaway PostgreSQL server (Debian package `postgresql`) shared by the tests that need a real database."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from pg_cluster import pg_bindir, start_pg_cluster  # noqa: E402

SOURCES_SCALE = 0.002  # about 2,000 residents: every resource has a few rows, Spark work stays small
SOURCES_DAYS = 5  # day 0 full load + 4 days: schema drift and every malformed-file kind appear


@pytest.fixture(scope="session")
def generated_sources(settings):
    """Sources under the test run's var/sources (databases, file drops with faults, fault manifest)."""
    from citybrain.sources.generate import generate_sources

    return generate_sources(settings, scale=SOURCES_SCALE, seed=42, days=SOURCES_DAYS)


@pytest.fixture(scope="session")
def source_days(generated_sources):
    """The simulated calendar days, first to last."""
    from datetime import date, timedelta

    start = date.fromisoformat(generated_sources.start_date)
    return [start + timedelta(days=d) for d in range(generated_sources.days)]


@pytest.fixture(scope="session")
def pg():
    """A PostgreSQL cluster for this test session; missing server binaries fail (never skip) naming the package."""
    pg_bindir()  # raises PgUnavailable naming the apt package: CI must not silently skip these tests
    cluster = start_pg_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_url(pg):
    """SQLAlchemy URL of a fresh `sources` database on the session's PostgreSQL server."""
    return pg.create_database("sources")


@pytest.fixture(scope="session")
def scaleout_bronze(settings, airflow_db, generated_sources):
    """Day 0 ingested by the real DAGs for the scale-out resources (citybrain.spark.lake_stages): the seed
    lake that the conform + gold equivalence runs (local, cluster, Connect) each start from a copy of."""
    from citybrain.spark.lake_stages import prepared_bronze_lake

    return prepared_bronze_lake(settings, generated_sources.start_date)


@pytest.fixture(scope="session")
def faulted_city(settings, generated_sources, source_days, tmp_path_factory):
    """The integration sources (default fault rate) ingested day by day into a lake of its own, the way the
    department DAGs do (their pull and load tasks, each date in turn, so every batch carries its own date),
    then conformed in one run: the lake conform's ground-truth scores and quality's fault detection read.
    Returns the Settings of that lake (the session's own lake is left to the ingestion DAG tests)."""
    import time

    from citybrain.catalog import get_catalog
    from citybrain.conform.job import run_conform
    from citybrain.ingest.load import load_resource
    from citybrain.ingest.pull import pull_resource
    from citybrain.settings import Settings

    root = tmp_path_factory.mktemp("faulted-city")
    city = Settings(var_dir=settings.var_dir, lake_uri=str(root / "lake"), site_dir=root / "site",
                    open_dir=root / "open", bench_dir=root / "bench", sources_dir=settings.sources_dir)
    started = time.perf_counter()
    for day in source_days:
        for name in get_catalog().resources:
            load_resource(pull_resource(name, day, run_id=f"faulted-city-{day}", settings=city), city)
    ingested = time.perf_counter() - started
    run_conform(settings=city, workers=2)
    print(f"\nfaulted city: {len(source_days)} day(s) ingested in {ingested:.0f}s, conformed in "
          f"{time.perf_counter() - started - ingested:.0f}s")
    return city

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

"""Integration fixtures: the department sources of a tiny simulated city, generated once per test run."""

from __future__ import annotations

import pytest

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

"""Test session set-up: an isolated var/ per run, Airflow pointed at it, one shared SparkSession."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKERS = {"unit", "spark", "integration", "e2e"}

# Everything a test run writes goes to a throwaway var/; jars come from the real cache (make jars).
_TEST_VAR = Path(tempfile.mkdtemp(prefix="citybrain-test-"))
os.environ.update(
    {
        "CITYBRAIN_ENV": "test",
        "CITYBRAIN_HOME": str(REPO),
        "CITYBRAIN_VAR_DIR": str(_TEST_VAR),
        "CITYBRAIN_JARS_DIR": os.environ.get("CITYBRAIN_JARS_DIR", str(REPO / "var" / "jars")),
    }
)
from citybrain.orchestration.airflow_env import apply_airflow_env  # noqa: E402
from citybrain.settings import get_settings, reset_settings  # noqa: E402

reset_settings()
apply_airflow_env(override=True)


def pytest_collection_modifyitems(config, items):
    unmarked = [item.nodeid for item in items if not MARKERS & {m.name for m in item.iter_markers()}]
    if unmarked:
        raise pytest.UsageError(
            "Every test needs one of the markers " + ", ".join(sorted(MARKERS)) + "; unmarked:\n  " + "\n  ".join(unmarked)
        )


def pytest_sessionfinish(session, exitstatus):
    from citybrain.spark import stop_spark

    stop_spark()
    shutil.rmtree(_TEST_VAR, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    """The test run's settings (var/ under a temporary directory)."""
    return get_settings()


@pytest.fixture(scope="session")
def spark(settings):
    """The one Delta-enabled SparkSession of the test run (small shuffle partitions)."""
    from citybrain.spark import get_spark

    return get_spark(settings)


@pytest.fixture(scope="session")
def airflow_db(settings):
    """A migrated Airflow metadata DB for dag.test() runs."""
    from citybrain.orchestration.airflow_env import migrate_db

    migrate_db(settings)
    return settings.airflow_home


@pytest.fixture
def lake_settings(tmp_path, monkeypatch):
    """Settings whose lake is a fresh directory under tmp_path (Spark session stays shared)."""
    from citybrain.settings import Settings

    return Settings(var_dir=get_settings().var_dir, lake_uri=str(tmp_path / "lake"))

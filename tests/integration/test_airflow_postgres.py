"""Airflow's metadata DB on PostgreSQL (the deployed set-up): migrate, then a full smoke DAG run recorded there."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from citybrain.orchestration.airflow_env import airflow_bin, airflow_env, ensure_passwords_file
from citybrain.settings import Settings

pytestmark = pytest.mark.integration


def _airflow(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.run([airflow_bin(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"`airflow {' '.join(args)}` failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n" \
                                 f"{proc.stderr[-4000:]}"
    return proc


def test_airflow_migrates_and_runs_smoke_dag_on_postgres(pg, settings, tmp_path):
    url = pg.create_database("airflow")
    run_settings = Settings(var_dir=settings.var_dir, airflow_home=tmp_path / "airflow", lake_uri=str(tmp_path / "lake"))
    ensure_passwords_file(run_settings)
    env = {
        **os.environ,
        **airflow_env(run_settings),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": "",
        # The DAG's tasks read the project settings from the environment of the `airflow` process.
        "CITYBRAIN_AIRFLOW_HOME": str(run_settings.airflow_home),
        "CITYBRAIN_LAKE_URI": run_settings.lake_uri,
        "CITYBRAIN_SPARK_DRIVER_MEMORY": "1g",
    }

    _airflow(["db", "migrate"], env, timeout=300)
    tables = {r[0] for r in pg.query("airflow", "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"alembic_version", "dag_run", "task_instance", "dag"} <= tables

    _airflow(["dags", "test", "citybrain_smoke", "-c", json.dumps({"rows": 200}),
              "-f", str(run_settings.dags_dir / "citybrain_smoke.py")], env, timeout=300)

    runs = pg.query("airflow", "SELECT run_id, state FROM dag_run WHERE dag_id = 'citybrain_smoke'")
    assert [state for _, state in runs] == ["success"], runs
    tasks = dict(pg.query("airflow", "SELECT task_id, state FROM task_instance WHERE dag_id = 'citybrain_smoke'"))
    assert tasks == {"write_delta": "success", "read_with_duckdb": "success"}
    # Nothing went to the SQLite default: the run is only in PostgreSQL.
    assert not (run_settings.airflow_home / "airflow.db").exists()

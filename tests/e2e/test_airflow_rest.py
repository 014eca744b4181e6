"""Airflow as deployed: API server, scheduler and DAG processor on 127.0.0.1; one department DAG run via REST.

The test gets its own var/ (Airflow home and metadata DB, lake, sources), starts the three
processes, logs in as admin (simple auth manager, JWT from POST /auth/token), unpauses and
triggers `ingest_hud` through /api/v2, waits (bounded) for success, checks the audit, and stops
the processes it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]

DAG_ID = "ingest_hud"  # one database resource: pull (Python) + load (Spark) under the real scheduler
LOGICAL_DATE = "2026-11-01T00:00:00Z"
START_TIMEOUT_S = 180
RUN_TIMEOUT_S = 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(what: str, check, timeout: float, logs: Path, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the server is still starting: connection refused, 404 before the parse...
            last = exc
        time.sleep(interval)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last!r})\n{tails}")


@pytest.fixture(scope="module")
def e2e_settings(tmp_path_factory):
    """Settings of an isolated deployment: its own var/ with a migrated Airflow DB and generated sources."""
    from citybrain.orchestration.airflow_env import ensure_passwords_file, migrate_db
    from citybrain.settings import Settings
    from citybrain.sources.generate import generate_sources

    var = tmp_path_factory.mktemp("airflow-e2e") / "var"
    settings = Settings(var_dir=var)
    with pytest.MonkeyPatch.context() as mp:
        # airflow_env keeps an inherited metadata DB URL: the test session's dag.test DB is not ours
        mp.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{settings.airflow_home / 'airflow.db'}")
        migrate_db(settings)
        ensure_passwords_file(settings)
        generate_sources(settings, scale=0.002, seed=42, days=1)
        yield settings


def _without_project_bin(path: str) -> str:
    """PATH as a plain shell has it: no directory holding the project's `airflow` or `citybrain`."""
    return os.pathsep.join(p for p in path.split(os.pathsep)
                           if p and not (Path(p, "airflow").exists() or Path(p, "citybrain").exists()))


@pytest.fixture(scope="module")
def airflow_api(e2e_settings):
    """Base URL of Airflow started by `make airflow` from a plain shell (PATH without .venv/bin), the processes
    it started, and its log; at the end it is stopped as Ctrl-C does and no process of it may be left."""
    import httpx
    import psutil

    from citybrain.orchestration.airflow_env import airflow_env

    port = _free_port()
    env = {**os.environ, **airflow_env(e2e_settings, port=port),
           "CITYBRAIN_SPARK_DRIVER_MEMORY": os.environ.get("CITYBRAIN_SPARK_DRIVER_MEMORY", "2g"),
           "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5"}
    env["PATH"] = _without_project_bin(env["PATH"])
    logs = e2e_settings.var_dir / "e2e-logs"
    logs.mkdir(parents=True, exist_ok=True)
    out = open(logs / "make-airflow.log", "wb")  # noqa: SIM115 (closed at the end)
    make = subprocess.Popen(["make", "-s", "airflow"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    seen: dict[int, psutil.Process] = {}

    def processes() -> dict[int, psutil.Process]:
        seen.update((p.pid, p) for p in psutil.Process(make.pid).children(recursive=True))
        return seen

    try:
        base = f"http://127.0.0.1:{port}"
        _wait("the API server", lambda: httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200,
              START_TIMEOUT_S, logs)
        processes()
        yield base, logs, processes
    finally:
        processes()
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in the terminal: make and citybrain get SIGINT
        try:
            make.wait(timeout=90)
        finally:
            out.close()
        left = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        for p in left:
            p.kill()
        assert not left, f"processes left after stopping `make airflow`: {[(p.pid, p.cmdline()) for p in left]}"


def test_trigger_department_dag_through_rest_api(airflow_api, e2e_settings):
    import httpx

    base, logs, processes = airflow_api
    token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30)
    assert token.status_code in (200, 201), token.text
    client = httpx.Client(base_url=f"{base}/api/v2", timeout=30,
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})

    dag = _wait(f"the DAG processor to register {DAG_ID}",
                lambda: (r := client.get(f"/dags/{DAG_ID}")).status_code == 200 and r.json(), START_TIMEOUT_S, logs)
    assert {"citybrain", "ingest", "HUD"} <= {t["name"] for t in dag["tags"]}
    assert client.patch(f"/dags/{DAG_ID}", json={"is_paused": False}).json()["is_paused"] is False

    created = client.post(f"/dags/{DAG_ID}/dagRuns", json={"logical_date": LOGICAL_DATE, "conf": {}})
    assert created.status_code == 200, created.text
    run_id = created.json()["dag_run_id"]

    # Unpausing also lets the scheduler start the latest scheduled run (catchup=False): both must
    # succeed, and between them the source is loaded exactly once (the later one finds nothing new).
    def all_finished():
        runs = client.get(f"/dags/{DAG_ID}/dagRuns").json()["dag_runs"]
        states = {r["dag_run_id"]: r["state"] for r in runs}
        return states if run_id in states and all(s in ("success", "failed") for s in states.values()) else None

    states = _wait(f"run {run_id} (and any scheduled run) to finish", all_finished, RUN_TIMEOUT_S, logs, interval=5)
    tasks = {t["task_id"]: t["state"] for t in client.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
             .json()["task_instances"]}
    assert set(states.values()) == {"success"}, (states, tasks)
    assert tasks["city_bridge_tunnel.pull"] == "success" and tasks["city_bridge_tunnel.load"] in ("success", "skipped")

    from citybrain.ingest.audit import BATCHES_TABLE
    from citybrain.ingest.control_io import count_rows, read_rows

    audit = read_rows(BATCHES_TABLE, "city_bridge_tunnel", e2e_settings)
    assert {r["run_id"] for r in audit} == set(states)
    [loaded] = [r for r in audit if r["status"] == "loaded"]
    assert {r["status"] for r in audit if r is not loaded} <= {"empty"}
    assert loaded["rows_loaded"] > 0 and loaded["rows_pulled"] == loaded["rows_loaded"] + loaded["rows_quarantined"]
    assert count_rows("bronze.city_bridge_tunnel", e2e_settings) == loaded["rows_loaded"]

    # the load task's log, read as the UI reads it, tells what it did; a successful task logs no error
    entries = client.get(f"/dags/{DAG_ID}/dagRuns/{loaded['run_id']}/taskInstances/city_bridge_tunnel.load/logs/1",
                         headers={"Accept": "application/json"}).json()["content"]
    story = [e.get("event", "") for e in entries if isinstance(e, dict)]
    assert any(f"batch {loaded['batch_id']}" in line and f"loaded {loaded['rows_loaded']:,}" in line
               for line in story), entries
    assert not [e for e in entries if isinstance(e, dict) and e.get("level") in ("error", "critical")], entries
    # task slots sized to the machine (2 cores: 2), not Airflow's 32: a few dozen processes at most
    assert len(processes()) < 30, [p.cmdline()[:3] for p in processes().values()]

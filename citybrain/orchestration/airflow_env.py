"""The Airflow environment of the embedded deployment: home under var/airflow, our dags/, no examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from citybrain.orchestration.policy import SPARK_POOL, SPARK_POOL_DESCRIPTION
from citybrain.settings import Settings, get_settings

API_HOST = "127.0.0.1"
API_PORT = 8080


def airflow_env(settings: Settings | None = None, *, port: int = API_PORT) -> dict[str, str]:
    """Variables that point Airflow at the project (applied only where the user has not set them)."""
    settings = settings or get_settings()
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{API_HOST}:{port}/execution/",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__API__HOST": API_HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{API_HOST}:{port}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}"
        ),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # Spark tasks run in this process tree; keep them on loopback.
        "SPARK_LOCAL_IP": "127.0.0.1",
        "CITYBRAIN_HOME": str(settings.home),
        "CITYBRAIN_VAR_DIR": str(settings.var_dir),
    }


def machine_sizing(cores: int | None = None) -> dict[str, str]:
    """Airflow's parallelism sized to the machine: task slots = cores (each task is a process, a Spark task a JVM;
    the Spark pool limits those further), one API server worker and one DAG-parsing process per two cores.
    Airflow's own defaults (32 task slots, 2 parsers) start some 40 processes and ~6 GB on a 2-core machine."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return {
        "AIRFLOW__CORE__PARALLELISM": str(max(2, cores)),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(2, cores)),
        "AIRFLOW__API__WORKERS": str(max(1, cores // 4)),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(max(1, cores // 2)),
    }


def process_env(settings: Settings | None = None, *, port: int = API_PORT) -> dict[str, str]:
    """The environment of Airflow processes this project starts: the project's Airflow variables (the user's
    own AIRFLOW__* values win), the machine sizing, and this environment's bin/ first on PATH, so that Airflow
    finds `airflow` for the processes it starts itself (standalone, task runners) from a plain shell."""
    env = {**airflow_env(settings, port=port), **machine_sizing(), **os.environ}
    # A deployed Airflow's task logs tell the story at INFO (rows per batch, versions); headless dag.test runs
    # (demo, tests) keep WARNING on the console. Spark's JVM noise is kept below WARN by its own log4j2 file.
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = os.environ.get("CITYBRAIN_AIRFLOW_LOG_LEVEL", "INFO")
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        env["PATH"] = bin_dir + (os.pathsep + path if path else "")
    return env


def apply_airflow_env(settings: Settings | None = None, *, override: bool = False) -> dict[str, str]:
    """Put the Airflow variables into os.environ before anything imports airflow."""
    env = airflow_env(settings)
    for key, value in env.items():
        if override or key not in os.environ:
            os.environ[key] = value
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def ensure_passwords_file(settings: Settings | None = None) -> Path:
    """A known admin password for the embedded UI (the deployed stack uses its own auth)."""
    settings = settings or get_settings()
    path = settings.airflow_home / "passwords.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"admin": "admin"}))
    return path


def migrate_db(settings: Settings | None = None) -> bool:
    """Create or upgrade the Airflow metadata database; returns False when it was already current."""
    settings = settings or get_settings()
    env = {**os.environ, **airflow_env(settings)}
    stamp = settings.airflow_home / ".migrated"
    version = f"{_airflow_version()} {SPARK_POOL}={settings.spark_pool_slots}"
    sqlite = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite")
    if sqlite and stamp.exists() and stamp.read_text().strip() == version:
        return False
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    ensure_passwords_file(settings)
    proc = subprocess.run([airflow_bin(), "db", "migrate"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow db migrate` failed (AIRFLOW_HOME={env['AIRFLOW_HOME']}):\n{proc.stderr[-3000:]}")
    pool = [airflow_bin(), "pools", "set", SPARK_POOL, str(settings.spark_pool_slots), SPARK_POOL_DESCRIPTION]
    proc = subprocess.run(pool, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow pools set {SPARK_POOL}` failed (AIRFLOW_HOME={env['AIRFLOW_HOME']}):\n"
                           f"{proc.stderr[-3000:]}")
    if sqlite:
        stamp.write_text(version)
    return True


def airflow_bin() -> str:
    """The `airflow` executable of this environment (next to the running Python)."""
    return str(Path(sys.executable).with_name("airflow"))


def _airflow_version() -> str:
    from importlib import metadata

    return metadata.version("apache-airflow")

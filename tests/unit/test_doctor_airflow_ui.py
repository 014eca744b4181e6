"""`citybrain doctor` checks what the Airflow UI needs (issue 28: it said "all checks passed" while every Airflow
component of `make airflow` died for want of `airflow` on PATH)."""

from __future__ import annotations

import socket

import pytest

from citybrain.doctor import _dag_import_errors, _port_state
from citybrain.orchestration.airflow_env import process_env
from citybrain.orchestration.processes import resolve
from citybrain.settings import Settings

pytestmark = pytest.mark.unit


def test_airflow_is_found_from_the_project_environment_whatever_the_shell_path(monkeypatch, settings):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a plain shell: no .venv/bin
    env = process_env(settings)
    assert resolve(["airflow", "standalone"], env)[0].endswith("/airflow")
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 2 * max(1, len(__import__("os").sched_getaffinity(0)))
    with pytest.raises(FileNotFoundError, match="make setup"):
        resolve(["airflow"], {"PATH": "/usr/bin:/bin"})


def test_a_port_taken_by_another_program_is_named():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _port_state("127.0.0.1", port) == "taken"
    assert _port_state("127.0.0.1", port) == "free"


def test_a_dag_file_that_does_not_import_is_named(tmp_path, settings):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "broken_dag.py").write_text("from airflow.sdk import DAG\nraise RuntimeError('no catalogue here')\n")
    home = Settings(var_dir=settings.var_dir, home=tmp_path)
    assert home.dags_dir == dags
    [error] = _dag_import_errors(home)
    assert error.startswith("broken_dag.py:") and "no catalogue here" in error

"""Run project DAGs headlessly (`dag.test()`): the demo and integration tests use this."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from citybrain.settings import Settings, get_settings


class DagRunFailed(RuntimeError):
    """A headless DAG run did not succeed; names the failed tasks."""


def load_dag(dag_id: str, settings: Settings | None = None):
    """Parse only the file that defines `dag_id` (files are named after their DAG prefix)."""
    from airflow.dag_processing.dagbag import DagBag

    settings = settings or get_settings()
    candidates = sorted(settings.dags_dir.glob("*.py"), key=lambda p: (not dag_id.startswith(p.stem), p.name))
    for path in candidates:
        bag = DagBag(dag_folder=str(path))
        if bag.import_errors:
            raise DagRunFailed(f"DAG file {path} does not import: {bag.import_errors}")
        if dag_id in bag.dags:
            return bag.dags[dag_id]
    raise KeyError(f"No DAG {dag_id!r} in {settings.dags_dir}")


def run_dag(dag_id: str, *, conf: dict | None = None, logical_date: datetime | None = None,
            settings: Settings | None = None):
    """Run one DAG run in this process and raise unless every task succeeded."""
    dag = load_dag(dag_id, settings)
    kwargs = {"run_conf": conf or {}}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    dag_run = dag.test(**kwargs)
    state = str(getattr(dag_run, "state", ""))
    if not state.endswith("success"):
        failed = [ti.task_id for ti in dag_run.get_task_instances() if str(ti.state).endswith("failed")]
        raise DagRunFailed(f"DAG {dag_id} run {dag_run.run_id} ended {state}; failed tasks: {failed or 'none recorded'}"
                           f"; logs under {Path(get_settings().airflow_home, 'logs')}")
    return dag_run

"""The publish DAG (dag.test): quality gates on the release's inputs, then the release; a planted critical
fault blocks its table's new version and the release keeps that dataset's previous content."""

import json
import os

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dag_lake(tmp_path_factory, airflow_db):
    from citybrain.opendata.sample import write_sample_lake
    from citybrain.settings import get_settings, reset_settings

    root = tmp_path_factory.mktemp("publish-dag")
    keys = {"CITYBRAIN_LAKE_URI": root / "lake", "CITYBRAIN_OPEN_DIR": root / "open",
            "CITYBRAIN_SITE_DIR": root / "site"}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: str(v) for k, v in keys.items()})
    reset_settings()
    settings = get_settings()
    write_sample_lake(settings, passed=False)  # the DAG's gates decide
    yield settings
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    reset_settings()


def _publish_summary(run):
    ti = [t for t in run.get_task_instances() if t.task_id == "publish"][0]
    return ti.xcom_pull(task_ids="publish")


def test_dag_gates_then_publishes_and_a_critical_fault_keeps_the_previous_content(dag_lake):
    import pyarrow as pa

    from citybrain.lake.arrow_io import read_arrow
    from citybrain.opendata.release import sha256
    from citybrain.opendata.sample import write_table
    from citybrain.orchestration.runner import run_dag
    from citybrain.quality.results import latest_results

    first = _publish_summary(run_dag("citybrain_publish", settings=dag_lake))
    assert {"le_enterprise", "health_hospital", "indicator_values"} <= set(first["datasets"])
    assert first["gates_blocked"] == []
    latest = dag_lake.open_dir / "latest"
    csv_before = sha256(latest / "le_enterprise" / "le_enterprise.csv")

    table = read_arrow("silver.le_enterprise", settings=dag_lake)
    codes = table.column("credit_code").to_pylist()
    codes[3] = codes[3][:-1] + ("0" if codes[3][-1] != "0" else "1")  # wrong check character: critical
    names = table.column("name").to_pylist()
    names[3] = "未通过校验的新名称有限公司"
    table = table.set_column(0, "credit_code", pa.array(codes)).set_column(1, "name", pa.array(names))
    write_table("silver.le_enterprise", table, dag_lake)

    second = _publish_summary(run_dag("citybrain_publish", settings=dag_lake))
    gate = latest_results(dag_lake)["silver.le_enterprise"]
    assert gate["passed"] is False and gate["delta_version"] == 1 and gate["critical_failures"] >= 1
    assert second["gates_blocked"] == ["silver.le_enterprise"]
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == second["version"] and manifest["previous"] == first["version"]
    assert manifest["datasets"]["le_enterprise"]["inputs"] == {"silver.le_enterprise": 0}
    assert sha256(latest / "le_enterprise" / "le_enterprise.csv") == csv_before
    assert "未通过校验" not in (latest / "le_enterprise" / "le_enterprise.csv").read_text(encoding="utf-8")

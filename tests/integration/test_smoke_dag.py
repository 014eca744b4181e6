"""The smoke DAG runs end to end with dag.test(): Spark writes Delta, DuckDB reads it via Arrow."""

import pytest

pytestmark = pytest.mark.integration


def test_smoke_dag_runs_and_rerun_is_idempotent(airflow_db, settings):
    from citybrain.lake.arrow_io import duckdb_connect
    from citybrain.orchestration.runner import run_dag

    run = run_dag("citybrain_smoke", conf={"rows": 500})
    assert str(run.state).endswith("success")
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {"write_delta": "success", "read_with_duckdb": "success"}

    from citybrain.pipelines.smoke import batch_id_for, write_smoke

    batch = batch_id_for(run.run_id)
    write_smoke(500, batch)  # same batch again: replaced, not duplicated
    con = duckdb_connect(["smoke"])
    assert con.execute("SELECT count(*) FROM smoke.numbers WHERE batch_id = ?", [batch]).fetchone()[0] == 500


@pytest.mark.parametrize(
    "rows_written, rows_expected",
    [(10, 11)],  # a read that disagrees with the write must fail loudly
)
def test_check_fails_when_counts_disagree(spark, rows_written, rows_expected):
    from citybrain.pipelines.smoke import check_smoke, write_smoke

    write_smoke(rows_written, "mismatch")
    with pytest.raises(ValueError, match="DuckDB read 10 rows"):
        check_smoke("mismatch", rows_expected)

import pytest

from citybrain.lake.names import TableName, table_uri
from citybrain.settings import Settings

pytestmark = pytest.mark.unit


def test_defaults_live_under_var(tmp_path):
    s = Settings(home=tmp_path, var_dir=None, lake_uri=None, sources_dir=None, airflow_home=None)
    assert s.lake_uri == str(tmp_path / "var" / "lake")
    assert s.sources_dir == tmp_path / "var" / "sources"
    assert s.airflow_home == tmp_path / "var" / "airflow"


def test_profile_picks_master_and_env_var_overrides(monkeypatch):
    monkeypatch.delenv("CITYBRAIN_SPARK_MASTER", raising=False)
    monkeypatch.setenv("CITYBRAIN_ENV", "cluster")
    assert Settings().spark_master == "spark://spark-master:7077"
    monkeypatch.setenv("CITYBRAIN_SPARK_MASTER", "local[2]")
    assert Settings().spark_master == "local[2]"


def test_secrets_are_masked():
    assert Settings().public_dict()["hmac_key"] == "***"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bronze.pop_resident", TableName("bronze", "pop_resident")),
        ("gold.indicator_values", TableName("gold", "indicator_values")),
    ],
)
def test_table_names_parse(name, expected):
    assert TableName.parse(name) == expected


@pytest.mark.parametrize(
    "bad, message",
    [
        ("pop_resident", "is not 'layer.table'"),  # no layer
        ("platinum.x", "unknown layer 'platinum'"),  # not a lake layer
        ("bronze.Pop", "is not 'layer.table'"),  # not snake_case
    ],
)
def test_bad_table_names_say_why(bad, message):
    with pytest.raises(ValueError, match=message):
        TableName.parse(bad)


def test_table_uri_follows_lake(tmp_path):
    s = Settings(lake_uri="s3a://city/lake")
    assert table_uri("silver.person_golden", s) == "s3a://city/lake/silver/person_golden"

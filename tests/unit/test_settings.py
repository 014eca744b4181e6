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


@pytest.fixture
def no_key(monkeypatch):
    """The environment of a machine where nobody set CITYBRAIN_HMAC_KEY nor marked a demo run."""
    monkeypatch.delenv("CITYBRAIN_HMAC_KEY", raising=False)
    monkeypatch.delenv("CITYBRAIN_DEMO", raising=False)


@pytest.mark.parametrize("env", ["local", "cluster", "connect"])
def test_builtin_hmac_key_is_refused_outside_a_demo_or_test_run(no_key, env):
    from citybrain.settings import BuiltinKeyRefused

    s = Settings(env=env)
    assert s.builtin_hmac_key and not s.demo_run
    with pytest.raises(BuiltinKeyRefused, match=rf"CITYBRAIN_HMAC_KEY is not set.*CITYBRAIN_ENV={env}.*"
                                                r"export CITYBRAIN_HMAC_KEY="):
        s.release_hmac_key()
    with pytest.raises(BuiltinKeyRefused):
        Settings(env=env, hmac_key="").release_hmac_key()  # an empty key protects nothing either


def test_builtin_hmac_key_only_in_an_explicitly_marked_demo_or_test_run(no_key, monkeypatch):
    from citybrain.settings import BUILTIN_HMAC_KEY

    assert Settings(env="test").release_hmac_key() == BUILTIN_HMAC_KEY.encode()  # the test profile
    monkeypatch.setenv("CITYBRAIN_DEMO", "1")  # what `citybrain demo` sets
    assert Settings(env="local").demo_run and Settings(env="local").release_hmac_key() == BUILTIN_HMAC_KEY.encode()
    monkeypatch.delenv("CITYBRAIN_DEMO")
    monkeypatch.setenv("CITYBRAIN_HMAC_KEY", "a-real-secret")
    assert Settings(env="cluster").release_hmac_key() == b"a-real-secret"
    assert not Settings(env="cluster").builtin_hmac_key


def test_doctor_flags_the_builtin_key_warning_in_demo_and_failing_otherwise(no_key, monkeypatch):
    from citybrain.doctor import check_hmac_key

    test_run = check_hmac_key(Settings(env="test"))
    assert test_run.ok and test_run.warn and "built-in demo key" in test_run.detail
    deployed = check_hmac_key(Settings(env="cluster"))
    assert not deployed.ok and "CITYBRAIN_HMAC_KEY" in deployed.detail and "export CITYBRAIN_HMAC_KEY" in deployed.fix
    monkeypatch.setenv("CITYBRAIN_HMAC_KEY", "a-real-secret")
    real = check_hmac_key(Settings(env="cluster"))
    assert real.ok and not real.warn

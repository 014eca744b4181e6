"""The privacy policy's floors (STANDARDS section 7) and `citybrain publish` refusing weaker parameters or the
built-in HMAC key outside a demo/test run: one line, exit code 2, before any work."""

from __future__ import annotations

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from citybrain.cli.opendata_cmd import publish
from citybrain.opendata.build import PolicyBelowFloor, PrivacyPolicy

pytestmark = pytest.mark.unit

FLOORS = PrivacyPolicy.FLOORS
app = typer.Typer()
app.callback()(lambda: None)  # a group, so the command is invoked by its name as on the real CLI
app.command("publish")(publish)


def test_floors_follow_standards_section_7_and_are_the_defaults():
    assert FLOORS == {"k_public": 10, "k_restricted": 5, "small_cell_threshold": 10}
    assert PrivacyPolicy() == PrivacyPolicy(**FLOORS)


@settings(deadline=None, max_examples=60)  # tiny tables; a loaded CI core must not flake it
@given(st.fixed_dictionaries({name: st.integers(-5, 40) for name in FLOORS}))
def test_a_policy_is_accepted_iff_no_parameter_is_below_its_floor(values):
    below = {name: (v, FLOORS[name]) for name, v in values.items() if v < FLOORS[name]}
    if not below:
        assert PrivacyPolicy(**values).k_for("public") == values["k_public"]
        return
    with pytest.raises(PolicyBelowFloor) as err:
        PrivacyPolicy(**values)
    assert err.value.below == below  # every weak parameter named with its value and floor, none other
    for name, (value, floor) in below.items():
        assert f"{name}={value} < {floor}" in str(err.value)


def _no_publish(monkeypatch):
    def refuse(**_):
        raise AssertionError("run_publish must not start")

    monkeypatch.setattr("citybrain.opendata.publish.run_publish", refuse)


def test_publish_refuses_parameters_below_the_floor_in_one_line_exit_2(monkeypatch):
    _no_publish(monkeypatch)
    res = CliRunner().invoke(app, ["publish", "--k", "0", "--k-restricted", "0", "--threshold", "0"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    for option, floor in [("--k", 10), ("--k-restricted", 5), ("--threshold", 10)]:
        assert f"{option} 0 is below the privacy policy's floor {floor}" in lines[0]
    only_k = CliRunner().invoke(app, ["publish", "--k-restricted", "4"])
    assert only_k.exit_code == 2 and "--k-restricted 4" in only_k.output and "--threshold" not in only_k.output


def test_publish_refuses_the_builtin_key_outside_a_demo_run_before_any_work(monkeypatch, tmp_path):
    from citybrain.opendata.publish import run_publish
    from citybrain.settings import BuiltinKeyRefused, Settings, reset_settings

    monkeypatch.delenv("CITYBRAIN_HMAC_KEY", raising=False)
    monkeypatch.delenv("CITYBRAIN_DEMO", raising=False)
    local = Settings(env="local", var_dir=tmp_path, open_dir=tmp_path / "open")
    with pytest.raises(BuiltinKeyRefused, match="CITYBRAIN_HMAC_KEY"):
        run_publish(local)
    assert not (tmp_path / "open").exists()  # refused before any release folder

    monkeypatch.setenv("CITYBRAIN_ENV", "local")
    monkeypatch.setenv("CITYBRAIN_VAR_DIR", str(tmp_path))
    reset_settings()
    try:
        res = CliRunner().invoke(app, ["publish"])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert res.exit_code == 2, res.output
    assert res.output.startswith("refused: CITYBRAIN_HMAC_KEY is not set") and "export CITYBRAIN_HMAC_KEY=" in res.output
    assert len(res.output.strip().splitlines()) == 1

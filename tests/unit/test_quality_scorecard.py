"""Scorecard pieces without a lake: rule -> dimension, weights and their override, league ranking."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.unit


def test_quarantine_rules_map_to_gbt36344_dimensions():
    from citybrain.quality.scorecard import rule_dimension

    assert rule_dimension("conform.required") == "completeness"
    assert rule_dimension("ingest.primary_key_null") == "completeness"
    assert rule_dimension("conform.id_number.check_char") == "accuracy"
    assert rule_dimension("conform.range") == "accuracy"
    assert rule_dimension("conform.reference") == "consistency"
    assert rule_dimension("conform.code_list") == "conformity"
    assert rule_dimension("conform.text.encoding") == "conformity"


def test_weights_normalise_and_override(tmp_path, monkeypatch):
    from citybrain.quality import policy

    equal = policy.weights()
    assert set(equal) == set(policy.DIMENSIONS) and abs(sum(equal.values()) - 1) < 1e-9
    assert policy.weights({"timeliness": 6})["timeliness"] == pytest.approx(6 / 11)
    with pytest.raises(ValueError, match="unknown scorecard dimension"):
        policy.weights({"beauty": 1})
    override = tmp_path / "gates.yml"
    override.write_text("severity: {silver: {range: critical}}\nscorecard_weights: {accessibility: 0}\n")
    monkeypatch.setenv(policy.POLICY_ENV, str(override))
    assert policy.severity("silver", "range") == "critical"
    assert policy.severity("silver", "freshness") == "warning"  # untouched keys keep the shipped value
    assert policy.weights()["accessibility"] == 0


def test_league_table_ranks_departments_by_mean_score():
    from citybrain.quality.policy import DIMENSIONS
    from citybrain.quality.scorecard import league_table

    day = dt.date(2026, 11, 2)

    def row(dept, score, date=day):
        return {"date": date, "department": dept, "score": score, **{f"{d}_score": score for d in DIMENSIONS}}

    rows = [row("PSB", 90), row("PSB", 100), row("AMR", 99), row("AMR", 10, dt.date(2026, 11, 1))]
    league = league_table(rows)
    assert [(e["rank"], e["department"], e["score"]) for e in league] == [(1, "AMR", 99.0), (2, "PSB", 95.0)]
    assert league_table(rows, dt.date(2026, 11, 1))[0]["score"] == 10.0

"""Gold end to end on a small silver lake: the Airflow DAG builds every theme and indicator, a re-run with no
new silver does nothing, a changed day recomputes only its periods, and the panorama opens in Chromium."""

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
D, T = dt.date, dt.datetime
A, B = "370602", "370611"
# a stable place outside the throwaway test var/ (git-ignored): the panorama as the last e2e run saw it
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "gold-panorama.png"


def _grid(extra=()):
    rows = [
        dict(event_id="e1", event_class="0102", district_code=A, reported_at=T(2026, 11, 1, 9),
             registered_at=T(2026, 11, 1, 9, 30), deadline_at=T(2026, 11, 2, 9), closed_at=T(2026, 11, 1, 12),
             status="closed", rework_count=0),
        dict(event_id="e2", event_class="0102", district_code=B, reported_at=T(2026, 11, 2, 9), status="reported",
             rework_count=0),
    ]
    return rows + list(extra)


@pytest.fixture(scope="module")
def gold_lake(tmp_path_factory, airflow_db):
    """A dedicated lake (the session's may hold other stages' tables) with a few rows in some silver tables."""
    from citybrain.catalog import get_catalog
    from citybrain.gold.job import silver_inputs
    from citybrain.gold.sample_lake import write_empty_silver, write_silver
    from citybrain.settings import get_settings, reset_settings
    from citybrain.spark import get_spark

    root = tmp_path_factory.mktemp("gold-lake")
    saved = {k: os.environ.get(k) for k in ("CITYBRAIN_LAKE_URI", "CITYBRAIN_SITE_DIR")}
    os.environ.update({"CITYBRAIN_LAKE_URI": str(root / "lake"), "CITYBRAIN_SITE_DIR": str(root / "site")})
    reset_settings()
    settings, cat = get_settings(), get_catalog()
    spark = get_spark(settings)
    write_silver(spark, cat, "grid_event", _grid(), settings)
    write_silver(spark, cat, "city_streetlight", [
        dict(light_id="l1", district_code=A, sensing=True, status="1"),
        dict(light_id="l2", district_code=B, sensing=False, status="1")], settings)
    write_silver(spark, cat, "health_hospital", [dict(credit_code="h1", district_code=A, level="3", beds=800,
                                                      physicians=280, emr_enabled=True)], settings)
    write_empty_silver(spark, cat, silver_inputs(cat), settings)
    yield settings, cat, spark
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    reset_settings()


@pytest.fixture(scope="module")
def first_run(gold_lake):
    from citybrain.orchestration.runner import run_dag

    settings, _, _ = gold_lake
    run = run_dag("citybrain_gold", settings=settings)
    summary = [ti for ti in run.get_task_instances() if ti.task_id == "render_panorama"][0].xcom_pull(
        task_ids="render_panorama")
    return summary


def _values(settings):
    from citybrain.lake.arrow_io import read_arrow

    return read_arrow("gold.indicator_values", settings=settings).to_pylist()


def test_dag_builds_every_theme_and_indicator(gold_lake, first_run):
    from citybrain.lake.arrow_io import read_arrow, table_exists

    settings, cat, _ = gold_lake
    for theme in cat.themes.values():
        assert table_exists(theme.table, settings), theme.table
    grid = read_arrow("gold.theme_urban_grid_cases", settings=settings).to_pylist()
    assert sorted((r["district_code"], r["reported"], r["closed_on_time"]) for r in grid) == [(A, 1, 1), (B, 1, 0)]
    rows = _values(settings)
    codes = {r["indicator_code"] for r in rows}
    # indicators whose inputs hold no rows have no periods; the others all have values
    assert {"IND_GRID_ONTIME_CLOSE", "IND_STREETLIGHT_SENSING", "IND_EMR_L2_HOSPITALS"} <= codes
    assert all(r["value"] is None or abs(r["value"]) != float("inf") for r in rows)
    assert all((r["value"] is None) == (r["reason"] is not None) or r["value"] is None for r in rows)
    wide = read_arrow("gold.indicator_wide", settings=settings)
    assert set(cat.indicators) <= set(wide.column_names)
    city = [r for r in rows if r["indicator_code"] == "IND_STREETLIGHT_SENSING" and r["district_code"] == "370600"
            and r["period_type"] == "month"]
    assert [(r["numerator"], r["denominator"], r["value"], r["status"]) for r in city] == [(1.0, 2.0, 50.0, "red")]
    assert json.loads(city[0]["source_versions"]) == {"silver.city_streetlight": 0}
    assert first_run["dashboard"].endswith("dashboard/index.html")


def test_rerun_without_new_silver_recomputes_nothing(gold_lake, first_run):
    from citybrain.gold.job import run_gold

    settings, _, _ = gold_lake
    summary = run_gold(settings, dashboard=False)
    assert summary["indicators_computed"] == [] and summary["periods_recomputed"] == 0
    assert summary["tables_built"] == []


def test_changed_day_recomputes_only_its_periods(gold_lake, first_run):
    from citybrain.gold.job import run_gold
    from citybrain.gold.sample_lake import write_silver

    settings, cat, spark = gold_lake
    before = {(r["indicator_code"], r["district_code"], r["period_type"], r["period"]): r for r in _values(settings)}
    late = dict(event_id="e3", event_class="0102", district_code=B, reported_at=T(2026, 11, 2, 10),
                deadline_at=T(2026, 11, 2, 18), closed_at=T(2026, 11, 2, 11), status="closed", rework_count=0)
    write_silver(spark, cat, "grid_event", _grid([late]), settings)  # rewrites every partition (overwrite)
    summary = run_gold(settings, dashboard=False)
    assert set(summary["indicators_computed"]) == {c for c, i in cat.indicators.items()
                                                   if "grid_event" in i.resources}
    after = {(r["indicator_code"], r["district_code"], r["period_type"], r["period"]): r for r in _values(settings)}
    key = ("IND_GRID_ONTIME_CLOSE", B, "day", D(2026, 11, 2))
    assert (before[key]["value"], after[key]["value"]) == (None, 100.0)
    assert json.loads(after[key]["source_versions"]) == {"silver.grid_event": 1}
    untouched = ("IND_STREETLIGHT_SENSING", A, "month", D(2026, 11, 1))
    assert after[untouched] == before[untouched]  # same row, same source versions: not rewritten


def test_panorama_has_a_card_per_indicator_and_a_screenshot(gold_lake, first_run):
    from citybrain.gold.dashboard.render import chromium_path, dump_dom, take_screenshot
    from citybrain.gold.job import render_panorama

    settings, cat, _ = gold_lake
    assert chromium_path() is not None, "Chromium is missing: apt-get install chromium (.ci/run installs it)"
    summary = render_panorama({}, settings)
    index = summary["dashboard"]
    dom = dump_dom(Path(index))
    assert 'data-ready="true"' in dom  # the page's script ran
    for code, ind in cat.indicators.items():
        assert f'data-indicator="{code}"' in dom, code
        assert ind.name_zh in dom and ind.name_en.replace("&", "&amp;") in dom
    assert "<svg" in dom and "target" in dom
    assert 'href="quality.html"' in dom  # the data-quality page (issue 8) is one click away
    # the test run's var/ is thrown away at the end: keep the screenshot where people can look at it
    shot = take_screenshot(Path(index), SCREENSHOT)
    assert shot == SCREENSHOT and shot.stat().st_size > 10_000
    shutil.copy(shot, Path(index).parent / "screenshot.png")

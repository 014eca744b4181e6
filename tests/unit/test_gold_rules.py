"""Gold rules without Spark: status against targets, period arithmetic, recompute scopes, theme validation."""

import datetime as dt

import pytest
import yaml

from citybrain.gold.periods import next_period_start, period_start, periods_between, until_data_date
from citybrain.gold.scope import Scope
from citybrain.gold.status import status_of

pytestmark = pytest.mark.unit
D = dt.date


@pytest.mark.parametrize(
    "value, target, direction, unit, expected",
    [
        (None, 90, "higher_is_better", "%", "none"),  # no value
        (80.0, None, "higher_is_better", "%", "none"),  # no target
        (90.0, 90, "higher_is_better", "%", "green"),  # target met exactly
        (85.0, 90, "higher_is_better", "%", "amber"),  # 5 points below: still amber
        (84.99, 90, "higher_is_better", "%", "red"),  # more than 5 points below
        (10.0, 10, "lower_is_better", "%", "green"),
        (15.0, 10, "lower_is_better", "%", "amber"),  # 5 points above a lower-is-better target
        (15.01, 10, "lower_is_better", "%", "red"),
        (2.7, 3.0, "higher_is_better", "per_1000", "amber"),  # other units: within 10% of the target
        (2.69, 3.0, "higher_is_better", "per_1000", "red"),
    ],
)
def test_status_rule(value, target, direction, unit, expected):
    assert status_of(value, target, direction, unit) == expected


@pytest.mark.parametrize(
    "day, period_type, start, next_start",
    [
        (D(2026, 11, 17), "day", D(2026, 11, 17), D(2026, 11, 18)),
        (D(2026, 11, 17), "month", D(2026, 11, 1), D(2026, 12, 1)),
        (D(2026, 12, 31), "month", D(2026, 12, 1), D(2027, 1, 1)),  # year rollover
        (D(2026, 11, 17), "quarter", D(2026, 10, 1), D(2027, 1, 1)),
        (D(2026, 2, 28), "year", D(2026, 1, 1), D(2027, 1, 1)),
    ],
)
def test_periods(day, period_type, start, next_start):
    assert period_start(day, period_type) == start
    assert next_period_start(start, period_type) == next_start


def test_periods_between_covers_both_ends():
    assert periods_between(D(2026, 10, 31), D(2026, 12, 1), "month") == [D(2026, 10, 1), D(2026, 11, 1),
                                                                         D(2026, 12, 1)]


def test_periods_stop_at_the_data_date():
    months = periods_between(D(2026, 11, 1), D(2031, 10, 31), "month")  # e.g. up to a licence's expiry
    assert until_data_date(months, D(2026, 11, 2)) == [D(2026, 11, 1)]
    assert until_data_date([D(2026, 1, 1), D(2025, 1, 1)], D(2026, 11, 2)) == [D(2025, 1, 1), D(2026, 1, 1)]
    assert until_data_date([D(2026, 11, 3)], D(2026, 11, 2)) == []
    assert until_data_date([D(2031, 10, 1)], None) == [D(2031, 10, 1)]  # no data date known: nothing dropped


def test_scope_affects_changed_periods_and_everything_after_a_snapshot_change():
    scope = Scope(full=False, days=frozenset({D(2026, 11, 3)}), since=D(2026, 12, 15))
    assert scope.affects(D(2026, 11, 3), "day") and not scope.affects(D(2026, 11, 4), "day")
    assert scope.affects(D(2026, 11, 1), "month")  # holds the changed day
    assert not scope.affects(D(2026, 10, 1), "month")
    assert scope.affects(D(2026, 12, 1), "month")  # ends after the snapshot change
    assert scope.date_ranges(["month"]) == [(D(2026, 11, 1), None)]  # Nov + everything from Dec: merged
    assert Scope.nothing().empty and Scope(full=True).date_ranges(["day"]) is None


def _catalog_with_themes(tmp_path, themes):
    import shutil

    from citybrain.catalog import default_catalog_dir

    root = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), root)
    (root / "themes.yaml").write_text(yaml.safe_dump({"themes": themes}, allow_unicode=True), encoding="utf-8")
    return root


def test_shipped_themes_cover_ten_seed_databases():
    from citybrain.catalog import get_catalog

    cat = get_catalog()
    libraries = {t.library for t in cat.themes.values()}
    assert len(cat.themes) >= 10 and len(libraries) >= 10
    for t in cat.themes.values():
        assert t.grain and t.primary_key and t.description and t.title_zh and t.title_en


def test_theme_validation_names_every_problem(tmp_path):
    from citybrain.catalog import CatalogError, load_catalog

    bad = {"name": "theme_bad", "library": "nowhere", "title_zh": "坏", "title_en": "Bad", "grain": "g",
           "primary_key": ["k"], "owner": "XXX", "description": "d", "inputs": ["grid_event", "no_such_table"],
           "sql": "SELECT k FROM {grid_event} JOIN {hotline_ticket}"}
    root = _catalog_with_themes(tmp_path, [bad, dict(bad)])
    with pytest.raises(CatalogError) as err:
        load_catalog(root)
    msgs = [m for m in err.value.messages if m.startswith("themes.yaml")]
    assert msgs == [
        "themes.yaml: theme theme_bad: library: unknown library 'nowhere'",
        "themes.yaml: theme theme_bad: owner: unknown department 'XXX'",
        "themes.yaml: theme theme_bad: inputs: unknown silver input 'no_such_table' (a resource, <entity>_golden, "
        "discrepancies or agreement_rates)",
        "themes.yaml: theme theme_bad: sql: {hotline_ticket} is not listed in inputs",
        "themes.yaml: theme theme_bad: inputs: 'no_such_table' is never read by the sql (write it as "
        "{no_such_table})",
        "themes.yaml: theme theme_bad: name: duplicate theme 'theme_bad' (first defined at themes.yaml themes[0])",
        "themes.yaml: theme theme_bad: library: unknown library 'nowhere'",
        "themes.yaml: theme theme_bad: owner: unknown department 'XXX'",
        "themes.yaml: theme theme_bad: inputs: unknown silver input 'no_such_table' (a resource, <entity>_golden, "
        "discrepancies or agreement_rates)",
        "themes.yaml: theme theme_bad: sql: {hotline_ticket} is not listed in inputs",
        "themes.yaml: theme theme_bad: inputs: 'no_such_table' is never read by the sql (write it as "
        "{no_such_table})",
    ]


def test_themes_file_is_optional(tmp_path):
    from citybrain.catalog import load_catalog

    root = _catalog_with_themes(tmp_path, [])
    (root / "themes.yaml").unlink()
    assert load_catalog(root).themes == {}

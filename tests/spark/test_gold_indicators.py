"""Indicator values from tiny inline silver tables, compared whole with hand-computed expectations."""

import datetime as dt

import pytest

from citybrain.gold import indicators as I
from citybrain.gold.sample_lake import silver_frame
from citybrain.gold.scope import InputFacts

pytestmark = pytest.mark.spark
D, T = dt.date, dt.datetime
CITY, A, B = "370600", "370602", "370611"  # city total, 芝罘区, 福山区


@pytest.fixture(scope="module")
def cat():
    from citybrain.catalog import get_catalog

    return get_catalog()


def _key(row):
    return row[:4]  # indicator, district, period type, period: unique per row


def _run(spark, cat, codes, tables, facts, data_date):
    """plan + transform over inline inputs, with only districts A and B in the catalogue's list."""
    inputs = {name: silver_frame(spark, cat, name, rows) for name, rows in tables.items()}
    inds = [cat.indicators[c] for c in codes]
    districts = [d for d in cat.division_list if d.code in (A, B)]
    periods = I.plan_periods(inds, inputs, facts, {}, data_date)
    out = I.transform(inds, inputs, periods=periods, facts=facts, districts=districts)
    assert [f"{f.name} {f.dataType.simpleString()}" for f in out.schema.fields] == \
        [f"{n} {t}" for n, t in I.VALUE_COLUMNS]
    return sorted((tuple(r) for r in out.collect()), key=_key)


def test_event_indicators_by_day_month_city_with_zero_denominators(spark, cat):
    grid = [
        dict(event_id="e1", district_code=A, reported_at=T(2026, 11, 1, 9), deadline_at=T(2026, 11, 2, 9),
             closed_at=T(2026, 11, 1, 12), status="closed"),  # on time
        dict(event_id="e2", district_code=A, reported_at=T(2026, 11, 1, 10), deadline_at=T(2026, 11, 1, 12),
             closed_at=T(2026, 11, 1, 15), status="closed"),  # late
        dict(event_id="e3", district_code=B, reported_at=T(2026, 11, 2, 8), status="reported"),  # no deadline
        dict(event_id="e4", district_code=None, reported_at=T(2026, 11, 2, 9), deadline_at=T(2026, 11, 3),
             closed_at=T(2026, 11, 2, 10), status="closed"),  # no district: counts in the city total only
    ]
    air = [
        dict(station_code="s1", district_code=A, observed_at=T(2026, 11, 1, 1), obs_date=D(2026, 11, 1), aqi=50),
        dict(station_code="s1", district_code=A, observed_at=T(2026, 11, 1, 2), obs_date=D(2026, 11, 1), aqi=170),
        dict(station_code="s2", district_code=B, observed_at=T(2026, 11, 1, 1), obs_date=D(2026, 11, 1), aqi=90),
        dict(station_code="s1", district_code=A, observed_at=T(2026, 11, 2, 1), obs_date=D(2026, 11, 2), aqi=80),
        dict(station_code="s2", district_code=B, observed_at=T(2026, 11, 2, 1), obs_date=D(2026, 11, 2), aqi=None),
    ]
    facts = {"grid_event": InputFacts("silver.grid_event", 7, "event", partitioned_by_event_date=True),
             "env_air_quality_hourly": InputFacts("silver.env_air_quality_hourly", 2, "reading")}
    got = _run(spark, cat, ["IND_GRID_ONTIME_CLOSE", "IND_GOOD_AIR_DAYS_RATE"],
               {"grid_event": grid, "env_air_quality_hourly": air}, facts, D(2026, 11, 2))
    g, a = '{"silver.grid_event": 7}', '{"silver.env_air_quality_hourly": 2}'
    zero = "denominator is zero"
    nov, y26 = D(2026, 11, 1), D(2026, 1, 1)
    expected = [
        # good-air days: district A has 2 valid days, 1 good (11-01 averages 110); B 1 valid day, good (90);
        # the city judges each day on all stations: 11-01 averages 103.3 (not good), 11-02 80 (good)
        ("IND_GOOD_AIR_DAYS_RATE", A, "month", nov, 1.0, 2.0, 50.0, "%", None, "none", None, a),
        ("IND_GOOD_AIR_DAYS_RATE", B, "month", nov, 1.0, 1.0, 100.0, "%", None, "none", None, a),
        ("IND_GOOD_AIR_DAYS_RATE", CITY, "month", nov, 1.0, 2.0, 50.0, "%", None, "none", None, a),
        ("IND_GOOD_AIR_DAYS_RATE", A, "year", y26, 1.0, 2.0, 50.0, "%", None, "none", None, a),
        ("IND_GOOD_AIR_DAYS_RATE", B, "year", y26, 1.0, 1.0, 100.0, "%", None, "none", None, a),
        ("IND_GOOD_AIR_DAYS_RATE", CITY, "year", y26, 1.0, 2.0, 50.0, "%", None, "none", None, a),
        ("IND_GRID_ONTIME_CLOSE", A, "day", D(2026, 11, 1), 1.0, 2.0, 50.0, "%", None, "none", None, g),
        ("IND_GRID_ONTIME_CLOSE", A, "day", D(2026, 11, 2), 0.0, 0.0, None, "%", None, "none", zero, g),
        ("IND_GRID_ONTIME_CLOSE", A, "month", nov, 1.0, 2.0, 50.0, "%", None, "none", None, g),
        ("IND_GRID_ONTIME_CLOSE", B, "day", D(2026, 11, 1), 0.0, 0.0, None, "%", None, "none", zero, g),
        ("IND_GRID_ONTIME_CLOSE", B, "day", D(2026, 11, 2), 0.0, 0.0, None, "%", None, "none", zero, g),
        ("IND_GRID_ONTIME_CLOSE", B, "month", nov, 0.0, 0.0, None, "%", None, "none", zero, g),
        ("IND_GRID_ONTIME_CLOSE", CITY, "day", D(2026, 11, 1), 1.0, 2.0, 50.0, "%", None, "none", None, g),
        ("IND_GRID_ONTIME_CLOSE", CITY, "day", D(2026, 11, 2), 1.0, 1.0, 100.0, "%", None, "none", None, g),
        ("IND_GRID_ONTIME_CLOSE", CITY, "month", nov, 2.0, 3.0, 2.0 / 3.0 * 100.0, "%", None, "none", None, g),
    ]
    assert got == sorted(expected, key=_key)


def test_snapshots_as_of_period_end_plus_terms_and_missing_history(spark, cat):
    lights = [
        dict(light_id="l1", district_code=A, sensing=True, status="1"),
        dict(light_id="l2", district_code=A, sensing=False, status="1", valid_to=D(2026, 11, 5)),
        dict(light_id="l2", district_code=A, sensing=True, status="1", valid_from=D(2026, 11, 5)),  # fitted
        dict(light_id="l3", district_code=B, sensing=False, status="9"),  # scrapped: not counted
        dict(light_id="l4", district_code=B, sensing=False, status="1", valid_from=D(2026, 12, 10)),  # new in Dec
    ]
    enterprises = [dict(credit_code="c1", district_code=A, status="1"), dict(credit_code="c2", district_code=A,
                                                                               status="3")]
    individuals = [dict(credit_code="i1", district_code=B, status="1")]
    population = [
        dict(district_code=A, year=2025, as_of_date=D(2025, 12, 31), resident_population=1000),
        dict(district_code=B, year=2025, as_of_date=D(2025, 12, 31), resident_population=500),
        dict(district_code=A, year=2026, as_of_date=D(2026, 12, 31), resident_population=2000),
        dict(district_code=B, year=2026, as_of_date=D(2026, 12, 31), resident_population=0),
    ]
    catalogue = [dict(code="1", share_type="无条件共享"), dict(code="2", share_type="有条件共享"),
                 dict(code="3", share_type="不予共享")]
    first = D(2026, 11, 1)
    facts = {
        "city_streetlight": InputFacts("silver.city_streetlight", 3, "entity", True, observed_from=first),
        "le_enterprise": InputFacts("silver.le_enterprise", 4, "entity", True, observed_from=first),
        "le_individual_business": InputFacts("silver.le_individual_business", 5, "entity", True, observed_from=first),
        "macro_resident_population": InputFacts("silver.macro_resident_population", 6, "reading"),
        "meta_catalog_resource": InputFacts("silver.meta_catalog_resource", 1, "reference"),
    }
    got = _run(spark, cat, ["IND_STREETLIGHT_SENSING", "IND_MARKET_ENTITIES_PER_10000", "IND_CATALOGUE_SHARED"],
               {"city_streetlight": lights, "le_enterprise": enterprises, "le_individual_business": individuals,
                "macro_resident_population": population, "meta_catalog_resource": catalogue}, facts, D(2026, 12, 2))
    sl = '{"silver.city_streetlight": 3}'
    me = ('{"silver.le_enterprise": 4, "silver.le_individual_business": 5, '
          '"silver.macro_resident_population": 6}')
    gap = ("numerator is missing: no snapshot of silver.le_enterprise as of 2025-12-31 (first loaded 2026-11-01)")
    nov, dec, y25, y26 = D(2026, 11, 1), D(2026, 12, 1), D(2025, 1, 1), D(2026, 1, 1)
    expected = [
        ("IND_CATALOGUE_SHARED", CITY, "month", dec, 2.0, 3.0, 2.0 / 3.0 * 100.0, "%", None, "none", None,
         '{"silver.meta_catalog_resource": 1}'),
        # 2025: population known, but the lake first loaded the registers in Nov 2026
        ("IND_MARKET_ENTITIES_PER_10000", A, "year", y25, None, 1000.0, None, "per_10000", None, "none", gap, me),
        ("IND_MARKET_ENTITIES_PER_10000", B, "year", y25, None, 500.0, None, "per_10000", None, "none", gap, me),
        ("IND_MARKET_ENTITIES_PER_10000", CITY, "year", y25, None, 1500.0, None, "per_10000", None, "none", gap,
         me),
        # 2026: enterprises + individual businesses in operation over the 2026 year-end population
        ("IND_MARKET_ENTITIES_PER_10000", A, "year", y26, 1.0, 2000.0, 5.0, "per_10000", None, "none", None, me),
        ("IND_MARKET_ENTITIES_PER_10000", B, "year", y26, 1.0, 0.0, None, "per_10000", None, "none",
         "denominator is zero", me),
        ("IND_MARKET_ENTITIES_PER_10000", CITY, "year", y26, 2.0, 2000.0, 10.0, "per_10000", None, "none", None,
         me),
        # November ends with l1 and the refitted l2 sensing; l4 only exists from 10 December
        ("IND_STREETLIGHT_SENSING", A, "month", nov, 2.0, 2.0, 100.0, "%", 90.0, "green", None, sl),
        ("IND_STREETLIGHT_SENSING", B, "month", nov, 0.0, 0.0, None, "%", 90.0, "none", "denominator is zero", sl),
        ("IND_STREETLIGHT_SENSING", CITY, "month", nov, 2.0, 2.0, 100.0, "%", 90.0, "green", None, sl),
        ("IND_STREETLIGHT_SENSING", A, "month", dec, 2.0, 2.0, 100.0, "%", 90.0, "green", None, sl),
        ("IND_STREETLIGHT_SENSING", B, "month", dec, 0.0, 1.0, 0.0, "%", 90.0, "red", None, sl),
        ("IND_STREETLIGHT_SENSING", CITY, "month", dec, 2.0, 3.0, 2.0 / 3.0 * 100.0, "%", 90.0, "red", None, sl),
        ("IND_STREETLIGHT_SENSING", A, "year", y26, 2.0, 2.0, 100.0, "%", 90.0, "green", None, sl),
        ("IND_STREETLIGHT_SENSING", B, "year", y26, 0.0, 1.0, 0.0, "%", 90.0, "red", None, sl),
        ("IND_STREETLIGHT_SENSING", CITY, "year", y26, 2.0, 3.0, 2.0 / 3.0 * 100.0, "%", 90.0, "red", None, sl),
    ]
    assert got == sorted(expected, key=_key)


def test_data_date_ignores_far_future_dates_in_the_data(spark, cat, lake_settings):
    """A licence valid to 2031 (elic_licence's own valid_from/valid_to items, the record's versions in
    _scd_valid_*) and a year-end population estimate do not carry the lake's data date past its last batch."""
    from citybrain.gold.inputs import read_facts
    from citybrain.gold.sample_lake import write_silver
    from citybrain.lake import spark_io

    licences = [dict(licence_no="L1", holder_type="1", id_number="110105194912310021", district_code=A,
                     valid_from=D(2021, 10, 8), valid_to=D(2031, 10, 7), status="1"),
                dict(licence_no="L2", holder_type="2", district_code=B, valid_from=D(2020, 1, 1),
                     valid_to=D(2026, 11, 15), status="1")]  # expires after the data date: still in the register
    write_silver(spark, cat, "elic_licence", licences, lake_settings, batch_day=D(2026, 11, 2))
    write_silver(spark, cat, "macro_resident_population", [
        dict(district_code=A, year=2026, as_of_date=D(2026, 12, 31), resident_population=100)], lake_settings,
        batch_day=D(2026, 11, 1))
    facts, _ = read_facts(spark, ["elic_licence", "macro_resident_population"], cat, lake_settings)
    data_date = max(f.last_day for f in facts.values())
    assert data_date == D(2026, 11, 2)
    inputs = {"elic_licence": spark_io.read_table(spark, "silver.elic_licence", settings=lake_settings)}
    ind = cat.indicators["IND_ELIC_KEYED"]
    periods = I.plan_periods([ind], inputs, facts, {}, data_date)
    assert periods[(ind.code, "month")] == [D(2026, 11, 1)] and periods[(ind.code, "year")] == [D(2026, 1, 1)]
    out = I.transform([ind], inputs, periods=periods, facts=facts,
                      districts=[d for d in cat.division_list if d.code in (A, B)])
    city = {(r.period_type, r.numerator, r.denominator) for r in out.collect() if r.district_code == CITY}
    assert city == {("month", 1.0, 2.0), ("year", 1.0, 2.0)}  # versions by record, not by licence validity

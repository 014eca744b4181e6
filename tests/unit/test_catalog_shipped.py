"""The shipped catalogue (catalog/) validates and holds what issue 3 and the resource plan promise."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from citybrain.catalog import CATALOG_DIR_ENV, Catalog, clear_cache, get_catalog, load_catalog

pytestmark = pytest.mark.unit

# The resource plan in catalog/SCHEMA.md: names, providers, kinds and source bindings are contracts.
PLAN = """
population pop_resident PSB entity db psb.t_resident
population pop_household PSB entity db psb.t_household
population pop_migration PSB event db psb.t_migration
population pop_birth HEALTH event file health/births_*.csv csv gbk
population pop_death CIVIL event db civil.t_death
legal_entity le_enterprise AMR entity db amr.t_enterprise
legal_entity le_individual_business AMR entity file amr/individual_*.xlsx xlsx utf-8
legal_entity le_social_org CIVIL entity db civil.t_social_org
geo geo_address NRP entity db nrp.t_address
geo geo_building NRP entity db nrp.t_building
geo geo_land_parcel NRP entity file nrp/parcels_*.jsonl jsonl utf-8
macro_economy macro_gdp_quarterly STATS reading file stats/gdp_*.csv csv utf-8
macro_economy macro_resident_population STATS reading db stats.t_resident_population
e_licence elic_licence BDB entity db bdb.t_licence
public_credit credit_admin_penalty NDRC event db ndrc.t_penalty
public_credit credit_admin_licensing NDRC event db ndrc.t_licensing
public_credit credit_redblack_list NDRC entity file ndrc/redblack_*.csv csv utf-8
health health_hospital HEALTH entity db health.t_hospital
health health_patient_index HEALTH entity db health.t_patient_index
health health_visit HEALTH event db health.t_visit
livelihood si_insured HRSS entity db hrss.t_insured
livelihood si_pension_payment HRSS event db hrss.t_pension_payment
livelihood civil_subsistence CIVIL entity file civil/subsistence_*.xlsx xlsx utf-8
livelihood civil_elderly_institution CIVIL entity db civil.t_elderly_institution
education edu_school EDU entity db edu.t_school
education edu_student EDU entity db edu.t_student
transport trans_bus_stop TRANS entity db trans.t_bus_stop
transport trans_boarding_daily TRANS reading file trans/boarding_*.csv csv utf-8
transport trans_traffic_flow TRANS reading file trans/traffic_*.jsonl jsonl utf-8
environment env_air_quality_hourly EEB reading file eeb/aqi_*.jsonl jsonl utf-8
environment env_pollution_source EEB entity db eeb.t_pollution_source
urban grid_component CMB entity file cmb/components_*.csv csv gbk
urban grid_event CMB event db cmb.t_grid_event
urban city_streetlight CMB entity db cmb.t_streetlight
urban city_bridge_tunnel HUD entity db hud.t_bridge_tunnel
social hotline_ticket HOTLINE event file hotline/tickets_*.csv csv utf-8
public_safety safety_camera PSB entity db psb.t_camera
public_safety safety_emergency_incident EMA event db ema.t_incident
public_safety safety_hazchem_enterprise EMA entity db ema.t_hazchem_enterprise
economy econ_gov_service_record BDB event db bdb.t_service_record
culture culture_venue CULT entity db cult.t_venue
organisations org_public_institution CIVIL entity db civil.t_public_institution
infrastructure telecom_fibre_coverage MIIT reading file miit/fibre_*.csv csv utf-8
"""
PLAN_ROWS = [line.split() for line in PLAN.strip().splitlines()]

# Items other stages and indicators rely on (issue 3).
REQUIRED_ITEMS = {
    "health_hospital": {"level", "beds", "physicians", "emr_enabled"},
    "health_visit": {"appointment", "emr"},
    "edu_school": {"classrooms", "multimedia_classrooms", "wifi_covered"},
    "trans_bus_stop": {"realtime_arrival"},
    "trans_boarding_daily": {"payment_method", "boardings"},
    "city_streetlight": {"sensing"},
    "safety_camera": {"public_area", "networked"},
    "city_bridge_tunnel": {"is_key", "sensing"},
    "grid_event": {"reported_at", "registered_at", "dispatched_at", "disposed_at", "checked_at", "closed_at",
                   "deadline_at", "status", "event_class", "rework_count"},
    "hotline_ticket": {"received_at", "deadline_at", "closed_at", "satisfaction"},
    "econ_gov_service_record": {"online", "one_stop", "trips"},
    "telecom_fibre_coverage": {"households", "fibre_households"},
    "civil_elderly_institution": {"beds"},
    "si_insured": {"insurance_type"},
    "env_air_quality_hourly": {"aqi", "pm25", "pm10", "so2", "no2", "co", "o3"},
    "macro_resident_population": {"resident_population", "aged_60_plus"},
}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def test_shipped_catalogue_meets_the_minimum_counts(cat):
    c = cat.counts()
    assert c["departments"] >= 15
    assert c["resources"] >= 35
    assert c["indicators"] >= 20
    assert len({r.provider for r in cat.resources.values()}) >= 15
    assert sum(lib.kind == "base" for lib in cat.libraries.values()) == 6
    assert sum(lib.kind == "thematic" for lib in cat.libraries.values()) >= 10
    assert all(cat.resources_by_library(code) for code in cat.libraries), "every library holds a resource"


def test_resource_plan_names_providers_kinds_and_sources_are_kept(cat):
    for library, name, provider, kind, source_kind, where, *fmt in PLAN_ROWS:
        r = cat.resource(name)
        assert (r.library, r.provider, r.kind) == (library, provider, kind), name
        if source_kind == "db":
            database, table = where.split(".")
            assert (r.source.kind, r.source.database, r.source.table) == ("database", database, table), name
            assert r.incremental_key == "updated_at" and r.item("updated_at").type == "T", name
        else:
            assert (r.source.kind, r.source.pattern, r.source.format, r.source.encoding) == (
                "file", where, fmt[0], fmt[1]), name


def test_event_and_reading_resources_name_their_event_time(cat):
    for r in cat.resources.values():
        if r.kind in ("event", "reading"):
            assert r.event_time and r.item(r.event_time).type in ("D", "T"), r.name


def test_identifier_conventions(cat):
    for r in cat.resources.values():
        for it in r.items:
            if it.name == "id_number":
                assert it.format == "id_number" and it.pii == "direct", r.name
            if it.name == "credit_code":
                assert it.format == "credit_code", r.name
            if it.name == "district_code":
                assert it.code_list == "divisions", r.name


def test_items_needed_by_indicators_exist(cat):
    for name, items in REQUIRED_ITEMS.items():
        assert items <= set(cat.resource(name).item_names), (name, items - set(cat.resource(name).item_names))


def test_every_resource_code_starts_with_its_library_class_code(cat):
    for r in cat.resources.values():
        assert r.code.startswith(cat.libraries[r.library].class_code)


def test_entities_have_cross_department_verification_copies(cat):
    amap = cat.authority_map()
    assert {"person", "legal_entity", "address", "building"} <= set(amap)
    assert amap["person"]["name"][0] == "pop_resident.name"
    assert "si_insured.name" in amap["person"]["name"][1]
    assert amap["legal_entity"]["legal_rep_id"][0] == "le_enterprise.legal_rep_id"
    cross = set()
    for entity, attrs in amap.items():
        for attr, (authority, copies) in attrs.items():
            auth_dept = cat.resource(authority.split(".")[0]).provider
            if any(cat.resource(c.split(".")[0]).provider != auth_dept for c in copies):
                cross.add((entity, attr))
    assert len(cross) >= 12, cross
    assert cat.authority_department("person", "name").code == "PSB"
    copies = cat.verification_copies("si_insured")
    assert {vc.attribute for vc in copies} >= {"name", "sex", "birth_date", "address"}


def test_required_indicators_are_defined(cat):
    expected = {
        "IND_STREETLIGHT_SENSING": 90, "IND_PUBLIC_VIDEO_NETWORKED": 95, "IND_KEY_BRIDGE_TUNNEL_SENSING": 100,
        "IND_FTTH_COVERAGE": 95,
    }
    for code, target in expected.items():
        assert cat.indicators[code].target == target
    for code in ["IND_GRID_ONTIME_CLOSE", "IND_GRID_REGISTER_RATE", "IND_GRID_CLOSE_RATE", "IND_GRID_REWORK_RATE",
                 "IND_HOTLINE_ONTIME", "IND_HOTLINE_SATISFACTION", "IND_PHYSICIANS_PER_1000", "IND_BEDS_PER_1000",
                 "IND_ELDERLY_BEDS_PER_1000_60PLUS", "IND_PENSION_COVERAGE", "IND_MARKET_ENTITIES_PER_10000",
                 "IND_GOOD_AIR_DAYS_RATE", "IND_EMR_L2_HOSPITALS", "IND_APPOINTMENT_RATE", "IND_ONLINE_SERVICE_RATE",
                 "IND_ONE_STOP_RATE", "IND_BUS_REALTIME_ARRIVAL", "IND_BUS_EPAYMENT_SHARE",
                 "IND_SCHOOL_MULTIMEDIA_CLASSROOMS", "IND_SCHOOL_WIFI", "IND_CATALOGUE_SHARED",
                 "IND_CATALOGUE_OPENED"]:
        assert code in cat.indicators, code
    assert cat.indicators["IND_PHYSICIANS_PER_1000"].denominator.resource == "macro_resident_population"
    assert cat.indicators["IND_GRID_REWORK_RATE"].direction == "lower_is_better"
    assert cat.indicators["IND_MARKET_ENTITIES_PER_10000"].resources == [
        "le_enterprise", "le_individual_business", "macro_resident_population"]


def test_lookup_by_name_or_code_and_by_department(cat):
    assert cat.resource("101001/0001") is cat.resource("pop_resident")
    with pytest.raises(KeyError, match="no catalogue resource named or coded 'nope'"):
        cat.resource("nope")
    assert {r.name for r in cat.resources_by_department("HOTLINE")} == {"hotline_ticket"}
    assert cat.resource("pop_resident").direct_identifiers == ["id_number", "name", "phone", "address"]
    assert cat.resource("hotline_ticket").source_columns[0] == "ticket_no"


def test_divisions_have_validity_periods(cat):
    before, after = cat.divisions(dt.date(2019, 12, 31)), cat.divisions(dt.date(2021, 1, 1))
    assert "370634" in before and "370614" not in before
    assert "370614" in after and "370634" not in after
    assert cat.current_division("370634", dt.date(2024, 1, 1)) == "370614"
    assert cat.code_list("divisions")["370634"] == "长岛县"
    assert {"370602", "370611", "370612", "370613", "370614", "370681", "370682", "370683", "370685", "370686",
            "370687"} <= set(after)


def test_code_lists_and_grid_time_limits(cat):
    assert cat.code_list("sex")["1"] == "男性"
    assert cat.code_list("grid_event_class")["0102"] == "暴露垃圾"
    assert cat.grid_time_limits()["0102"] == 2
    assert "110" in cat.code_list("insurance_type")  # pension insurance
    for r in cat.resources.values():
        for it in r.items:
            if it.code_list:
                assert cat.code_list(it.code_list), (r.name, it.name)


def test_catalog_rows_feed_the_meta_resource(cat):
    rows = cat.catalog_rows()
    meta = cat.resource("meta_catalog_resource")
    assert len(rows) == len(cat.resources)
    assert set(rows[0]) == set(meta.item_names)


def test_loading_does_not_import_spark_or_arrow():
    # DAG files parse the catalogue: it must not pull in pyspark at import/load time
    import subprocess

    code = "import sys; from citybrain.catalog import load_catalog; load_catalog(); print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_get_catalog_is_cached_and_follows_the_env_variable(tmp_path, monkeypatch):
    import shutil

    clear_cache()
    first = get_catalog()
    assert get_catalog() is first
    shutil.copytree(first.root, tmp_path / "catalog")
    monkeypatch.setenv(CATALOG_DIR_ENV, str(tmp_path / "catalog"))
    other = get_catalog()
    assert other is not first and other.root == tmp_path / "catalog"
    monkeypatch.delenv(CATALOG_DIR_ENV)
    clear_cache()

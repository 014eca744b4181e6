"""Every catalogue indicator recomputed independently from the simulator's own sources (clean data, two days).

The lake is built once for the module the way production builds it: the simulator writes the department
databases and file drops with no faults, the ingestion pull/load tasks of every resource gold reads bring both
days into bronze, conform builds silver, run_gold builds gold. The expected values never touch the lake or
the gold code: each indicator's formula is written out below by hand from its definition (catalog/indicators
.yaml `definition`, /work/shared STANDARDS section 4) in pandas over the SQLite databases and files the
simulator wrote; only the indicator's scale and period types are taken from the catalogue.

Periods (docs/lake-contract.md, gold): a side that reads a register (an entity) is the register as it stood
at the period's end; the lake first holds a register from the first simulated day, so before it the side is
unknown (null). A side that reads events or readings places each row in the period of its date. Snapshot-only
indicators have a period from the first load to the last simulated day. Rows: the city total (every row) and
each district.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.integration

SCALE, DAYS, SEED = 0.002, 2, 42
CITY = "370600"  # 烟台市 (STANDARDS section 2)
DISTRICTS = {"370602", "370611", "370612", "370613", "370614", "370681", "370682", "370683", "370685", "370686",
             "370687"}
PENGLAI_SINCE = dt.date(2020, 6, 5)  # 370614 exists from the 蓬莱/长岛 merger on (STANDARDS section 2, GB/T 2260)
TOLERANCE = 1e-9


# -- the simulator's sources, read with pandas ------------------------------------------------------------------
def _latest(frames: list[pd.DataFrame], key: list[str]) -> pd.DataFrame:
    """Later drops restate earlier rows of the same key: keep the last one."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).drop_duplicates(key, keep="last").reset_index(drop=True)


def read_source(sources: Path, resource) -> pd.DataFrame:
    """A resource's rows as the department holds them after the last simulated day, less the rows whose
    district did not exist on the row's own date (an event's or reading's `event_time`): GB/T 2260 has 370614
    from the 2020-06-05 merger on and 370634/370684 before it, so a statistic dated earlier under 370614 names
    no district (the simulator back-casts today's code to 2016)."""
    df = _department_rows(sources, resource)
    if "district_code" not in df.columns or not resource.event_time or not len(df):
        return df
    day = pd.to_datetime(df[resource.event_time], errors="coerce").dt.date
    code = text(df, "district_code")
    merged_away = code.isin(["370634", "370684"])
    invalid = ((code == "370614") & (day < PENGLAI_SINCE)) | (merged_away & (day >= PENGLAI_SINCE))
    return df[~invalid.fillna(False)].reset_index(drop=True)


def _department_rows(sources: Path, resource) -> pd.DataFrame:
    src = resource.source
    if src.kind == "database":
        with sqlite3.connect(sources / "db" / f"{src.database}.sqlite") as con:
            return pd.read_sql_query(f'SELECT * FROM "{src.table}"', con)
    if src.kind == "file":
        files = sorted((sources / "files").glob(src.pattern))  # <stem>_YYYYMMDD: name order is date order
        if src.format == "csv":
            frames = [pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""], sep=src.delimiter,
                                  encoding="gbk" if src.encoding.lower() in ("gbk", "gb2312", "gb18030") else "utf-8")
                      for f in files]
        elif src.format == "jsonl":
            frames = [pd.read_json(f, lines=True, dtype=False, convert_dates=False) for f in files]
        else:
            frames = [pd.read_excel(f, dtype=str) for f in files]
        return _latest(frames, resource.primary_key)
    raise AssertionError(f"{resource.name}: no independent reader for source kind {src.kind}")


def catalogue_rows(catalog_dir: Path) -> pd.DataFrame:
    """meta_catalog_resource's source is the catalogue itself: one row per resource YAML."""
    import yaml

    docs = [yaml.safe_load(p.read_text()) for p in sorted((catalog_dir / "resources").rglob("*.yaml"))]
    return pd.DataFrame([{"code": d["code"], "share_type": d["share"]["type"], "open_type": d["open"]["type"]}
                         for d in docs if isinstance(d, dict) and "code" in d])


# -- column helpers (department values as text, numbers or 0/1) ----------------------------------------------------
def text(df, col) -> pd.Series:
    return df[col].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) or v == ""
                       else str(v).strip())


def flag(df, col) -> pd.Series:
    return text(df, col).map(lambda v: v is not None and v.lower() in ("1", "true", "t", "y"))


def number(df, col) -> pd.Series:
    return pd.to_numeric(text(df, col), errors="coerce")


def when(df, col) -> pd.Series:
    return pd.to_datetime(text(df, col), errors="coerce")


def present(df, col) -> pd.Series:
    return text(df, col).notna()


def among(df, col, codes) -> pd.Series:
    return text(df, col).isin(codes)


def count(mask: Callable) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(mask(df).sum()) if len(df) else 0.0


def total(col: str, mask: Callable | None = None) -> Callable[[pd.DataFrame], float]:
    def measure(df):
        if not len(df):
            return 0.0
        keep = mask(df) if mask else pd.Series(True, index=df.index)
        return float(number(df, col)[keep].fillna(0).sum())
    return measure


def distinct(col: str, mask: Callable) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(text(df, col)[mask(df)].dropna().nunique()) if len(df) else 0.0


def good_air_days(df) -> float:
    """Days whose mean hourly AQI (valid readings) is at most 100 (HJ 633 day rating, approximated)."""
    if not len(df):
        return 0.0
    aqi = number(df, "aqi")
    means = aqi[aqi.notna()].groupby(text(df, "obs_date")[aqi.notna()]).mean()
    return float((means <= 100).sum())


def valid_air_days(df) -> float:
    return float(text(df, "obs_date")[number(df, "aqi").notna()].nunique()) if len(df) else 0.0


@dataclass(frozen=True)
class Side:
    resource: str
    measure: Callable[[pd.DataFrame], float]
    date: str | None = None  # the item placing a row in a period; None: the register at the period's end


def in_service(df):
    return text(df, "status").ne("9") & present(df, "status")


def live_service(df):
    return present(df, "status") & ~among(df, "status", ["4", "5"])


GRID_DUE = Side("grid_event", count(lambda d: present(d, "deadline_at")), "reported_at")
SERVICE_ACCEPTED = Side("econ_gov_service_record", count(live_service), "applied_at")
HOSPITAL_L2 = lambda d: among(d, "level", ["2", "3"])  # noqa: E731
VISITS = "visit_time"
POPULATION = lambda col: Side("macro_resident_population", total(col), "as_of_date")  # noqa: E731

# code -> (numerator sides, denominator sides): written from each definition, not from the catalogue's filters
FORMULAS: dict[str, tuple[list[Side], list[Side]]] = {
    # 具备单灯监控(感知)能力的在用路灯 / 在用路灯
    "IND_STREETLIGHT_SENSING": ([Side("city_streetlight", count(lambda d: in_service(d) & flag(d, "sensing")))],
                                [Side("city_streetlight", count(in_service))]),
    # 社会公共区域摄像机中联网的比例 (在用)
    "IND_PUBLIC_VIDEO_NETWORKED": (
        [Side("safety_camera", count(lambda d: in_service(d) & flag(d, "public_area") & flag(d, "networked")))],
        [Side("safety_camera", count(lambda d: in_service(d) & flag(d, "public_area")))]),
    # 重点桥梁、隧道中安装感知设施的比例
    "IND_KEY_BRIDGE_TUNNEL_SENSING": (
        [Side("city_bridge_tunnel", count(lambda d: flag(d, "is_key") & flag(d, "sensing")))],
        [Side("city_bridge_tunnel", count(lambda d: flag(d, "is_key")))]),
    # 光纤到户覆盖家庭数 / 家庭户数
    "IND_FTTH_COVERAGE": ([Side("telecom_fibre_coverage", total("fibre_households"), "report_date")],
                          [Side("telecom_fibre_coverage", total("households"), "report_date")]),
    # 期内应结案(有时限)事件中按期结案的比例
    "IND_GRID_ONTIME_CLOSE": (
        [Side("grid_event", count(lambda d: text(d, "status").eq("closed")
                                  & (when(d, "closed_at") <= when(d, "deadline_at"))), "reported_at")],
        [GRID_DUE]),
    # 上报事件中立案的比例
    "IND_GRID_REGISTER_RATE": ([Side("grid_event", count(lambda d: present(d, "registered_at")), "reported_at")],
                               [Side("grid_event", count(lambda d: pd.Series(True, index=d.index)),
                                     "reported_at")]),
    # 立案事件中已结案的比例
    "IND_GRID_CLOSE_RATE": ([Side("grid_event", count(lambda d: text(d, "status").eq("closed")), "reported_at")],
                            [Side("grid_event", count(lambda d: present(d, "registered_at")), "reported_at")]),
    # 有处置时限的立案事件中在时限内处置完毕的比例
    "IND_GRID_ONTIME_DISPOSE": (
        [Side("grid_event", count(lambda d: when(d, "disposed_at") <= when(d, "deadline_at")), "reported_at")],
        [GRID_DUE]),
    # 处置完毕事件中核查不通过而返工的比例
    "IND_GRID_REWORK_RATE": ([Side("grid_event", count(lambda d: number(d, "rework_count") > 0), "reported_at")],
                             [Side("grid_event", count(lambda d: present(d, "disposed_at")), "reported_at")]),
    # 有办理时限的工单(不含撤销 5)中在时限内办结的比例
    "IND_HOTLINE_ONTIME": (
        [Side("hotline_ticket", count(lambda d: present(d, "deadline_at") & text(d, "status").ne("5")
                                      & (when(d, "closed_at") <= when(d, "deadline_at"))), "received_at")],
        [Side("hotline_ticket", count(lambda d: present(d, "deadline_at") & present(d, "status")
                                      & text(d, "status").ne("5")), "received_at")]),
    # 回访有效评价(1 满意 2 基本满意 3 不满意)中满意和基本满意的比例
    "IND_HOTLINE_SATISFACTION": (
        [Side("hotline_ticket", count(lambda d: among(d, "satisfaction", ["1", "2"])), "received_at")],
        [Side("hotline_ticket", count(lambda d: among(d, "satisfaction", ["1", "2", "3"])), "received_at")]),
    # 执业(助理)医师数 / 年末常住人口 x 1000
    "IND_PHYSICIANS_PER_1000": ([Side("health_hospital", total("physicians"))],
                                [POPULATION("resident_population")]),
    "IND_BEDS_PER_1000": ([Side("health_hospital", total("beds"))], [POPULATION("resident_population")]),
    # 养老机构床位数 / 60 岁及以上常住人口 x 1000
    "IND_ELDERLY_BEDS_PER_1000_60PLUS": ([Side("civil_elderly_institution", total("beds"))],
                                         [POPULATION("aged_60_plus")]),
    # 参加基本养老保险(110 企业职工, 120 机关事业, 170 城乡居民)且参保(1 参保缴费, 2 暂停缴费)的人数 / 16-59 岁人口
    "IND_PENSION_COVERAGE": (
        [Side("si_insured", distinct("id_number", lambda d: among(d, "insurance_type", ["110", "120", "170"])
                                     & among(d, "insured_status", ["1", "2"])))],
        [POPULATION("aged_16_59")]),
    # 存续(1)企业和个体工商户数 / 年末常住人口 x 10000
    "IND_MARKET_ENTITIES_PER_10000": (
        [Side("le_enterprise", count(lambda d: text(d, "status").eq("1"))),
         Side("le_individual_business", count(lambda d: text(d, "status").eq("1")))],
        [POPULATION("resident_population")]),
    # 日均 AQI <= 100 的有效监测天数 / 有效监测天数
    "IND_GOOD_AIR_DAYS_RATE": ([Side("env_air_quality_hourly", good_air_days, "observed_at")],
                               [Side("env_air_quality_hourly", valid_air_days, "observed_at")]),
    # 二级及以上医院中应用电子病历的比例
    "IND_EMR_L2_HOSPITALS": ([Side("health_hospital", count(lambda d: HOSPITAL_L2(d) & flag(d, "emr_enabled")))],
                             [Side("health_hospital", count(HOSPITAL_L2))]),
    # 门诊(1)就诊中预约就诊的比例
    "IND_APPOINTMENT_RATE": (
        [Side("health_visit", count(lambda d: text(d, "visit_type").eq("1") & flag(d, "appointment")), VISITS)],
        [Side("health_visit", count(lambda d: text(d, "visit_type").eq("1")), VISITS)]),
    # 就诊记录中生成电子病历的比例
    "IND_VISIT_EMR_RATE": ([Side("health_visit", count(lambda d: flag(d, "emr")), VISITS)],
                           [Side("health_visit", count(lambda d: pd.Series(True, index=d.index)), VISITS)]),
    # 受理办件(不含 4 不予受理, 5 撤回)中全程网办 / 一窗一次办结 / 跑动不超过 1 次的比例
    "IND_ONLINE_SERVICE_RATE": (
        [Side("econ_gov_service_record", count(lambda d: live_service(d) & flag(d, "online")), "applied_at")],
        [SERVICE_ACCEPTED]),
    "IND_ONE_STOP_RATE": (
        [Side("econ_gov_service_record", count(lambda d: live_service(d) & flag(d, "one_stop")), "applied_at")],
        [SERVICE_ACCEPTED]),
    "IND_MAX_ONE_TRIP_RATE": (
        [Side("econ_gov_service_record", count(lambda d: live_service(d) & (number(d, "trips") <= 1)),
              "applied_at")],
        [SERVICE_ACCEPTED]),
    # 在用(1)公交站点中提供实时到站信息的比例
    "IND_BUS_REALTIME_ARRIVAL": (
        [Side("trans_bus_stop", count(lambda d: text(d, "status").eq("1") & flag(d, "realtime_arrival")))],
        [Side("trans_bus_stop", count(lambda d: text(d, "status").eq("1")))]),
    # 交通 IC 卡(02)、二维码/移动支付(03)、银联闪付(04)乘车人次 / 总乘车人次
    "IND_BUS_EPAYMENT_SHARE": (
        [Side("trans_boarding_daily", total("boardings", lambda d: among(d, "payment_method", ["02", "03", "04"])),
              "service_date")],
        [Side("trans_boarding_daily", total("boardings"), "service_date")]),
    # 多媒体教室数 / 普通教室数
    "IND_SCHOOL_MULTIMEDIA_CLASSROOMS": ([Side("edu_school", total("multimedia_classrooms"))],
                                         [Side("edu_school", total("classrooms"))]),
    # 实现无线网络全覆盖的学校 / 学校总数
    "IND_SCHOOL_WIFI": ([Side("edu_school", count(lambda d: flag(d, "wifi_covered")))],
                        [Side("edu_school", count(lambda d: pd.Series(True, index=d.index)))]),
    # 电子证照中可按公民身份号码(自然人 1)或统一社会信用代码(法人 2)关联到持证主体的比例
    "IND_ELIC_KEYED": (
        [Side("elic_licence", count(lambda d: (text(d, "holder_type").eq("1") & present(d, "id_number"))
                                    | (text(d, "holder_type").eq("2") & present(d, "credit_code"))))],
        [Side("elic_licence", count(lambda d: pd.Series(True, index=d.index)))]),
    # 目录中无条件共享和有条件共享 / 无条件开放和有条件开放的资源占资源总数的比例
    "IND_CATALOGUE_SHARED": ([Side("meta_catalog_resource", count(lambda d: text(d, "share_type").ne("不予共享")))],
                             [Side("meta_catalog_resource", count(lambda d: pd.Series(True, index=d.index)))]),
    "IND_CATALOGUE_OPENED": ([Side("meta_catalog_resource", count(lambda d: text(d, "open_type").ne("不予开放")))],
                             [Side("meta_catalog_resource", count(lambda d: pd.Series(True, index=d.index)))]),
}


# -- periods -------------------------------------------------------------------------------------------------------
def period_of(day: dt.date, period_type: str) -> dt.date:
    return {"day": day, "month": day.replace(day=1), "year": dt.date(day.year, 1, 1)}[period_type]


def period_after(start: dt.date, period_type: str) -> dt.date:
    if period_type == "day":
        return start + dt.timedelta(days=1)
    if period_type == "month":
        return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return dt.date(start.year + 1, 1, 1)


def _rows_in(df: pd.DataFrame, side: Side, period: dt.date, end: dt.date, first_day: dt.date) -> pd.DataFrame | None:
    """The rows a side reads for a period; None when the lake could not know them (no register yet)."""
    if side.date is None:  # the register as it stood at the period's end: unknown before the first load
        return df if end > first_day else None
    days = when(df, side.date).dt.date
    return df[(days >= period) & (days < end)]


def _side_value(group: list[Side], picked: dict, district: str) -> float | None:
    parts = []
    for s in group:
        df = picked[id(s)]
        if df is None:
            return None
        if district != CITY:
            df = df[text(df, "district_code").eq(district)]
        parts.append(s.measure(df))
    return float(sum(parts))


def expected_values(ind, sources: dict[str, pd.DataFrame], first_day: dt.date, last_day: dt.date) -> dict:
    """(district, period type, period) -> (numerator, denominator, value) of one indicator."""
    num_sides, den_sides = FORMULAS[ind.code]
    sides = [*num_sides, *den_sides]
    by_district = any("district_code" in sources[s.resource].columns for s in sides) and ind.district_item
    types = [pt for pt in ("day", "month", "year") if any(g.endswith("_" + pt) for g in ind.grain)]
    out = {}
    for pt in types:
        dated = [s for s in sides if s.date]
        if dated:
            periods = {period_of(d.date(), pt) for s in dated for d in when(sources[s.resource], s.date).dropna()}
        else:
            periods, p = set(), period_of(first_day, pt)
            while p <= last_day:
                periods.add(p)
                p = period_after(p, pt)
        for period in sorted(p for p in periods if p <= last_day):
            end = period_after(period, pt)
            picked = {id(s): _rows_in(sources[s.resource], s, period, end, first_day) for s in sides}
            districts = {CITY}
            if by_district:
                districts |= DISTRICTS
                for df in picked.values():
                    if df is not None and "district_code" in df.columns:
                        districts |= set(text(df, "district_code").dropna())
                # only districts that existed at some time in the period: conform quarantines a GB/T 2260 code
                # outside its validity (the simulator's yearly statistics use today's 370614 back to 2016)
                districts = {d for d in districts if d != "370614" or end > PENGLAI_SINCE}
            for district in districts:
                num = _side_value(num_sides, picked, district)
                den = _side_value(den_sides, picked, district)
                value = num / den * float(ind.scale) if num is not None and den else None
                out[(district, pt, period)] = (num, den, value)
    return out


# -- the lake --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory):
    """Clean sources for two days -> ingestion (pull + load of every indicator input) -> conform -> gold."""
    from citybrain.catalog import get_catalog
    from citybrain.conform.job import run_conform
    from citybrain.gold.job import run_gold
    from citybrain.ingest.load import load_resource
    from citybrain.ingest.pull import pull_resource
    from citybrain.settings import get_settings, reset_settings
    from citybrain.sources.generate import generate_sources

    root = tmp_path_factory.mktemp("gold-recompute")
    keys = ("CITYBRAIN_LAKE_URI", "CITYBRAIN_SOURCES_DIR", "CITYBRAIN_SITE_DIR")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict(zip(keys, (str(root / "lake"), str(root / "sources"), str(root / "site")), strict=True)))
    reset_settings()
    try:
        settings, catalog = get_settings(), get_catalog()
        report = generate_sources(settings, scale=SCALE, seed=SEED, days=DAYS, faults="none")
        assert report.faults_total == 0
        names = sorted({r for ind in catalog.indicators.values() for r in ind.resources})
        first = dt.date.fromisoformat(report.start_date)
        days = [first + dt.timedelta(days=d) for d in range(DAYS)]
        # one catch-up ingestion for the last day lands every daily drop of both days (one batch per file)
        # and the databases as they stand; then one conform run (keeps this module's minutes down)
        for name in names:
            outcomes = load_resource(pull_resource(name, days[-1], run_id="gold-recompute"), settings)
            # a day's drop without data rows is rejected as header_only at this scale: no row is lost
            failed = [b for b in outcomes if b["status"] not in ("loaded", "skipped", "empty")
                      and not (b["status"] == "rejected" and not b.get("rows_pulled"))]
            assert not failed, f"ingestion of {name} for {days[-1]}: {failed}"
        run_conform(names, until=days[-1], settings=settings, workers=1)  # one writer per table at a time
        summary = run_gold(settings, dashboard=False)
        yield settings, catalog, summary, days
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        reset_settings()


@pytest.fixture(scope="module")
def gold_values(clean_lake):
    from citybrain.lake.arrow_io import read_arrow

    settings = clean_lake[0]
    out: dict[str, dict] = {}
    for r in read_arrow("gold.indicator_values", settings=settings).to_pylist():
        out.setdefault(r["indicator_code"], {})[(r["district_code"], r["period_type"], r["period"])] = r
    return out


@pytest.fixture(scope="module")
def sources(clean_lake):
    settings, catalog, _, _ = clean_lake
    names = {s.resource for num, den in FORMULAS.values() for s in (*num, *den)}
    out = {n: read_source(Path(settings.sources_dir), catalog.resources[n])
           for n in names if n != "meta_catalog_resource"}
    out["meta_catalog_resource"] = catalogue_rows(Path(settings.catalog_dir))
    return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOLERANCE


def test_every_catalogue_indicator_has_an_independent_formula(clean_lake):
    _, catalog, summary, _ = clean_lake
    assert set(FORMULAS) == set(catalog.indicators)
    assert summary["indicators_skipped"] == {} and sorted(summary["indicators_computed"]) == sorted(FORMULAS)


@pytest.mark.parametrize("code", sorted(FORMULAS))
def test_indicator_matches_independent_recomputation(code, clean_lake, gold_values, sources):
    _, catalog, _, days = clean_lake
    ind = catalog.indicators[code]
    expected = expected_values(ind, sources, days[0], days[-1])
    got = gold_values.get(code, {})
    assert expected, f"{code}: the clean sources give no period at all"
    assert any(v[2] is not None for v in expected.values()), f"{code}: no value anywhere: a vacuous comparison"
    missing = sorted(set(expected) - set(got))
    assert not missing, f"{code}: gold lacks {len(missing)} (district, period type, period), e.g. {missing[:5]}"
    wrong = []
    for key, row in sorted(got.items()):
        want = expected.get(key)
        if want is None:  # a district gold lists (a catalogue division valid then) without data in the sources
            want = (0.0, 0.0, None) if row["numerator"] is not None else (None, row["denominator"], None)
            if key[0] in DISTRICTS or row["denominator"] not in (0.0, None):
                wrong.append((key, "not expected", (row["numerator"], row["denominator"], row["value"])))
                continue
        have = (row["numerator"], row["denominator"], row["value"])
        if not all(_same(a, b) for a, b in zip(have, want, strict=True)):
            wrong.append((key, want, have))
        if have[2] is None and row["reason"] is None:
            wrong.append((key, "null value without a reason", have))
    assert not wrong, f"{code}: {len(wrong)} of {len(got)} rows differ (key, expected, gold): {wrong[:6]}"

"""Resource bindings: for every catalogue resource, the rows its department publishes on a day.

A builder returns columns keyed by catalogue item name, computed from the world's authoritative
state, so that copies agree with their authority unless a fault says otherwise. ``conform``
then makes the frame exactly the catalogue's items in catalogue order: any item a builder does
not know (an item added to the catalogue later) is filled from its type, code list, range,
format or reference, and every value is cast to the item's type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from citybrain.sources.city import PHONE_PREFIXES
from citybrain.sources.clock import fmt_dates, fmt_times
from citybrain.sources.readings import READING_BUILDERS
from citybrain.sources.spec import ItemSpec, ResourceSpec
from citybrain.sources.textops import zpad
from citybrain.sources.world import ORG_STATUS, World, retirement_age

Columns = dict[str, np.ndarray]
BUILDERS: dict[str, Callable[[World, int, np.random.Generator], Columns]] = {}
BACKLOG = 30  # days of one-shot events (penalties, incidents) already in the system at the initial load


def builder(name: str):
    """Register the builder of one resource."""
    def wrap(fn):
        BUILDERS[name] = fn
        return fn
    return wrap


def _obj(values) -> np.ndarray:
    return np.asarray(values, dtype=object)


def _n_events(rng: np.random.Generator, per_day: float, day: int, backlog: int = BACKLOG) -> tuple[int, np.ndarray]:
    """How many one-shot events to publish and the day offset of each (day 0 carries a backlog)."""
    days = np.arange(-backlog, 1) if day == 0 else np.asarray([0])
    counts = rng.poisson(per_day, len(days))
    return int(counts.sum()), np.repeat(days, counts)


# -- population ---------------------------------------------------------------------------------


@builder("pop_resident")
def pop_resident(w: World, day: int, rng) -> Columns:
    p = w.city.persons
    pid = w.emit(p, day)
    v = w.person_view(pid)
    birth = p["birth_date"].to_numpy()[pid]
    local = p["id_number"].str[:6].to_numpy()[pid] == v["district_code"]
    years = (w.stable(pid, "register") * 30).astype(int) * 365
    reg = np.where(local, birth, birth + np.minimum(years, np.datetime64(w.clock.start, "D") - birth))
    v["register_date"] = fmt_dates(reg.astype("datetime64[D]"))
    return v


@builder("pop_household")
def pop_household(w: World, day: int, rng) -> Columns:
    h = w.city.households
    hid = w.emit(h, day)
    p = w.city.persons
    active = p["status"].to_numpy() == "active"
    members = np.bincount(p["household_id"].to_numpy()[active], minlength=len(h))[hid]
    head = h["head_pid"].to_numpy()[hid]
    a = w.address_view(h["address_id"].to_numpy()[hid])
    return {
        "household_id": w.city.household_no(hid).astype(object),
        "household_type": np.where(h["kind"].to_numpy()[hid] == "family", "1", "2"),
        "head_id_number": p["id_number"].to_numpy()[head], "head_name": p["name"].to_numpy()[head],
        "address": a["address"], "address_code": a["address_code"], "building_code": a["building_code"],
        "district_code": a["district_code"], "street_code": a["street_code"],
        "member_count": np.maximum(members, 1),
        "register_date": fmt_dates(np.datetime64(w.clock.start, "D")
                                   - (w.stable(hid, "hh_reg") * 20 * 365).astype(int)),
        "updated_at": fmt_times(h["updated_at"].to_numpy()[hid]),
    }


@builder("pop_migration")
def pop_migration(w: World, day: int, rng) -> Columns:
    p = w.city.persons
    ch = w.changes
    if day == 0:
        pids = np.flatnonzero(p["status"].to_numpy() == "moved_out")
        kinds = np.full(len(pids), "02")
        when = np.datetime64(w.clock.start, "s") - rng.integers(86400, 365 * 86400, len(pids)).astype("timedelta64[s]")
        from_d = p["district_code"].to_numpy()[pids]
    else:
        pids = np.r_[ch.arrivals, ch.departures, ch.moves].astype(np.int64)
        kinds = np.r_[np.full(len(ch.arrivals), "01"), np.full(len(ch.departures), "02"), np.full(len(ch.moves), "03")]
        when = w.day_times(rng, len(pids), day)
        moved_from = w.city.addresses["district_code"].to_numpy()[ch.move_from] if len(ch.move_from) else []
        from_d = np.r_[np.full(len(ch.arrivals), None), p["district_code"].to_numpy()[ch.departures],
                       np.asarray(moved_from, dtype=object)]
    v = w.person_view(pids)
    to_d = np.where(kinds == "02", None, v["district_code"])
    from_d = np.where(kinds == "01", rng.choice(["370102", "370202", "370702", "370902", "110105", "210202"],
                                                len(pids)), from_d)
    stamp = pd.Series(fmt_dates(when.astype("datetime64[D]")), dtype=object).str.replace("-", "").to_numpy()
    return {
        "migration_id": _obj("MG" + stamp + kinds.astype(object) + zpad(pids, 12).astype(object)),
        "id_number": v["id_number"], "name": v["name"], "migration_type": kinds,
        "from_division": from_d, "to_division": to_d,
        "reason": w.choose(pids, "mig_reason", ["1", "2", "3", "4", "5", "9"], [35, 10, 20, 15, 15, 5]),
        "migration_time": fmt_times(when), "district_code": v["district_code"],
        "updated_at": fmt_times(np.maximum(when, w.clock.day_start(day))),
    }


@builder("pop_birth")
def pop_birth(w: World, day: int, rng) -> Columns:
    p = w.city.persons
    if day == 0:
        recent = np.datetime64(w.clock.start, "D") - 30
        babies = np.flatnonzero(p["birth_date"].to_numpy() >= recent)
        mothers = np.empty(len(babies), np.int64)
        adult_f = np.flatnonzero((p["sex"].to_numpy() == 2) & (w.city.ages(0) >= 22) & (w.city.ages(0) <= 42)
                                 & (p["status"].to_numpy() == "active"))
        hh = p["household_id"].to_numpy()
        for i, b in enumerate(babies):
            same = adult_f[hh[adult_f] == hh[b]]
            mothers[i] = same[0] if len(same) else adult_f[int(w.stable([b], "mother")[0] * len(adult_f))]
    else:
        babies = np.asarray(w.changes.births, dtype=np.int64)
        mothers = np.asarray([w.city.mothers[b] for b in babies], dtype=np.int64)
    v = w.person_view(babies)
    head = w.city.households["head_pid"].to_numpy()[p["household_id"].to_numpy()[mothers]]
    father_ok = (head != mothers) & (p["sex"].to_numpy()[head] == 1)
    hosp = w.district_hospitals(v["district_code"], rng)
    h_codes = w.city.entities["credit_code"].to_numpy()[w.fac["hospital"]["eid"].to_numpy()[hosp]]
    born = p["birth_date"].to_numpy()[babies].astype("datetime64[s]") + rng.integers(0, 86400, len(babies)).astype(
        "timedelta64[s]")
    return {
        "birth_cert_no": _obj(np.char.add("P", zpad(babies, 9))), "child_name": v["name"], "child_sex": v["sex"],
        "birth_time": fmt_times(born), "birth_weight_g": np.clip(rng.normal(3300, 450, len(babies)), 1200, 5200).round(),
        "gestational_weeks": np.clip(rng.normal(39, 1.5, len(babies)), 30, 42).round(),
        "mother_id_number": p["id_number"].to_numpy()[mothers], "mother_name": p["name"].to_numpy()[mothers],
        "father_id_number": np.where(father_ok, p["id_number"].to_numpy()[head], None),
        "hospital_credit_code": h_codes, "district_code": v["district_code"],
    }


@builder("pop_death")
def pop_death(w: World, day: int, rng) -> Columns:
    p = w.city.persons
    pids = np.flatnonzero(p["status"].to_numpy() == "deceased") if day == 0 else np.asarray(w.changes.deaths, np.int64)
    v = w.person_view(pids)
    died = p["death_date"].to_numpy()[pids].astype("datetime64[D]")
    crem = died + 1 + (w.stable(pids, "crem") * 3).astype(int)
    known = crem <= np.datetime64(w.clock.date(day), "D")
    return {
        "death_id": _obj(np.char.add("D", zpad(pids, 12))), "id_number": v["id_number"], "name": v["name"],
        "sex": v["sex"], "death_date": fmt_dates(died),
        "death_place": w.choose(pids, "dplace", ["1", "2", "3", "9"], [55, 35, 8, 2]),
        "death_cause": w.choose(pids, "dcause", ["1", "2", "3", "9"], [70, 6, 22, 2]),
        "cremation_date": np.where(known, fmt_dates(crem), None), "district_code": v["district_code"],
        "updated_at": v["updated_at"],
    }


# -- legal entities -----------------------------------------------------------------------------


def _entities_of(w: World, day: int, kind: str) -> np.ndarray:
    e = w.city.entities
    ids = np.flatnonzero(e["kind"].to_numpy() == kind)
    return ids[w.entity_changed(ids, day)]


SCOPES = {"C": "生产、加工、销售", "F": "批发、零售", "H": "餐饮服务、住宿服务", "I": "软件开发、信息技术咨询服务",
          "E": "房屋建筑工程施工", "G": "普通货物道路运输、仓储服务", "K": "房地产开发经营、物业管理"}


@builder("le_enterprise")
def le_enterprise(w: World, day: int, rng) -> Columns:
    eid = _entities_of(w, day, "enterprise")
    v = w.entity_view(eid)
    est = w.city.entities["established"].to_numpy()[eid]
    v["enterprise_type"] = w.choose(eid, "etype", ["1100", "1200", "2100", "3100", "4100", "4200", "5100", "9100"],
                                    [70, 5, 2, 5, 8, 5, 3, 2])
    v["business_scope"] = _obj([SCOPES.get(i, "一般经营项目") for i in v["industry_code"]])
    v["approval_date"] = fmt_dates(est + (w.stable(eid, "approval") * 30).astype(int))
    return v


@builder("le_individual_business")
def le_individual_business(w: World, day: int, rng) -> Columns:
    eid = _entities_of(w, day, "individual")
    v = w.entity_view(eid)
    v["operator_name"], v["operator_id_number"] = v["legal_rep_name"], v["legal_rep_id"]
    v["form"] = w.choose(eid, "form", ["1", "2"], [80, 20])
    return v


@builder("le_social_org")
def le_social_org(w: World, day: int, rng) -> Columns:
    eid = _entities_of(w, day, "social_org")
    v = w.entity_view(eid)
    v["org_type"] = w.choose(eid, "orgtype", ["1", "2", "3"], [45, 50, 5])
    v["status"] = _obj([ORG_STATUS[s] for s in w.city.entities["status"].to_numpy()[eid]])
    v["supervisor_unit"] = w.choose(eid, "supervisor", ["烟台市民政局", "烟台市教育局", "烟台市文化和旅游局",
                                                        "烟台市卫生健康委员会", "烟台市科学技术局"])
    v["business_scope"] = _obj(np.full(len(eid), "开展行业交流、培训、咨询服务"))
    return v


@builder("org_public_institution")
def org_public_institution(w: World, day: int, rng) -> Columns:
    eid = _entities_of(w, day, "institution")
    v = w.entity_view(eid)
    v["category"] = w.choose(eid, "pi_cat", ["1", "2", "3"], [55, 40, 5])
    v["funding_source"] = w.choose(eid, "pi_fund", ["1", "2", "3"], [60, 30, 10])
    v["sponsor_unit"] = w.choose(eid, "pi_sponsor", ["烟台市人民政府", "烟台市卫生健康委员会", "烟台市教育局",
                                                     "烟台市文化和旅游局", "烟台市民政局"])
    v["staff_quota"] = (10 + w.stable(eid, "quota") * 300).astype(int)
    v["status"] = _obj([ORG_STATUS[s] for s in w.city.entities["status"].to_numpy()[eid]])
    return v


# -- places -------------------------------------------------------------------------------------


@builder("geo_address")
def geo_address(w: World, day: int, rng) -> Columns:
    a = w.city.addresses
    aid = w.emit(a, day)
    v = w.address_view(aid)
    bld = a["building_id"].to_numpy()[aid]
    b = w.city.buildings
    v["full_address"] = v["address"]
    v["community_code"] = _obj(v["street_code"].astype(str).astype(object) + zpad(bld % 7 + 1, 3).astype(object))
    v["road_name"] = b["road_name"].to_numpy()[bld]
    v["house_number"] = _obj(b["door_no"].to_numpy()[bld].astype(str).astype(object) + "号")
    v["address_level"] = np.where(a["unit"].to_numpy()[aid] > 0, "4", "1")
    v["status"] = np.full(len(aid), "1")
    v["updated_at"] = fmt_times(a["updated_at"].to_numpy()[aid])
    return v


def _building_address(w: World, bld: np.ndarray) -> np.ndarray:
    """The first address (lowest key) in each building: the building's own address record."""
    a = w.city.addresses
    first = pd.Series(np.arange(len(a))).groupby(a["building_id"].to_numpy()).min()
    return first.reindex(bld).to_numpy()


@builder("geo_building")
def geo_building(w: World, day: int, rng) -> Columns:
    b = w.city.buildings
    bid = w.emit(b, day)
    aid = _building_address(w, bid)
    a = w.address_view(aid)
    floors = b["floors"].to_numpy()[bid]
    use = b["use"].to_numpy()[bid]
    return {
        "building_code": w.city.building_code(bid).astype(object),
        "building_name": _obj(b["road_name"].to_numpy()[bid].astype(object) + b["door_no"].to_numpy()[bid].astype(str)
                              + "号楼"),
        "address_code": a["address_code"], "address": a["address"], "district_code": b["district_code"].to_numpy()[bid],
        "structure": w.choose(bid, "structure", ["1", "2", "3", "4", "9"], [8, 62, 25, 3, 2]),
        "use_type": np.where(use == "residential", "10", w.choose(bid, "use", ["20", "30", "40", "50"], [4, 3, 2, 1])),
        "floors_above": floors, "floors_below": (w.stable(bid, "below") * 3).astype(int),
        "height_m": (floors * 3.0 + 1.5).round(2), "floor_area_m2": b["floor_area"].to_numpy()[bid].round(2),
        "built_year": b["built_year"].to_numpy()[bid],
        "parcel_code": w.parcel_code(w.parcel_of_building[bid], b["district_code"].to_numpy()[bid]),
        "longitude": b["lon"].to_numpy()[bid].round(6), "latitude": b["lat"].to_numpy()[bid].round(6),
        "updated_at": fmt_times(b["updated_at"].to_numpy()[bid]),
    }


@builder("geo_land_parcel")
def geo_land_parcel(w: World, day: int, rng) -> Columns:
    b = w.city.buildings
    first = pd.Series(np.arange(len(b))).groupby(w.parcel_of_building).min()
    parcels = np.arange(len(first)) if day == 0 else w.parcel_changed
    bld = first.reindex(parcels).to_numpy()
    d = b["district_code"].to_numpy()[bld]
    area = pd.Series(b["floor_area"].to_numpy()).groupby(w.parcel_of_building).sum().reindex(parcels).to_numpy()
    lon, lat = b["lon"].to_numpy()[bld], b["lat"].to_numpy()[bld]
    dx = np.sqrt(area / 2.5) / 90000
    wkt = _obj([f"POLYGON(({x - e:.6f} {y - e:.6f},{x + e:.6f} {y - e:.6f},{x + e:.6f} {y + e:.6f},"
                f"{x - e:.6f} {y + e:.6f},{x - e:.6f} {y - e:.6f}))" for x, y, e in zip(lon, lat, dx, strict=True)])
    residential = b["use"].to_numpy()[bld] == "residential"
    return {
        "parcel_code": w.parcel_code(parcels, d),
        "land_use": np.where(residential, "07", w.choose(parcels, "landuse", ["05", "06", "08"], [5, 3, 2])),
        "area_m2": (area / 2.5).round(2),
        "right_type": np.where(residential, "1", w.choose(parcels, "right", ["1", "2"], [9, 1])),
        "holder_name": np.where(residential, "业主共有", b["road_name"].to_numpy()[bld].astype(object) + "项目用地"),
        "district_code": d,
        "approved_date": fmt_dates(np.asarray([dt.date(int(y) - 1, 6, 30) for y in b["built_year"].to_numpy()[bld]],
                                              dtype="datetime64[D]")),
        "geometry_wkt": wkt,
    }


# -- health, social security, civil affairs, education -------------------------------------------


def _facility_entities(w: World, kind: str, day: int) -> tuple[pd.DataFrame, np.ndarray, Columns]:
    """Rows of an inventory whose members are legal entities, with the entities' register attributes."""
    f = w.fac[kind]
    rows = w.emit(f, day)
    eid = f["eid"].to_numpy()[rows]
    return f.iloc[rows], eid, w.entity_view(eid)


@builder("health_hospital")
def health_hospital(w: World, day: int, rng) -> Columns:
    f, eid, v = _facility_entities(w, "hospital", day)
    size = f["size"].to_numpy()
    big = size > np.quantile(w.fac["hospital"]["size"], 0.8) if len(size) else size > 0
    level = np.where(big, w.choose(eid, "hlvl", ["3", "2"], [4, 6]), w.choose(eid, "hlvl1", ["1", "2", "9"], [7, 2, 1]))
    beds = np.where(level == "3", 800, np.where(level == "2", 250, 30)) * size
    v.update({
        "hospital_type": np.where(level == "1", w.choose(eid, "htype1", ["B1", "C1", "D1"], [5, 4, 1]),
                                  w.choose(eid, "htype", ["A1", "A2", "A3", "A5"], [6, 2, 1, 1])),
        "level": level, "grade": np.where(level == "9", "N", w.choose(eid, "grade", ["A", "B", "C"], [6, 3, 1])),
        "ownership": np.where(f["public"].to_numpy(), "1", "2"), "beds": beds.round(),
        "physicians": (beds * 0.35).round(), "nurses": (beds * 0.55).round(),
        "emr_enabled": (level != "1") | (w.stable(eid, "emr") < 0.6),
        "emr_level": np.where(level == "3", 5, np.where(level == "2", 4, 2)),
        "internet_hospital": level == "3", "updated_at": fmt_times(f["updated_at"].to_numpy()),
    })
    return v


def _patients(w: World, day: int) -> np.ndarray:
    p = w.city.persons
    pid = np.flatnonzero(p["patient"].to_numpy())
    return pid[w.person_changed(pid, day)]


@builder("health_patient_index")
def health_patient_index(w: World, day: int, rng) -> Columns:
    pid = _patients(w, day)
    v = w.person_view(pid)
    v["empi_id"] = _obj(np.char.add("EMPI3706", zpad(pid, 12)))
    v["health_card_no"] = _obj(np.char.add("370600HC", zpad(pid, 12)))
    created = w.city.persons["birth_date"].to_numpy()[pid].astype("datetime64[s]")
    v["created_at"] = fmt_times(np.maximum(created, np.datetime64("2012-01-01T00:00:00")))
    return v


DEPTS = np.asarray(["内科", "外科", "儿科", "妇产科", "眼科", "口腔科", "中医科", "急诊科", "皮肤科", "骨科"])
ICD10 = np.asarray(["J06.9", "I10", "E11.9", "K29.7", "M54.5", "J20.9", "N39.0", "R51", "H10.9", "K02.9"])
VISITS_PER_PERSON_YEAR = 5.5


@builder("health_visit")
def health_visit(w: World, day: int, rng) -> Columns:
    p = w.city.persons
    pool = np.flatnonzero(p["patient"].to_numpy() & (p["status"].to_numpy() == "active"))
    n = rng.poisson(len(pool) * VISITS_PER_PERSON_YEAR / 365)
    pid = np.sort(pool[rng.integers(0, len(pool), n)])
    v = w.person_view(pid)
    hosp = w.district_hospitals(v["district_code"], rng)
    heids = w.fac["hospital"]["eid"].to_numpy()[hosp]
    when = w.day_times(rng, n, day, 7, 22)
    vtype = rng.choice(["1", "2", "3"], n, p=[0.86, 0.09, 0.05])
    appt = rng.random(n) < 0.42
    seq = np.arange(n)
    return {
        "visit_id": _obj(np.char.add("V" + w.clock.stamp(day), zpad(seq, 10))),
        "empi_id": _obj(np.char.add("EMPI3706", zpad(pid, 12))), "id_number": v["id_number"],
        "hospital_credit_code": w.city.entities["credit_code"].to_numpy()[heids], "visit_type": vtype,
        "department_name": DEPTS[rng.integers(0, len(DEPTS), n)], "visit_time": fmt_times(when),
        "appointment": appt, "appointment_channel": np.where(appt, rng.choice(["1", "2", "3", "4", "5", "6"], n), None),
        "emr": rng.random(n) < 0.9, "diagnosis_code": ICD10[rng.integers(0, len(ICD10), n)],
        "total_fee": np.round(rng.lognormal(5.3, 0.9, n) * np.where(vtype == "3", 25, 1), 2),
        "district_code": v["district_code"], "updated_at": fmt_times(when + np.timedelta64(1800, "s")),
    }


def _insured_rows(w: World, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(person key, insurance type) of every insurance record published on ``day``."""
    p = w.city.persons
    pid = np.flatnonzero(p["insured"].to_numpy())
    pid = pid[w.person_changed(pid, day)]
    age = w.city.ages(day)[pid]
    employee = (age >= 18) & (age < retirement_age(p["sex"].to_numpy()[pid])) & (w.stable(pid, "employee") < 0.7)
    retired = age >= retirement_age(p["sex"].to_numpy()[pid])
    worked = retired & (w.stable(pid, "employee") < 0.6)
    gov = w.stable(pid, "gov") < 0.08
    pension = np.where(employee | worked, np.where(gov, "120", "110"), "170")
    medical = np.where(employee | worked, "310", "390")
    has_pension = age >= 16
    rows_p = np.r_[pid[has_pension], pid, pid[employee & (w.stable(pid, "unemp") < 0.5)]]
    rows_t = np.r_[pension[has_pension], medical, np.full(int((employee & (w.stable(pid, "unemp") < 0.5)).sum()), "210")]
    order = np.lexsort((rows_t, rows_p))
    return rows_p[order], rows_t[order]


@builder("si_insured")
def si_insured(w: World, day: int, rng) -> Columns:
    pid, itype = _insured_rows(w, day)
    p = w.city.persons
    v = w.person_view(pid)
    status = p["status"].to_numpy()[pid]
    age = w.city.ages(day)[pid]
    retired = age >= retirement_age(p["sex"].to_numpy()[pid])
    employee_type = np.isin(itype, ["110", "120", "310", "210"])
    st = np.where(status != "active", "3", np.where(retired & np.isin(itype, ["110", "120", "170"]), "4",
                                                    np.where(w.stable(pid, "pause") < 0.04, "2", "1")))
    employer = w.employers[(w.stable(pid, "employer") * len(w.employers)).astype(int)]
    ev = w.entity_view(employer)
    birth = p["birth_date"].to_numpy()[pid]
    start = np.maximum(birth + (365 * (18 + w.stable(pid, "start") * 7)).astype(int), np.datetime64("1995-01-01"))
    start = np.where(age < 18, birth + 30, start)
    v.update({
        "insurance_type": itype, "insured_status": st, "start_date": fmt_dates(start.astype("datetime64[D]")),
        "employer_credit_code": np.where(employee_type & ~retired, ev["credit_code"], None),
        "employer_name": np.where(employee_type & ~retired, ev["name"], None),
        "contribution_base": np.where(np.isin(itype, ["170", "390"]), None,
                                      (3500 + w.stable(pid, "base") * 15000).round(2)),
    })
    return v


@builder("si_pension_payment")
def si_pension_payment(w: World, day: int, rng) -> Columns:
    date = w.clock.date(day)
    if day == 0:
        prev = (date.replace(day=1) - dt.timedelta(days=1))
        pay = prev.replace(day=10) if date.day < 10 else date.replace(day=10)
    elif date.day == 10:
        pay = date
    else:
        pay = None
    p = w.city.persons
    if pay is None:
        pid = np.empty(0, np.int64)
    else:
        pid = np.flatnonzero(p["insured"].to_numpy() & (p["status"].to_numpy() == "active"))
        age = w.city.ages(day)[pid]
        pid = pid[(age >= retirement_age(p["sex"].to_numpy()[pid])) & (age >= 16)]
    worked = w.stable(pid, "employee") < 0.6
    gov = w.stable(pid, "gov") < 0.08
    itype = np.where(worked, np.where(gov, "120", "110"), "170")
    amount = np.where(itype == "170", 180 + w.stable(pid, "amt") * 250, 2200 + w.stable(pid, "amt") * 3800)
    v = w.person_view(pid)
    month = pay.strftime("%Y-%m") if pay else ""
    when = np.datetime64(pay or date, "s") + (9 * 3600 + (w.stable(pid, "paytime") * 8 * 3600).astype(int)).astype(
        "timedelta64[s]")
    return {
        "payment_id": _obj(np.char.add("PP" + month.replace("-", ""), zpad(pid, 12))), "id_number": v["id_number"],
        "name": v["name"], "insurance_type": itype, "pay_month": np.full(len(pid), month, dtype=object),
        "pay_date": np.full(len(pid), str(pay), dtype=object), "amount": amount.round(2),
        "payment_status": w.choose(pid * 1000 + (pay.month if pay else 0), "paystatus", ["1", "2", "3"], [990, 7, 3]),
        "district_code": v["district_code"], "updated_at": fmt_times(when),
    }


@builder("civil_subsistence")
def civil_subsistence(w: World, day: int, rng) -> Columns:
    p = w.city.persons
    pid = np.flatnonzero(p["subsistence"].to_numpy())
    pid = pid[w.person_changed(pid, day)]
    v = w.person_view(pid)
    active = p["status"].to_numpy() == "active"
    size = np.bincount(p["household_id"].to_numpy()[active], minlength=len(w.city.households))
    fam = np.clip(size[p["household_id"].to_numpy()[pid]], 1, 20)
    rural = np.asarray([d[4] == "8" for d in v["district_code"]], dtype=bool)
    stype = np.where(w.city.ages(day)[pid] >= 80, "3", np.where(rural, "2", "1"))
    approved = np.datetime64(w.clock.start, "D") - (w.stable(pid, "subs") * 2000).astype(int)
    v.update({
        "case_no": _obj(np.char.add(np.char.add("DB", v["district_code"].astype("U6")), zpad(pid, 12))),
        "subsistence_type": stype, "family_size": fam,
        "monthly_allowance": (fam * np.where(stype == "2", 680.0, 880.0)).round(2),
        "approved_date": fmt_dates(approved), "status": np.where(p["status"].to_numpy()[pid] == "active", "1", "2"),
    })
    return v


@builder("civil_elderly_institution")
def civil_elderly_institution(w: World, day: int, rng) -> Columns:
    f, eid, v = _facility_entities(w, "elderly", day)
    beds = (120 * f["size"].to_numpy()).round()
    v.update({"nature": np.where(f["public"].to_numpy(), "1", w.choose(eid, "nature", ["2", "3"], [7, 3])),
              "beds": beds, "nursing_beds": (beds * 0.55).round(), "residents": (beds * 0.68).round(),
              "staff": (beds * 0.3).round(), "star_rating": (w.stable(eid, "stars") * 6).astype(int),
              "opened_date": v["established_date"], "updated_at": fmt_times(f["updated_at"].to_numpy())})
    return v


STAGE_OF_AGE = ((6, 11, ("211", "312")), (12, 14, ("311", "312", "341")), (15, 17, ("342", "341", "365")))
SCHOOL_STAGES = ("211", "211", "311", "342", "312", "341", "211", "311", "365", "111", "512")


def _school_stages(w: World) -> np.ndarray:
    f = w.fac["school"]
    return np.asarray([SCHOOL_STAGES[i % len(SCHOOL_STAGES)] for i in range(len(f))])


def _student_school(w: World, pid: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray]:
    """School row and grade (01-12) of each student: a school of the right stage in their district."""
    f = w.fac["school"]
    stages = _school_stages(w)
    p = w.city.persons
    age = w.city.ages(0 if day == 0 else day)[pid]
    dist = p["district_code"].to_numpy()[pid]
    school = np.zeros(len(pid), np.int64)
    u = w.stable(pid, "school")
    for lo, hi, ok in STAGE_OF_AGE:
        for code in np.unique(dist):
            m = np.flatnonzero((age >= lo) & (age <= hi) & (dist == code))
            cand = np.flatnonzero(np.isin(stages, ok) & (f["district_code"].to_numpy() == code))
            if not len(cand):
                cand = np.flatnonzero(np.isin(stages, ok))
            if not len(cand):
                cand = np.arange(len(f))
            school[m] = cand[(u[m] * len(cand)).astype(int)]
    return school, np.clip(age - 5, 1, 12)


def _students(w: World, day: int) -> np.ndarray:
    age0 = w.city.ages(0)
    pid = np.flatnonzero((age0 >= 6) & (age0 <= 17))
    return pid[w.person_changed(pid, day)]


@builder("edu_student")
def edu_student(w: World, day: int, rng) -> Columns:
    pid = _students(w, day)
    p = w.city.persons
    v = w.person_view(pid)
    school, grade = _student_school(w, pid, day)
    f = w.fac["school"]
    head = w.city.households["head_pid"].to_numpy()[p["household_id"].to_numpy()[pid]]
    enrol_year = w.clock.start.year - grade + (w.clock.start.month >= 9)
    status = p["status"].to_numpy()[pid]
    v.update({
        "student_no": _obj(np.char.add("G", v["id_number"].astype("U18"))),
        "school_code": _obj(np.char.add("3706", zpad(f.index.to_numpy()[school], 6))),
        "grade": _obj(zpad(grade, 2)),
        "enrolment_date": _obj([f"{y}-09-01" for y in enrol_year]),
        "status": np.where(status == "active", "1", np.where(status == "moved_out", "3", "5")),
        "guardian_name": np.where(head != pid, p["name"].to_numpy()[head], None),
        "guardian_phone": np.where(head != pid, p["phone"].to_numpy()[head], None),
    })
    return v


@builder("edu_school")
def edu_school(w: World, day: int, rng) -> Columns:
    f, eid, v = _facility_entities(w, "school", day)
    rows = w.emit(w.fac["school"], day)
    age0 = w.city.ages(0)
    all_students = np.flatnonzero((age0 >= 6) & (age0 <= 17))
    school, _ = _student_school(w, all_students, 0)
    counts = np.bincount(school, minlength=len(w.fac["school"]))[rows]
    classes = np.maximum(1, np.ceil(counts / 40)).astype(int)
    rooms = classes + (w.stable(eid, "rooms") * 6).astype(int)
    v.update({
        "school_code": _obj(np.char.add("3706", zpad(rows, 6))), "stage": _school_stages(w)[rows],
        "ownership": np.where(f["public"].to_numpy(), "1", "2"), "students": counts,
        "teachers": np.maximum(3, (counts / 13).round()).astype(int), "classes": classes, "classrooms": rooms,
        "multimedia_classrooms": np.minimum(rooms, (rooms * (0.7 + 0.3 * w.stable(eid, "mm"))).astype(int)),
        "wifi_covered": w.stable(eid, "wifi") < 0.93, "broadband_mbps": w.choose(eid, "bw", [100, 300, 500, 1000]),
        "updated_at": fmt_times(f["updated_at"].to_numpy()),
    })
    return v


# -- registers of licences and credit -----------------------------------------------------------

LICENCE_NAMES = {"L001": "营业执照", "L002": "食品经营许可证", "L005": "排污许可证", "L006": "危险化学品经营许可证",
                 "L007": "道路运输经营许可证", "P001": "居民身份证", "P002": "结婚证", "P003": "社会保障卡",
                 "P004": "机动车驾驶证"}
LICENCE_DEPT = {"L001": "AMR", "L002": "AMR", "L005": "EEB", "L006": "EMA", "L007": "TRANS", "P001": "PSB",
                "P002": "CIVIL", "P003": "HRSS", "P004": "PSB"}


def licence_register(w: World) -> pd.DataFrame:
    """Every licence: one business licence per entity, trade licences by industry, some personal licences."""
    e = w.city.entities
    eid = np.arange(len(e))
    ind = e["industry"].to_numpy()
    ent = [("L001", eid)]
    ent.append(("L002", eid[np.isin(ind, ["F", "H"]) & (w.stable(eid, "L002") < 0.6)]))
    ent.append(("L005", eid[np.isin(ind, ["B", "C", "D"]) & (w.stable(eid, "L005") < 0.2)]))
    ent.append(("L006", eid[np.isin(ind, ["C", "F"]) & (w.stable(eid, "L006") < 0.02)]))
    ent.append(("L007", eid[(ind == "G") & (w.stable(eid, "L007") < 0.5)]))
    p = w.city.persons
    pid = np.arange(len(p))
    age = w.city.ages(0)
    per = [("P001", pid[(age >= 16) & (w.stable(pid, "P001") < 0.05)]),
           ("P002", pid[(age >= 22) & (w.stable(pid, "P002") < 0.04)]),
           ("P003", pid[p["insured"].to_numpy() & (w.stable(pid, "P003") < 0.12)]),
           ("P004", pid[(age >= 18) & (w.stable(pid, "P004") < 0.1)])]
    parts = [pd.DataFrame({"ltype": t, "holder": ids, "person": False}) for t, ids in ent]
    parts += [pd.DataFrame({"ltype": t, "holder": ids, "person": True}) for t, ids in per]
    return pd.concat(parts, ignore_index=True)


@builder("elic_licence")
def elic_licence(w: World, day: int, rng) -> Columns:
    reg = licence_register(w)
    person = reg["person"].to_numpy()
    holder = reg["holder"].to_numpy()
    changed = np.zeros(len(reg), bool)
    changed[~person] = w.entity_changed(holder[~person], day)
    changed[person] = w.person_changed(holder[person], day)
    reg = reg[changed]
    person, holder, ltype = reg["person"].to_numpy(), reg["holder"].to_numpy(), reg["ltype"].to_numpy()
    n = len(reg)
    ev = w.entity_view(np.where(person, 0, holder))
    pv = w.person_view(np.where(person, holder, 0))
    ident = np.where(person, pv["id_number"], ev["credit_code"])
    e = w.city.entities
    p = w.city.persons
    issued = np.where(person, np.datetime64(w.clock.start, "D") - (w.stable(holder, ltype[0] if n else "x") * 3650
                                                                     ).astype(int),
                      e["established"].to_numpy()[np.where(person, 0, holder)]).astype("datetime64[D]")
    valid_to = np.where(np.isin(ltype, ["L001", "P002"]), np.datetime64("NaT"), issued + 365 * 5).astype("datetime64[D]")
    alive = np.where(person, p["status"].to_numpy()[np.where(person, holder, 0)] == "active",
                     e["status"].to_numpy()[np.where(person, 0, holder)] == "active")
    today = np.datetime64(w.clock.date(day), "D")
    status = np.where(~alive, "2", np.where(~np.isnat(valid_to) & (valid_to < today), "4", "1"))
    dept = [w.dept(LICENCE_DEPT[t]) for t in ltype]
    upd = np.where(person, p["updated_at"].to_numpy()[np.where(person, holder, 0)],
                   e["updated_at"].to_numpy()[np.where(person, 0, holder)])
    return {
        "licence_no": _obj(np.char.add(np.char.add(ltype.astype("U4"), ident.astype("U18")), "01")),
        "licence_type": ltype, "licence_name": _obj([LICENCE_NAMES[t] for t in ltype]),
        "holder_type": np.where(person, "1", "2"), "id_number": np.where(person, pv["id_number"], None),
        "credit_code": np.where(person, None, ev["credit_code"]),
        "holder_name": np.where(person, pv["name"], ev["name"]),
        "legal_rep_name": np.where(person, None, ev["legal_rep_name"]),
        "legal_rep_id": np.where(person, None, ev["legal_rep_id"]),
        "issuing_authority": _obj([d[0] for d in dept]), "issuing_authority_code": _obj([d[1] for d in dept]),
        "issue_date": fmt_dates(issued), "valid_from": fmt_dates(issued), "valid_to": fmt_dates(valid_to),
        "status": status, "district_code": np.where(person, pv["district_code"], ev["district_code"]),
        "updated_at": fmt_times(upd),
    }


def _credit_parties(w: World, rng, n: int, day_offsets: np.ndarray, day: int) -> Columns:
    e = w.city.entities
    active = np.flatnonzero(e["status"].to_numpy() == "active")
    eid = active[rng.integers(0, len(active), n)]
    person = rng.random(n) < 0.1
    ev = w.entity_view(eid)
    p = w.city.persons
    adults = np.flatnonzero((p["status"].to_numpy() == "active") & (w.city.ages(day) >= 18))
    pid = adults[rng.integers(0, len(adults), n)]
    decided = (np.datetime64(w.clock.date(day), "D") + day_offsets).astype("datetime64[D]")
    return {
        "party_type": np.where(person, "1", "2"), "party_name": np.where(person, p["name"].to_numpy()[pid], ev["name"]),
        "credit_code": np.where(person, None, ev["credit_code"]), "legal_rep_name": np.where(person, None,
                                                                                             ev["legal_rep_name"]),
        "id_number": np.where(person, p["id_number"].to_numpy()[pid], None),
        "district_code": np.where(person, p["district_code"].to_numpy()[pid], ev["district_code"]),
        "decision_date": fmt_dates(decided), "_decided": decided, "_eid": eid, "_person": person,
    }


def _authority(w: World, n: int, rng, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    pick = rng.choice(codes, n)
    return _obj([w.dept(c)[0] for c in pick]), _obj([w.dept(c)[1] for c in pick])


@builder("credit_admin_penalty")
def credit_admin_penalty(w: World, day: int, rng) -> Columns:
    n, offs = _n_events(rng, 60 * w.city.scale + 0.5, day)
    c = _credit_parties(w, rng, n, offs, day)
    name, code = _authority(w, n, rng, ["AMR", "EEB", "EMA", "TRANS", "CMB", "HUD"])
    ptype = rng.choice(["1", "2", "3", "4", "5", "9"], n, p=[0.3, 0.55, 0.05, 0.05, 0.02, 0.03])
    decided = c.pop("_decided")
    for k in ("_eid", "_person"):
        c.pop(k)
    c.update({
        "penalty_no": _obj(np.char.add("烟罚决字〔" + str(w.clock.date(day).year) + "〕", zpad(
            np.arange(n) + day * 100_000 + 500_000, 7))),
        "penalty_type": ptype, "facts": np.full(n, "经查, 当事人存在违反相关法律法规的行为", dtype=object),
        "basis": np.full(n, "依据《中华人民共和国行政处罚法》及相关规定", dtype=object),
        "amount_yuan": np.where(ptype == "2", np.round(rng.lognormal(8, 1.2, n), 2), None),
        "authority_name": name, "authority_code": code,
        "publicity_until": fmt_dates(decided + 365 * 3),
        "updated_at": fmt_times(np.maximum(decided.astype("datetime64[s]") + rng.integers(9 * 3600, 18 * 3600, n)
                                           .astype("timedelta64[s]"), w.clock.day_start(day) if day else
                                           np.datetime64("1970-01-01T00:00:00"))),
    })
    return c


@builder("credit_admin_licensing")
def credit_admin_licensing(w: World, day: int, rng) -> Columns:
    n, offs = _n_events(rng, 200 * w.city.scale + 0.5, day)
    c = _credit_parties(w, rng, n, offs, day)
    decided = c.pop("_decided")
    c.pop("_eid")
    person = c.pop("_person")
    name, code = _authority(w, n, rng, ["AMR", "HUD", "TRANS", "EEB", "HEALTH"])
    ident = np.where(person, c["id_number"], c["credit_code"]).astype("U18")
    business = ~person & (rng.random(n) < 0.5)
    c.update({
        "licensing_no": _obj(np.char.add("烟许字〔" + str(w.clock.date(day).year) + "〕",
                                         zpad(np.arange(n) + day * 100_000 + 500_000, 7))),
        "licensing_type": rng.choice(["1", "2", "3", "4", "5", "9"], n, p=[0.55, 0.05, 0.1, 0.1, 0.15, 0.05]),
        "licence_name": np.where(business, "营业执照", "行政许可决定书"),
        "licence_no": np.where(business, _obj(np.char.add(np.char.add("L001", ident), "01")), None),
        "content": np.full(n, "准予行政许可", dtype=object), "valid_from": fmt_dates(decided),
        "valid_to": fmt_dates(decided + 365 * 5), "authority_name": name, "authority_code": code,
        "updated_at": fmt_times(np.maximum(decided.astype("datetime64[s]") + rng.integers(9 * 3600, 18 * 3600, n)
                                           .astype("timedelta64[s]"), w.clock.day_start(day) if day else
                                           np.datetime64("1970-01-01T00:00:00"))),
    })
    return c


@builder("credit_redblack_list")
def credit_redblack_list(w: World, day: int, rng) -> Columns:
    e = w.city.entities
    eid = np.arange(len(e))
    listed = w.stable(eid, "redblack") < 0.008
    listed_day = np.where(e["created_day"].to_numpy() > 0, e["created_day"].to_numpy() + 30, 0)
    eid = eid[listed & (listed_day <= day)]
    removal_day = (w.stable(eid, "rb_removal") * 400).astype(int) - 200  # some are removed during the run
    ent_changed = w.entity_changed(eid, day)
    show = ent_changed | (removal_day == day) if day else np.ones(len(eid), bool)
    eid, removal_day = eid[show], removal_day[show]
    ev = w.entity_view(eid)
    ltype = w.choose(eid, "rb_type", ["R", "B"], [3, 2])
    listed_date = np.datetime64(w.clock.start, "D") - (w.stable(eid, "rb_date") * 1500).astype(int)
    removal = np.where(removal_day <= day, np.datetime64(w.clock.start, "D") + removal_day,
                       np.datetime64("NaT")).astype("datetime64[D]")
    removal = np.where(removal < listed_date, listed_date + 180, removal).astype("datetime64[D]")
    return {
        "list_id": _obj(np.char.add("RB", zpad(eid, 12))), "list_type": ltype,
        "list_name": np.where(ltype == "R", "纳税信用A级纳税人名单", "严重违法失信名单"),
        "credit_code": ev["credit_code"], "entity_name": ev["name"],
        "reason": np.where(ltype == "R", "连续三年纳税信用评价为A级", "存在严重违法失信行为"),
        "listing_authority": np.where(ltype == "R", "国家税务总局烟台市税务局", "烟台市市场监督管理局"),
        "listed_date": fmt_dates(listed_date), "removal_date": fmt_dates(removal),
        "district_code": ev["district_code"],
    }


# -- environment, safety, urban assets ------------------------------------------------------------


@builder("env_pollution_source")
def env_pollution_source(w: World, day: int, rng) -> Columns:
    f, eid, v = _facility_entities(w, "pollution", day)
    v.update({"source_type": w.choose(eid, "pstype", ["1", "2", "3", "4", "5"], [3, 4, 2, 1, 1]),
              "control_level": w.choose(eid, "pctl", ["1", "2", "3", "9"], [1, 2, 4, 3]),
              "permit_no": _obj(np.char.add(v["credit_code"].astype("U18"), "001P")),
              "online_monitoring": f["online"].to_numpy(), "updated_at": fmt_times(f["updated_at"].to_numpy())})
    return v


@builder("safety_hazchem_enterprise")
def safety_hazchem_enterprise(w: World, day: int, rng) -> Columns:
    f, eid, v = _facility_entities(w, "hazchem", day)
    v.update({"hazard_source_level": f["level"].to_numpy().astype(str),
              "chemicals": w.choose(eid, "chem", ["液氨", "硫酸、盐酸", "甲醇", "液化石油气", "氯气"]),
              "permit_no": _obj(np.char.add("(鲁)WH安许证字[2024]", zpad(eid, 6))),
              "permit_valid_to": fmt_dates(np.datetime64("2027-12-31") + (w.stable(eid, "pv") * 700).astype(int)),
              "online_monitoring": f["online"].to_numpy(), "updated_at": fmt_times(f["updated_at"].to_numpy())})
    return v


def _assets(w: World, kind: str, day: int) -> tuple[pd.DataFrame, Columns]:
    f = w.fac[kind]
    rows = w.emit(f, day)
    s = f.iloc[rows]
    return s, {"district_code": s["district_code"].to_numpy(), "road_name": s["road_name"].to_numpy(),
               "longitude": s["lon"].to_numpy().round(6), "latitude": s["lat"].to_numpy().round(6),
               "installed_date": fmt_dates(s["installed"].to_numpy()), "updated_at": fmt_times(s["updated_at"].to_numpy()),
               "street_code": w.street_codes(s["street_idx"].to_numpy())}


def _asset_id(prefix: str, s: pd.DataFrame, width: int = 8) -> np.ndarray:
    return _obj(prefix + s["district_code"].astype(str).to_numpy().astype(object)
                + zpad(s["seq"].to_numpy(), width).astype(object))


@builder("city_streetlight")
def city_streetlight(w: World, day: int, rng) -> Columns:
    s, v = _assets(w, "streetlight", day)
    seq = s["seq"].to_numpy()
    lamp = w.choose(seq, "lamp", ["1", "2", "3", "4", "9"], [60, 25, 5, 8, 2])
    v.update({"light_id": _asset_id("SL", s), "component_id": s["component_id"].to_numpy(), "lamp_type": lamp,
              "power_w": np.where(lamp == "1", 120, 250), "sensing": s["sensing"].to_numpy(),
              "smart_pole": w.stable(seq, "smart") < 0.12,
              "status": np.asarray(["1", "2", "3", "9"])[s["status"].to_numpy().astype(int)]})
    return v


@builder("safety_camera")
def safety_camera(w: World, day: int, rng) -> Columns:
    s, v = _assets(w, "camera", day)
    seq = s["seq"].to_numpy()
    v.update({"camera_id": _asset_id("CAM", s), "name": _obj(v["road_name"].astype(object) + "监控点" +
                                                                 seq.astype(str).astype(object)),
              "camera_type": w.choose(seq, "ctype", ["1", "2", "3", "4", "5"], [40, 25, 20, 8, 7]),
              "location": _obj(v["road_name"].astype(object) + "与" + w.choose(seq, "cross", ["北", "南", "东", "西"]) + "侧路口"),
              "public_area": w.stable(seq, "public") < 0.9, "networked": s["sensing"].to_numpy(),
              "owner_type": w.choose(seq, "owner", ["1", "2", "3"], [6, 2, 2]),
              "status": np.asarray(["1", "2", "3", "9"])[s["status"].to_numpy().astype(int)]})
    return v


@builder("city_bridge_tunnel")
def city_bridge_tunnel(w: World, day: int, rng) -> Columns:
    s, v = _assets(w, "bridge", day)
    seq = s["seq"].to_numpy()
    stype = w.choose(seq, "btype", ["1", "2", "3", "4", "5"], [55, 10, 15, 10, 10])
    key = s["is_key"].to_numpy()
    v.update({"structure_id": _asset_id("BT", s, 6),
              "name": _obj(v["road_name"].astype(object) + np.where(np.isin(stype, ["4", "5"]), "隧道", "桥")
                           + seq.astype(str).astype(object)),
              "structure_type": stype, "length_m": (20 + s["size"].to_numpy() * 200).round(1), "is_key": key,
              "sensing": np.where(key, w.stable(seq, "bsense") < 0.97, s["sensing"].to_numpy()),
              "condition_grade": np.asarray(list("ABCDE"))[s["condition"].to_numpy().astype(int)],
              "built_year": s["installed"].to_numpy().astype("datetime64[Y]").astype(int) + 1970,
              "last_inspection_date": fmt_dates(np.datetime64(w.clock.start, "D") - (w.stable(seq, "insp") * 365).astype(int)),
              "maintainer": np.full(len(s), "烟台市市政设施维护中心", dtype=object)})
    return v


@builder("grid_component")
def grid_component(w: World, day: int, rng) -> Columns:
    c = w.fac["component"]
    rows = w.emit(c, day)
    s = c.iloc[rows]
    labels = w.spec.code_labels.get("grid_component_class", {})
    cls = s["component_class"].to_numpy()
    return {"component_id": s["component_id"].to_numpy(), "component_class": cls,
            "name": _obj([labels.get(k, "部件") for k in cls]), "district_code": s["district_code"].to_numpy(),
            "street_code": w.street_codes(s["street_idx"].to_numpy()),
            "grid_cell_code": _obj(w.street_codes(s["street_idx"].to_numpy()).astype(object)
                                   + zpad(s["seq"].to_numpy() % 60 + 1, 6).astype(object)),
            "owner_dept": np.full(len(s), "烟台市城市管理局", dtype=object),
            "maintainer": np.full(len(s), "烟台市市政设施维护中心", dtype=object),
            "status": np.asarray(["1", "2", "3", "9"])[s["status"].to_numpy().astype(int)],
            "longitude": s["lon"].to_numpy().round(6), "latitude": s["lat"].to_numpy().round(6),
            "installed_date": fmt_dates(s["installed"].to_numpy()),
            "surveyed_date": fmt_dates(np.maximum(s["installed"].to_numpy(), np.datetime64("2024-05-01")))}


@builder("trans_bus_stop")
def trans_bus_stop(w: World, day: int, rng) -> Columns:
    s, v = _assets(w, "bus_stop", day)
    seq = s["seq"].to_numpy()
    v.update({"stop_id": _asset_id("BS", s, 6), "stop_name": _obj(v["road_name"].astype(object) + "站"),
              "routes_count": s["routes_count"].to_numpy(), "shelter": w.stable(seq, "shelter") < 0.7,
              "realtime_arrival": s["sensing"].to_numpy() | (w.stable(seq, "rt") < 0.6),
              "accessible": w.stable(seq, "acc") < 0.4,
              "status": np.where(s["status"].to_numpy().astype(int) == 3, "0", "1")})
    return v


@builder("culture_venue")
def culture_venue(w: World, day: int, rng) -> Columns:
    f, eid, v = _facility_entities(w, "venue", day)
    vt = w.choose(eid, "vtype", ["1", "2", "3", "4", "5", "6", "7"], [2, 3, 2, 1, 1, 2, 2])
    v.update({"venue_id": _obj(np.char.add("CV", zpad(eid, 10))), "venue_type": vt,
              "ownership": np.where(f["public"].to_numpy(), "1", "3"),
              "floor_area_m2": (3000 * f["size"].to_numpy()).round(2), "seats": (400 * f["size"].to_numpy()).round(),
              "free_admission": vt != "7", "opening_hours": np.full(len(eid), "09:00-17:00", dtype=object),
              "annual_visitors": (80_000 * f["size"].to_numpy()).round(),
              "updated_at": fmt_times(f["updated_at"].to_numpy())})
    return v


# -- cases and one-shot events ----------------------------------------------------------------------


@builder("grid_event")
def grid_event(w: World, day: int, rng) -> Columns:
    f = w.cases.grid_snapshot(day).frame
    phones = PHONE_PREFIXES[w.stable(f["reporter_pid"].to_numpy(), "ph").astype(int) % len(PHONE_PREFIXES)]
    return {
        "event_id": f["event_id"].to_numpy(), "event_source": f["event_source"].to_numpy(),
        "event_class": f["event_class"].to_numpy(), "component_id": f["component_id"].to_numpy(),
        "description": f["description"].to_numpy(), "district_code": f["district_code"].to_numpy(),
        "street_code": w.street_codes(f["street_idx"].to_numpy()),
        "grid_cell_code": _obj(w.street_codes(f["street_idx"].to_numpy()).astype(object)
                               + zpad(f["reporter_pid"].to_numpy() % 60 + 1, 6).astype(object)),
        "longitude": f["lon"].to_numpy().round(6), "latitude": f["lat"].to_numpy().round(6),
        **{c: fmt_times(f[c].to_numpy()) for c in ("reported_at", "registered_at", "dispatched_at", "disposed_at",
                                                   "checked_at", "closed_at", "deadline_at", "updated_at")},
        "status": f["status"].to_numpy(), "rework_count": f["rework_count"].to_numpy(),
        "disposal_dept": np.where(f["registered_at"].isna().to_numpy(), None,
                                  w.choose(f["reporter_pid"].to_numpy(), "gdept",
                                           ["区城管执法局", "区市政管理处", "街道办事处", "区环卫处", "供电公司"])),
        "reporter_phone": np.where(f["event_source"].to_numpy() == "2", _obj(np.char.add(
            phones.astype("U3"), zpad(f["reporter_pid"].to_numpy() % 100_000_000, 8))), None),
        "hotline_ticket_no": f["hotline_ticket_no"].to_numpy(),
    }


@builder("hotline_ticket")
def hotline_ticket(w: World, day: int, rng) -> Columns:
    f = w.cases.hotline_snapshot(day).frame
    pid = f["caller_pid"].to_numpy()
    p = w.city.persons
    named = w.stable(pid, "anon") < 0.7
    dept = w.choose(pid, "hdept", ["区政府", "市住建局", "市人社局", "市城管局", "市市场监管局", "街道办事处"])
    street = w.street_codes(f["street_idx"].to_numpy())
    st_name = w.city.streets.set_index("street_code")["street_name"].reindex(street).to_numpy()
    return {
        "ticket_no": f["ticket_no"].to_numpy(), "channel": f["channel"].to_numpy(),
        "category": f["category"].to_numpy(), "topic": f["topic"].to_numpy(),
        "content": _obj(f["topic"].to_numpy().astype(object) + ", 市民反映问题, 请尽快处理"),
        "caller_name": np.where(named, p["name"].to_numpy()[pid], None), "caller_phone": p["phone"].to_numpy()[pid],
        "address": _obj(st_name.astype(object) + "附近"), "district_code": f["district_code"].to_numpy(),
        "received_at": fmt_times(f["received_at"].to_numpy()), "deadline_at": fmt_times(f["deadline_at"].to_numpy()),
        "assigned_dept": np.where(f["status"].to_numpy() == "1", None, dept),
        "closed_at": fmt_times(f["closed_at"].to_numpy()), "status": f["status"].to_numpy(),
        "satisfaction": f["satisfaction"].to_numpy(), "grid_event_id": f["grid_event_id"].to_numpy(),
    }


@builder("safety_emergency_incident")
def safety_emergency_incident(w: World, day: int, rng) -> Columns:
    n, offs = _n_events(rng, 5 * w.city.scale + 0.3, day)
    city = w.city
    d = city.district_codes()[rng.choice(len(city.districts), n, p=city.district_weights())]
    st = city.streets.iloc[city.sample_streets(rng, d)]
    occurred = (np.datetime64(w.clock.date(day), "s") + (offs * 86400).astype("timedelta64[s]")
                + rng.integers(0, 86400, n).astype("timedelta64[s]"))
    reported = occurred + rng.integers(60, 3600, n).astype("timedelta64[s]")
    resolved = reported + rng.integers(1800, 3 * 86400, n).astype("timedelta64[s]")
    end = w.clock.day_start(day) + np.timedelta64(86400, "s")
    itype = rng.choice(["1", "2", "3", "4"], n, p=[0.15, 0.6, 0.1, 0.15])
    titles = {"1": "暴雨内涝", "2": "道路交通事故", "3": "食物中毒事件", "4": "群体性事件"}
    e = city.entities
    active = np.flatnonzero(e["status"].to_numpy() == "active")
    involved = rng.random(n) < 0.3
    upd = np.where(resolved < end, resolved, reported)
    return {
        "incident_id": _obj(np.char.add("EM" + w.clock.stamp(day), zpad(np.arange(n), 8))), "incident_type": itype,
        "incident_level": rng.choice(["1", "2", "3", "4"], n, p=[0.001, 0.009, 0.09, 0.9]),
        "title": _obj([titles[t] for t in itype]), "description": _obj([titles[t] + ", 已处置" for t in itype]),
        "district_code": d, "address": _obj(st["street_name"].to_numpy().astype(object) + "辖区"),
        "longitude": (st["lon"].to_numpy() + rng.normal(0, 0.01, n)).round(6),
        "latitude": (st["lat"].to_numpy() + rng.normal(0, 0.008, n)).round(6),
        "occurred_at": fmt_times(occurred), "reported_at": fmt_times(reported),
        "resolved_at": fmt_times(np.where(resolved < end, resolved, np.datetime64("NaT"))),
        "deaths": rng.poisson(0.05, n), "injuries": rng.poisson(0.6, n),
        "direct_loss_10k_yuan": np.round(rng.lognormal(1.0, 1.2, n), 2),
        "credit_code": np.where(involved, e["credit_code"].to_numpy()[active[rng.integers(0, len(active), n)]], None),
        "updated_at": fmt_times(np.maximum(upd, w.clock.day_start(day)) if day else upd),
    }


MATTERS = (("370600-XK-001", "企业设立登记", "01"), ("370600-XK-014", "食品经营许可", "01"),
           ("370600-QR-003", "户口迁移", "03"), ("370600-GF-002", "城乡居民养老保险待遇申领", "02"),
           ("370600-GG-010", "社会保障卡申领", "10"), ("370600-QR-021", "不动产登记", "03"),
           ("370600-GG-031", "公积金提取", "10"), ("370600-XK-050", "建筑工程施工许可", "01"))


@builder("econ_gov_service_record")
def econ_gov_service_record(w: World, day: int, rng) -> Columns:
    n = rng.poisson(4000 * w.city.scale)
    city = w.city
    m = rng.integers(0, len(MATTERS), n)
    person = rng.random(n) < 0.7
    p, e = city.persons, city.entities
    adults = np.flatnonzero((p["status"].to_numpy() == "active") & (city.ages(day) >= 18))
    pid = adults[rng.integers(0, len(adults), n)]
    act = np.flatnonzero(e["status"].to_numpy() == "active")
    eid = act[rng.integers(0, len(act), n)]
    channel = rng.choice(["1", "2", "3", "4"], n, p=[0.35, 0.35, 0.25, 0.05])
    applied = w.day_times(rng, n, day)
    promised = rng.choice([0, 1, 3, 5, 10, 20], n)
    done = applied + (rng.uniform(0.1, 1.2, n) * np.maximum(promised, 0.2) * 86400).astype("timedelta64[s]")
    end = w.clock.day_start(day) + np.timedelta64(86400, "s")
    finished = done < end
    status = np.where(finished, "3", np.where(rng.random(n) < 0.02, "4", "2"))
    return {
        "record_id": _obj(np.char.add("GS" + w.clock.stamp(day), zpad(np.arange(n), 10))),
        "matter_code": _obj([MATTERS[i][0] for i in m]), "matter_name": _obj([MATTERS[i][1] for i in m]),
        "matter_type": _obj([MATTERS[i][2] for i in m]), "applicant_type": np.where(person, "1", "2"),
        "id_number": np.where(person, p["id_number"].to_numpy()[pid], None),
        "credit_code": np.where(person, None, e["credit_code"].to_numpy()[eid]),
        "applicant_name": np.where(person, p["name"].to_numpy()[pid], e["name"].to_numpy()[eid]),
        "dept_code": rng.choice(["PSB", "AMR", "HRSS", "NRP", "HUD"], n),
        "district_code": np.where(person, p["district_code"].to_numpy()[pid], e["district_code"].to_numpy()[eid]),
        "channel": channel, "online": channel != "1", "one_stop": rng.random(n) < 0.8,
        "trips": np.where(channel == "1", rng.choice([1, 1, 1, 2, 3], n), 0), "applied_at": fmt_times(applied),
        "completed_at": fmt_times(np.where(finished, done, np.datetime64("NaT"))), "promised_days": promised,
        "status": status, "evaluation": np.where(finished, rng.choice(["1", "2", "3", "9"], n, p=[.8, .1, .03, .07]),
                                                 None),
        "updated_at": fmt_times(np.where(finished, done, applied)),
    }


BUILDERS.update(READING_BUILDERS)


# -- conforming to the catalogue ------------------------------------------------------------------


def _generic(item: ItemSpec, n: int, rng: np.random.Generator, w: World) -> np.ndarray:
    """Values for an item no builder knows: from its code list, format, reference, range or type."""
    if item.code_list:
        codes = w.spec.codes(item.code_list)
        if item.code_list == "divisions":
            codes = list(w.city.district_codes())
        return np.asarray(codes, dtype=object)[rng.integers(0, len(codes), n)]
    if item.format == "id_number":
        return w.city.persons["id_number"].to_numpy()[rng.integers(0, len(w.city.persons), n)]
    if item.format == "credit_code":
        return w.city.entities["credit_code"].to_numpy()[rng.integers(0, len(w.city.entities), n)]
    if item.format == "phone":
        return w.city.persons["phone"].to_numpy()[rng.integers(0, len(w.city.persons), n)]
    if item.format == "division_code":
        return w.city.district_codes()[rng.integers(0, len(w.city.districts), n)].astype(object)
    rg = item.range or {}
    t = item.type.upper()
    if t in ("D", "T"):
        base = np.datetime64(w.clock.start, "s") - rng.integers(0, 3 * 365 * 86400, n).astype("timedelta64[s]")
        return fmt_dates(base.astype("datetime64[D]")) if t == "D" else fmt_times(base)
    if t in ("I", "N", "Y", "F", "B"):
        lo = float(rg.get("min", 0) if rg.get("min") is not None else 0)
        hi = float(rg.get("max", lo + 1000) if rg.get("max") is not None else lo + 1000)
        vals = rng.uniform(lo, hi, n)
        return vals.round().astype(np.int64) if t == "I" else vals.round(item.scale or 2)
    if t == "L":
        return rng.random(n) < 0.5
    width = min(item.length or 12, 12)
    return _obj(np.char.add("X", zpad(rng.integers(0, 10 ** (width - 1), n), width - 1)))


def _cast(item: ItemSpec, values: np.ndarray, n: int) -> pd.Series | pd.api.extensions.ExtensionArray:
    """Values as the item's type: nullable Int64, float rounded to the scale, nullable boolean or str/None."""
    t = item.type.upper()
    v = np.asarray(values)
    if v.ndim == 0:
        v = np.full(n, v.item(), dtype=object)
    if t == "I":
        if v.dtype.kind in "iub":
            return pd.array(v.astype(np.int64), dtype="Int64")
        f = pd.to_numeric(pd.Series(v, dtype=object)).to_numpy(dtype=float, na_value=np.nan)
        return pd.array(np.round(f), dtype="Int64")
    if t in ("N", "Y", "F", "B"):
        f = v.astype(float) if v.dtype.kind in "iufb" else pd.to_numeric(pd.Series(v, dtype=object)).to_numpy(
            dtype=float, na_value=np.nan)
        return pd.Series(np.round(f, item.scale if item.scale is not None else 6))
    if t == "L":
        if v.dtype.kind == "b":
            return pd.array(v, dtype="boolean")
        return pd.array([None if x is None else bool(x) for x in v], dtype="boolean")
    out = v.astype(object) if v.dtype != object else v.copy()
    missing = pd.isna(out)
    if missing.any():
        out[missing] = None
    return pd.Series(out, dtype=object)


def conform(res: ResourceSpec, cols: Columns, w: World, rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    """The frame of exactly the catalogue items (in order, cast to their types) and items filled generically."""
    n = getattr(cols, "n", None)
    if n is None:
        n = len(cols[next(iter(cols))]) if cols else 0
    out, generic = {}, []
    for item in res.items:
        if item.name in cols:
            vals = cols.pop(item.name)  # release builder arrays as soon as they are cast (memory at scale 1)
        else:
            vals = _generic(item, n, rng, w)
            if n:
                generic.append(item.name)
        if len(np.atleast_1d(vals)) != n and np.ndim(vals) != 0:
            raise ValueError(f"{res.path}: builder of {res.name} gave {len(vals)} values for item {item.name}, "
                             f"expected {n}")
        out[item.name] = _cast(item, vals, n)
        del vals
    frame = pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
    del out
    if res.primary_key and n:
        order = np.lexsort([frame[k].astype(str).to_numpy() for k in reversed(res.primary_key)])
        if not (order == np.arange(n)).all():
            frame = frame.take(order).reset_index(drop=True)
    return frame, generic


def build_frame(res: ResourceSpec, w: World, day: int) -> tuple[pd.DataFrame, list[str]]:
    """Rows a resource's department publishes on ``day``, conformed to the catalogue."""
    rng = w.rng(res.name, day)
    fn = BUILDERS.get(res.name)
    cols = fn(w, day, rng) if fn else {}
    if fn is None:
        # a resource without a builder still gets rows (an inventory of generic values)
        n = max(10, int(100 * w.city.scale)) if day == 0 else 0
        cols = {res.items[0].name: _obj(np.char.add("R", zpad(np.arange(n), 9)))} if res.items else {}
    for k in [k for k in cols if k.startswith("_")]:
        del cols[k]
    return conform(res, cols, w, rng)

"""One coherent simulated city: districts, streets, buildings, addresses, households, persons, legal entities.

The city is state that evolves day by day (births, deaths, moves, new and deregistered entities);
every department's source is a view of this state, which is what makes cross-source checks and
indicators mean something. Tables are pandas frames with integer surrogate keys; string
identifiers (ID numbers, credit codes, address codes) are derived once and never change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from citybrain.sources import lexicon
from citybrain.sources.clock import SimClock, rng_for
from citybrain.sources.textops import zpad
from citybrain.standards.identifiers import (
    credit_code_check_chars_array,
    id_number_check_chars_array,
    org_code_check_chars_array,
)

RESIDENTS_PER_SCALE = 1_000_000
CITY_CODE = "370600"
CITY_NAME = "烟台市"
PROVINCE_NAME = "山东省"

# 2020 census populations (rounded, thousands) and district centres; shares drive where people live.
YANTAI_DISTRICTS: dict[str, tuple[str, int, float, float]] = {
    "370602": ("芝罘区", 910, 121.400, 37.540),
    "370611": ("福山区", 420, 121.268, 37.498),
    "370612": ("牟平区", 430, 121.600, 37.387),
    "370613": ("莱山区", 400, 121.445, 37.512),
    "370614": ("蓬莱区", 420, 120.759, 37.811),
    "370681": ("龙口市", 650, 120.478, 37.646),
    "370682": ("莱阳市", 790, 120.711, 36.979),
    "370683": ("莱州市", 830, 119.942, 37.177),
    "370685": ("招远市", 560, 120.434, 37.355),
    "370686": ("栖霞市", 530, 120.850, 37.336),
    "370687": ("海阳市", 560, 121.173, 36.776),
}

# Five-year age bands 0-4 ... 95-99, percent of residents (an ageing coastal city).
AGE_BANDS = (3.4, 4.4, 4.7, 4.1, 4.0, 5.0, 6.8, 6.7, 6.0, 7.5, 9.0, 8.8, 7.2, 7.0, 5.5, 3.6, 2.4, 1.3, 0.5, 0.15)
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_SHARES = (0.24, 0.33, 0.22, 0.12, 0.07, 0.02)
ENTITIES_PER_MILLION = {"enterprise": 48_000, "individual": 64_000, "social_org": 2_500, "institution": 4_000}
# Registration authority + organisation type (GB 32100 positions 1-2) per entity kind.
CREDIT_PREFIX = {"enterprise": "91", "individual": "92", "social_org": "51", "institution": "12"}
PHONE_PREFIXES = np.asarray(["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                             "152", "153", "155", "156", "158", "159", "177", "180", "185", "186", "187",
                             "188", "189", "199"])

# Yearly rates per resident (births, deaths, moves within the city, in- and out-migration).
BIRTH_RATE, DEATH_RATE, MOVE_RATE, IN_RATE, OUT_RATE, UPDATE_RATE = 0.0062, 0.0085, 0.02, 0.009, 0.008, 0.03
ENTITY_BIRTH_RATE, ENTITY_DEATH_RATE, ENTITY_UPDATE_RATE = 0.12, 0.06, 0.05


@dataclass
class District:
    """A county-level division of the demo city with its share of residents and centre point."""

    code: str
    name: str
    weight: float
    lon: float
    lat: float


def default_districts(divisions: list[tuple[str, str]] | None = None) -> list[District]:
    """Districts from the catalogue's division list (county level only), weighted by census population."""
    pairs = divisions or [(c, v[0]) for c, v in YANTAI_DISTRICTS.items()]
    out = []
    for i, (code, name) in enumerate(sorted(pairs)):
        _, pop, lon, lat = YANTAI_DISTRICTS.get(code, (name, 400, 121.0 + 0.1 * i, 37.3))
        out.append(District(code, name, float(pop), lon, lat))
    return out


@dataclass
class DayChanges:
    """What happened in the city on one simulated day (surrogate keys into the state tables)."""

    day: int
    births: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    deaths: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    moves: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    move_from: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    arrivals: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    departures: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    updated: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    new_entities: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    closed_entities: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    updated_entities: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    tail = zpad(rng.integers(0, 100_000_000, n), 8)
    return np.char.add(PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), n)], tail)


def _hist_times(rng: np.random.Generator, n: int, clock: SimClock, span_days: int = 720) -> np.ndarray:
    """Last-change timestamps of rows in the initial load: within the two years before day 0's end."""
    end = clock.day_start(0) + np.timedelta64(8 * 3600, "s")
    return end - rng.integers(0, span_days * 86400, n).astype("timedelta64[s]")


def _day_times(rng: np.random.Generator, n: int, clock: SimClock, day: int) -> np.ndarray:
    """Office-hour timestamps (08:00-20:00) within one simulation day."""
    return clock.day_start(day) + (8 * 3600 + rng.integers(0, 12 * 3600, n)).astype("timedelta64[s]")


CATEGORIES = {
    "ethnicity": ["01", "02", "03", "04", "05", "06", "08", "11"],
    "marital": ["single", "married", "widowed"],
    "education": ["none", "primary", "junior", "senior", "college", "bachelor", "postgraduate"],
    "status": ["active", "deceased", "moved_out", "deregistered", "revoked"],
    "relation": ["head", "spouse", "child", "parent"],
    "kind": ["enterprise", "individual", "social_org", "institution", "family", "collective"],
    "industry": list("ABCDEFGHIJKLMNOPQRST"),
    "use": ["residential", "commercial"],
}


class City:
    """The simulated city's state; ``advance(day)`` applies one day of changes."""

    def _compact(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Low-cardinality text columns as categoricals: a city of a million people fits in memory."""
        cats = {**CATEGORIES, "district_code": [d.code for d in self.districts]}
        for col, values in cats.items():
            if col in frame.columns and not isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = pd.Categorical(frame[col], categories=values)
        return frame

    def __init__(self, scale: float, seed: int, clock: SimClock, districts: list[District] | None = None):
        self.scale = scale
        self.seed = seed
        self.clock = clock
        self.districts = districts or default_districts()
        self.n_residents = max(200, int(round(RESIDENTS_PER_SCALE * scale)))
        self._used_id17: np.ndarray = np.empty(0, np.int64)
        self._used_org: set[str] = set()
        self.day = 0
        rng = rng_for(seed, "city", 0)
        self._build_streets(rng)
        self._build_persons(rng)
        self._build_households_and_addresses(rng)
        self._build_entities(rng)

    # -- geography ------------------------------------------------------------------------------

    def district_codes(self) -> np.ndarray:
        """County-level codes of the city, sorted."""
        return np.asarray([d.code for d in self.districts])

    def district_weights(self) -> np.ndarray:
        """Population shares of the districts (sum 1)."""
        w = np.asarray([d.weight for d in self.districts])
        return w / w.sum()

    def _build_streets(self, rng: np.random.Generator) -> None:
        rows = []
        words = list(lexicon.PLACE_WORDS)
        for d in self.districts:
            n = int(np.clip(round(d.weight / 60), 6, 16))
            chosen = rng.choice(len(words), n, replace=False)
            for j, w in enumerate(chosen):
                kind = "街道" if (d.code[4] == "0" or j < n // 2) else "镇"
                rows.append({
                    "street_code": f"{d.code}{j + 1:03d}",
                    "street_name": f"{words[w]}{kind}",
                    "district_code": d.code,
                    "district_name": d.name,
                    "lon": d.lon + rng.normal(0, 0.04),
                    "lat": d.lat + rng.normal(0, 0.03),
                    "weight": rng.uniform(0.5, 1.5),
                })
        self.streets = pd.DataFrame(rows)
        road_rows = []
        for s in self.streets.itertuples():
            for k in range(4):
                name = words[rng.integers(0, len(words))] + lexicon.ROAD_SUFFIX[rng.integers(0, 5)]
                road_rows.append({"street_code": s.street_code, "road_name": name, "road_seq": k})
        self.roads = pd.DataFrame(road_rows)

    def sample_streets(self, rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
        """A street index (row of ``self.streets``) within each given district."""
        out = np.empty(len(districts), np.int64)
        for code, idx in pd.Series(np.arange(len(districts))).groupby(np.asarray(districts)).groups.items():
            cand = np.flatnonzero(self.streets["district_code"].to_numpy() == code)
            w = self.streets["weight"].to_numpy()[cand]
            out[np.asarray(idx)] = cand[rng.choice(len(cand), len(idx), p=w / w.sum())]
        return out

    # -- persons --------------------------------------------------------------------------------

    def _id_numbers(self, rng: np.random.Generator, prefix: np.ndarray, birth: np.ndarray,
                    sex: np.ndarray) -> np.ndarray:
        """Unique valid 18-digit ID numbers whose address code, birth date and sex digit agree."""
        n = len(prefix)
        if n == 0:
            return np.empty(0, "U18")
        ymd = np.char.replace(np.datetime_as_string(birth.astype("datetime64[D]")), "-", "")
        seq = np.empty(n, np.int64)
        todo = np.arange(n)
        body_int = np.empty(n, np.int64)
        base = np.char.add(prefix.astype("U6"), ymd).astype(np.int64) * 1000
        while len(todo):
            seq[todo] = rng.integers(0, 500, len(todo)) * 2 + (sex[todo] == 1)
            body_int[todo] = base[todo] + seq[todo]
            # collisions against earlier numbers and within this batch are re-drawn
            _, first = np.unique(body_int, return_index=True)
            dup = np.ones(n, bool)
            dup[first] = False
            dup |= np.isin(body_int, self._used_id17)
            todo = np.flatnonzero(dup)
        self._used_id17 = np.union1d(self._used_id17, body_int)
        body = body_int.astype("U17")
        return np.char.add(body, id_number_check_chars_array(body).astype("U1"))

    def _new_person_frame(self, rng: np.random.Generator, n: int, birth: np.ndarray, district: np.ndarray,
                          sex: np.ndarray | None, day: int) -> pd.DataFrame:
        if n == 0 and hasattr(self, "persons"):
            return self.persons.iloc[:0].copy()
        if sex is None:
            sex = np.where(rng.random(n) < 0.505, 1, 2).astype(np.int8)
        codes = self.district_codes()
        born_elsewhere = rng.random(n) < 0.15
        prefix = np.where(born_elsewhere, codes[rng.integers(0, len(codes), n)], district)
        ids = self._id_numbers(rng, prefix, birth, sex)
        age = (self.clock.epoch_day + day - birth.astype("datetime64[D]").astype(np.int64)) / 365.25
        ethnic = np.where(rng.random(n) < 0.992, "01", rng.choice(["02", "03", "04", "05", "06", "08", "11"], n))
        married = np.where(age >= 22, np.where(rng.random(n) < 0.78, "married",
                                               np.where(rng.random(n) < 0.5, "single", "widowed")), "single")
        edu_levels = np.asarray(["primary", "junior", "senior", "college", "bachelor", "postgraduate"])
        edu = edu_levels[np.clip((rng.normal(2.2, 1.2, n)).round().astype(int), 0, 5)]
        edu = np.where(age < 7, "none", np.where(age < 16, "primary", edu))
        return self._compact(pd.DataFrame({
            "id_number": ids,
            "name": lexicon.person_names(rng, sex),
            "sex": sex.astype(np.int8),
            "birth_date": birth.astype("datetime64[D]"),
            "ethnicity": ethnic,
            "district_code": district,
            "street_idx": self.sample_streets(rng, district),
            "phone": _phones(rng, n),
            "marital": married,
            "education": edu,
            "status": "active",
            "death_date": np.full(n, np.datetime64("NaT"), "datetime64[D]"),
            "household_id": np.full(n, -1, np.int64),
            "relation": "head",
            "address_id": np.full(n, -1, np.int64),
            "insured": rng.random(n) < np.where(age >= 16, 0.86, 0.6),
            "patient": rng.random(n) < 0.9,
            "subsistence": rng.random(n) < np.where(age >= 60, 0.025, 0.012),
            "created_day": day,
            "changed_day": day,
            "updated_at": _hist_times(rng, n, self.clock) if day == 0 else _day_times(rng, n, self.clock, day),
        }))

    def _build_persons(self, rng: np.random.Generator) -> None:
        n = self.n_residents
        bands = np.asarray(AGE_BANDS) / sum(AGE_BANDS)
        age_days = (rng.choice(len(bands), n, p=bands) * 5 + rng.random(n) * 5) * 365.25
        birth = (np.datetime64(self.clock.start, "D") - age_days.astype(np.int64)).astype("datetime64[D]")
        codes = self.district_codes()
        district = codes[rng.choice(len(codes), n, p=self.district_weights())]
        self.persons = self._new_person_frame(rng, n, birth, district, None, 0)
        # a year's deaths and departures are already on the register as deregistered records
        old = np.flatnonzero(self.ages(0) >= 60)
        dead = np.sort(rng.choice(old, min(len(old), int(n * DEATH_RATE)), replace=False))
        self.persons.loc[dead, "status"] = "deceased"
        self.persons.loc[dead, "death_date"] = np.datetime64(self.clock.start, "D") - rng.integers(1, 365, len(dead))
        rest = np.setdiff1d(np.arange(n), dead)
        gone = np.sort(rng.choice(rest, int(n * OUT_RATE), replace=False))
        self.persons.loc[gone, "status"] = "moved_out"
        self.mothers: dict[int, int] = {}

    def ages(self, day: int | None = None) -> np.ndarray:
        """Age in whole years of every person on a simulation day."""
        ref = np.datetime64(self.clock.date(self.day if day is None else day), "D")
        b = self.persons["birth_date"].to_numpy()
        years = ref.astype("datetime64[Y]").astype(int) - b.astype("datetime64[Y]").astype(int)
        had_birthday = (ref - ref.astype("datetime64[Y]")) >= (b - b.astype("datetime64[Y]"))
        return years - (~had_birthday).astype(int)

    # -- households, buildings, addresses -------------------------------------------------------

    def _new_buildings(self, rng: np.random.Generator, street_idx: np.ndarray, use: str, day: int) -> pd.DataFrame:
        n = len(street_idx)
        st = self.streets.iloc[street_idx]
        start = len(getattr(self, "buildings", ()))
        floors = np.where(use == "residential", rng.choice([6, 7, 11, 18, 26, 33], n, p=[.35, .15, .2, .15, .1, .05]),
                          rng.integers(1, 25, n))
        roads = self.roads.set_index(["street_code", "road_seq"])["road_name"]
        road = roads.loc[list(zip(st["street_code"], rng.integers(0, 4, n), strict=True))].to_numpy()
        return self._compact(pd.DataFrame({
            "building_id": np.arange(start, start + n),
            "street_idx": street_idx,
            "district_code": st["district_code"].to_numpy(),
            "road_name": road,
            "door_no": rng.integers(1, 400, n),
            "use": use,
            "floors": floors,
            "built_year": np.clip(rng.normal(2002, 12, n).round(), 1950, self.clock.start.year).astype(int),
            "floor_area": (floors * rng.uniform(300, 1500, n)).round(1),
            "lon": st["lon"].to_numpy() + rng.normal(0, 0.012, n),
            "lat": st["lat"].to_numpy() + rng.normal(0, 0.009, n),
            "changed_day": day,
            "updated_at": _hist_times(rng, n, self.clock, 3650) if day == 0 else _day_times(rng, n, self.clock, day),
        }))

    def _new_addresses(self, rng: np.random.Generator, building_id: np.ndarray, day: int) -> pd.DataFrame:
        n = len(building_id)
        b = self.buildings.set_index("building_id").loc[building_id]
        st = self.streets.iloc[b["street_idx"].to_numpy()]
        start = len(getattr(self, "addresses", ()))
        residential = b["use"].to_numpy() == "residential"
        unit = rng.integers(1, 5, n)
        room = (rng.integers(1, np.maximum(b["floors"].to_numpy(), 2)) * 100 + rng.integers(1, 5, n))
        base = (PROVINCE_NAME + CITY_NAME + st["district_name"].to_numpy().astype(object) + st["street_name"].to_numpy()
                + b["road_name"].to_numpy() + b["door_no"].to_numpy().astype(str) + "号")
        text = np.where(residential, base + unit.astype(str) + "单元" + room.astype(str) + "室", base)
        return self._compact(pd.DataFrame({
            "address_id": np.arange(start, start + n),
            "building_id": building_id,
            "street_idx": b["street_idx"].to_numpy(),
            "district_code": b["district_code"].to_numpy(),
            "address": text.astype(object),
            "unit": np.where(residential, unit, 0),
            "room": np.where(residential, room, 0),
            "lon": b["lon"].to_numpy() + rng.normal(0, 0.0003, n),
            "lat": b["lat"].to_numpy() + rng.normal(0, 0.0003, n),
            "changed_day": day,
            "updated_at": _hist_times(rng, n, self.clock, 3650) if day == 0 else _day_times(rng, n, self.clock, day),
        }))

    def _housing(self, rng: np.random.Generator, street_idx: np.ndarray, day: int) -> np.ndarray:
        """New dwellings (one address each) in new residential buildings of the given streets."""
        n = len(street_idx)
        per_building = 24
        order = np.argsort(street_idx, kind="stable")
        bld_of = np.empty(n, np.int64)
        # group dwellings of the same street into buildings of ~24 flats
        s_sorted = street_idx[order]
        rank = np.arange(n) - np.searchsorted(s_sorted, s_sorted)
        key = s_sorted * 1_000_000 + rank // per_building
        uniq, inv = np.unique(key, return_inverse=True)
        new_b = self._new_buildings(rng, (uniq // 1_000_000).astype(np.int64), "residential", day)
        self.buildings = pd.concat([getattr(self, "buildings", None), new_b], ignore_index=True) \
            if hasattr(self, "buildings") else new_b
        bld_of[order] = new_b["building_id"].to_numpy()[inv]
        new_a = self._new_addresses(rng, bld_of, day)
        self.addresses = pd.concat([self.addresses, new_a], ignore_index=True) if hasattr(self, "addresses") else new_a
        return new_a["address_id"].to_numpy()

    def _form_households(self, rng: np.random.Generator, members: np.ndarray, day: int) -> None:
        """Group persons (by street) into households with a head, relations and one dwelling each."""
        p = self.persons
        street = p["street_idx"].to_numpy()[members]
        order = members[np.lexsort((rng.random(len(members)), street))]
        sizes = rng.choice(HOUSEHOLD_SIZES, len(order), p=HOUSEHOLD_SHARES)
        bounds = np.cumsum(sizes)
        bounds = bounds[bounds < len(order)]
        hh_local = np.zeros(len(order), np.int64)
        hh_local[bounds] = 1
        hh_local = np.cumsum(hh_local)
        # a household never spans two streets
        st_sorted = p["street_idx"].to_numpy()[order]
        hh_local = np.cumsum(np.r_[0, (np.diff(hh_local) != 0) | (np.diff(st_sorted) != 0)])
        start = len(getattr(self, "households", ()))
        hh = hh_local + start
        n_hh = int(hh_local[-1]) + 1 if len(order) else 0
        first = np.r_[0, np.flatnonzero(np.diff(hh_local)) + 1]
        addr = self._housing(rng, st_sorted[first], day)
        age = self.ages(day)[order]
        by_age = np.lexsort((-age, hh))
        head_pos = by_age[np.r_[0, np.flatnonzero(np.diff(hh[by_age])) + 1]]
        relation = np.where(age < 18, "child", np.where(age >= 60, "parent", "spouse")).astype(object)
        relation[head_pos] = "head"
        p.loc[order, "household_id"] = hh
        p.loc[order, "relation"] = relation
        p.loc[order, "address_id"] = addr[hh_local]
        new_h = self._compact(pd.DataFrame({
            "household_id": np.arange(start, start + n_hh),
            "head_pid": order[head_pos],
            "address_id": addr,
            "district_code": p["district_code"].to_numpy()[order[first]],
            "street_idx": st_sorted[first],
            "kind": np.where(rng.random(n_hh) < 0.93, "family", "collective"),
            "created_day": day,
            "changed_day": day,
            "updated_at": _hist_times(rng, n_hh, self.clock) if day == 0 else _day_times(rng, n_hh, self.clock, day),
        }))
        self.households = pd.concat([self.households, new_h], ignore_index=True) \
            if hasattr(self, "households") else new_h

    def _build_households_and_addresses(self, rng: np.random.Generator) -> None:
        self._form_households(rng, np.arange(len(self.persons)), 0)

    def household_no(self, household_id: np.ndarray) -> np.ndarray:
        """户号: district code + 9-digit serial."""
        h = self.households
        dc = h["district_code"].to_numpy()[household_id]
        return np.char.add(dc.astype("U6"), zpad(household_id, 9))

    def address_code(self, address_id: np.ndarray) -> np.ndarray:
        """Standard address code: street code (9) + 10-digit serial."""
        a = self.addresses
        st = self.streets["street_code"].to_numpy()[a["street_idx"].to_numpy()[address_id]]
        return np.char.add(st.astype("U9"), zpad(address_id, 10))

    def building_code(self, building_id: np.ndarray) -> np.ndarray:
        """Building code: street code (9) + 'B' + 8-digit serial."""
        b = self.buildings
        st = self.streets["street_code"].to_numpy()[b["street_idx"].to_numpy()[building_id]]
        return np.char.add(np.char.add(st.astype("U9"), "B"), zpad(building_id, 8))

    # -- legal entities -------------------------------------------------------------------------

    def _credit_codes(self, rng: np.random.Generator, kinds: np.ndarray, district: np.ndarray) -> np.ndarray:
        n = len(kinds)
        if n == 0:
            return np.empty(0, "U18")
        alnum = np.asarray(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
        bodies = np.empty(n, "U8")
        todo = np.arange(n)
        while len(todo):
            chars = alnum[rng.integers(0, len(alnum), (len(todo), 6))]
            tail = np.asarray(["".join(r) for r in chars])
            head = np.where(rng.random(len(todo)) < 0.7, "MA", zpad(rng.integers(10, 99, len(todo)), 2))
            bodies[todo] = np.char.add(head, tail)
            _, first = np.unique(bodies, return_index=True)
            dup = np.ones(n, bool)
            dup[first] = False
            dup |= np.isin(bodies, list(self._used_org)) if self._used_org else False
            todo = np.flatnonzero(dup)
        self._used_org.update(bodies.tolist())
        org = np.char.add(bodies, org_code_check_chars_array(bodies).astype("U1"))
        prefix = np.asarray([CREDIT_PREFIX[k] for k in kinds])
        first17 = np.char.add(np.char.add(prefix, district.astype("U6")), org)
        return np.char.add(first17, credit_code_check_chars_array(first17).astype("U1"))

    def _entity_names(self, rng: np.random.Generator, kinds: np.ndarray, district: np.ndarray) -> np.ndarray:
        n = len(kinds)
        dname = {d.code: d.name[:-1] if len(d.name) > 2 else d.name for d in self.districts}
        dn = np.asarray([dname[c] for c in district])
        firm, ind = lexicon.pick(rng, lexicon.FIRM_WORDS, n), lexicon.pick(rng, lexicon.INDUSTRY_WORDS, n)
        place = lexicon.pick(rng, lexicon.PLACE_WORDS, n)
        serial = rng.integers(1, 999, n).astype(str)
        out = np.empty(n, object)
        m = kinds == "enterprise"
        out[m] = ("烟台" + firm[m].astype(object) + ind[m] + lexicon.pick(rng, lexicon.ENTERPRISE_SUFFIX, m.sum()))
        m = kinds == "individual"
        out[m] = (dn[m].astype(object) + place[m] + lexicon.pick(rng, lexicon.SURNAMES_ONLY, m.sum())
                  + "记" + lexicon.pick(rng, lexicon.SHOP_WORDS, m.sum()) + serial[m])
        m = kinds == "social_org"
        out[m] = ("烟台市" + ind[m].astype(object) + lexicon.pick(rng, lexicon.ORG_WORDS, m.sum()) + serial[m])
        m = kinds == "institution"
        out[m] = (CITY_NAME + dn[m].astype(object) + place[m] + lexicon.pick(rng, lexicon.INSTITUTION_WORDS, m.sum()))
        # names are unique in a registry: append a serial where two collide
        s = pd.Series(out)
        dup = s.duplicated(keep="first").to_numpy()
        out[dup] = out[dup] + "(" + np.flatnonzero(dup).astype(str) + ")"
        return out

    def _new_entity_frame(self, rng: np.random.Generator, kinds: np.ndarray, day: int) -> pd.DataFrame:
        n = len(kinds)
        if n == 0:
            return self.entities.iloc[:0].copy()
        codes = self.district_codes()
        district = codes[rng.choice(len(codes), n, p=self.district_weights())]
        street_idx = self.sample_streets(rng, district)
        bld = self._new_buildings(rng, street_idx, "commercial", day)
        self.buildings = pd.concat([self.buildings, bld], ignore_index=True)
        addr = self._new_addresses(rng, bld["building_id"].to_numpy(), day)
        self.addresses = pd.concat([self.addresses, addr], ignore_index=True)
        adults = np.flatnonzero((self.persons["status"].to_numpy() == "active")
                                & (self.ages(day) >= 22) & (self.ages(day) <= 75))
        est = np.datetime64(self.clock.date(day), "D") - (rng.exponential(9 * 365, n).astype(np.int64) if day == 0
                                                          else np.zeros(n, np.int64))
        capital = np.where(kinds == "enterprise", np.round(rng.lognormal(5.5, 1.4, n), 2),
                           np.where(kinds == "individual", np.round(rng.lognormal(2.5, 1.0, n), 2),
                                    np.round(rng.lognormal(3.0, 1.0, n), 2)))
        return self._compact(pd.DataFrame({
            "kind": kinds,
            "credit_code": self._credit_codes(rng, kinds, district),
            "name": self._entity_names(rng, kinds, district),
            "district_code": district,
            "street_idx": street_idx,
            "address_id": addr["address_id"].to_numpy(),
            "legal_rep_pid": adults[rng.integers(0, len(adults), n)],
            "established": est.astype("datetime64[D]"),
            "capital": capital,  # 万元
            "industry": rng.choice(list("ABCDEFGHIJKLMNOPQRS"), n,
                                   p=np.r_[[3, 1, 14, 1, 1, 7, 4, 2, 22, 4, 4, 2, 8, 8, 1, 3, 1, 1, 5, 8][:19]] /
                                   np.sum([3, 1, 14, 1, 1, 7, 4, 2, 22, 4, 4, 2, 8, 8, 1, 3, 1, 1, 5])),
            "employees": np.maximum(1, rng.lognormal(1.8, 1.3, n).astype(int)),
            "status": "active",
            "closed_date": np.full(n, np.datetime64("NaT"), "datetime64[D]"),
            "phone": _phones(rng, n),
            "created_day": day,
            "changed_day": day,
            "updated_at": _hist_times(rng, n, self.clock) if day == 0 else _day_times(rng, n, self.clock, day),
        }))

    def _build_entities(self, rng: np.random.Generator) -> None:
        kinds = np.concatenate([np.full(max(20, int(round(v * self.scale))), k)
                                for k, v in ENTITIES_PER_MILLION.items()])
        self.entities = self._new_entity_frame(rng, kinds, 0)

    # -- one day of change ----------------------------------------------------------------------

    def advance(self, day: int) -> DayChanges:
        """Apply day ``day`` (>= 1): births, deaths, moves, migration, entity births and closures."""
        if day != self.day + 1:
            raise ValueError(f"city is at day {self.day}; cannot advance to day {day}")
        self.day = day
        rng = rng_for(self.seed, "city", day)
        ch = DayChanges(day)
        p = self.persons
        active = np.flatnonzero(p["status"].to_numpy() == "active")
        n_act = len(active)
        age = self.ages(day)
        per_day = n_act / 365.0

        # deaths, weighted towards the old
        k = rng.poisson(per_day * DEATH_RATE)
        w = np.exp(age[active].clip(0, 105) / 9.0)
        ch.deaths = np.sort(rng.choice(active, min(k, n_act), replace=False, p=w / w.sum()))
        p.loc[ch.deaths, "status"] = "deceased"
        p.loc[ch.deaths, "death_date"] = np.datetime64(self.clock.date(day), "D") - rng.integers(0, 3, len(ch.deaths))

        # out-migration and moves within the city (whole households move)
        alive = np.setdiff1d(active, ch.deaths)
        ch.departures = np.sort(rng.choice(alive, min(rng.poisson(per_day * OUT_RATE), len(alive)), replace=False))
        p.loc[ch.departures, "status"] = "moved_out"
        alive = np.setdiff1d(alive, ch.departures)
        n_hh_moves = rng.poisson(per_day * MOVE_RATE / 2.6)
        hh = np.unique(p["household_id"].to_numpy()[rng.choice(alive, min(n_hh_moves, len(alive)), replace=False)])
        movers = alive[np.isin(p["household_id"].to_numpy()[alive], hh)]
        if len(hh):
            codes = self.district_codes()
            new_d = np.where(rng.random(len(hh)) < 0.6, self.households["district_code"].to_numpy()[hh],
                             codes[rng.choice(len(codes), len(hh), p=self.district_weights())])
            new_st = self.sample_streets(rng, new_d)
            new_addr = self._housing(rng, new_st, day)
            self.households.loc[hh, "district_code"] = new_d
            self.households.loc[hh, "street_idx"] = new_st
            self.households.loc[hh, "address_id"] = new_addr
            self.households.loc[hh, "changed_day"] = day
            self.households.loc[hh, "updated_at"] = _day_times(rng, len(hh), self.clock, day)
            ch.move_from = p["address_id"].to_numpy()[movers].copy()
            pos = np.searchsorted(hh, p["household_id"].to_numpy()[movers])
            p.loc[movers, "district_code"] = new_d[pos]
            p.loc[movers, "street_idx"] = new_st[pos]
            p.loc[movers, "address_id"] = new_addr[pos]
        ch.moves = movers

        # births: mothers are active women aged 22-42; the newborn joins the mother's household
        fem = alive[(p["sex"].to_numpy()[alive] == 2) & (age[alive] >= 22) & (age[alive] <= 42)]
        n_b = min(rng.poisson(per_day * BIRTH_RATE), len(fem))
        mothers = rng.choice(fem, n_b, replace=False) if n_b else np.empty(0, np.int64)
        birth = np.datetime64(self.clock.date(day), "D") - rng.integers(0, 4, n_b)
        babies = self._new_person_frame(rng, n_b, birth, p["district_code"].to_numpy()[mothers], None, day)
        # newborns carry the mother's surname or the household head's
        heads = self.households["head_pid"].to_numpy()[p["household_id"].to_numpy()[mothers]]
        surname = np.where(rng.random(n_b) < 0.8, lexicon.surname_of(p["name"].to_numpy()[heads]).astype(object),
                           lexicon.surname_of(p["name"].to_numpy()[mothers]).astype(object))
        babies["name"] = surname + babies["name"].str[1:].to_numpy()
        for col in ("household_id", "address_id", "street_idx"):
            babies[col] = p[col].to_numpy()[mothers]
        babies["relation"] = pd.Categorical(["child"] * n_b, categories=CATEGORIES["relation"])
        babies["insured"] = False
        babies["patient"] = True
        babies["mother_pid"] = mothers
        start = len(p)
        babies.index = np.arange(start, start + n_b)
        p = pd.concat([p, babies.drop(columns="mother_pid")])
        self.mothers.update(zip(babies.index.tolist(), mothers.tolist(), strict=True))
        ch.births = babies.index.to_numpy()

        # arrivals from outside the city form new households
        n_in = rng.poisson(per_day * IN_RATE)
        codes = self.district_codes()
        age_in = rng.uniform(18, 55, n_in)
        birth_in = (np.datetime64(self.clock.date(day), "D") - (age_in * 365.25).astype(np.int64))
        arr = self._new_person_frame(rng, n_in, birth_in, codes[rng.choice(len(codes), n_in, p=self.district_weights())],
                                     None, day)
        arr.index = np.arange(len(p), len(p) + n_in)
        self.persons = pd.concat([p, arr])
        ch.arrivals = arr.index.to_numpy()
        if n_in:
            self._form_households(rng, ch.arrivals, day)

        # routine updates of contact details and education
        p = self.persons
        still = np.flatnonzero(p["status"].to_numpy() == "active")
        ch.updated = np.sort(rng.choice(still, min(rng.poisson(len(still) / 365 * UPDATE_RATE), len(still)),
                                        replace=False))
        p.loc[ch.updated, "phone"] = _phones(rng, len(ch.updated))
        touched = np.unique(np.concatenate([ch.deaths, ch.departures, ch.moves, ch.births, ch.arrivals, ch.updated]))
        p.loc[touched, "changed_day"] = day
        p.loc[touched, "updated_at"] = _day_times(rng, len(touched), self.clock, day)
        b_or_d = np.unique(np.concatenate([ch.births, ch.deaths, ch.departures]))
        hh_t = np.unique(p["household_id"].to_numpy()[b_or_d])
        self.households.loc[hh_t, "changed_day"] = day
        self.households.loc[hh_t, "updated_at"] = _day_times(rng, len(hh_t), self.clock, day)

        # legal entities: registrations, closures and changes (legal representative, phone)
        e = self.entities
        ent_active = np.flatnonzero(e["status"].to_numpy() == "active")
        per_e = len(ent_active) / 365.0
        kinds_all = e["kind"].to_numpy()
        k_close = min(rng.poisson(per_e * ENTITY_DEATH_RATE), len(ent_active))
        ch.closed_entities = np.sort(rng.choice(ent_active, k_close, replace=False))
        e.loc[ch.closed_entities, "status"] = np.where(rng.random(k_close) < 0.8, "deregistered", "revoked")
        e.loc[ch.closed_entities, "closed_date"] = np.datetime64(self.clock.date(day), "D")
        rest = np.setdiff1d(ent_active, ch.closed_entities)
        ch.updated_entities = np.sort(rng.choice(rest, min(rng.poisson(per_e * ENTITY_UPDATE_RATE), len(rest)),
                                                 replace=False))
        adults = np.flatnonzero((p["status"].to_numpy() == "active") & (self.ages(day) >= 22) & (self.ages(day) <= 75))
        e.loc[ch.updated_entities, "legal_rep_pid"] = adults[rng.integers(0, len(adults), len(ch.updated_entities))]
        e.loc[ch.updated_entities, "phone"] = _phones(rng, len(ch.updated_entities))
        k_new = rng.poisson(per_e * ENTITY_BIRTH_RATE)
        shares = pd.Series(kinds_all).value_counts(normalize=True).sort_index()
        new_kinds = rng.choice(shares.index.to_numpy(), k_new, p=shares.to_numpy())
        new = self._new_entity_frame(rng, new_kinds, day)
        new.index = np.arange(len(e), len(e) + k_new)
        self.entities = pd.concat([e, new])
        ch.new_entities = new.index.to_numpy()
        changed = np.concatenate([ch.closed_entities, ch.updated_entities])
        self.entities.loc[changed, "changed_day"] = day
        self.entities.loc[changed, "updated_at"] = _day_times(rng, len(changed), self.clock, day)
        return ch

    def today(self) -> dt.date:
        """Calendar date of the city's current day."""
        return self.clock.date(self.day)

"""Everything the departments' sources are views of: the city, its facilities, cases and licences."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping

import numpy as np
import pandas as pd

from citybrain.sources.city import City, DayChanges, default_districts
from citybrain.sources.clock import SimClock, fmt_dates, fmt_times, rng_for, stable_choice, stable_uniform
from citybrain.sources.events import CaseStreams
from citybrain.sources.facilities import Facilities
from citybrain.sources.spec import CatalogSpec
from citybrain.sources.textops import zpad

MARITAL = {"single": "10", "married": "20", "widowed": "30"}
EDUCATION = {"none": None, "primary": "80", "junior": "70", "senior": "60", "college": "30", "bachelor": "20",
             "postgraduate": "10"}
RESIDENCE = {"active": "1", "moved_out": "2", "deceased": "3"}
ENTITY_STATUS = {"active": "1", "revoked": "2", "deregistered": "3"}
ORG_STATUS = {"active": "1", "revoked": "2", "deregistered": "3"}


class LazyColumns(MutableMapping):
    """Columns computed only when a resource asks for them (a view has many; a resource uses a few)."""

    def __init__(self, n: int, fns: dict[str, Callable[[], np.ndarray]]):
        self.n = n
        self._fns = dict(fns)
        self._vals: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._vals:
            if key not in self._fns:
                raise KeyError(key)
            self._vals[key] = self._fns.pop(key)()
        return self._vals[key]

    def __setitem__(self, key: str, value) -> None:
        self._fns.pop(key, None)
        self._vals[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self._vals:
            del self._vals[key]
        elif key in self._fns:
            del self._fns[key]
        else:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._vals or key in self._fns

    def __iter__(self) -> Iterator[str]:
        return iter([*self._vals, *(k for k in self._fns if k not in self._vals)])

    def __len__(self) -> int:
        return len(self._vals) + sum(1 for k in self._fns if k not in self._vals)


def _mapped(series: pd.Series, mapping: dict, rows: np.ndarray) -> np.ndarray:
    """Codes for a categorical column's values at ``rows`` (mapping applied to the categories only)."""
    cats = series.cat.categories
    lut = np.asarray([mapping.get(c) for c in cats], dtype=object)
    codes = series.cat.codes.to_numpy()[rows]
    return lut[codes]


def retirement_age(sex: np.ndarray) -> np.ndarray:
    """Statutory pension age used by the simulation: 60 for men, 55 for women."""
    return np.where(np.asarray(sex) == 1, 60, 55)


class World:
    """The simulated city with every inventory, case stream and licence register, advanced day by day."""

    def __init__(self, spec: CatalogSpec, scale: float, seed: int, clock: SimClock):
        self.spec = spec
        self.seed = seed
        self.clock = clock
        self.city = City(scale, seed, clock, default_districts(spec.districts or None))
        self.fac = Facilities(self.city, seed)
        self.cases = CaseStreams(self.city, seed, spec.grid_event_limits, self.fac["component"])
        self.cases.start()
        e = self.city.entities
        self.employers = np.flatnonzero((e["kind"].to_numpy() == "enterprise") & (e["status"].to_numpy() == "active"))
        self.day = 0
        self.changes = DayChanges(0)
        self.parcel_of_building = np.full(0, -1, np.int64)
        self.parcel_changed: np.ndarray = np.empty(0, np.int64)
        self._n_parcels = 0
        self._assign_parcels(0)

    def dept(self, code: str) -> tuple[str, str]:
        """(name, unified social credit code) of a provider department."""
        if code not in self.spec.departments:
            raise KeyError(f"{self.spec.root}/departments.yaml has no department {code!r}")
        return self.spec.departments[code]

    def advance(self, day: int) -> None:
        """Move every part of the world to ``day``."""
        self.changes = self.city.advance(day)
        self.fac.advance(day)
        self.cases.advance(day)
        self._assign_parcels(day)
        self.day = day

    def rng(self, name: str, day: int) -> np.random.Generator:
        """The generator of one resource on one day."""
        return rng_for(self.seed, name, day)

    # -- parcels: groups of up to four buildings of one street ----------------------------------

    def _assign_parcels(self, day: int) -> None:
        b = self.city.buildings
        old = len(self.parcel_of_building)
        new = np.arange(old, len(b))
        if not len(new):
            self.parcel_changed = np.empty(0, np.int64)
            return
        st = b["street_idx"].to_numpy()[new]
        order = new[np.argsort(st, kind="stable")]
        st_sorted = b["street_idx"].to_numpy()[order]
        rank = np.arange(len(order)) - np.searchsorted(st_sorted, st_sorted)
        key = st_sorted.astype(np.int64) * 1_000_000 + rank // 4
        uniq, inv = np.unique(key, return_inverse=True)
        parcel = np.empty(len(new), np.int64)
        parcel[order - old] = self._n_parcels + inv
        self.parcel_changed = np.arange(self._n_parcels, self._n_parcels + len(uniq))
        self._n_parcels += len(uniq)
        self.parcel_of_building = np.r_[self.parcel_of_building, parcel]

    def parcel_code(self, parcel: np.ndarray, district: np.ndarray) -> np.ndarray:
        """宗地代码: county (6) + cadastral zone (6) + GB + serial (5), 19 characters."""
        p = np.asarray(parcel, dtype=np.int64)
        return (np.asarray(district).astype(object) + zpad(p // 100_000, 6).astype(object) + "GB"
                + zpad(p % 100_000, 5).astype(object))

    # -- views used by many resources ------------------------------------------------------------

    def emit(self, frame: pd.DataFrame, day: int) -> np.ndarray:
        """Row positions a department publishes on ``day``: all on day 0, the day's changes after."""
        if day == 0:
            return np.arange(len(frame))
        return np.flatnonzero(frame["changed_day"].to_numpy() == day)

    def street_codes(self, street_idx: np.ndarray) -> np.ndarray:
        """9-digit street (乡镇街道) codes."""
        return self.city.streets["street_code"].to_numpy()[np.asarray(street_idx, dtype=np.int64)]

    def address_view(self, address_id: np.ndarray) -> LazyColumns:
        """Address text, code, coordinates, building of address surrogate keys."""
        a = self.city.addresses
        aid = np.asarray(address_id, dtype=np.int64)
        return LazyColumns(len(aid), {
            "address": lambda: a["address"].to_numpy()[aid],
            "address_code": lambda: self.city.address_code(aid).astype(object),
            "longitude": lambda: a["lon"].to_numpy()[aid].round(6),
            "latitude": lambda: a["lat"].to_numpy()[aid].round(6),
            "building_code": lambda: self.city.building_code(a["building_id"].to_numpy()[aid]).astype(object),
            "district_code": lambda: a["district_code"].to_numpy()[aid],
            "street_code": lambda: self.street_codes(a["street_idx"].to_numpy()[aid]),
        })

    def person_view(self, pids: np.ndarray) -> LazyColumns:
        """Authoritative person attributes (as the population registry holds them) for person keys."""
        p = self.city.persons
        pid = np.asarray(pids, dtype=np.int64)
        addr = self.address_view(p["address_id"].to_numpy()[pid])

        def relation() -> np.ndarray:
            sex = p["sex"].to_numpy()[pid]
            rel = p["relation"].to_numpy()[pid]
            return np.where(rel == "head", "02", np.where(rel == "spouse", "10", np.where(
                rel == "parent", "50", np.where(sex == 1, "20", "30")))).astype(object)

        return LazyColumns(len(pid), {
            "id_number": lambda: p["id_number"].to_numpy()[pid], "name": lambda: p["name"].to_numpy()[pid],
            "sex": lambda: p["sex"].to_numpy()[pid].astype(str).astype(object),
            "birth_date": lambda: fmt_dates(p["birth_date"].to_numpy()[pid]),
            "ethnicity": lambda: p["ethnicity"].to_numpy()[pid], "phone": lambda: p["phone"].to_numpy()[pid],
            "marital_status": lambda: _mapped(p["marital"], MARITAL, pid),
            "education_level": lambda: _mapped(p["education"], EDUCATION, pid),
            "household_id": lambda: self.city.household_no(p["household_id"].to_numpy()[pid]).astype(object),
            "relation_to_head": relation,
            "residence_status": lambda: _mapped(p["status"], RESIDENCE, pid),
            "address": lambda: addr["address"], "address_code": lambda: addr["address_code"],
            "building_code": lambda: addr["building_code"],
            "district_code": lambda: p["district_code"].to_numpy()[pid],
            "street_code": lambda: self.street_codes(p["street_idx"].to_numpy()[pid]),
            "updated_at": lambda: fmt_times(p["updated_at"].to_numpy()[pid]),
        })

    def entity_view(self, eids: np.ndarray) -> LazyColumns:
        """Authoritative legal-entity attributes (as the market regulator holds them) for entity keys."""
        e = self.city.entities
        eid = np.asarray(eids, dtype=np.int64)
        p = self.city.persons
        addr = self.address_view(e["address_id"].to_numpy()[eid])

        def rep() -> np.ndarray:
            return e["legal_rep_pid"].to_numpy()[eid]

        return LazyColumns(len(eid), {
            "credit_code": lambda: e["credit_code"].to_numpy()[eid], "name": lambda: e["name"].to_numpy()[eid],
            "legal_rep_name": lambda: p["name"].to_numpy()[rep()],
            "legal_rep_id": lambda: p["id_number"].to_numpy()[rep()],
            "address": lambda: addr["address"], "address_code": lambda: addr["address_code"],
            "longitude": lambda: addr["longitude"], "latitude": lambda: addr["latitude"],
            "district_code": lambda: e["district_code"].to_numpy()[eid], "phone": lambda: e["phone"].to_numpy()[eid],
            "established_date": lambda: fmt_dates(e["established"].to_numpy()[eid]),
            "industry_code": lambda: e["industry"].to_numpy()[eid],
            "registered_capital": lambda: e["capital"].to_numpy()[eid].round(4),
            "status": lambda: _mapped(e["status"], ENTITY_STATUS, eid),
            "updated_at": lambda: fmt_times(e["updated_at"].to_numpy()[eid]),
        })

    def person_changed(self, pids: np.ndarray, day: int) -> np.ndarray:
        """Mask of persons whose registry record changed on ``day`` (all on day 0)."""
        if day == 0:
            return np.ones(len(pids), bool)
        return self.city.persons["changed_day"].to_numpy()[np.asarray(pids, dtype=np.int64)] == day

    def entity_changed(self, eids: np.ndarray, day: int) -> np.ndarray:
        """Mask of entities whose register record changed or was created on ``day``."""
        if day == 0:
            return np.ones(len(eids), bool)
        return self.city.entities["changed_day"].to_numpy()[np.asarray(eids, dtype=np.int64)] == day

    def day_times(self, rng: np.random.Generator, n: int, day: int, lo_h: int = 8, hi_h: int = 20) -> np.ndarray:
        """Timestamps within ``day`` between two hours."""
        return self.clock.day_start(day) + rng.integers(lo_h * 3600, hi_h * 3600, n).astype("timedelta64[s]")

    def district_hospitals(self, district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A hospital (row of the hospital inventory) in each given district, larger ones more often."""
        h = self.fac["hospital"]
        out = np.empty(len(district), np.int64)
        codes = h["district_code"].to_numpy()
        for code in np.unique(district):
            m = np.flatnonzero(np.asarray(district) == code)
            cand = np.flatnonzero(codes == code)
            if not len(cand):
                cand = np.arange(len(h))
            w = h["size"].to_numpy()[cand]
            out[m] = cand[rng.choice(len(cand), len(m), p=w / w.sum())]
        return out

    def stable(self, ids: np.ndarray, salt: str) -> np.ndarray:
        """Stable uniform number per id (see clock.stable_uniform)."""
        return stable_uniform(ids, salt)

    def choose(self, ids: np.ndarray, salt: str, options, weights=None) -> np.ndarray:
        """Stable option per id."""
        return stable_choice(ids, salt, options, weights)

"""Public facilities and infrastructure inventories of the simulated city.

Hospitals, schools, elderly-care homes and venues are legal entities of the city registry (their
credit codes are those of public institutions, social organisations or enterprises); street
lights, cameras, bridges, tunnels, grid components, bus stops, detectors and monitoring stations
are assets placed on the city's streets. Each inventory is a frame with ``changed_day`` and
``updated_at`` so departments can publish day deltas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citybrain.sources import lexicon
from citybrain.sources.city import City, _day_times, _hist_times
from citybrain.sources.clock import rng_for
from citybrain.sources.textops import zpad

# Assets per million residents (scale 1); minima keep the demo city's inventories meaningful.
PER_MILLION = {
    "hospital": 250, "school": 220, "elderly": 80, "venue": 60, "bus_stop": 2500, "route": 150,
    "detector": 400, "station": 22, "streetlight": 40_000, "camera": 15_000, "bridge": 300,
    "component_other": 60_000, "pollution": 600, "hazchem": 150,
}
MINIMUM = {"hospital": 6, "school": 8, "elderly": 3, "venue": 4, "bus_stop": 30, "route": 6, "detector": 11,
           "station": 11, "streetlight": 200, "camera": 100, "bridge": 8, "component_other": 300,
           "pollution": 8, "hazchem": 4}
DAILY_CHANGE = 0.002  # share of an inventory whose status or attributes change on a day


def _count(kind: str, scale: float) -> int:
    return max(MINIMUM[kind], int(round(PER_MILLION[kind] * scale)))


class Facilities:
    """Every inventory the departments keep about places and assets."""

    def __init__(self, city: City, seed: int):
        self.city = city
        self.seed = seed
        rng = rng_for(seed, "facilities", 0)
        self.frames: dict[str, pd.DataFrame] = {}
        self._institutions(rng)
        for kind in ("bus_stop", "detector", "station", "streetlight", "camera", "bridge", "component_other"):
            self.frames[kind] = self._assets(rng, kind, _count(kind, city.scale))
        self._components()
        self._routes(rng)
        self._industrial(rng)

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.frames[kind]

    # -- institutions that are legal entities ----------------------------------------------------

    def _take_entities(self, rng: np.random.Generator, n: int, kinds: tuple[str, ...], taken: set) -> np.ndarray:
        e = self.city.entities
        cand = np.flatnonzero(np.isin(e["kind"].to_numpy(), kinds) & (e["status"].to_numpy() == "active"))
        cand = np.asarray([c for c in cand if c not in taken])
        chosen = np.sort(rng.choice(cand, min(n, len(cand)), replace=False))
        taken.update(chosen.tolist())
        return chosen

    def _institutions(self, rng: np.random.Generator) -> None:
        city, taken = self.city, set()
        e = city.entities
        dname = {d.code: d.name for d in city.districts}
        specs = (("hospital", ("institution", "social_org", "enterprise"), "医院"),
                 ("school", ("institution", "social_org"), "学校"),
                 ("elderly", ("institution", "social_org"), "养老院"),
                 ("venue", ("institution",), "文化中心"))
        for kind, kinds, word in specs:
            # public ones first: a hospital is mostly a public institution
            n = _count(kind, city.scale)
            n_pub = int(round(n * (0.7 if kind != "venue" else 1.0)))
            eids = np.r_[self._take_entities(rng, n_pub, ("institution",), taken),
                         self._take_entities(rng, n - n_pub, kinds[1:], taken)].astype(np.int64)
            d = e.loc[eids, "district_code"].to_numpy()
            serial = np.arange(1, len(eids) + 1).astype(str)
            if kind == "hospital":
                names = np.asarray([f"{CITY_PREFIX}{dname[c]}第{s}人民医院" if i % 3 == 0 else
                                    f"{CITY_PREFIX}{dname[c]}{w}社区卫生服务中心"
                                    for i, (c, s, w) in enumerate(zip(d, serial, lexicon.pick(rng, lexicon.PLACE_WORDS, len(d)),
                                                                      strict=True))], dtype=object)
            elif kind == "school":
                names = np.asarray([f"{CITY_PREFIX}{dname[c]}{w}{'小学' if i % 2 == 0 else '中学'}"
                                    for i, (c, w) in enumerate(zip(d, lexicon.pick(rng, lexicon.PLACE_WORDS, len(d)),
                                                                   strict=True))], dtype=object)
            else:
                names = np.asarray([f"{CITY_PREFIX}{dname[c]}{w}{word}{s}" for c, w, s in
                                    zip(d, lexicon.pick(rng, lexicon.PLACE_WORDS, len(d)), serial, strict=True)],
                                   dtype=object)
            names = pd.Series(names).where(~pd.Series(names).duplicated(), pd.Series(names) + pd.Series(serial)).to_numpy()
            e.loc[eids, "name"] = names
            if kind in ("hospital", "elderly"):
                e.loc[eids, "industry"] = "Q"
            elif kind == "school":
                e.loc[eids, "industry"] = "P"
            else:
                e.loc[eids, "industry"] = "R"
            addr = city.addresses.loc[e.loc[eids, "address_id"].to_numpy()]
            self.frames[kind] = pd.DataFrame({
                "eid": eids,
                "district_code": d,
                "street_idx": e.loc[eids, "street_idx"].to_numpy(),
                "lon": addr["lon"].to_numpy(),
                "lat": addr["lat"].to_numpy(),
                "public": np.arange(len(eids)) < n_pub,
                "size": rng.lognormal(0, 0.6, len(eids)),
                "status": "active",
                "changed_day": 0,
                "updated_at": _hist_times(rng, len(eids), city.clock),
            })

    # -- street assets ---------------------------------------------------------------------------

    def _assets(self, rng: np.random.Generator, kind: str, n: int) -> pd.DataFrame:
        city = self.city
        d = city.district_codes()[rng.choice(len(city.districts), n, p=city.district_weights())]
        st_idx = city.sample_streets(rng, d)
        st = city.streets.iloc[st_idx]
        roads = city.roads.set_index(["street_code", "road_seq"])["road_name"]
        road = roads.loc[list(zip(st["street_code"], rng.integers(0, 4, n), strict=True))].to_numpy()
        installed = np.datetime64(city.clock.start, "D") - rng.integers(30, 365 * 20, n)
        return pd.DataFrame({
            "seq": np.arange(n),
            "district_code": d,
            "street_idx": st_idx,
            "road_name": road,
            "lon": st["lon"].to_numpy() + rng.normal(0, 0.015, n),
            "lat": st["lat"].to_numpy() + rng.normal(0, 0.011, n),
            "installed": installed.astype("datetime64[D]"),
            "sensing": rng.random(n) < {"streetlight": 0.88, "camera": 0.96}.get(kind, 0.5),
            "is_key": rng.random(n) < 0.25,
            "condition": rng.choice(5, n, p=[0.55, 0.3, 0.1, 0.04, 0.01]),
            "status": rng.choice(4, n, p=[0.93, 0.04, 0.02, 0.01]),
            "size": rng.lognormal(0, 0.5, n),
            "changed_day": 0,
            "updated_at": _hist_times(rng, n, city.clock),
        })

    def _components(self) -> None:
        """Grid components: every street light is component class 0118, plus other street furniture."""
        other = self.frames["component_other"]
        rng = rng_for(self.seed, "components", 0)
        classes = np.asarray(["0101", "0102", "0103", "0104", "0105", "0115", "0116", "0117", "0202", "0208",
                              "0209", "0210", "0301"])
        other["component_class"] = classes[rng.integers(0, len(classes), len(other))]
        lights = self.frames["streetlight"]
        lights["component_class"] = "0118"
        comp = pd.concat([lights.assign(source="streetlight"), other.assign(source="other")], ignore_index=True)
        # component id: county (6) + major (2) + minor (2) + serial (6), serial per county and class
        comp["serial"] = comp.groupby(["district_code", "component_class"]).cumcount() + 1
        comp["component_id"] = (comp["district_code"] + comp["component_class"] + zpad(comp["serial"], 6)).to_numpy()
        self.frames["component"] = comp
        lights["component_id"] = comp.loc[comp["source"] == "streetlight", "component_id"].to_numpy()

    def _routes(self, rng: np.random.Generator) -> None:
        n = _count("route", self.city.scale)
        codes = self.city.district_codes()
        d = codes[rng.choice(len(codes), n, p=self.city.district_weights())]
        self.frames["route"] = pd.DataFrame({
            "route_id": np.char.add("R", zpad(np.arange(1, n + 1), 4)),
            "route_name": np.char.add(np.arange(1, n + 1).astype(str), "路"),
            "district_code": d,
            "daily_riders": rng.lognormal(8.0, 0.6, n) * 1.0,
        })
        stops = self.frames["bus_stop"]
        stops["routes_count"] = np.maximum(1, rng.poisson(2.5, len(stops)))

    def _industrial(self, rng: np.random.Generator) -> None:
        e = self.city.entities
        ind = np.flatnonzero((e["kind"].to_numpy() == "enterprise") & np.isin(e["industry"].to_numpy(), ["B", "C", "D"])
                             & (e["status"].to_numpy() == "active"))
        for kind in ("pollution", "hazchem"):
            eids = np.sort(rng.choice(ind, min(len(ind), _count(kind, self.city.scale)), replace=False))
            self.frames[kind] = pd.DataFrame({
                "eid": eids, "level": rng.integers(0, 5, len(eids)), "online": rng.random(len(eids)) < 0.7,
                "status": "active", "changed_day": 0,
                "updated_at": _hist_times(rng, len(eids), self.city.clock)})

    # -- one day ---------------------------------------------------------------------------------

    def advance(self, day: int) -> None:
        """Status changes of a few assets (lamps fail and are repaired, cameras go offline...)."""
        rng = rng_for(self.seed, "facilities", day)
        for kind in ("streetlight", "camera", "bridge", "bus_stop", "component_other"):
            f = self.frames[kind]
            k = min(len(f), rng.poisson(len(f) * DAILY_CHANGE))
            rows = np.sort(rng.choice(len(f), k, replace=False))
            f.loc[rows, "status"] = rng.choice(4, k, p=[0.7, 0.15, 0.1, 0.05])
            f.loc[rows, "sensing"] = f.loc[rows, "sensing"].to_numpy() | (rng.random(k) < 0.3)
            f.loc[rows, "changed_day"] = day
            f.loc[rows, "updated_at"] = _day_times(rng, k, self.city.clock, day)
        comp = self.frames["component"]
        lights = self.frames["streetlight"]
        changed = lights["changed_day"].to_numpy() == day
        idx = comp.index[comp["source"].to_numpy() == "streetlight"][changed]
        comp.loc[idx, ["status", "changed_day", "updated_at"]] = lights.loc[changed, ["status", "changed_day",
                                                                                     "updated_at"]].to_numpy()
        other = self.frames["component_other"]
        ch = other["changed_day"].to_numpy() == day
        idx = comp.index[comp["source"].to_numpy() == "other"][ch]
        comp.loc[idx, ["status", "changed_day", "updated_at"]] = other.loc[ch, ["status", "changed_day",
                                                                               "updated_at"]].to_numpy()
        # institutions follow their legal entity (a renamed legal representative shows up everywhere)
        e = self.city.entities
        for kind in ("hospital", "school", "elderly", "venue", "pollution", "hazchem"):
            f = self.frames[kind]
            ent_changed = e["changed_day"].to_numpy()[f["eid"].to_numpy()] == day
            f.loc[ent_changed, "changed_day"] = day
            f.loc[ent_changed, "updated_at"] = e["updated_at"].to_numpy()[f["eid"].to_numpy()[ent_changed]]


CITY_PREFIX = "烟台市"

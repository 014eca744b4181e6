"""Time series the departments publish: hourly air quality and traffic, daily boardings, monthly fibre
coverage, quarterly GDP and yearly resident population (statistics agree with the population register).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from citybrain.sources.clock import fmt_dates, fmt_times
from citybrain.sources.textops import zpad

if TYPE_CHECKING:
    from citybrain.sources.world import World

Columns = dict[str, np.ndarray]
# China's AQI sub-index breakpoints (HJ 633-2012), 24-hour means, used for hourly values as a proxy.
IAQI = np.asarray([0, 50, 100, 150, 200, 300, 400, 500], dtype=float)
BREAKS = {
    "PM2.5": [0, 35, 75, 115, 150, 250, 350, 500], "PM10": [0, 50, 150, 250, 350, 420, 500, 600],
    "SO2": [0, 50, 150, 475, 800, 1600, 2100, 2620], "NO2": [0, 40, 80, 180, 280, 565, 750, 940],
    "CO": [0, 2, 4, 14, 24, 36, 48, 60], "O3": [0, 100, 160, 215, 265, 800, 1000, 1200],
}
GDP_PER_CAPITA_10K = 14.5  # 万元 per resident and year (Yantai, about 2023)


def _iaqi(values: np.ndarray, pollutant: str) -> np.ndarray:
    return np.interp(values, BREAKS[pollutant], IAQI)


def air_quality(w: World, day: int, rng) -> Columns:
    """Hourly readings of every monitoring station for one day."""
    s = w.fac["station"]
    n_st, hours = len(s), 24
    st = np.repeat(np.arange(n_st), hours)
    hour = np.tile(np.arange(hours), n_st)
    # a day's weather sets the level for the whole city, stations vary around it
    base = rng.lognormal(np.log(32), 0.45)
    diurnal = 1 + 0.25 * np.cos((hour - 8) / 24 * 2 * np.pi)
    pm25 = np.clip(base * diurnal * rng.lognormal(0, 0.25, len(st)), 2, 800).round(1)
    pm10 = np.clip(pm25 * rng.uniform(1.4, 2.1, len(st)), 5, 1500).round(1)
    so2 = np.clip(rng.lognormal(np.log(8), 0.4, len(st)), 1, 500).round(1)
    no2 = np.clip(rng.lognormal(np.log(25), 0.4, len(st)) * diurnal, 2, 500).round(1)
    co = np.clip(rng.lognormal(np.log(0.6), 0.3, len(st)), 0.1, 20).round(2)
    o3 = np.clip(rng.lognormal(np.log(70), 0.35, len(st)) * (2 - diurnal), 5, 600).round(1)
    subs = np.column_stack([_iaqi(pm25, "PM2.5"), _iaqi(pm10, "PM10"), _iaqi(so2, "SO2"), _iaqi(no2, "NO2"),
                            _iaqi(co, "CO"), _iaqi(o3, "O3")])
    aqi = np.ceil(subs.max(axis=1)).astype(int)
    names = np.asarray(["PM2.5", "PM10", "SO2", "NO2", "CO", "O3"], dtype=object)
    level = np.searchsorted([50, 100, 150, 200, 300], aqi, side="left") + 1
    observed = w.clock.day_start(day) + (hour * 3600).astype("timedelta64[s]")
    dist = s["district_code"].to_numpy()[st]
    return {
        "station_code": np.char.add("EEB", zpad(s["seq"].to_numpy()[st], 4)).astype(object),
        "station_name": (np.asarray([w.city.streets["street_name"].to_numpy()[i] for i in s["street_idx"]],
                                    dtype=object)[st] + "监测站"),
        "district_code": dist, "observed_at": fmt_times(observed), "obs_date": fmt_dates(observed.astype("datetime64[D]")),
        "aqi": aqi, "aqi_level": level.astype(str).astype(object),
        "primary_pollutant": np.where(aqi > 50, names[subs.argmax(axis=1)], None),
        "pm25": pm25, "pm10": pm10, "so2": so2, "no2": no2, "co": co, "o3": o3,
    }


def traffic(w: World, day: int, rng) -> Columns:
    """Hourly vehicle counts, speeds and occupancy of every detector for one day."""
    d = w.fac["detector"]
    n_det, hours = len(d), 24
    det = np.repeat(np.arange(n_det), hours)
    hour = np.tile(np.arange(hours), n_det)
    profile = np.asarray([.15, .1, .08, .08, .12, .3, .7, 1.0, .95, .7, .6, .65, .7, .65, .6, .7, .85, 1.0, .9, .7,
                          .55, .45, .35, .25])
    cap = 600 * d["size"].to_numpy()[det]
    weekend = w.clock.date(day).weekday() >= 5
    volume = rng.poisson(cap * profile[hour] * (0.8 if weekend else 1.0))
    occupancy = np.clip(volume / cap * 35 * rng.uniform(0.8, 1.2, len(det)), 0, 100).round(2)
    speed = np.clip(60 - occupancy * 0.8 + rng.normal(0, 4, len(det)), 3, 120).round(1)
    congestion = np.searchsorted([15, 25, 35, 50], occupancy) + 1
    measured = w.clock.day_start(day) + (hour * 3600).astype("timedelta64[s]")
    return {
        "detector_id": np.char.add(np.char.add("TD", d["district_code"].to_numpy()[det].astype("U6")),
                                   zpad(d["seq"].to_numpy()[det], 6)).astype(object),
        "road_name": d["road_name"].to_numpy()[det], "district_code": d["district_code"].to_numpy()[det],
        "measured_at": fmt_times(measured), "interval_minutes": np.full(len(det), 60), "vehicle_count": volume,
        "avg_speed_kmh": speed, "occupancy_pct": occupancy, "congestion_level": congestion.astype(str).astype(object),
    }


def boardings(w: World, day: int, rng) -> Columns:
    """Boardings per bus route and payment method on the day."""
    r = w.fac["route"]
    methods = np.asarray(["01", "02", "03", "04", "05"], dtype=object)
    share = np.asarray([0.04, 0.33, 0.45, 0.06, 0.12])
    weekend = w.clock.date(day).weekday() >= 5
    riders = rng.poisson(r["daily_riders"].to_numpy() * (0.75 if weekend else 1.0))
    counts = rng.multinomial(riders, share) if len(riders) else np.zeros((0, 5), int)
    ri = np.repeat(np.arange(len(r)), len(methods))
    return {
        "service_date": np.full(len(ri), str(w.clock.date(day)), dtype=object),
        "route_id": r["route_id"].to_numpy()[ri].astype(object), "route_name": r["route_name"].to_numpy()[ri].astype(object),
        "district_code": r["district_code"].to_numpy()[ri], "payment_method": np.tile(methods, len(r)),
        "boardings": counts.reshape(-1),
    }


def _month_end_report(w: World, day: int) -> dt.date | None:
    """The month-end date a monthly report published on ``day`` covers (day 0 and each 1st of a month)."""
    date = w.clock.date(day)
    if day == 0 or date.day == 1:
        return date.replace(day=1) - dt.timedelta(days=1)
    return None


def fibre(w: World, day: int, rng) -> Columns:
    """Fibre-to-the-home coverage per street at the end of the previous month."""
    report = _month_end_report(w, day)
    if report is None:
        return {"report_date": np.empty(0, object)}
    h = w.city.households
    streets = w.city.streets
    hh = np.bincount(h["street_idx"].to_numpy(), minlength=len(streets))
    sid = np.arange(len(streets))
    cover = 0.9 + 0.09 * w.stable(sid, "fibre")
    fibre_hh = np.floor(hh * cover).astype(int)
    return {
        "report_date": np.full(len(sid), str(report), dtype=object),
        "district_code": streets["district_code"].to_numpy(), "street_code": streets["street_code"].to_numpy(),
        "households": hh, "fibre_households": fibre_hh,
        "gigabit_households": np.floor(fibre_hh * (0.35 + 0.2 * w.stable(sid, "giga"))).astype(int),
        "fibre_subscribers": np.floor(fibre_hh * 0.82).astype(int),
    }


def _quarters_published(w: World, day: int) -> list[tuple[int, int]]:
    """Quarters whose figures come out on ``day`` (the 20th of the month after the quarter; history on day 0)."""
    date = w.clock.date(day)
    if day == 0:
        out, y, q = [], 2020, 1
        while True:
            end_month = q * 3
            pub = dt.date(y + (end_month == 12), end_month % 12 + 1, 20)
            if pub > date:
                return out
            out.append((y, q))
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    if date.day == 20 and date.month in (1, 4, 7, 10):
        q = (date.month - 1) // 3 or 4
        return [(date.year - (q == 4), q)]
    return []


def gdp(w: World, day: int, rng) -> Columns:
    """Quarterly GDP per district and industry, proportional to the simulated population."""
    quarters = _quarters_published(w, day)
    codes = w.city.district_codes()
    pop = np.asarray([(w.city.persons["district_code"] == c).sum() for c in codes], dtype=float)
    rows = [(c, y, q, ind) for (y, q) in quarters for c in codes for ind in ("0", "1", "2", "3")]
    if not rows:
        return {"district_code": np.empty(0, object)}
    c, y, q, ind = (np.asarray(x, dtype=object) for x in zip(*rows, strict=True))
    di = np.searchsorted(codes, c.astype(str))
    yi = y.astype(int)
    growth = 0.05 + 0.02 * np.sin(yi + di) - (yi == 2020) * (q.astype(int) == 1) * 0.09
    level = pop[di] * GDP_PER_CAPITA_10K / 4 * (1.05 ** (yi - 2023)) * (0.85 + 0.1 * q.astype(int) / 4)
    share = np.asarray([1.0, 0.07, 0.42, 0.51])[ind.astype(int)]
    ends = np.asarray([dt.date(int(a), int(b) * 3 % 12 + 1, 1) - dt.timedelta(days=1) if int(b) < 4
                       else dt.date(int(a), 12, 31) for a, b in zip(y, q, strict=True)], dtype="datetime64[D]")
    return {"district_code": c, "year": yi, "quarter": q.astype(int), "period_end_date": fmt_dates(ends),
            "industry": ind, "gdp_10k_yuan": (level * share).round(2), "growth_rate_pct": (growth * 100).round(2)}


def resident_population(w: World, day: int, rng) -> Columns:
    """Resident population per district: year-ends since 2016 plus the current year's latest estimate.

    The estimate (as of the eve of day 0) lets per-resident indicators of the current year have a
    denominator; statistics bureaus publish such interim figures before the year-end census.
    """
    if day != 0:
        return {"district_code": np.empty(0, object)}
    p = w.city.persons
    active = p["status"].to_numpy() == "active"
    codes = w.city.district_codes()
    years = np.arange(2016, w.clock.start.year + 1)
    eve = w.clock.start - dt.timedelta(days=1)
    age = w.city.ages(0)
    rows: dict[str, list] = {k: [] for k in ("district_code", "year", "as_of_date", "resident_population",
                                             "registered_population", "households", "aged_0_14", "aged_16_59",
                                             "aged_60_plus", "aged_65_plus", "urban_population", "updated_at")}
    hh = w.city.households
    for c in codes:
        m = active & (p["district_code"].to_numpy() == c)
        reg = int(m.sum())
        for y in years:
            current = y == w.clock.start.year
            back = 1.0 if current else (1.003 ** (w.clock.start.year - 1 - y))
            f = back * (1 + 0.02 * (c[4] == "0"))
            rows["district_code"].append(c)
            rows["year"].append(int(y))
            rows["as_of_date"].append(eve.isoformat() if current else f"{y}-12-31")
            rows["resident_population"].append(int(reg * f))
            rows["registered_population"].append(int(reg * back))
            rows["households"].append(int((hh["district_code"].to_numpy() == c).sum() * back))
            rows["aged_0_14"].append(int((m & (age <= 14)).sum() * back))
            rows["aged_16_59"].append(int((m & (age >= 16) & (age <= 59)).sum() * back))
            rows["aged_60_plus"].append(int((m & (age >= 60)).sum() * back))
            rows["aged_65_plus"].append(int((m & (age >= 65)).sum() * back))
            rows["urban_population"].append(int(reg * f * (0.82 if c[4] == "0" else 0.55)))
            rows["updated_at"].append(f"{eve.isoformat()} 18:00:00" if current else f"{y + 1}-03-15 10:00:00")
    return {k: np.asarray(v, dtype=object) for k, v in rows.items()}


READING_BUILDERS = {
    "env_air_quality_hourly": air_quality, "trans_traffic_flow": traffic, "trans_boarding_daily": boardings,
    "telecom_fibre_coverage": fibre, "macro_gdp_quarterly": gdp, "macro_resident_population": resident_population,
}

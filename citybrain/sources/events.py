"""Grid events (数字化城管案件) and 12345 hotline tickets that follow their lifecycle with time limits.

Each case's whole timeline is drawn when it is reported; what a department's system shows at the
end of a day is the timeline cut at that moment, so a case reported on day 3 and closed on day 5
appears in the day-3, day-4 (if anything happened) and day-5 pulls with its then-current status.
Time limits come from reference/grid.yaml (per event class); most cases finish on time, some are
late (overdue), some are returned, reworked or not registered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from citybrain.sources.city import City
from citybrain.sources.clock import rng_for
from citybrain.sources.textops import zpad

GRID_PER_MILLION_DAY = 600
HOTLINE_PER_MILLION_DAY = 1200
BACKLOG_DAYS = 5  # day 0 also shows cases reported in the days before the initial load
NAT = np.datetime64("NaT", "s")
GRID_STAGES = ("reported_at", "registered_at", "dispatched_at", "disposed_at", "checked_at", "closed_at")
# 12345 answer time limits per category (hours): 咨询, 求助, 投诉, 举报, 建议, 表扬
HOTLINE_LIMIT_HOURS = {"1": 24, "2": 72, "3": 120, "4": 120, "5": 168, "6": 24}
HOTLINE_TOPICS = {
    "1": ["社保政策咨询", "户籍办理咨询", "公积金提取", "医保报销咨询", "入学政策咨询"],
    "2": ["路灯不亮", "井盖缺失", "供暖不热", "停水求助", "道路积水"],
    "3": ["噪音扰民", "占道经营", "违章停车", "垃圾清运不及时", "商家欺诈"],
    "4": ["违法建设", "非法排污", "无证经营", "食品安全"],
    "5": ["增设公交线路", "改善道路照明", "增加停车位"],
    "6": ["工作人员服务热情", "问题处理及时"],
}
GRID_TEXT = {"01": "暴露垃圾、积存垃圾渣土", "02": "违规张贴小广告", "03": "施工扰民、工地扬尘",
             "04": "井盖缺失、路面塌陷", "05": "占道经营、店外经营", "06": "其他城市管理问题"}


def _minutes(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return (rng.uniform(lo, hi, n) * 60).astype("timedelta64[s]")


@dataclass
class Snapshot:
    """Cases to publish for one day, cut at the end of that day."""

    frame: pd.DataFrame
    as_of: np.datetime64


class CaseStreams:
    """All grid events and hotline tickets reported so far, with their full timelines."""

    def __init__(self, city: City, seed: int, event_class_limits: dict[str, float], components: pd.DataFrame):
        self.city = city
        self.seed = seed
        self.limits = event_class_limits or {"0601": 72.0}
        self.components = components
        self.grid = pd.DataFrame()
        self.hotline = pd.DataFrame()
        self._n_grid = self._n_hotline = 0

    def _positions(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        city = self.city
        d = city.district_codes()[rng.choice(len(city.districts), n, p=city.district_weights())]
        st_idx = city.sample_streets(rng, d)
        st = city.streets.iloc[st_idx]
        return {"district_code": d, "street_idx": st_idx, "lon": st["lon"].to_numpy() + rng.normal(0, 0.012, n),
                "lat": st["lat"].to_numpy() + rng.normal(0, 0.009, n)}

    def _new_hotline(self, rng: np.random.Generator, day: int, n: int) -> pd.DataFrame:
        clock = self.city.clock
        received = clock.day_start(day) + (rng.integers(7 * 3600, 22 * 3600, n)).astype("timedelta64[s]")
        category = rng.choice(list(HOTLINE_LIMIT_HOURS), n, p=[0.38, 0.2, 0.27, 0.05, 0.07, 0.03])
        limit = np.asarray([HOTLINE_LIMIT_HOURS[c] for c in category], dtype=np.int64) * 3600
        deadline = received + limit.astype("timedelta64[s]")
        on_time = rng.random(n) < 0.9
        frac = np.where(on_time, rng.uniform(0.05, 0.95, n), rng.uniform(1.05, 2.5, n))
        closed = received + (limit * frac).astype("timedelta64[s]")
        accepted = received + _minutes(rng, 1, 30, n)
        withdrawn = rng.random(n) < 0.02
        returned = (~withdrawn) & (rng.random(n) < 0.03)
        topic = np.asarray([HOTLINE_TOPICS[c][i % len(HOTLINE_TOPICS[c])]
                            for c, i in zip(category, rng.integers(0, 10, n), strict=True)], dtype=object)
        pos = self._positions(rng, n)
        seq = np.arange(self._n_hotline, self._n_hotline + n)
        self._n_hotline += n
        return pd.DataFrame({
            "ticket_no": np.char.add("12345" + clock.date(day).strftime("%Y%m%d"), zpad(seq, 8)),
            "channel": rng.choice(["1", "2", "3", "4", "5", "6"], n, p=[0.62, 0.08, 0.16, 0.1, 0.02, 0.02]),
            "category": category, "topic": topic,
            "received_at": received, "accepted_at": accepted, "deadline_at": deadline,
            "closed_at": np.where(withdrawn, accepted + _minutes(rng, 10, 120, n), closed).astype("datetime64[s]"),
            "withdrawn": withdrawn, "returned": returned,
            "caller_pid": rng.integers(0, len(self.city.persons), n),
            "satisfaction": rng.choice(["1", "2", "3", "9"], n, p=[0.72, 0.14, 0.06, 0.08]),
            "grid_event_id": None, "report_day": day, **pos,
        })

    def _new_grid(self, rng: np.random.Generator, day: int, n: int, forwarded: pd.DataFrame) -> pd.DataFrame:
        clock = self.city.clock
        n_fw = len(forwarded)
        total = n + n_fw
        reported = np.r_[clock.day_start(day) + rng.integers(6 * 3600, 21 * 3600, n).astype("timedelta64[s]"),
                         forwarded["accepted_at"].to_numpy() + _minutes(rng, 5, 60, n_fw)].astype("datetime64[s]")
        classes = np.asarray(sorted(self.limits))
        ev_class = classes[rng.integers(0, len(classes), total)]
        limit_h = np.asarray([self.limits[c] for c in ev_class])
        not_registered = rng.random(total) < 0.05
        registered = reported + _minutes(rng, 3, 45, total)
        returned = rng.random(total) < 0.04
        dispatched = registered + _minutes(rng, 3, 30, total) + np.where(returned, _minutes(rng, 30, 120, total),
                                                                         np.timedelta64(0, "s"))
        on_time = rng.random(total) < 0.88
        frac = np.where(on_time, rng.uniform(0.1, 0.9, total), rng.uniform(1.1, 3.0, total))
        deadline = registered + (limit_h * 3600).astype("timedelta64[s]")
        rework = rng.random(total) < 0.07
        disposed = registered + (limit_h * 3600 * frac).astype("timedelta64[s]")
        disposed = np.maximum(disposed, dispatched + np.timedelta64(600, "s"))
        checked = disposed + _minutes(rng, 10, 120, total)
        # a failed check sends the case back: disposal and check happen again
        first_check = checked.copy()
        disposed = np.where(rework, checked + _minutes(rng, 60, 600, total), disposed)
        checked = np.where(rework, disposed + _minutes(rng, 10, 120, total), checked)
        closed = checked + _minutes(rng, 5, 60, total)
        pos = self._positions(rng, n)
        if n_fw:
            for k in pos:
                pos[k] = np.r_[pos[k], forwarded[k].to_numpy()]
        comp = self.components
        with_comp = rng.random(total) < 0.45
        comp_pick = comp["component_id"].to_numpy()[rng.integers(0, len(comp), total)]
        seq = np.arange(self._n_grid, self._n_grid + total)
        self._n_grid += total
        major = ev_class.astype("U2")
        stamp = clock.date(day).strftime("%Y%m%d")
        nat = np.full(total, NAT)
        return pd.DataFrame({
            "event_id": np.char.add("GE" + stamp, zpad(seq, 10)),
            "event_source": np.r_[rng.choice(["1", "2", "4", "5", "6"], n, p=[0.62, 0.12, 0.14, 0.1, 0.02]),
                                  np.full(n_fw, "3")],
            "event_class": ev_class,
            "component_id": np.where(with_comp, comp_pick, None),
            "description": np.asarray([GRID_TEXT.get(m, "城市管理问题") for m in major], dtype=object),
            "reported_at": reported,
            "registered_at": np.where(not_registered, nat, registered).astype("datetime64[s]"),
            "not_registered_at": np.where(not_registered, registered, nat).astype("datetime64[s]"),
            "returned_at": np.where(returned & ~not_registered, registered + _minutes(rng, 10, 30, total),
                                    nat).astype("datetime64[s]"),
            "dispatched_at": np.where(not_registered, nat, dispatched).astype("datetime64[s]"),
            "first_check_at": np.where(rework & ~not_registered, first_check, nat).astype("datetime64[s]"),
            "disposed_at": np.where(not_registered, nat, disposed).astype("datetime64[s]"),
            "checked_at": np.where(not_registered, nat, checked).astype("datetime64[s]"),
            "closed_at": np.where(not_registered, nat, closed).astype("datetime64[s]"),
            "deadline_at": np.where(not_registered, nat, deadline).astype("datetime64[s]"),
            "rework": rework & ~not_registered,
            "reporter_pid": rng.integers(0, len(self.city.persons), total),
            "hotline_ticket_no": np.r_[np.full(n, None, object), forwarded["ticket_no"].to_numpy()],
            "report_day": day, **pos,
        })

    def _add_day(self, day: int) -> None:
        rng = rng_for(self.seed, "cases", day)
        scale = self.city.scale
        n_hot = rng.poisson(HOTLINE_PER_MILLION_DAY * scale)
        hot = self._new_hotline(rng, day, n_hot)
        fw = hot[np.isin(hot["category"].to_numpy(), ["2", "3"]) & (rng.random(n_hot) < 0.3)
                 & ~hot["withdrawn"].to_numpy()]
        grid = self._new_grid(rng, day, rng.poisson(GRID_PER_MILLION_DAY * scale), fw)
        link = grid.dropna(subset=["hotline_ticket_no"])
        hot.loc[hot["ticket_no"].isin(link["hotline_ticket_no"]), "grid_event_id"] = \
            hot["ticket_no"].map(dict(zip(link["hotline_ticket_no"], link["event_id"], strict=True)))
        self.hotline = pd.concat([self.hotline, hot], ignore_index=True) if len(self.hotline) else hot
        self.grid = pd.concat([self.grid, grid], ignore_index=True) if len(self.grid) else grid

    def start(self) -> None:
        """Report the cases of the backlog days and of day 0."""
        for day in range(-BACKLOG_DAYS, 1):
            self._add_day(day)

    def advance(self, day: int) -> None:
        """Report the cases of a new day."""
        self._add_day(day)

    def _touched(self, frame: pd.DataFrame, cols: tuple[str, ...], day: int) -> tuple[np.ndarray, np.datetime64]:
        """Rows with a lifecycle step inside the day (day 0: up to its end) and the cut-off moment."""
        start = self.city.clock.day_start(day)
        end = start + np.timedelta64(86400, "s")
        ts = np.column_stack([frame[c].to_numpy().astype("datetime64[s]") for c in cols])
        in_day = (ts < end) & ((ts >= start) if day > 0 else True)
        return in_day.any(axis=1), end

    def grid_snapshot(self, day: int) -> Snapshot:
        """Grid events with a step on ``day``, each cut at the day's end (status and stamps known then)."""
        g = self.grid
        cols = ("reported_at", "registered_at", "not_registered_at", "returned_at", "dispatched_at",
                "first_check_at", "disposed_at", "checked_at", "closed_at")
        mask, end = self._touched(g, cols, day)
        f = g[mask].copy()
        status = np.full(len(f), "reported", dtype=object)
        upd = f["reported_at"].to_numpy().copy()
        # later steps overwrite earlier ones: the last step before the cut decides the status
        for col, st in (("registered_at", "registered"), ("not_registered_at", "not_registered"),
                        ("returned_at", "returned"), ("dispatched_at", "dispatched"),
                        ("first_check_at", "rework"), ("disposed_at", "disposed"), ("checked_at", "disposed"),
                        ("closed_at", "closed")):
            v = f[col].to_numpy().astype("datetime64[s]")
            hit = ~np.isnat(v) & (v < end)
            if col == "disposed_at":
                hit &= ~(f["rework"].to_numpy() & (f["first_check_at"].to_numpy() >= end))
            status = np.where(hit, st, status)
            upd = np.where(hit & (v > upd), v, upd)
        registered_then = f["registered_at"].to_numpy().astype("datetime64[s]") < end
        for col in GRID_STAGES[1:] + ("deadline_at",):
            v = f[col].to_numpy().astype("datetime64[s]")
            # steps after the cut are not known yet; the deadline is known from registration on
            hidden = ~registered_then if col == "deadline_at" else v >= end
            f[col] = np.where(np.isnat(v) | hidden, NAT, v)
        f["status"] = status
        f["rework_count"] = (f["rework"].to_numpy() & (f["first_check_at"].to_numpy() < end)).astype(int)
        f["updated_at"] = upd.astype("datetime64[s]")
        return Snapshot(f, end)

    def hotline_snapshot(self, day: int) -> Snapshot:
        """Hotline tickets with a step on ``day``, cut at the day's end."""
        h = self.hotline
        mask, end = self._touched(h, ("received_at", "accepted_at", "closed_at"), day)
        f = h[mask].copy()
        closed = f["closed_at"].to_numpy() < end
        accepted = f["accepted_at"].to_numpy() < end
        status = np.where(closed, np.where(f["withdrawn"].to_numpy(), "5", "3"), np.where(accepted, "2", "1"))
        status = np.where(f["returned"].to_numpy() & ~closed & accepted, "4", status)
        f["status"] = status
        f["closed_at"] = np.where(closed, f["closed_at"].to_numpy(), NAT).astype("datetime64[s]")
        f["satisfaction"] = np.where(closed & (status == "3"), f["satisfaction"].to_numpy(), None)
        return Snapshot(f, end)

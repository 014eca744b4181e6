"""Render the city operations panorama (城市运行全景图) as a static site from gold, without Spark.

var/site/dashboard/index.html holds one card per catalogue indicator (Chinese and English names, the latest
city value, its status against the target, a trend chart of the city total and the districts in the latest
period, both with the target drawn) and the list of thematic tables; assets/ holds its CSS and JS.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import defaultdict
from html import escape
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from citybrain.gold.dashboard.charts import bar_chart, line_chart
from citybrain.gold.status import RULE_TEXT, STATUSES

if TYPE_CHECKING:
    from citybrain.catalog import Catalog, Indicator
    from citybrain.settings import Settings

HERE = Path(__file__).parent
CITY_CODE = "370600"
PRIMARY = ("month", "year", "quarter", "day")  # the period type a card headlines, first found
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def dashboard_dir(settings: Settings) -> Path:
    return Path(settings.site_dir) / "dashboard"


def _load_values(settings: Settings) -> tuple[list[dict], int | None]:
    from citybrain.lake.arrow_io import delta_table, table_exists

    if not table_exists("gold.indicator_values", settings):
        return [], None
    table = delta_table("gold.indicator_values", settings=settings)
    return table.to_pyarrow_table().to_pylist(), table.version()


def _theme_rows(catalog: Catalog, settings: Settings) -> list[tuple]:
    from citybrain.lake.arrow_io import delta_table, table_exists

    out = []
    for t in catalog.themes.values():
        rows = None
        if table_exists(t.table, settings):
            actions = delta_table(t.table, settings=settings).get_add_actions(flatten=True)
            rows = sum(n or 0 for n in actions.column("num_records").to_pylist())
        out.append((t.table, t.title_zh, t.title_en, t.grain, rows))
    return out


def _label(period, period_type: str) -> str:
    if period_type == "year":
        return f"{period.year}"
    if period_type == "quarter":
        return f"{period.year}Q{(period.month - 1) // 3 + 1}"
    if period_type == "month":
        return period.strftime("%Y-%m")
    return period.isoformat()


def card(ind: Indicator, rows: list[dict], district_names: dict[str, str]) -> tuple[str, str]:
    """(status, HTML) of one indicator's card."""
    by_type: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_type[r["period_type"]].append(r)
    primary = next((pt for pt in PRIMARY if by_type.get(pt)), None)
    unit = "" if ind.unit in ("count",) else ind.unit
    target = f"{ind.target:g}{unit}" if ind.target is not None else "—"
    arrow = "↑" if ind.direction == "higher_is_better" else "↓"
    head = (f'<h2>{escape(ind.name_zh)}</h2><div class="en">{escape(ind.name_en)}</div>'
            f'<div class="code">{escape(ind.code)} · {escape(ind.unit)} · {arrow} · target {escape(target)}</div>')
    if primary is None:
        body = '<div class="headline"><span class="value">–</span><span class="pill">none</span></div>' \
               '<div class="reason">no values yet: its silver inputs hold no rows in any period</div>'
        return "none", f'<section class="card none" data-indicator="{ind.code}" data-status="none">{head}{body}</section>'
    city = sorted((r for r in by_type[primary] if r["district_code"] == CITY_CODE), key=lambda r: r["period"])
    latest = city[-1] if city else None
    status = latest["status"] if latest else "none"
    value = latest["value"] if latest else None
    shown = "–" if value is None else f"{value:,.2f}"
    body = (f'<div class="headline"><span class="value">{shown}</span><span class="unit">{escape(unit)}</span>'
            f'<span class="pill {status}">{status}</span></div>'
            f'<div class="facts">{_label(latest["period"], primary) if latest else ""} · city total 全市 · '
            f'{escape(_fraction(latest))}</div>')
    if latest and latest["reason"]:
        body += f'<div class="reason">{escape(latest["reason"])}</div>'
    trend_type = next((pt for pt in ("day", *PRIMARY) if len({r["period"] for r in by_type.get(pt, [])
                                                              if r["district_code"] == CITY_CODE}) > 1), primary)
    trend = sorted((r for r in by_type[trend_type] if r["district_code"] == CITY_CODE), key=lambda r: r["period"])
    body += f'<div class="chart-title">全市趋势 City trend ({trend_type})</div>'
    body += line_chart([(_label(r["period"], trend_type), r["value"], r["status"]) for r in trend], ind.target,
                       unit)
    if latest and ind.district_item:
        bars = sorted((r for r in by_type[primary] if r["period"] == latest["period"]
                       and r["district_code"] != CITY_CODE), key=lambda r: r["district_code"])
        body += (f'<div class="chart-title">分区县 By district ({_label(latest["period"], primary)})</div>'
                 + bar_chart([(district_names.get(r["district_code"], r["district_code"]), r["value"], r["status"])
                              for r in bars], ind.target, unit))
    return status, (f'<section class="card {status}" data-indicator="{ind.code}" data-status="{status}">'
                    f"{head}{body}</section>")


def _fraction(row: dict | None) -> str:
    if not row or row["numerator"] is None or row["denominator"] is None:
        return ""
    return f"{row['numerator']:,.0f} / {row['denominator']:,.0f}"


def render_dashboard(catalog: Catalog, settings: Settings) -> Path:
    """Write index.html and its assets under var/site/dashboard/; returns the index path."""
    rows, version = _load_values(settings)
    by_code: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_code[r["indicator_code"]].append(r)
    names = {d.code: d.name_zh for d in catalog.division_list}
    cards, counts = [], dict.fromkeys(STATUSES, 0)
    for ind in catalog.indicators.values():
        status, html = card(ind, by_code.get(ind.code, []), names)
        counts[status] += 1
        cards.append(html)
    buttons = "\n  ".join(f'<button data-filter="{s}"><span class="dot {s}"></span>{s} ({counts[s]})</button>'
                          for s in STATUSES)
    themes = "\n".join(f"<tr><td>{escape(t)}</td><td>{escape(zh)}</td><td>{escape(en)}</td><td>{escape(g)}</td>"
                       f"<td>{'not built' if n is None else f'{n:,}'}</td></tr>"
                       for t, zh, en, g, n in _theme_rows(catalog, settings))
    days = [r["period"] for r in rows if r["period_type"] == "day"] or [r["period"] for r in rows]
    html = Template((HERE / "template.html").read_text(encoding="utf-8")).substitute(
        indicator_count=len(catalog.indicators), city=escape(names.get(CITY_CODE, CITY_CODE)), city_code=CITY_CODE,
        data_date=max(days).isoformat() if days else "—", version="—" if version is None else version,
        row_count=f"{len(rows):,}", status_buttons=buttons, cards="\n".join(cards), theme_rows=themes,
        status_rule=escape(RULE_TEXT),
    )
    out = dashboard_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "assets", out / "assets", dirs_exist_ok=True)
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    return index


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM) if p), None)


def chromium_args(user_data_dir: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={user_data_dir}"]


def take_screenshot(index: Path, png: Path, *, size: str = "1400,2000", timeout: int = 120) -> Path | None:
    """Screenshot of the panorama with headless Chromium; None when no browser is installed."""
    browser = chromium_path()
    if browser is None:
        return None
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)  # a stale picture must not pass for a new one
    with tempfile.TemporaryDirectory(prefix="citybrain-chromium-") as profile:
        cmd = [browser, *chromium_args(profile), f"--screenshot={png}", f"--window-size={size}",
               "--virtual-time-budget=3000", index.resolve().as_uri()]
        subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    return png if png.exists() else None


def dump_dom(index: Path, *, timeout: int = 120) -> str:
    """The page's DOM after its scripts ran (what the e2e test checks)."""
    browser = chromium_path()
    if browser is None:
        raise FileNotFoundError("no chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="citybrain-chromium-") as profile:
        cmd = [browser, *chromium_args(profile), "--dump-dom", "--virtual-time-budget=3000", index.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.stdout

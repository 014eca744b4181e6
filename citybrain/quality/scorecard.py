"""gold.quality_scorecard: GB/T 36344 dimensions per resource, department and day (Spark-free).

Every dimension is a ratio X = A / B and a 0-100 score; the overall score is their weighted mean
(weights: quality/gates.yml ``scorecard_weights``, overridable). Sources, all read through Arrow:

| dimension | A / B |
|---|---|
| 规范性 conformity | rows delivered that day without a format/code-list/type/encoding rejection / rows delivered, times the pass rate of the silver gate's conformity expectations |
| 完整性 completeness | rows without a missing required item or key / rows delivered, times the gate's completeness pass rate |
| 准确性 accuracy | rows without a check-character/range rejection and not a superseded duplicate / rows delivered, times the gate's accuracy pass rate |
| 一致性 consistency | agreed verification-copy values (silver.agreement_rates) + rows without an orphan reference / values compared + rows delivered |
| 时效性 timeliness | batches of the day loaded (or nothing new) / batches due by the update cycle (a daily resource is due every day) |
| 可访问性 accessibility | tables the resource has (bronze, silver, and open when openable and publishing has run) / tables it should have |
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict

from citybrain.quality.policy import DIMENSION_ZH, DIMENSIONS, weights
from citybrain.settings import Settings, get_settings

SCORECARD_TABLE = "gold.quality_scorecard"
ROW_DIMENSIONS = ("conformity", "completeness", "accuracy")
RULE_PREFIXES = (  # quarantine rule_id prefix -> dimension (first match; anything else is conformity)
    ("conform.required", "completeness"), ("ingest.primary_key_null", "completeness"),
    ("conform.id_number.check_char", "accuracy"), ("conform.credit_code.check_char", "accuracy"),
    ("conform.range", "accuracy"), ("conform.reference", "consistency"),
)
OK_STATUSES = ("loaded", "empty", "skipped")
DAILY_CYCLES = ("每日", "实时")
_BATCH_DATE = re.compile(r":(\d{4})(\d{2})(\d{2}):")


def rule_dimension(rule_id: str) -> str:
    for prefix, dim in RULE_PREFIXES:
        if rule_id.startswith(prefix):
            return dim
    return "conformity"


def _day(batch_id: str | None) -> dt.date | None:
    m = _BATCH_DATE.search(batch_id or "")
    return dt.date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _rows(table: str, settings: Settings, columns: list[str]) -> list[dict]:
    from citybrain.lake import arrow_io

    if not arrow_io.table_exists(table, settings):
        return []
    return arrow_io.read_arrow(table, columns=columns, settings=settings).to_pylist()


def _gate_pass_rates(settings: Settings) -> dict[tuple[str, str], float]:
    """(silver table, dimension) -> element-weighted pass rate of the latest gate run of that table."""
    checks = _rows("control.quality_checks", settings,
                   ["run_id", "table", "dimension", "element_count", "unexpected_count", "checked_at"])
    latest: dict[str, tuple] = {}
    for c in checks:
        key = (c["checked_at"], c["run_id"])
        if c["table"] not in latest or key > latest[c["table"]]:
            latest[c["table"]] = key
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for c in checks:
        if (c["checked_at"], c["run_id"]) == latest[c["table"]] and c["element_count"]:
            s = sums[(c["table"], c["dimension"])]
            s[0] += c["element_count"] - c["unexpected_count"]
            s[1] += c["element_count"]
    return {k: (a / b if b else 1.0) for k, (a, b) in sums.items()}


def build_scorecard(settings: Settings | None = None, weight_override: dict[str, float] | None = None,
                    write: bool = True) -> list[dict]:
    """Compute the scorecard rows (one per resource and batch day) and write gold.quality_scorecard."""
    from citybrain.catalog import get_catalog
    from citybrain.lake import arrow_io

    settings = settings or get_settings()
    catalog = get_catalog()
    w = weights(weight_override)
    batches = _rows("control.batches", settings, ["resource", "logical_date", "rows_pulled", "status"])
    days = sorted({b["logical_date"] for b in batches if b["logical_date"]})
    delivered: dict[tuple, int] = defaultdict(int)
    loads: dict[tuple, list[str]] = defaultdict(list)
    for b in batches:
        delivered[(b["resource"], b["logical_date"])] += b["rows_pulled"] or 0
        loads[(b["resource"], b["logical_date"])].append(b["status"])
    bad: dict[tuple, set] = defaultdict(set)  # (resource, day, dimension) -> failing row ids
    for r in _rows("quarantine.rejected_rows", settings, ["resource", "batch_id", "row_number", "rule_id"]):
        bad[(r["resource"], _day(r["batch_id"]), rule_dimension(r["rule_id"] or ""))].add(
            (r["batch_id"], r["row_number"]))
    for r in _rows("silver.superseded_duplicates", settings, ["resource", "batch_id", "row_number"]):
        bad[(r["resource"], _day(r["batch_id"]), "accuracy")].add((r["batch_id"], r["row_number"]))
    agreement: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in _rows("silver.agreement_rates", settings, ["copy_resource", "compared", "agreed"]):
        agreement[r["copy_resource"]][0] += r["agreed"] or 0
        agreement[r["copy_resource"]][1] += r["compared"] or 0
    gate = _gate_pass_rates(settings)
    existing = {str(t) for t in arrow_io.list_tables(("bronze", "silver", "open"), settings)}
    publishing = any(t.startswith("open.") for t in existing)  # open releases expected once publishing runs

    out = []
    for res in catalog.resources.values():
        should = [f"bronze.{res.name}", f"silver.{res.name}"] + ([f"open.{res.name}"] if res.is_openable and publishing else [])
        access = (sum(t in existing for t in should), len(should))
        for day in days:
            n = delivered.get((res.name, day), 0)
            ab: dict[str, tuple[float, float]] = {}
            for dim in ROW_DIMENSIONS:
                failing = min(len(bad.get((res.name, day, dim), ())), n)
                ab[dim] = ((n - failing) * gate.get((f"silver.{res.name}", dim), 1.0), n)
            agreed, compared = agreement.get(res.name, [0, 0])
            orphans = min(len(bad.get((res.name, day, "consistency"), ())), n)
            ab["consistency"] = (agreed + n - orphans, compared + n)
            statuses = loads.get((res.name, day), [])
            due = max(1, len(statuses)) if res.update_cycle in DAILY_CYCLES else len(statuses)
            ab["timeliness"] = (sum(s in OK_STATUSES for s in statuses), due)
            ab["accessibility"] = access
            row = {"date": day, "resource": res.name, "resource_code": res.code, "title_zh": res.title_zh,
                   "department": res.provider, "library": res.library, "update_cycle": res.update_cycle,
                   "rows_delivered": n}
            total = 0.0
            for dim in DIMENSIONS:
                a, b = ab[dim]
                ratio = a / b if b else 1.0
                row.update({f"{dim}_a": float(a), f"{dim}_b": float(b), f"{dim}_ratio": round(ratio, 6),
                            f"{dim}_score": round(100 * ratio, 2)})
                total += w[dim] * 100 * ratio
            row["score"] = round(total, 2)
            row["weights"] = json.dumps(w, sort_keys=True)
            out.append(row)
    if write and out:
        import pyarrow as pa

        arrow_io.overwrite_arrow(SCORECARD_TABLE, pa.Table.from_pylist(out), settings=settings)
    return out


def league_table(rows: list[dict], day: dt.date | None = None) -> list[dict]:
    """Departments ranked by mean score over their resources on ``day`` (default the newest day)."""
    if not rows:
        return []
    day = day or max(r["date"] for r in rows)
    by_dept: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["date"] == day:
            by_dept[r["department"]].append(r)
    league = []
    for dept, rs in by_dept.items():
        entry = {"date": day.isoformat(), "department": dept, "resources": len(rs),
                 "score": round(sum(r["score"] for r in rs) / len(rs), 2)}
        for dim in DIMENSIONS:
            entry[dim] = round(sum(r[f"{dim}_score"] for r in rs) / len(rs), 2)
        league.append(entry)
    league.sort(key=lambda e: (-e["score"], e["department"]))
    for rank, e in enumerate(league, 1):
        e["rank"] = rank
    return league


def render_page(rows: list[dict], league: list[dict], settings: Settings | None = None) -> str:
    """var/site/dashboard/quality.html: the league table and every resource's dimension scores."""
    from html import escape

    settings = settings or get_settings()
    path = settings.site_dir / "dashboard" / "quality.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    day = league[0]["date"] if league else "-"
    head = "".join(f"<th>{DIMENSION_ZH[d]}<br><small>{d}</small></th>" for d in DIMENSIONS)

    def cells(e: dict, key=lambda d: d) -> str:
        return "".join(f"<td class='{_band(e[key(d)])}'>{e[key(d)]:.1f}</td>" for d in DIMENSIONS)

    league_rows = "".join(
        f"<tr><td>{e['rank']}</td><td>{escape(e['department'])}</td><td>{e['resources']}</td>"
        f"<td class='{_band(e['score'])}'><b>{e['score']:.1f}</b></td>{cells(e)}</tr>" for e in league)
    res_rows = "".join(
        f"<tr><td>{escape(r['resource'])}<br><small>{escape(r['title_zh'])}</small></td><td>{escape(r['department'])}"
        f"</td><td>{r['rows_delivered']}</td><td class='{_band(r['score'])}'><b>{r['score']:.1f}</b></td>"
        f"{cells(r, lambda d: d + '_score')}</tr>"
        for r in sorted((r for r in rows if r["date"].isoformat() == day), key=lambda r: r["score"]))
    html = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>数据质量 Data quality {day}</title><style>
body{{font-family:sans-serif;margin:2em;background:#0b1a2b;color:#e8eef5}} table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #345;padding:4px 8px;text-align:right}} td:nth-child(2),th{{text-align:center}}
.good{{background:#1d5e3a}} .fair{{background:#7a6a1d}} .poor{{background:#7a2a2a}} a{{color:#9cf}}</style></head><body>
<h1>数据质量评分 Data quality scorecard (GB/T 36344) — {day}</h1>
<p><a href="index.html">← panorama</a> · <a href="../quality/index.html">Data Docs</a></p>
<h2>部门排名 Department league table</h2>
<table><tr><th>#</th><th>department</th><th>resources</th><th>score</th>{head}</tr>{league_rows}</table>
<h2>信息资源 Resources</h2>
<table><tr><th>resource</th><th>department</th><th>rows</th><th>score</th>{head}</tr>{res_rows}</table>
</body></html>"""
    path.write_text(html, encoding="utf-8")
    return str(path)


def _band(score: float) -> str:
    return "good" if score >= 95 else "fair" if score >= 80 else "poor"

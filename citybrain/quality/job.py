"""Entry points the quality DAG calls (thin wrappers returning JSON-able summaries)."""

from __future__ import annotations

from citybrain.settings import Settings, get_settings


def gate_summary(settings: Settings | None = None, run_id: str | None = None) -> dict:
    """Gates over every silver/gold table; blocked tables are reported (publishing decides), not raised."""
    from citybrain.quality.gates import run_gates

    results = run_gates(settings=settings or get_settings(), run_id=run_id)
    return {"checked": len(results), "passed": sum(r.passed for r in results),
            "blocked": {r.table: r.describe() for r in results if not r.passed}}


def scorecard_summary(settings: Settings | None = None) -> dict:
    """gold.quality_scorecard, the league table of the newest day and the dashboard page."""
    from citybrain.quality.scorecard import build_scorecard, league_table, render_page

    settings = settings or get_settings()
    rows = build_scorecard(settings)
    league = league_table(rows)
    return {"rows": len(rows), "page": render_page(rows, league, settings),
            "league": [{k: e[k] for k in ("rank", "department", "score")} for e in league]}

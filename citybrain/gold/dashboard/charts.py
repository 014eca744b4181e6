"""Inline SVG charts drawn server-side (no JavaScript library, no network): a trend line and district bars,
each with the target drawn and every mark coloured by its red/amber/green status."""

from __future__ import annotations

from html import escape

COLOURS = {"green": "#2e9d5b", "amber": "#e0a100", "red": "#d64541", "none": "#8a94a6"}
TARGET = "#2b6cb0"


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def _bounds(values: list[float], target: float | None) -> tuple[float, float]:
    pool = [v for v in values if v is not None] + ([target] if target is not None else [])
    if not pool:
        return 0.0, 1.0
    lo, hi = min(pool + [0.0]), max(pool)
    if hi == lo:
        hi = lo + 1.0
    return lo, hi + (hi - lo) * 0.08


def line_chart(points: list[tuple[str, float | None, str]], target: float | None, unit: str,
               width: int = 420, height: int = 150) -> str:
    """Trend of the city total: (period label, value, status) in time order."""
    left, right, top, bottom = 44, 10, 10, 24
    w, h = width - left - right, height - top - bottom
    lo, hi = _bounds([p[1] for p in points], target)

    def y(v: float) -> float:
        return top + h - (v - lo) / (hi - lo) * h

    n = len(points)

    def x(i: int) -> float:
        return left + (w / 2 if n == 1 else i * w / (n - 1))

    parts = [f'<svg class="chart trend" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="trend">']
    for frac in (0, 0.5, 1):
        v = lo + (hi - lo) * frac
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y(v) + 3:.1f}" class="axis" text-anchor="end">{_fmt(v)}</text>')
    if target is not None:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                     f'stroke="{TARGET}" stroke-dasharray="5 3" class="target"/>'
                     f'<text x="{width - right}" y="{y(target) - 3:.1f}" class="axis target-label" '
                     f'text-anchor="end">target {_fmt(target)}{escape(unit)}</text>')
    path, run = [], []
    for i, (_, v, _) in enumerate(points):
        if v is None:
            if run:
                path.append(run)
            run = []
        else:
            run.append(f"{x(i):.1f},{y(v):.1f}")
    if run:
        path.append(run)
    for seg in path:
        parts.append(f'<polyline points="{" ".join(seg)}" class="line"/>')
    for i, (label, v, status) in enumerate(points):
        if v is not None:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.2" fill="{COLOURS[status]}">'
                         f'<title>{escape(label)}: {_fmt(v)}{escape(unit)} ({status})</title></circle>')
    if points:
        for i in sorted({0, n - 1}):
            anchor = "start" if i == 0 and n > 1 else "end" if n > 1 else "middle"
            parts.append(f'<text x="{x(i):.1f}" y="{height - 6}" class="axis" text-anchor="{anchor}">'
                         f'{escape(points[i][0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: list[tuple[str, float | None, str]], target: float | None, unit: str,
              width: int = 420, row: int = 16) -> str:
    """Districts in the latest period: (district label, value, status); no value is drawn as a grey tick."""
    left, right, top = 92, 46, 6
    height = top * 2 + row * max(1, len(bars))
    w = width - left - right
    lo, hi = _bounds([b[1] for b in bars], target)
    lo = min(lo, 0.0)

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * w

    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="by district">']
    for i, (label, v, status) in enumerate(bars):
        yy = top + i * row
        parts.append(f'<text x="{left - 4}" y="{yy + row * 0.72:.1f}" class="axis" text-anchor="end">'
                     f'{escape(label)}</text>')
        if v is None:
            parts.append(f'<rect x="{left}" y="{yy + 3}" width="2" height="{row - 6}" fill="{COLOURS["none"]}">'
                         f'<title>{escape(label)}: no value</title></rect>')
            continue
        parts.append(f'<rect x="{min(x(0), x(v)):.1f}" y="{yy + 3}" width="{max(1.0, abs(x(v) - x(0))):.1f}" '
                     f'height="{row - 6}" fill="{COLOURS[status]}" rx="2">'
                     f'<title>{escape(label)}: {_fmt(v)}{escape(unit)} ({status})</title></rect>'
                     f'<text x="{max(x(0), x(v)) + 3:.1f}" y="{yy + row * 0.72:.1f}" class="axis">{_fmt(v)}</text>')
    if target is not None:
        parts.append(f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{top}" y2="{height - top}" '
                     f'stroke="{TARGET}" stroke-dasharray="4 3" class="target"/>')
    parts.append("</svg>")
    return "".join(parts)

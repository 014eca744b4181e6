"""Spark SQL text helpers: conform builds its column expressions as SQL text.

One `F.expr` per column instead of one py4j call per function and operator keeps building the
hundreds of rules of a resource's projection in milliseconds (the Column API took seconds).
"""

from __future__ import annotations

import datetime as dt

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def lit(value) -> str:
    """A SQL literal of a Python value (str, int, float, bool, date, None)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    text = str(value)
    return "'" + "".join(_ESCAPES.get(ch, ch) if ch in _ESCAPES or ord(ch) >= 32 else f"\\u{ord(ch):04x}"
                         for ch in text) + "'"


def col(name: str) -> str:
    """A column reference (backquoted)."""
    return "`" + name.replace("`", "``") + "`"


def in_list(expr: str, values) -> str:
    return f"{expr} IN ({', '.join(lit(v) for v in values)})" if values else "FALSE"


def case(*branches: tuple[str, str], default: str = "NULL") -> str:
    whens = " ".join(f"WHEN {c} THEN {v}" for c, v in branches)
    return f"CASE {whens} ELSE {default} END"


def concat(*parts: str) -> str:
    return f"concat({', '.join(parts)})"


def to_column(expr: str, alias: str | None = None):
    """The pyspark Column of an SQL expression."""
    from pyspark.sql import functions as F

    c = F.expr(expr)
    return c.alias(alias) if alias else c

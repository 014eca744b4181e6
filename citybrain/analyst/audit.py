"""Who ran what through the analyst entry points (`citybrain sql`, `citybrain duckdb`): one JSON line per
statement in <var>/audit/sql.jsonl, written before any result is shown, refusals and failures included.

A line: {"at": UTC ISO time, "user": OS user, "entry": "sql" | "duckdb", "statement", "outcome": "ok" |
"refused" | "failed", "rows": rows returned (ok), "reason" (refused, failed), "versions", "as_of", "seconds"}.
Each line is one append of the whole line (O_APPEND), so concurrent analysts never interleave within a line.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path

from citybrain.settings import Settings, get_settings

OK, REFUSED, FAILED = "ok", "refused", "failed"


def audit_path(settings: Settings | None = None) -> Path:
    return Path((settings or get_settings()).var_dir) / "audit" / "sql.jsonl"


def record(entry: str, statement: str, outcome: str, *, rows: int | None = None, reason: str | None = None,
           versions: dict[str, int] | None = None, as_of: str | None = None, seconds: float | None = None,
           settings: Settings | None = None) -> dict:
    """Append one audit line and return it (an unwritable log is an error: no result without its line)."""
    line = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "user": getpass.getuser(),
            "entry": entry, "statement": statement, "outcome": outcome, "rows": rows, "reason": reason,
            "versions": versions or {}, "as_of": as_of,
            "seconds": None if seconds is None else round(seconds, 3)}
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return line


def read_audit(settings: Settings | None = None) -> list[dict]:
    """Every audit line, oldest first ([] before the first statement)."""
    path = audit_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

"""control.quality_results: one row per (gate run, table): which Delta version of a table a gate
checked and whether it passed. Publishing reads only versions whose critical expectations passed.

This is the contract between the quality gates (writers) and open-data publishing (reader).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from citybrain.settings import Settings, get_settings

RESULTS_TABLE = "control.quality_results"


@dataclass(frozen=True)
class Failure:
    """One failed expectation: which rule, how many rows, some keys to look at."""

    expectation: str  # e.g. "expect_column_values_to_not_be_null(id_number)"
    severity: str  # "critical" | "warning"
    unexpected_count: int
    element_count: int
    sample_keys: list[str] = field(default_factory=list)
    dimension: str | None = None  # GB/T 36344 dimension the expectation measures


@dataclass(frozen=True)
class GateResult:
    """The outcome of one table's gate: passed means no critical expectation failed."""

    table: str  # layer.table
    delta_version: int
    suite: str
    run_id: str
    passed: bool
    evaluated: int  # expectations evaluated
    failures: list[Failure] = field(default_factory=list)
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    def describe(self) -> str:
        """One line per failure, naming table, version, expectation, counts and sample keys."""
        head = f"{self.table}@v{self.delta_version} [{self.suite}]: {'passed' if self.passed else 'BLOCKED'}"
        lines = [head] + [
            f"  {f.severity}: {f.expectation}: {f.unexpected_count} of {f.element_count} rows; "
            f"sample keys {', '.join(f.sample_keys[:5]) or '-'}" for f in self.failures]
        return "\n".join(lines)


def _schema():
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("table", pa.string()), ("delta_version", pa.int64()), ("suite", pa.string()),
        ("passed", pa.bool_()), ("evaluated", pa.int64()), ("critical_failures", pa.int64()),
        ("warning_failures", pa.int64()), ("failures", pa.string()), ("checked_at", pa.timestamp("us", "UTC")),
    ])


def record_results(results: list[GateResult], settings: Settings | None = None) -> None:
    """Append gate outcomes to control.quality_results (deltalake, no Spark)."""
    import pyarrow as pa

    from citybrain.lake import arrow_io

    if not results:
        return
    rows = [{
        "run_id": r.run_id, "table": r.table, "delta_version": r.delta_version, "suite": r.suite,
        "passed": r.passed, "evaluated": r.evaluated, "critical_failures": len(r.critical),
        "warning_failures": len(r.failures) - len(r.critical),
        "failures": json.dumps([asdict(f) for f in r.failures], ensure_ascii=False),
        "checked_at": r.checked_at.replace(tzinfo=dt.UTC),
    } for r in results]
    arrow_io.append_arrow(RESULTS_TABLE, pa.Table.from_pylist(rows, _schema()), settings=settings)


def latest_results(settings: Settings | None = None) -> dict[str, dict]:
    """table -> its most recent gate outcome row (as a dict)."""
    from citybrain.lake import arrow_io

    settings = settings or get_settings()
    if not arrow_io.table_exists(RESULTS_TABLE, settings):
        return {}
    out: dict[str, dict] = {}
    for row in sorted(arrow_io.read_arrow(RESULTS_TABLE, settings=settings).to_pylist(),
                      key=lambda r: r["checked_at"]):
        out[row["table"]] = row
    return out


def last_passed_version(table: str, settings: Settings | None = None) -> int | None:
    """The newest Delta version of ``table`` whose gate passed (None: never passed)."""
    from citybrain.lake import arrow_io

    settings = settings or get_settings()
    if not arrow_io.table_exists(RESULTS_TABLE, settings):
        return None
    rows = [r for r in arrow_io.read_arrow(RESULTS_TABLE, settings=settings).to_pylist()
            if r["table"] == table and r["passed"]]
    return max((r["delta_version"] for r in rows), default=None)


def checked_results(settings: Settings | None = None) -> dict[tuple[str, int, str], GateResult]:
    """(table, Delta version, suite) -> the newest recorded outcome of a gate on exactly that version."""
    from citybrain.lake import arrow_io

    settings = settings or get_settings()
    if not arrow_io.table_exists(RESULTS_TABLE, settings):
        return {}
    out: dict[tuple[str, int, str], GateResult] = {}
    for row in sorted(arrow_io.read_arrow(RESULTS_TABLE, settings=settings).to_pylist(),
                      key=lambda r: r["checked_at"]):
        failures = [Failure(**f) for f in json.loads(row["failures"] or "[]")]
        checked = row["checked_at"].replace(tzinfo=None) if row["checked_at"] else None
        out[(row["table"], row["delta_version"], row["suite"])] = GateResult(
            row["table"], row["delta_version"], row["suite"], row["run_id"], row["passed"], row["evaluated"],
            failures, *([checked] if checked else []))
    return out

"""A batch: one extract of one resource for one logical date, as it moves from pull to bronze.

The pull task creates batches and hands them to the load task through XCom (as JSON-safe dicts);
the audit (control.batches) records each batch's outcome.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime

# Outcomes recorded in control.batches (docs/lake-contract.md).
PENDING, LOADED, SKIPPED, REJECTED, EMPTY, FAILED = "pending", "loaded", "skipped", "rejected", "empty", "failed"
FINAL_STATUSES = (LOADED, SKIPPED, REJECTED, EMPTY, FAILED)

_BATCH_ID = re.compile(r"^(?P<resource>[a-z][a-z0-9_]*):(?P<day>\d{8}):(?P<fingerprint>[0-9a-z_-]+)$")


@dataclass
class Batch:
    """What a pull produced for one resource and logical date, and (after the load) what became of it."""

    resource: str
    department: str
    batch_id: str
    batch_date: date
    source: str  # db:<database>.<table>, catalog:<name>, or files/<provider>/<file> (relative to the sources dir)
    status: str = PENDING
    reason: str | None = None
    file_name: str | None = None  # name of the landed extract
    landing_path: str | None = None  # absolute path of the landed extract (None: nothing landed)
    checksum: str | None = None  # sha256 of the landed extract
    extract_time: datetime | None = None
    rows_pulled: int | None = None  # known at pull time for database extracts, else after parsing
    rows_loaded: int = 0
    rows_quarantined: int = 0
    header_rows_dropped: int = 0  # title and repeated header rows of a file (no records): audit.reconcile
    watermark_from: str | None = None  # database pulls: the window start (watermark minus the look-back)
    watermark_to: str | None = None
    rows_reread: int = 0  # database pulls: rows re-read in the window, identical to rows already loaded (not landed)
    null_key_rows: int = 0  # database pulls: landed rows whose incremental key is null or not a time
    drift: dict | None = None
    run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict:
        """JSON-safe form for XCom (dates as ISO strings)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime | date):
                out[key] = value.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Batch:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["batch_date"] = _as_date(values["batch_date"])
        for key in ("extract_time", "started_at", "finished_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    @property
    def fingerprint(self) -> str:
        return parse_batch_id(self.batch_id)[2]


def utcnow() -> datetime:
    """Now as a naive UTC timestamp (lineage and audit times; the Spark session time zone is UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_batch_id(resource: str, batch_date: date, fingerprint: str) -> str:
    """`<resource>:<YYYYMMDD>:<fingerprint>` (the contract's _batch_id)."""
    return f"{resource}:{batch_date:%Y%m%d}:{fingerprint}"


def parse_batch_id(batch_id: str) -> tuple[str, date, str]:
    """(resource, batch date, fingerprint) of a batch id; ValueError naming the id when malformed."""
    match = _BATCH_ID.match(batch_id)
    if not match:
        raise ValueError(f"batch id {batch_id!r} is not <resource>:<YYYYMMDD>:<fingerprint>")
    return match["resource"], datetime.strptime(match["day"], "%Y%m%d").date(), match["fingerprint"]


def file_date(file_name: str, stem: str, ext: str) -> date | None:
    """The drop date in a file name `<stem>_YYYYMMDD.<ext>`; None when the name does not follow it."""
    match = re.fullmatch(rf"{re.escape(stem)}_(\d{{8}})\.{re.escape(ext)}", file_name, flags=re.IGNORECASE)
    if not match:
        return None
    try:
        return datetime.strptime(match[1], "%Y%m%d").date()
    except ValueError:  # e.g. 20261131: not a calendar day
        return None


def resolve_batch_date(
    logical_date: datetime | date | None, run_after: datetime | None = None, override: str | None = None
) -> date:
    """The day a run ingests: an explicit `batch_date` param, else the logical date, else run_after."""
    if override:
        try:
            return _as_date(override)
        except ValueError:
            raise ValueError(f"param batch_date={override!r} is not a date YYYY-MM-DD") from None
    moment = logical_date if logical_date is not None else run_after
    if moment is None:
        raise ValueError("the DAG run has neither a logical date nor run_after: give param batch_date")
    return moment.date() if isinstance(moment, datetime) else moment


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])

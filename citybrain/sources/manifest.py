"""Ground truth of injected faults: one row per fault, written as Parquet, CSV and a summary JSON."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROW_KINDS = (
    "invalid_check_char", "impossible_date", "exact_duplicate", "near_duplicate", "copy_disagreement",
    "missing_required", "out_of_range", "code_not_in_list", "orphan_reference", "encoding_damage", "late_arriving",
)
FILE_KINDS = ("schema_drift", "truncated_csv", "header_only", "empty_file", "wrong_delimiter")
FAULT_KINDS = ROW_KINDS + FILE_KINDS


@dataclass
class FaultRecord:
    """One injected fault: where it is (resource, key as found, item, file) and what it replaced."""

    resource: str
    key: str | None
    item: str | None
    kind: str
    injected_value: str | None
    true_value: str | None
    day: int
    date: str
    file: str | None = None
    # a later day replaced the row in the department database: the fault is no longer in the source
    superseded_day: int | None = None


SCHEMA = pa.schema([
    ("resource", pa.string()), ("key", pa.string()), ("item", pa.string()), ("kind", pa.string()),
    ("injected_value", pa.string()), ("true_value", pa.string()), ("day", pa.int32()), ("date", pa.string()),
    ("file", pa.string()), ("superseded_day", pa.int32()),
])


def write_manifest(records: list[FaultRecord], folder: Path, meta: dict) -> dict:
    """Write faults.parquet, faults.csv and summary.json under ``folder``; returns the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = sorted((dict(r.__dict__) for r in records),
                  key=lambda r: (r["day"], r["resource"], r["kind"], r["key"] or "", r["item"] or "", r["file"] or ""))
    table = pa.Table.from_pylist(rows, schema=SCHEMA) if rows else SCHEMA.empty_table()
    pq.write_table(table, folder / "faults.parquet", compression="zstd")
    pacsv.write_csv(table, folder / "faults.csv")
    by_kind = Counter(r["kind"] for r in rows)
    summary = {
        **meta,
        "faults": len(rows),
        "faults_in_final_sources": sum(1 for r in rows if r["superseded_day"] is None),
        "by_kind": {k: by_kind.get(k, 0) for k in FAULT_KINDS},
        "by_resource": dict(sorted(Counter(r["resource"] for r in rows).items())),
        "columns": [f.name for f in fields(FaultRecord)],
    }
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                         encoding="utf-8")
    return summary


def read_manifest(folder: Path) -> list[dict]:
    """The fault rows of a generation (as dicts), for tests and the pipeline's fault-recall checks."""
    return pq.read_table(Path(folder) / "faults.parquet").to_pylist()

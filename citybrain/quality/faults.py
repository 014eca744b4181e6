"""Detection against the simulator's ground truth: which gate catches each fault kind, and recall.

Every fault of the manifest (var/sources/manifest/faults.parquet) is matched with the gate that is
meant to catch it, read back from the lake without Spark:

- file faults (truncated, header only, empty, wrong delimiter): ``control.rejected_files`` for the
  resource and batch date (ingest rejection);
- schema drift: ``control.batches.drift`` of the resource and batch date (ingest drift audit);
- row faults: the ingest quarantine (rows that never reached conform) plus conform's findings as
  judged by ``citybrain.conform.evaluate`` (conform quarantine, superseded duplicates, discrepancies,
  late events placed in their event date's partition).

The GX expectations on silver are the last line behind these: a fault that slipped through conform
fails the table's suite (and is counted in the scorecard), but GX keeps only sample keys, so recall
is measured on the per-row gates above.
"""

from __future__ import annotations

import re
from pathlib import Path

from citybrain.settings import Settings, get_settings

FILE_KINDS = ("truncated_csv", "header_only", "empty_file", "wrong_delimiter")
GATE_OF_KIND = {
    "truncated_csv": "ingest rejection (control.rejected_files: truncated)",
    "header_only": "ingest rejection (control.rejected_files: header_only)",
    "empty_file": "ingest rejection (control.rejected_files: empty)",
    "wrong_delimiter": "ingest rejection (control.rejected_files: delimiter/header)",
    "schema_drift": "ingest drift audit (control.batches.drift) + GX column set",
    "missing_required": "ingest quarantine (primary_key_null) / conform quarantine (conform.required); "
                        "GX not-null",
    "invalid_check_char": "conform quarantine (*.check_char); GX valid_id_number / valid_credit_code",
    "impossible_date": "conform quarantine (conform.type.date/timestamp); GX type",
    "out_of_range": "conform quarantine (conform.range); GX between",
    "code_not_in_list": "conform quarantine (code_list, division_code); GX in_set / valid_division_code",
    "orphan_reference": "conform quarantine (conform.reference); GX in_set(reference keys)",
    "encoding_damage": "conform quarantine (conform.text.encoding)",
    "exact_duplicate": "conform dedupe (silver.superseded_duplicates); GX unique key",
    "near_duplicate": "conform dedupe (silver.superseded_duplicates); GX unique key",
    "copy_disagreement": "multi-source verification (silver.discrepancies)",
    "late_arriving": "conform event-date partitioning (silver event_date); GX freshness",
}
_BATCH_DATE = re.compile(r":(\d{4})(\d{2})(\d{2}):")


def _date_of(batch_id: str | None) -> str | None:
    m = _BATCH_DATE.search(batch_id or "")
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None


def _rows(table: str, settings: Settings, columns: list[str]) -> list[dict]:
    from citybrain.lake import arrow_io

    if not arrow_io.table_exists(table, settings):
        return []
    return arrow_io.read_arrow(table, columns=columns, settings=settings).to_pylist()


def _manifest_until(manifest_dir: Path, until: str, work: Path) -> Path:
    """A copy of the manifest holding only the faults of days up to ``until`` (the days the lake holds)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(manifest_dir / "faults.parquet")
    work.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.filter(pc.less_equal(table["date"], until)), work / "faults.parquet")
    return work


def detection(manifest_dir: Path | str | None = None, settings: Settings | None = None,
              until: str | None = None) -> dict[str, dict]:
    """{kind: {gate, injected, judged, detected, recall}} for every kind in the manifest, plus ``_overall``.

    Only faults of days up to ``until`` (ISO date; default the newest batch date in control.batches) are
    judged: a day the pipeline has not ingested yet cannot have been caught.
    """
    import tempfile

    from citybrain.conform.evaluate import evaluate
    from citybrain.quality.gates import data_day
    from citybrain.sources.manifest import read_manifest

    settings = settings or get_settings()
    manifest_dir = Path(manifest_dir or Path(settings.sources_dir) / "manifest")
    until = until or data_day(settings).isoformat()
    with tempfile.TemporaryDirectory(prefix="quality-manifest-") as tmp:
        manifest_dir = _manifest_until(manifest_dir, until, Path(tmp))
        return _detection(read_manifest(manifest_dir), manifest_dir, settings, evaluate)


def _detection(faults: list[dict], manifest_dir: Path, settings: Settings, evaluate) -> dict[str, dict]:
    rejected = {(r["resource"], _date_of(r["batch_id"]))
                for r in _rows("control.rejected_files", settings, ["resource", "batch_id"])}
    drifted = {(r["resource"], str(r["logical_date"]))
               for r in _rows("control.batches", settings, ["resource", "logical_date", "drift"]) if r["drift"]}
    ingest_q = {(r["resource"], r["record_key"], _date_of(r["batch_id"]))
                for r in _rows("quarantine.rejected_rows", settings, ["resource", "record_key", "batch_id", "stage"])
                if r["stage"] == "ingest"}
    conform = evaluate(manifest_dir, settings)

    out: dict[str, dict] = {}
    for kind in sorted({f["kind"] for f in faults} | set(conform)):
        fs = [f for f in faults if f["kind"] == kind]
        if kind in FILE_KINDS:
            judged, detected = len(fs), sum((f["resource"], f["date"]) in rejected for f in fs)
        elif kind == "schema_drift":
            judged, detected = len(fs), sum((f["resource"], f["date"]) in drifted for f in fs)
        else:
            # rows stopped before conform were caught by ingestion; conform judges the ones that reached it
            at_ingest = sum((f["resource"], f["date"]) in rejected or (f["resource"], f["key"], f["date"]) in ingest_q
                            for f in fs)
            c = conform.get(kind, {"judged": 0, "detected": 0})
            if kind in ("copy_disagreement", "late_arriving"):
                at_ingest = 0  # judged by conform's own rule (current copy value / event placement)
            judged, detected = at_ingest + (c["judged"] or 0), at_ingest + (c["detected"] or 0)
        out[kind] = {"gate": GATE_OF_KIND.get(kind, "?"), "injected": len(fs), "judged": judged,
                     "detected": detected, "recall": round(detected / judged, 4) if judged else None}
    judged = sum(v["judged"] for v in out.values())
    detected = sum(v["detected"] for v in out.values())
    out["_overall"] = {"gate": "all gates", "injected": len(faults), "judged": judged, "detected": detected,
                       "recall": round(detected / judged, 4) if judged else None}
    return out


def format_detection(table: dict[str, dict]) -> str:
    lines = ["| fault kind | caught by | injected | judged | detected | recall |", "|---|---|---:|---:|---:|---:|"]
    for kind, v in table.items():
        lines.append(f"| {kind} | {v['gate']} | {v['injected']} | {v['judged']} | {v['detected']} | {v['recall']} |")
    return "\n".join(lines)

"""Correction lists (多源校核 routed back): each department's disagreements with the authoritative sources.

A department receives the discrepancies of the copies it holds (fix your copy to the authority's
value, or tell the authority), the keys it is the authority of but another department holds and
it does not (check your register), and the records of its own extracts conform could not take because
they contradict themselves (``QUARANTINE_KINDS``: a record sent twice at one time with different values).
Read Spark-free from `silver.discrepancies` and `quarantine.rejected_rows` (deltalake + Arrow).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from citybrain.settings import Settings, get_settings

TABLE = "silver.discrepancies"
QUARANTINE_TABLE = "quarantine.rejected_rows"
COLUMNS = ("entity", "entity_key", "attribute", "kind", "your_resource", "your_record_key", "your_value",
           "authority_department", "authority_resource", "authority_value", "other_department", "other_resource",
           "other_record_key", "other_value", "action", "detail", "batch_id", "row_number", "detected_at")
# conform quarantine rules whose rows only the sending department can settle -> kind in the list
QUARANTINE_KINDS = {"conform.conflicting_duplicate": "conflicting_duplicate"}
ACTIONS = {
    "mismatch": "correct your copy to the authority's value, or ask the authority to review its record",
    "missing_in_copy": "fill in the value held by the authority",
    "missing_in_authority": "check the key: the authority does not hold this record or value",
    "authority_gap": "another department holds this key or value; check your register",
    "conflicting_duplicate": "your extract holds this record more than once at the same time with different "
                             "values (see detail); send it once, with the right values",
}


def default_path(dept: str, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return Path(settings.site_dir) / "corrections" / f"{dept.upper()}.csv"


def correction_rows(dept: str, settings: Settings | None = None) -> list[dict]:
    """The department's correction list, sorted by entity, key and attribute; [] before any verification."""
    settings = settings or get_settings()
    dept = dept.upper()
    out = _discrepancy_rows(dept, settings) + _quarantine_rows(dept, settings)
    return sorted(out, key=lambda r: (r["entity"] or "", r["entity_key"] or "", r["attribute"] or "",
                                      r["your_resource"], r["kind"], r["your_record_key"] or "",
                                      r["row_number"] or 0))


def _discrepancy_rows(dept: str, settings: Settings) -> list[dict]:
    """Multi-source verification's rows for the department: its copies' disagreements, its register's gaps."""
    import pyarrow.compute as pc

    from citybrain.lake import arrow_io

    if not arrow_io.table_exists(TABLE, settings):
        return []
    data = arrow_io.read_arrow(TABLE, settings=settings)
    mine = pc.or_(pc.equal(data["copy_department"], dept),
                  pc.and_(pc.equal(data["authority_department"], dept),
                          pc.equal(data["kind"], "missing_in_authority")))
    out = []
    for r in data.filter(mine).to_pylist():
        record = r.get("copy_record_key")  # None in rows stored before discrepancies named the copy record
        if r["copy_department"] == dept:
            row = dict(your_resource=r["copy_resource"], your_record_key=record, your_value=r["copy_value"],
                       action=ACTIONS[r["kind"]], kind=r["kind"])
        else:  # this department is the authority that lacks what another department holds
            row = dict(your_resource=r["authority_resource"], your_value=r["authority_value"],
                       other_department=r["copy_department"], other_resource=r["copy_resource"],
                       other_record_key=record, other_value=r["copy_value"], action=ACTIONS["authority_gap"],
                       kind="authority_gap")
        row.update(entity=r["entity"], entity_key=r["entity_key"], attribute=r["attribute"],
                   authority_department=r["authority_department"], authority_resource=r["authority_resource"],
                   authority_value=r["authority_value"], batch_id=r["batch_id"], detected_at=r["detected_at"])
        out.append({c: row.get(c) for c in COLUMNS})
    return out


def _quarantine_rows(dept: str, settings: Settings) -> list[dict]:
    """The department's conform quarantine rows of ``QUARANTINE_KINDS``: its resources' partitions only, the
    rules filtered in the scan."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from citybrain.conform.catalog import load_catalog
    from citybrain.lake import arrow_io

    catalog = load_catalog(None if settings.catalog_dir == get_settings().catalog_dir else settings.catalog_dir)
    mine = sorted(name for name, res in catalog.resources.items() if res.provider == dept)
    if not mine or not arrow_io.table_exists(QUARANTINE_TABLE, settings):
        return []
    where = (pc.field("resource").isin(pa.array(mine)) & (pc.field("stage") == "conform")
             & pc.field("rule_id").isin(pa.array(sorted(QUARANTINE_KINDS))))
    found = arrow_io.arrow_dataset(QUARANTINE_TABLE, settings=settings).to_table(
        columns=["resource", "batch_id", "row_number", "record_key", "rule_id", "item", "value", "reason",
                 "quarantined_at"], filter=where)
    out = []
    for r in found.to_pylist():
        kind = QUARANTINE_KINDS[r["rule_id"]]
        row = dict(kind=kind, attribute=r["item"], your_resource=r["resource"], your_record_key=r["record_key"],
                   your_value=r["value"], action=ACTIONS[kind], detail=r["reason"], batch_id=r["batch_id"],
                   row_number=r["row_number"], detected_at=r["quarantined_at"])
        out.append({c: row.get(c) for c in COLUMNS})
    return out


def write_corrections(dept: str, out: Path | None = None, settings: Settings | None = None) -> dict:
    """Write the department's correction list as CSV (UTF-8 with BOM, opens in Excel); return a summary."""
    settings = settings or get_settings()
    rows = correction_rows(dept, settings)
    path = Path(out) if out else default_path(dept, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return summarise(dept, rows, path)


def summarise(dept: str, rows: list[dict], path: Path) -> dict:
    by_kind = Counter(r["kind"] for r in rows)
    by_attr = Counter(f"{r['your_resource']}.{r['attribute']}" for r in rows)
    return {
        "department": dept.upper(),
        "path": str(path),
        "rows": len(rows),
        "by_kind": dict(sorted(by_kind.items())),
        "by_resource_attribute": dict(sorted(by_attr.items(), key=lambda kv: (-kv[1], kv[0]))),
        "entities": dict(sorted(Counter(r["entity"] for r in rows if r["entity"]).items())),
    }

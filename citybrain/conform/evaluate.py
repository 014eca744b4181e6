"""Conform against the simulator's ground truth: precision and recall per fault kind this stage owns.

The manifest (var/sources/manifest/faults.parquet) lists every injected fault: resource, key (the
primary key as found in the source), item, kind, injected and true value, day. The stage's findings
are read back from the lake, Spark-free: `quarantine.rejected_rows` (stage conform; every violation of
a row, the first in rule_id, the others named in the reason), `silver.superseded_duplicates`,
`silver.discrepancies` and the silver tables themselves (late events in their event-date partition).

A fault whose row never reached conform (its file rejected, or the row quarantined by ingestion) is
ingestion's and is left out. A copy disagreement is judged only while the injected value is still the
copy's current value (a later delivery may have replaced it).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from citybrain.settings import Settings, get_settings

QUARANTINE_KINDS = {
    "conform.id_number.check_char": "invalid_check_char",
    "conform.credit_code.check_char": "invalid_check_char",
    "conform.type.date": "impossible_date",
    "conform.type.timestamp": "impossible_date",
    "conform.required": "missing_required",
    "conform.range": "out_of_range",
    "conform.code_list": "code_not_in_list",
    "conform.division_code.unknown": "code_not_in_list",
    "conform.division_code.format": "code_not_in_list",
    "conform.grid_component_id.class": "code_not_in_list",
    "conform.reference": "orphan_reference",
    "conform.text.encoding": "encoding_damage",
}
DUPLICATE_KINDS = ("exact_duplicate", "near_duplicate")
OWNED = (*sorted(set(QUARANTINE_KINDS.values())), *DUPLICATE_KINDS, "copy_disagreement", "late_arriving")
_ALSO = re.compile(r"item (\S+) (conform\.[a-z_.]+)")
_BATCH_DATE = re.compile(r":(\d{4})(\d{2})(\d{2}):")


def _date_of(batch_id: str) -> str | None:
    m = _BATCH_DATE.search(batch_id or "")
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None


def _rows(table: str, settings: Settings, columns: list[str] | None = None, **equals) -> list[dict]:
    from citybrain.lake import arrow_io

    return arrow_io.read_rows(table, settings, columns, **equals)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def evaluate(manifest_dir: Path | str | None = None, settings: Settings | None = None) -> dict[str, dict]:
    """{kind: {injected, judged, detected, flagged, correct, recall, precision}} for every kind conform owns."""
    from citybrain.conform.catalog import load_catalog
    from citybrain.sources.manifest import read_manifest

    settings = settings or get_settings()
    manifest_dir = Path(manifest_dir or Path(settings.sources_dir) / "manifest")
    faults = [f for f in read_manifest(manifest_dir) if f["kind"] in OWNED]
    catalog = load_catalog()

    # rows that never reached conform: rejected files, rows ingestion quarantined
    rejected_files = {r["batch_id"] for r in _rows("control.rejected_files", settings, ["batch_id"])}
    rejected_days = {(bid.split(":")[0], _date_of(bid)) for bid in rejected_files}
    ingest_q = {(r["resource"], r["record_key"], _date_of(r["batch_id"]))
                for r in _rows("quarantine.rejected_rows", settings, ["resource", "record_key", "batch_id", "stage"],
                               stage="ingest")}

    def reached(f: dict) -> bool:
        return (f["resource"], f["date"]) not in rejected_days and (f["resource"], f["key"], f["date"]) not in ingest_q

    # quarantine findings: (resource, key, date, item, kind) for every violation of every row
    flagged_q: dict[str, set] = defaultdict(set)
    lost = _records_lost_to_own_faults(faults, catalog)
    for r in _rows("quarantine.rejected_rows", settings,
                   ["resource", "stage", "batch_id", "record_key", "rule_id", "item", "reason", "payload"],
                   stage="conform"):
        day = _date_of(r["batch_id"])
        found = [(r["item"], r["rule_id"])] + _ALSO.findall(r["reason"].split("(also:", 1)[1]) \
            if "(also:" in r["reason"] else [(r["item"], r["rule_id"])]
        for item, rule in found:
            kind = QUARANTINE_KINDS.get(rule)
            if kind == "orphan_reference" and _points_to_lost_record(r, item, catalog, lost):
                continue  # the referenced record's own fault (scored there) made this reference dangle
            if kind:
                flagged_q[kind].add((r["resource"], r["record_key"], day, item))
    out: dict[str, dict] = {}
    for kind in sorted(set(QUARANTINE_KINDS.values())):
        truth = {(f["resource"], f["key"], f["date"], f["item"]) for f in faults if f["kind"] == kind and reached(f)}
        injected = sum(1 for f in faults if f["kind"] == kind)
        flagged = flagged_q[kind]
        out[kind] = _scores(injected, truth, flagged)

    # duplicates: superseded rows against exact and near duplicates (one finding serves either kind)
    dups = {(r["resource"], r["record_key"], _date_of(r["batch_id"]))
            for r in _rows("silver.superseded_duplicates", settings, ["resource", "record_key", "batch_id"])}
    dup_truth_all = {(f["resource"], f["key"], f["date"]) for f in faults if f["kind"] in DUPLICATE_KINDS and reached(f)}
    for kind in DUPLICATE_KINDS:
        truth = {(f["resource"], f["key"], f["date"]) for f in faults if f["kind"] == kind and reached(f)}
        res = _scores(sum(1 for f in faults if f["kind"] == kind), truth, dups & truth | (dups - dup_truth_all))
        out[kind] = res

    out["copy_disagreement"] = _copy_scores([f for f in faults if f["kind"] == "copy_disagreement"], catalog,
                                            settings)
    out["late_arriving"] = _late_scores([f for f in faults if f["kind"] == "late_arriving"], catalog, settings)
    return out


def _records_lost_to_own_faults(faults: list[dict], catalog) -> set[tuple[str, str]]:
    """(resource, true key) of records whose primary-key item was faulted: conform quarantines them under
    the faulty key, so references to their true key dangle as a consequence of that fault."""
    lost = set()
    for f in faults:
        res = catalog.resources.get(f["resource"])
        if res and f["item"] in res.primary_key and f.get("true_value") not in (None, ""):
            lost.add((res.name, str(f["true_value"])))
    return lost


def _points_to_lost_record(row: dict, item: str, catalog, lost: set[tuple[str, str]]) -> bool:
    import json

    res = catalog.resources.get(row["resource"])
    if not res or not res.has_item(item) or not res.item(item).references or not row.get("payload"):
        return False
    value = (json.loads(row["payload"]) or {}).get(item)
    return value is not None and (res.item(item).references.split(".")[0], str(value).strip()) in lost


def _scores(injected: int, truth: set, flagged: set) -> dict:
    correct = len(flagged & truth)
    return {"injected": injected, "judged": len(truth), "detected": len(truth & flagged), "flagged": len(flagged),
            "correct": correct, "recall": _ratio(len(truth & flagged), len(truth)),
            "precision": _ratio(correct, len(flagged))}


def _current_copies(resource, settings: Settings) -> list[dict]:
    rows = _rows(f"silver.{resource.name}", settings)
    if rows and "is_current" in rows[0]:
        rows = [r for r in rows if r["is_current"]]
    return rows


def _copy_scores(faults: list[dict], catalog, settings: Settings) -> dict:
    """A copy disagreement is found when silver.discrepancies lists the copy's value for its key and attribute."""
    from citybrain.conform.verify import copy_pairs

    # precision: every mismatch claimed; recall: the copy's value is listed for the stewards, as a mismatch or,
    # where the authority holds no value for the key, as missing_in_authority (no mismatch is possible then)
    listed = {(r["entity"], r["entity_key"], r["attribute"], r["copy_resource"]): r["kind"]
              for r in _rows("silver.discrepancies", settings) if r["kind"] in ("mismatch", "missing_in_authority")}
    disc = {k for k, kind in listed.items() if kind == "mismatch"}
    # (copy resource, copy item) -> [(entity, attribute, key item)]
    targets: dict[tuple, list] = defaultdict(list)
    for ent in catalog.entities:
        for res in ent.copy_resources:
            for p in copy_pairs(ent, res, catalog):
                targets[(res, p.copy_item)].append((ent, p.attribute))
    current: dict[str, dict[str, dict]] = {}
    truth, judged_keys = set(), set()
    for f in faults:
        res = catalog.resource(f["resource"])
        if res.name not in current:
            rows = _current_copies(res, settings)
            current[res.name] = {"|".join("" if r[k] is None else str(r[k]) for k in res.primary_key): r for r in rows}
        row = current[res.name].get(f["key"])
        if row is None or _text(row.get(f["item"])) != _text(f["injected_value"]):
            continue  # the faulty value is no longer the copy's current value (or the row was quarantined)
        for ent, attr in targets.get((res.name, f["item"]), []):
            key = row.get(ent.key_item(res.name))
            if key is not None:
                truth.add((ent.name, str(key), attr, res.name))
                judged_keys.add((ent.name, str(key), attr, res.name))
    flagged = set(disc)
    correct = len(flagged & truth)
    detected = len(truth & set(listed))
    return {"injected": len(faults), "judged": len(truth), "detected": detected, "flagged": len(flagged),
            "correct": correct, "recall": _ratio(detected, len(truth)),
            "precision": _ratio(correct, len(flagged))}


def _text(value) -> str:
    if value is None:
        return ""
    s = str(value).strip()
    try:
        return repr(round(float(s), 6))
    except ValueError:
        return s


def _late_scores(faults: list[dict], catalog, settings: Settings) -> dict:
    """A late event is handled when silver holds it in the partition of its own event date."""
    placed, judged = 0, 0
    by_res: dict[str, list[dict]] = defaultdict(list)
    for f in faults:
        by_res[f["resource"]].append(f)
    for name, fs in by_res.items():
        res = catalog.resource(name)
        rows = _rows(f"silver.{name}", settings)
        index = {"|".join("" if r[k] is None else str(r[k]) for k in res.primary_key): r for r in rows}
        for f in fs:
            judged += 1
            row = index.get(f["key"])
            if row is not None and f["true_value"] and str(row["event_date"]) == str(f["true_value"])[:10]:
                placed += 1
    return {"injected": len(faults), "judged": judged, "detected": placed, "flagged": None, "correct": None,
            "recall": _ratio(placed, judged), "precision": None}


def format_table(scores: dict[str, dict]) -> str:
    lines = ["| fault kind | injected | judged | detected | flagged | recall | precision |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, s in scores.items():
        lines.append(f"| {kind} | {s['injected']} | {s['judged']} | {s['detected']} | "
                     f"{'' if s['flagged'] is None else s['flagged']} | {s['recall']} | {s['precision']} |")
    return "\n".join(lines)

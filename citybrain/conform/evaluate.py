"""Conform against the simulator's ground truth: precision and recall per fault kind this stage owns.

The manifest (var/sources/manifest/faults.parquet) lists every injected fault: resource, key (the
primary key as found in the source), item, kind, injected and true value, day. The stage's findings
are read back from the lake, Spark-free: `quarantine.rejected_rows` (stage conform; every violation of
a row, the first in rule_id, the others named in the reason), `silver.superseded_duplicates` (and the
conflicting duplicates of quarantine: a near duplicate whose values still differ once standardised ties
with its original at one source time, and which of the two is right cannot be told),
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
    from citybrain.conform.dedupe import CONFLICT_RULE
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
    conflicts: set[tuple] = set()  # (resource, key, date) quarantined as conflicting duplicates
    lost = _records_lost_to_own_faults(faults, catalog)
    for r in _rows("quarantine.rejected_rows", settings,
                   ["resource", "stage", "batch_id", "record_key", "rule_id", "item", "reason", "payload"],
                   stage="conform"):
        day = _date_of(r["batch_id"])
        if r["rule_id"] == CONFLICT_RULE:
            conflicts.add((r["resource"], r["record_key"], day))
        found = [(r["item"], r["rule_id"])] + _ALSO.findall(r["reason"].split("(also:", 1)[1]) \
            if "(also:" in r["reason"] else [(r["item"], r["rule_id"])]
        for item, rule in found:
            kind = QUARANTINE_KINDS.get(rule)
            if kind == "orphan_reference" and _points_to_lost_record(r, item, catalog, lost):
                continue  # the referenced record's own fault (scored there) made this reference dangle
            if kind:
                flagged_q[kind].add((r["resource"], r["record_key"], day, item))
    copies = CopyFindings(catalog, settings)
    out: dict[str, dict] = {}
    for kind in sorted(set(QUARANTINE_KINDS.values())):
        judged = [f for f in faults if f["kind"] == kind and reached(f)]
        truth = {(f["resource"], f["key"], f["date"], f["item"]) for f in judged}
        injected = sum(1 for f in faults if f["kind"] == kind)
        # a damaged value that passes every rule of its own (e.g. mojibake made of valid GB 2312 characters)
        # in a verification copy is caught by 多源校核: the stewards' list shows it against the authority
        by_verification = {(f["resource"], f["key"], f["date"], f["item"]) for f in judged
                           if copies.targets(f) & copies.mismatches}
        out[kind] = _scores(injected, truth, flagged_q[kind] | by_verification)

    # duplicates: superseded rows and conflicting duplicates against exact and near duplicates (one finding
    # serves either kind)
    dups = {(r["resource"], r["record_key"], _date_of(r["batch_id"]))
            for r in _rows("silver.superseded_duplicates", settings, ["resource", "record_key", "batch_id"])}
    dups |= conflicts
    dup_truth_all = {(f["resource"], f["key"], f["date"]) for f in faults if f["kind"] in DUPLICATE_KINDS and reached(f)}
    for kind in DUPLICATE_KINDS:
        truth = {(f["resource"], f["key"], f["date"]) for f in faults if f["kind"] == kind and reached(f)}
        res = _scores(sum(1 for f in faults if f["kind"] == kind), truth, dups & truth | (dups - dup_truth_all))
        out[kind] = res

    out["copy_disagreement"] = copies.scores(faults)
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


EXAMPLES = 5  # missed and wrongly flagged faults listed per kind, for the reader to look at


def _examples(found: set) -> list[str]:
    return ["|".join("" if p is None else str(p) for p in f) for f in sorted(found, key=str)[:EXAMPLES]]


def _scores(injected: int, truth: set, flagged: set) -> dict:
    correct = len(flagged & truth)
    return {"injected": injected, "judged": len(truth), "detected": len(truth & flagged), "flagged": len(flagged),
            "correct": correct, "recall": _ratio(len(truth & flagged), len(truth)),
            "precision": _ratio(correct, len(flagged)),
            "missed": _examples(truth - flagged), "wrongly_flagged": _examples(flagged - truth)}


class CopyFindings:
    """Multi-source verification's findings (silver.discrepancies) and which (entity, key, attribute, copy
    resource) an injected fault in a copy resource shows up under, while the faulty value is still current."""

    def __init__(self, catalog, settings: Settings):
        from citybrain.conform.verify import copy_pairs

        self.catalog, self.settings = catalog, settings
        # recall: the copy's value is listed for the stewards, as a mismatch or, where the authority holds no
        # value for the key, as missing_in_authority (no mismatch is possible then); precision: every mismatch
        found = [((r["entity"], r["entity_key"], r["attribute"], r["copy_resource"]), r["kind"])
                 for r in _rows("silver.discrepancies", settings,
                                ["entity", "entity_key", "attribute", "copy_resource", "kind"])]
        self.listed = {k for k, kind in found if kind in ("mismatch", "missing_in_authority")}
        self.mismatches = {k for k, kind in found if kind == "mismatch"}
        self._pairs: dict[tuple, list] = defaultdict(list)  # (copy resource, copy item) -> [(entity, attribute)]
        for ent in catalog.entities:
            for res in ent.copy_resources:
                for p in copy_pairs(ent, res, catalog):
                    self._pairs[(res, p.copy_item)].append((ent, p.attribute))
        self._current: dict[str, dict[str, dict]] = {}

    def _row(self, resource: str, key: str) -> dict | None:
        if resource not in self._current:
            self._current[resource] = _silver_by_key(self.catalog.resource(resource), self.settings)
        return self._current[resource].get(key)

    def targets(self, fault: dict) -> set[tuple]:
        """Where verification lists the fault: nothing unless its item is a copy of an entity attribute and
        the faulty value is still the copy's current value (a later delivery may have replaced it)."""
        pairs = self._pairs.get((fault["resource"], fault["item"]))
        if not pairs:
            return set()
        row = self._row(fault["resource"], fault["key"])
        if row is None or _text(row.get(fault["item"])) != _text(fault["injected_value"]):
            return set()
        out = set()
        for ent, attr in pairs:
            key = row.get(ent.key_item(fault["resource"]))
            if key is not None:
                out.add((ent.name, str(key), attr, fault["resource"]))
        return out

    def scores(self, faults: list[dict]) -> dict:
        """copy_disagreement: recall over the disagreements still current; a mismatch is a correct flag when an
        injected fault (a disagreement, or damage of another kind) put the copy's value there."""
        truth, explained = set(), set()
        for f in faults:
            found = self.targets(f)
            (truth if f["kind"] == "copy_disagreement" else explained).update(found)
        flagged = set(self.mismatches)
        correct = len(flagged & (truth | explained))
        detected = len(truth & self.listed)
        return {"injected": sum(f["kind"] == "copy_disagreement" for f in faults), "judged": len(truth),
                "detected": detected, "flagged": len(flagged), "correct": correct,
                "recall": _ratio(detected, len(truth)), "precision": _ratio(correct, len(flagged)),
                "missed": _examples(truth - self.listed), "wrongly_flagged": _examples(flagged - truth - explained)}


def _silver_by_key(res, settings: Settings) -> dict[str, dict]:
    """A silver table's rows (current versions of an SCD2 table) by primary key as the manifest writes it."""
    rows = _rows(f"silver.{res.name}", settings)
    if rows and "is_current" in rows[0]:
        rows = [r for r in rows if r["is_current"]]
    return {_key_of(r, res.primary_key): r for r in rows}


def _key_of(row: dict, keys) -> str:
    """A silver row's primary key as the manifest writes it: parts joined by '|', timestamps as the
    department's wall-clock text (the lake stores them in UTC, read back tz-aware)."""
    import datetime as dt

    def part(v) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return v.replace(tzinfo=None).isoformat(sep=" ")
        return str(v)

    return "|".join(part(row[k]) for k in keys)


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
    placed, judged, missed = 0, 0, set()
    by_res: dict[str, list[dict]] = defaultdict(list)
    for f in faults:
        by_res[f["resource"]].append(f)
    for name, fs in by_res.items():
        index = _silver_by_key(catalog.resource(name), settings)  # events: no history, every row
        for f in fs:
            judged += 1
            row = index.get(f["key"])
            if row is not None and f["true_value"] and str(row["event_date"]) == str(f["true_value"])[:10]:
                placed += 1
            else:
                missed.add((name, f["key"], f["date"]))
    return {"injected": len(faults), "judged": judged, "detected": placed, "flagged": None, "correct": None,
            "recall": _ratio(placed, judged), "precision": None, "missed": _examples(missed), "wrongly_flagged": []}


def format_table(scores: dict[str, dict]) -> str:
    lines = ["| fault kind | injected | judged | detected | flagged | recall | precision |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, s in scores.items():
        lines.append(f"| {kind} | {s['injected']} | {s['judged']} | {s['detected']} | "
                     f"{'' if s['flagged'] is None else s['flagged']} | {s['recall']} | {s['precision']} |")
    return "\n".join(lines)

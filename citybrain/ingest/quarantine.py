"""Row rules of ingestion: records that parse but break the catalogue's structure go to quarantine.

Rules (the first failing rule per row; one quarantine row per rejected source row keeps the
accounting exact):
  ingest.field_count        the record does not split into the header's columns
  ingest.unparseable_record the record is not a JSON object of single values
  ingest.precision_lost     a C item (identifier, phone, code) holds a number that lost digits
  ingest.primary_key_null   a primary-key item is empty
  ingest.length             a text value is more than LENGTH_MARGIN times the item's length
Type and code-list checks are conform's job: bronze keeps every value as pulled.

The split runs on the parsed Arrow table before Spark sees it: vectorised checks cost
milliseconds, and a clean batch (the usual case) then needs no Spark job for quarantine at all.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from citybrain.ingest.cells import RULE_PRECISION_LOST
from citybrain.ingest.readers import PARSE_COLUMNS, RULE_FIELD_COUNT, RULE_UNPARSEABLE

if TYPE_CHECKING:
    import pyarrow as pa

    from citybrain.catalog import Resource

QUARANTINE_TABLE = "quarantine.rejected_rows"
STAGE = "ingest"
RULE_PK_NULL = "ingest.primary_key_null"
RULE_LENGTH = "ingest.length"
LENGTH_MARGIN = 2  # "longer by a wide margin": over twice the catalogue length (slight overruns are conform's)
COLUMNS = (("resource", "string"), ("stage", "string"), ("batch_id", "string"), ("row_number", "long"),
           ("record_key", "string"), ("rule_id", "string"), ("item", "string"), ("value", "string"),
           ("reason", "string"), ("payload", "string"), ("quarantined_at", "timestamp"))

# Reasons name the table, row, key, item and rule, and say what to do.
REASONS = {
    RULE_FIELD_COUNT: "{table} row {row}: {detail}; rule " + RULE_FIELD_COUNT + ": the record does not split "
                      "into the file's columns (an unquoted delimiter or line break in a value?); correct the "
                      "record at the source and re-deliver it",
    RULE_UNPARSEABLE: "{table} row {row}: {detail}; rule " + RULE_UNPARSEABLE + ": the record cannot be read "
                      "as one value per item; correct the record at the source and re-deliver it",
    RULE_PRECISION_LOST: "{table} row {row}: {detail}; rule " + RULE_PRECISION_LOST + ": an identifier, phone "
                         "or code arrived as a spreadsheet number, whose digits beyond 15 are gone (never converted: "
                         "that would invent them); the department must format the column as text and re-deliver "
                         "the record",
    RULE_PK_NULL: "{table} row {row} (key {key}): primary-key item {item} is empty; rule " + RULE_PK_NULL
                  + ": the record cannot be identified; the department must supply {item}",
    RULE_LENGTH: "{table} row {row} (key {key}): item {item} holds {value_length} characters, the catalogue "
                 "allows {length} (quarantined above {limit}); rule " + RULE_LENGTH + ": likely a shifted "
                 "column or run-together values; correct the record at the source",
}


def render_reason(rule_id: str, **values) -> str:
    """The reason text of a rule with its placeholders filled."""
    return REASONS[rule_id].format(**values)


def _checks(table: pa.Table, resource: Resource):
    """(rule_id, item, limit, mask) per rule, in priority order."""
    import pyarrow.compute as pc

    yield "parse", None, None, pc.is_valid(table["_parse_rule"])
    for item in resource.primary_key:
        col = table[item]
        yield RULE_PK_NULL, item, None, pc.or_kleene(pc.is_null(col), pc.equal(pc.utf8_trim_whitespace(col), ""))
    for it in resource.items:
        if it.type in ("C", "M") and it.length:
            limit = LENGTH_MARGIN * it.length
            yield RULE_LENGTH, it.name, limit, pc.greater(pc.utf8_length(table[it.name]), limit)


def transform(table: pa.Table, resource: Resource, batch_id: str, data_columns: list[str],
              quarantined_at: datetime) -> tuple[pa.Table, list[tuple]]:
    """Split a parsed batch into (rows for bronze, quarantine.rejected_rows rows in COLUMNS order); pure."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name = f"bronze.{resource.name}"
    flagged = pa.array([False] * table.num_rows, pa.bool_())
    rejected: dict[int, tuple[str, str | None, int | None]] = {}
    for rule, item, limit, mask in _checks(table, resource):
        mask = pc.fill_null(mask, False)
        new = pc.and_(mask, pc.invert(flagged))
        for index in pc.indices_nonzero(new).to_pylist():
            rejected[index] = (rule, item, limit)
        flagged = pc.or_(flagged, mask)
    good = table.filter(pc.invert(flagged)).drop_columns(list(PARSE_COLUMNS[1:]))
    bad = []
    for index in sorted(rejected):
        row = table.slice(index, 1).to_pylist()[0]
        rule, item, limit = rejected[index]
        parts = [row[k] for k in resource.primary_key]
        key = None if all(p is None for p in parts) else "|".join(p or "" for p in parts)
        fields = {"table": name, "row": row["_row_number"], "key": key or "none", "item": item}
        if rule == "parse":
            rule, item = row["_parse_rule"], row.get("_parse_item")
            fields["item"] = item
            # a rule naming one item (precision_lost) shows that item's text as delivered, else the raw record
            value = row[item] if item and row.get(item) is not None else row["_raw"]
            reason = render_reason(rule, **fields, detail=row["_parse_detail"])
        elif rule == RULE_PK_NULL:
            value, reason = row[item], render_reason(rule, **fields)
        else:
            value = row[item]
            reason = render_reason(rule, **fields, value_length=len(value), length=limit // LENGTH_MARGIN, limit=limit)
        payload = row["_raw"] or json.dumps({c: row[c] for c in data_columns if row[c] is not None},
                                            ensure_ascii=False)
        bad.append((resource.name, STAGE, batch_id, row["_row_number"], key, rule, item, value, reason, payload,
                    quarantined_at))
    return good, bad

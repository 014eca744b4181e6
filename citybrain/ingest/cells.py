"""A delivered value as text: spreadsheet cells and JSON values as the department sees them, and the rule for
numbers that cannot hold an identifier's digits (`ingest.precision_lost`).

A spreadsheet number keeps 15 significant digits (EXACT_DIGITS): an 18-digit ID number stored as a number has
lost its last digits, and converting it would invent them; Excel shows and saves such a number in scientific
notation. A C item (identifier, phone, code) holding one is quarantined with the cell's text, never converted.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from citybrain.ingest.readers import ItemHints

RULE_PRECISION_LOST = "ingest.precision_lost"
EXACT_DIGITS = 15
SCIENTIFIC = re.compile(r"^[+-]?\d(?:\.\d+)?[eE][+-]\d{2,3}$")


def lost_digits(value: Any) -> bool:
    """Whether a value of a C item is a number that cannot hold an identifier's digits exactly.

    A spreadsheet number keeps 15 significant digits: 3.70602199001011E+17 was an 18-digit ID
    number whose last digits are gone (converting it would invent them), and scientific text is how
    Excel shows and saves such a number; a fraction is no identifier or code either.
    """
    if isinstance(value, str):
        return bool(SCIENTIFIC.match(value.strip()))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not value.is_integer():
        return True
    return abs(value) >= 10 ** EXACT_DIGITS


def precision_mark(cells: dict[str, Any], texts: dict[str, str | None], items: ItemHints,
                    raw: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(rule, detail, raw, item) marking a record whose C items hold numbers that lost digits, else Nones; the
    item is the first such item (the detail names every one)."""
    lost = [c for c in cells if c in items.text_items and lost_digits(cells[c])]
    if not lost:
        return None, None, None, None
    detail = "; ".join(f"item {c} holds {texts[c]!r}, a number that cannot hold its digits exactly "
                       f"(scientific notation, more than {EXACT_DIGITS} digits or a fraction)" for c in lost)
    return RULE_PRECISION_LOST, detail, raw, lost[0]


def json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def number_text(value: int | float) -> str:
    """A number cell as Excel shows it (General format): integers in full, else 15 significant digits."""
    if isinstance(value, int) or (value.is_integer() and abs(value) < 10 ** EXACT_DIGITS):
        return str(int(value))
    return f"{value:.{EXACT_DIGITS}G}"


def cell_text(value: Any, as_date: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if as_date and value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def shown(value: Any) -> str:
    """A cell's text as the department sees it (raw records and header matching)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return cell_text(value, False) or ""

"""The values one catalogue field may hold, each validated once: item types, resource codes, snake_case
names, item references, file-drop patterns, look-back durations and null-marker texts. The entry models
(models.py) are built from these types; other modules use the same definitions (rules, pullers, conform).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

ITEM_TYPES = ("C", "N", "Y", "D", "T", "L", "I", "F", "B", "M", "G")
RESOURCE_CODE_RE = re.compile(r"^[1-3]\d{5}\d*/\d+$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# A file drop: relative and one folder deep (the provider's own, rules.py), lower-case names, one date wildcard;
# no absolute path, '..', backslash or other glob character, so it can only match files in the department's folder.
DROP_PATTERN_RE = re.compile(r"^(?P<folder>[a-z][a-z0-9_]*)/(?P<stem>[a-z][a-z0-9_]*)_\*\.(?P<ext>[a-z0-9]+)$")


def _item_type(value: str) -> str:
    if value not in ITEM_TYPES:
        raise ValueError(f"unknown type {value!r} (expected one of {' '.join(ITEM_TYPES)})")
    return value


def _resource_code(value: str) -> str:
    if not RESOURCE_CODE_RE.match(value):
        raise ValueError(f"malformed resource code {value!r} (expected {RESOURCE_CODE_RE.pattern})")
    return value


def _snake(value: str) -> str:
    if not SNAKE_RE.match(value):
        raise ValueError(f"{value!r} is not a snake_case name")
    return value


def _ref(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", value):
        raise ValueError(f"{value!r} is not of the form resource.item")
    return value


def _drop_pattern(value: str) -> str:
    if not DROP_PATTERN_RE.match(value):
        raise ValueError(f"file pattern {value!r} is not <department folder>/<stem>_*.<ext> (relative, one folder "
                         "deep, lower-case snake_case names, e.g. hotline/tickets_*.csv)")
    return value


ItemType = Annotated[str, AfterValidator(_item_type)]
ResourceCode = Annotated[str, AfterValidator(_resource_code)]
SnakeName = Annotated[str, AfterValidator(_snake)]
ItemRef = Annotated[str, AfterValidator(_ref)]
DropPattern = Annotated[str, AfterValidator(_drop_pattern)]

LOOKBACK_RE = re.compile(r"^(?P<amount>\d+)(?P<unit>[dhm])$")
LOOKBACK_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
DEFAULT_LOOKBACK = dt.timedelta(days=1)
MAX_LOOKBACK = dt.timedelta(days=31)


def _lookback(value: object) -> dt.timedelta:
    """A look-back duration: `<n>d`, `<n>h` or `<n>m` (`0` for none), at most MAX_LOOKBACK."""
    if isinstance(value, dt.timedelta):
        delta = value
    elif str(value).strip() == "0":
        delta = dt.timedelta(0)
    else:
        match = LOOKBACK_RE.match(str(value).strip())
        if not match:
            raise ValueError(f"look-back {value!r} is not a duration <n>d, <n>h or <n>m (e.g. 1d, 6h; 0 for none)")
        delta = dt.timedelta(**{LOOKBACK_UNITS[match["unit"]]: int(match["amount"])})
    if not dt.timedelta(0) <= delta <= MAX_LOOKBACK:
        raise ValueError(f"look-back {value!r} is outside 0d..{MAX_LOOKBACK.days}d")
    return delta


def lookback_text(delta: dt.timedelta) -> str:
    """The catalogue form of a look-back (`1d`, `6h`, `90m`, `0`): how it is written back and shown."""
    minutes = int(delta.total_seconds() // 60)
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        if minutes and minutes % size == 0:
            return f"{minutes // size}{unit}"
    return "0"


Lookback = Annotated[dt.timedelta, BeforeValidator(_lookback), PlainSerializer(lookback_text)]


def _null_marker(value: str) -> str:
    # conform compares half-width text (citybrain.conform.standardise.FULL_WIDTH): a full-width marker never matches
    if not value or any(0xFF01 <= ord(ch) <= 0xFF5E or ch == "\u3000" for ch in value):
        raise ValueError(f"null marker {value!r} must be non-blank half-width text (blank cells are always null; "
                         "write ＮＵＬＬ as NULL, conform compares half-width text)")
    return value


NullMarkerText = Annotated[str, AfterValidator(_null_marker)]


def null_marker_key(text: str) -> str:
    """How markers compare: ignoring case ('NULL', 'null' and 'Null' are one marker); conform uses SQL upper()."""
    return text.upper()

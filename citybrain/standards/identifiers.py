"""Check characters of resident ID numbers (GB 11643) and unified social credit codes (GB 32100).

Scalar validators are what the quality gates call per value; the ``*_array`` variants compute
check characters for millions of generated identifiers at once (numpy, no Python loop).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_ALPHABET)}

# GB 11714 organisation code (positions 9-17 of a credit code): 8 body characters + check.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {**{str(i): i for i in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}}

_ID_RE = re.compile(r"^\d{17}[\dXx]$")
_CREDIT_RE = re.compile(rf"^[{CREDIT_ALPHABET}]{{18}}$")
_DIVISION_RE = re.compile(r"^[1-8]\d{5}$")

# GB/T 2260 province-level codes (first two digits of every division code).
PROVINCE_CODES = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
)


def id_number_check_char(first17: str) -> str:
    """Check character (ISO 7064 MOD 11-2) of a resident ID number from its first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"ID number body must be 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_birth_date(id_number: str) -> dt.date | None:
    """Birth date encoded in positions 7-14 of an 18-digit ID number, or None when it is no date."""
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def id_number_sex(id_number: str) -> int:
    """Sex encoded by the 17th digit: 1 male (odd), 2 female (even), GB/T 2261.1 codes."""
    return 1 if int(id_number[16]) % 2 == 1 else 2


def is_valid_id_number(value: str | None, today: dt.date | None = None) -> bool:
    """True when an 18-character ID number has a real, non-future birth date and a right check char."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    born = id_number_birth_date(value)
    if born is None or born > (today or dt.date.today()) or born.year < 1850:
        return False
    return id_number_check_char(value[:17]) == value[17].upper()


def normalise_id_number(value: str) -> str:
    """Canonical stored form: upper-case X; 15-digit numbers converted by inserting 19 and a check char."""
    value = value.strip()
    if len(value) == 15 and value.isdigit():
        body = value[:6] + "19" + value[6:]
        return body + id_number_check_char(body)
    return value.upper()


def org_code_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body (0-9, X)."""
    if len(body8) != 8 or any(c not in _ORG_VALUE for c in body8):
        raise ValueError(f"organisation code body must be 8 digits/capitals, got {body8!r}")
    r = 11 - sum(_ORG_VALUE[c] * w for c, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(r, str(r))


def credit_code_check_char(first17: str) -> str:
    """GB 32100 check character of a unified social credit code from its first 17 characters."""
    if len(first17) != 17 or any(c not in _CREDIT_VALUE for c in first17):
        raise ValueError(f"credit code body must be 17 characters of {CREDIT_ALPHABET}, got {first17!r}")
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(value: str | None) -> bool:
    """True when an 18-character unified social credit code uses the alphabet and has a right check char."""
    if not isinstance(value, str) or not _CREDIT_RE.match(value):
        return False
    return credit_code_check_char(value[:17]) == value[17]


def is_division_code(value: str | None) -> bool:
    """Shape check of a 6-digit GB/T 2260 code (the code list decides whether it exists)."""
    return isinstance(value, str) and bool(_DIVISION_RE.match(value))


def covered_prefectures(divisions) -> list[str]:
    """Prefectures (4-digit prefixes) whose county codes a reference list holds completely: those listed
    at prefecture level. ``divisions``: objects with ``code`` and ``level``."""
    return sorted({d.code[:4] for d in divisions if d.level == "prefecture"})


def is_known_division(value: str | None, codes=(), covered: tuple[str, ...] | list[str] | None = None) -> bool:
    """The GB/T 2260 existence rule conform and the quality gates share.

    Six digits of a known province; then listed in ``codes`` when the item takes codes of the city's list
    (``covered`` is None), or only when its prefecture (first four digits) is one the reference list holds
    completely (``covered``): a migrant's home county elsewhere in China needs no more than its province.
    An empty ``codes`` checks the shape alone.
    """
    if not (isinstance(value, str) and len(value) == 6 and value.isdigit() and value[:2] in PROVINCE_CODES):
        return False
    if not codes:
        return True
    if covered is not None and value[:4] not in covered:
        return True
    return value in codes


def division_level(code: str) -> str:
    """Level of a GB/T 2260 code: province (XX0000), prefecture (XXXX00) or county."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


# ---------------------------------------------------------------------------------------------
# Vectorised forms for generation at city scale.


def _char_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of the ASCII codes of fixed-width strings."""
    raw = np.asarray(values).astype(f"S{width}")
    return np.frombuffer(raw.tobytes(), dtype=np.uint8).reshape(-1, width)


def id_number_check_chars_array(first17: np.ndarray) -> np.ndarray:
    """Check characters for an array of 17-digit ID bodies (bytes/str) as an ``S1`` array."""
    digits = _char_matrix(first17, 17).astype(np.int64) - 48
    r = digits @ np.asarray(ID_WEIGHTS, dtype=np.int64) % 11
    return np.frombuffer(ID_CHECK_CHARS.encode(), dtype="S1")[r]


def credit_code_check_chars_array(first17: np.ndarray) -> np.ndarray:
    """Check characters for an array of 17-character credit-code bodies as an ``S1`` array."""
    lut = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(CREDIT_ALPHABET):
        lut[ord(c)] = i
    values = lut[_char_matrix(first17, 17)]
    if (values < 0).any():
        raise ValueError("credit code bodies contain characters outside the GB 32100 alphabet")
    total = values @ np.asarray(CREDIT_WEIGHTS, dtype=np.int64)
    return np.frombuffer(CREDIT_ALPHABET.encode(), dtype="S1")[(31 - total % 31) % 31]


def org_code_check_chars_array(body8: np.ndarray) -> np.ndarray:
    """GB 11714 check characters for an array of 8-character organisation code bodies."""
    m = _char_matrix(body8, 8).astype(np.int64)
    values = np.where(m >= 65, m - 55, m - 48)
    r = 11 - values @ np.asarray(ORG_WEIGHTS, dtype=np.int64) % 11
    out = np.char.mod("%d", r).astype("S1")
    out[r == 10] = b"X"
    out[r == 11] = b"0"
    return out

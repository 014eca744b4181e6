"""Standardise bronze text before casting: the forms departments write the same value in become one.

Each function maps the SQL text of an expression to the SQL text of its standardised form (no
Python UDFs): trimming, full-width to half-width, upper-case check characters, the date and time
formats departments use, phone and code normalisation. A value that cannot be recognised passes
unchanged, so that the cast or a validation rule rejects it with the department's own text.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from citybrain.conform.catalog import DIVISIONS, ConformCatalog, ItemDef, ResourceDef
from citybrain.conform.sql import case, col, in_list, lit, to_column
from citybrain.standards.identifiers import CREDIT_ALPHABET, CREDIT_WEIGHTS, ID_CHECK_CHARS, ID_WEIGHTS

# Full-width ASCII variants U+FF01..U+FF5E map to U+0021..U+007E; the ideographic space to a space.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
# Whitespace trimmed from both ends (and removed inside identifiers and codes): ASCII whitespace,
# no-break space, zero-width marks and the byte-order mark (the ideographic space is already ' ').
SPACES = " \t\n\r\f\v\u00a0\u200b\u200c\u200d\ufeff"

# Dates: yyyy-M-d, yyyy/M/d, yyyy.M.d, yyyy年M月d日 (one- or two-digit month and day) or yyyyMMdd.
_SEP_DATE = r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日)?"
# A compact date is followed by the end, a date/time separator or a compact time (HHmm[ss]).
_COMPACT_DATE = r"^(\d{4})(\d{2})(\d{2})(?=$|[T ]|\d{4}(?:\d{2})?$)"
_ISO_DAY = r"\d{4}-\d{2}-\d{2}"
ISO_DATE_RE = rf"^{_ISO_DAY}$"
ISO_TIMESTAMP_RE = rf"^{_ISO_DAY} \d{{2}}:\d{{2}}:\d{{2}}(\.\d{{1,6}})?$"

TRUE_WORDS = ("true", "t", "1", "y", "yes", "是", "真", "有")
FALSE_WORDS = ("false", "f", "0", "n", "no", "否", "假", "无")


def _re(x: str, pattern: str, replacement: str) -> str:
    return f"regexp_replace({x}, {lit(pattern)}, {lit(replacement)})"


def half_width(x: str) -> str:
    """Full-width letters, digits, punctuation and the ideographic space as their ASCII forms."""
    return f"translate({x}, {lit(FULL_WIDTH)}, {lit(HALF_WIDTH)})"


def clean_text(x: str) -> str:
    """Half-width, edges trimmed (all Unicode spaces, zero-width marks), empty text as null."""
    return f"nullif(btrim({half_width(x)}, {lit(SPACES)}), '')"


def squeeze(x: str) -> str:
    """Text without any whitespace (identifiers and codes never contain spaces)."""
    return f"nullif(translate({half_width(x)}, {lit(SPACES)}, ''), '')"


def strip_float_suffix(x: str) -> str:
    """'370602.0' (a spreadsheet number) back to '370602'."""
    stripped = _re(x, r"^(-?\d+)\.0+$", "$1")
    return f"CASE WHEN contains({x}, '.') THEN {stripped} ELSE {x} END"


def id_number_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of 17 digits (GB 11643)."""
    total = " + ".join(f"(ascii(substring({body17}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substring({lit(ID_CHECK_CHARS)}, CAST(({total}) % 11 + 1 AS INT), 1)"


def credit_code_check_char(body17: str) -> str:
    """GB 32100 MOD 31 check character of 17 credit-code characters (null if one is outside the alphabet)."""
    values = [f"(instr({lit(CREDIT_ALPHABET)}, substring({body17}, {i + 1}, 1)) - 1)" for i in range(17)]
    total = " + ".join(f"{v} * {w}" for v, w in zip(values, CREDIT_WEIGHTS, strict=True))
    alphabet_ok = f"{body17} RLIKE {lit('^[' + CREDIT_ALPHABET + ']{17}$')}"
    return (f"CASE WHEN {alphabet_ok} THEN substring({lit(CREDIT_ALPHABET)}, "
            f"CAST((31 - ({total}) % 31) % 31 + 1 AS INT), 1) END")


def id_number(x: str) -> str:
    """Canonical ID number: no spaces, upper-case X; a 15-digit number gets '19' and its check character."""
    v = f"upper(translate({squeeze(x)}, '-', ''))"
    body = f"concat(substring({v}, 1, 6), '19', substring({v}, 7, 9))"
    old = f"length({v}) = 15 AND {v} RLIKE '^[0-9]{{15}}$'"
    return case((old, f"concat({body}, {id_number_check_char(body)})"), default=v)


def credit_code(x: str) -> str:
    """Canonical credit code: no spaces or hyphens, upper case."""
    return f"upper(translate({squeeze(x)}, '-', ''))"


def phone(x: str) -> str:
    """Digits only: separators and brackets dropped, a +86/0086/86 prefix before a mobile number removed."""
    v = f"translate({squeeze(x)}, {lit('-()（）+.')}, '')"
    return case((f"length({v}) = 13 AND startswith({v}, '861')", f"substring({v}, 3, 11)"),
                (f"length({v}) = 15 AND startswith({v}, '00861')", f"substring({v}, 5, 11)"), default=v)


def email(x: str) -> str:
    return f"lower({squeeze(x)})"


def code(x: str, codes: list[str] | None = None) -> str:
    """A code as its list writes it: no spaces, spreadsheet '.0' removed, upper case, leading zeros restored."""
    v = strip_float_suffix(squeeze(x))
    if codes and all(c.isalnum() for c in codes) and any(ch.isalpha() for c in codes for ch in c):
        v = f"upper({v})"
    widths = {len(c) for c in codes or []}
    if codes and len(widths) == 1 and all(c.isdigit() for c in codes):
        # a spreadsheet cell turns '01' into 1: pad back, the list decides whether it exists
        width = widths.pop()
        v = case((f"length({v}) < {width} AND {v} RLIKE '^[0-9]+$'", f"lpad({v}, {width}, '0')"), default=v)
    return v


def _date_prefix(v: str) -> str:
    """The leading date of the text rewritten as yyyy-MM-dd (the rest of the text untouched)."""
    v = _re(v, _SEP_DATE, "$1-$2-$3")
    v = _re(v, _COMPACT_DATE, "$1-$2-$3")
    v = _re(v, r"^(\d{4})-(\d)(?=-)", "$1-0$2")
    return _re(v, r"^(\d{4}-\d{2})-(\d)(?!\d)", "$1-0$2")


def date_text(x: str) -> str:
    """yyyy-MM-dd from the formats departments use; a midnight time part is dropped; others unchanged."""
    text = clean_text(x)
    v = _re(_date_prefix(text), rf"^({_ISO_DAY})\s*[T ]\s*0{{1,2}}:0{{1,2}}(?::0{{1,2}}(?:\.0+)?)?$", "$1")
    # most values are already ISO: a length test and one regex instead of the rewrite chain
    return case((f"length({text}) = 10 AND {text} RLIKE {lit(ISO_DATE_RE)}", text), default=v)


def timestamp_text(x: str) -> str:
    """yyyy-MM-dd HH:mm:ss[.f] from a date in any accepted format plus HH:mm[:ss] (or H时m分[s秒])."""
    text = clean_text(x)
    v = _date_prefix(text)
    # one space between the date and the time, also for a compact time glued to a compact date
    v = _re(v, rf"^({_ISO_DAY})\s*[T ]?\s*(?=\d)", "$1 ")
    v = _re(v, r"(\d{1,2})\s*时\s*(\d{1,2})\s*分\s*(\d{1,2})\s*秒$", "$1:$2:$3")
    v = _re(v, r"(\d{1,2})\s*时\s*(\d{1,2})\s*分?$", "$1:$2")
    v = _re(v, rf"^({_ISO_DAY} )(\d{{2}})(\d{{2}})(\d{{2}})?$", "$1$2:$3:$4")
    v = _re(v, rf"^({_ISO_DAY} )(\d)(?=:)", "$10$2")
    # Java replacement syntax: "$10$2" is group 1, a zero, group 2 (there is no group 10)
    v = _re(v, r"( \d{2}:)(\d)(?!\d)", "$10$2")
    v = _re(v, r"( \d{2}:\d{2}:)(\d)(?!\d)", "$10$2")
    v = _re(v, rf"^({_ISO_DAY} \d{{2}}:\d{{2}}):?$", "$1:00")
    v = _re(v, rf"^({_ISO_DAY})$", "$1 00:00:00")
    return case((f"length({text}) = 19 AND {text} RLIKE {lit(ISO_TIMESTAMP_RE)}", text), default=v)


def number_text(x: str) -> str:
    """Digits with thousands separators, spaces and currency marks removed."""
    return f"translate({squeeze(x)}, {lit(',，¥￥$元')}, '')"


def integer_text(x: str) -> str:
    """An integer: separators removed and a zero fraction ('12.0', a spreadsheet number) dropped."""
    return strip_float_suffix(number_text(x))


def boolean_text(x: str) -> str:
    """'true'/'false' from the words departments use (是/否, 1/0, Y/N...); others unchanged."""
    v = f"lower({squeeze(x)})"
    return case((in_list(v, TRUE_WORDS), "'true'"), (in_list(v, FALSE_WORDS), "'false'"), default=v)


def item_expr(x: str, item: ItemDef, catalog: ConformCatalog | None = None) -> str:
    """The standardised text of one item, chosen by its type, format and code list."""
    if item.type == "D":
        return date_text(x)
    if item.type == "T":
        return timestamp_text(x)
    if item.type in ("N", "Y", "F", "B"):
        return number_text(x)
    if item.type == "I":
        return integer_text(x)
    if item.type == "L":
        return boolean_text(x)
    if item.format == "id_number":
        return id_number(x)
    if item.format == "credit_code":
        return credit_code(x)
    if item.format == "phone":
        return phone(x)
    if item.format == "email":
        return email(x)
    if item.format == "division_code" or item.code_list == DIVISIONS:
        return code(x, catalog.code_lists.get(DIVISIONS) if catalog else None)
    if item.format == "grid_component_id":
        return code(x)
    if item.code_list:
        return code(x, catalog.code_lists.get(item.code_list) if catalog else None)
    return clean_text(x)


def transform(df: DataFrame, resource: ResourceDef, catalog: ConformCatalog | None = None) -> DataFrame:
    """Replace every item column of ``df`` (bronze text) by its standardised text; other columns kept."""
    items = {it.name: it for it in resource.items}
    cols = [to_column(item_expr(f"CAST({col(n)} AS STRING)", items[n], catalog), n) if n in items else col(n)
            for n in df.columns]
    return df.select(*[to_column(c) if isinstance(c, str) else c for c in cols])

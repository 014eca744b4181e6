"""Standardise bronze text before casting: the forms departments write the same value in become one.

Each function maps the SQL text of an expression to the SQL text of its standardised form (no
Python UDFs): trimming, full-width to half-width, upper-case check characters, the date and time
formats departments use, phone and code normalisation. A value that cannot be recognised passes
unchanged, so that the cast or a validation rule rejects it with the department's own text.

Dates and times (D and T items) are read by one grammar (DATETIME_RE, below): 年月日 with or without
a time, '-' '/' '.' separators, one-digit months, days and hours, compact yyyyMMdd[HHmm[ss]], ISO
with T, H时m分s秒, fractions of a second up to microseconds and an optional offset. Text outside it
is kept as sent and quarantined by the cast (conform.type.date / .timestamp), never guessed.
A D item takes a date, or a date-time at local midnight (a spreadsheet date cell): any other time of
day is ambiguous (which day did the department mean?) and is quarantined.

Time zones: the lake stores the city's wall-clock time (docs/lake-contract.md, Time). Text without an
offset is local time as written; +08:00 (China Standard Time, the departments' own clock) keeps its
wall-clock value; Z or another offset is converted to Asia/Shanghai wall-clock time by the cast
(``cast.local_time``).

Null markers: a whole value that is one of its resource's null markers (catalog/reference/
null_markers.yaml, changed per resource), compared after cleaning and ignoring case, is null for
every item type, except a marker that is a value of the item's own domain (无 for a yes/no item,
a code of its code list). Blank text is always null. A required item holding a marker is
quarantined as conform.required naming the marker (validate.required_detail).
"""

from __future__ import annotations

import re

from pyspark.sql import DataFrame

from citybrain.catalog.fields import null_marker_key
from citybrain.conform.catalog import DIVISIONS, ConformCatalog, ItemDef, ResourceDef
from citybrain.conform.sql import case, col, in_list, lit, to_column
from citybrain.standards.identifiers import CREDIT_ALPHABET, CREDIT_WEIGHTS, ID_CHECK_CHARS, ID_WEIGHTS
from citybrain.standards.text import FULL_WIDTH, HALF_WIDTH, SPACES

# -- the date and time grammar ------------------------------------------------------------------
# One anchored Java regex (Spark's regexp engine) with a named group per field; the text of a D or T item
# is in the grammar or it is left as sent (the cast then rejects it, the row is quarantined with its text).
#   date  = yyyy SEP M SEP d          SEP one of - / . (the same twice), M and d one or two digits
#         | yyyy年M月d[日]             spaces allowed between the parts
#         | yyyyMMdd                   compact, eight digits
#   time  = H:m[:s[.f]]               H, m, s one or two digits, f up to six digits (trailing zeros beyond)
#         | H时[m分[s秒]]  (时 or 点)   the last unit may be left out (8时15, 8时15分30)
#         | HHmm[ss[.f]]               compact, four or six digits
#   text  = date [ [T] time [offset] ]
#   offset = Z | +08[[:]00] | ±hh[[:]mm]    hh 00-14, mm 00-59
# A time follows a separated date or a day without 日 only after a space or T (2025-3-78:15 is not 7 March
# 8:15 but garbage); after 日 it may be glued (2025年3月7日8:15:00); after a compact date only a compact time
# may be glued (202611021005). Day-first (05/01/2024), 12-hour (下午3点), two-digit years, mixed separators
# and any other text are outside the grammar. Field values are not judged here: the cast rejects month 13,
# 2月30日, hour 25 or second 60 instead of rolling them over.
_DATES = (r"(?<y1>\d{4})\s*(?<sep>[-/.])\s*(?<mo1>\d{1,2})\s*\k<sep>\s*(?<d1>\d{1,2})(?=$|[\sTt])",
          r"(?<y2>\d{4})\s*年\s*(?<mo2>\d{1,2})\s*月\s*(?<d2>\d{1,2})\s*(?:日|(?=$|[\sTt]))",
          r"(?<y3>\d{4})(?<mo3>\d{2})(?<d3>\d{2})(?=$|[\sTt]|\d{4}(?:\d{2})?(?!\d))")
_CST = r"\+08(?::?00)?"  # China Standard Time: the local clock the lake stores (docs/lake-contract.md, Time)


def _times(h: str, hh: str, fraction: str) -> tuple[str, ...]:
    """The three time forms, each field of one (``h``) or two (``hh``) digits matching the given patterns."""
    return (rf"(?<h1>{h}):(?<mi1>{h})(?::(?<s1>{h})(?:(?<f1>{fraction})0*)?)?",
            rf"(?<h2>{h})\s*[时点]\s*(?:(?<mi2>{h})\s*(?:分\s*(?:(?<s2>{h})\s*秒?)?)?)?",
            rf"(?<h3>{hh})(?<mi3>{hh})(?:(?<s3>{hh})(?:(?<f3>{fraction})0*)?)?")


def _grammar(times: tuple[str, ...], offset: str) -> str:
    return rf"^(?:{'|'.join(_DATES)})(?:\s*[Tt]?\s*(?:{'|'.join(times)})(?:\s*(?:{offset}))?)?$"


# T items: any time of day and any offset (another offset than +08:00 is kept for the cast to convert).
DATETIME_RE = _grammar(_times(r"\d{1,2}", r"\d{2}", r"\.\d{1,6}"),
                       rf"(?<z>[Zz])|{_CST}|(?<os>[+-])(?<oh>0\d|1[0-4])(?::?(?<om>[0-5]\d))?")
# D items: a date, or a date with a local midnight (a spreadsheet date cell); any other time of day, or
# midnight in another zone, names an instant that is not a whole local day: outside the grammar.
DATE_RE = _grammar(_times("0{1,2}", "00", r"\.0+"), _CST)
def _group_numbers(grammar: str) -> dict[str, int]:
    """Name -> number of the grammar's groups (Spark substitutes ${...} in SQL text: replacements use $n)."""
    return re.compile(grammar.replace("(?<", "(?P<").replace(r"\k<sep>", "(?P=sep)")).groupindex


def _out(grammar: str, template: str) -> str:
    """The replacement writing ``template`` ('{y}-00{mo}', each name the concatenation of its numbered groups)."""
    numbers = _group_numbers(grammar)
    fields = {name.rstrip("0123456789") for name in numbers}
    return template.format(**{f: "".join(f"${n}" for name, n in numbers.items() if name.rstrip("0123456789") == f)
                              for f in fields})


# Each field is written after '00' and the pad (anchored at the start: an offset after the time is left alone)
# keeps its last two digits: one- and two-digit fields and absent ones (minutes, seconds: '00') become two
# digits without a chain of rewrites.
_DATE_OUT = (_out(DATE_RE, "{y}-00{mo}-00{d}"), r"^(\d{4})-0*(\d{2})-0*(\d{2})", "$1-$2-$3")
_DATETIME_OUT = (_out(DATETIME_RE, "{y}-00{mo}-00{d} 00{h}:00{mi}:00{s}{f}{z}{os}{oh}{om}"),
                 r"^(\d{4})-0*(\d{2})-0*(\d{2}) 0*(\d{2}):0*(\d{2}):0*(\d{2})", "$1-$2-$3 $4:$5:$6")
_ISO_DAY = r"\d{4}-\d{2}-\d{2}"
ISO_DATE_RE = rf"^{_ISO_DAY}$"
LOCAL_TIMESTAMP = rf"{_ISO_DAY} \d{{2}}:\d{{2}}:\d{{2}}(?:\.\d{{1,6}})?"
ISO_TIMESTAMP_RE = rf"^{LOCAL_TIMESTAMP}$"
# The standardised text of a T item written with another offset than +08:00: local part and offset. The
# offset's range is the grammar's: text sent in this shape with another one ('-3600') is no zone (a zone the
# JVM cannot build would fail the whole job instead of the row).
_OFFSET = r"[Zz]|[+-](?:0\d|1[0-4])(?:[0-5]\d)?"
OFFSET_TIMESTAMP_RE = rf"^({LOCAL_TIMESTAMP})({_OFFSET})$"

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


def _in_grammar(text: str, grammar: str, out: tuple[str, str, str]) -> str:
    """The grammar's canonical text of ``text``, or ``text`` unchanged when it is not in the grammar."""
    fields, pad, padded = out
    return case((f"{text} RLIKE {lit(grammar)}", _re(_re(text, grammar, fields), pad, padded)), default=text)


def date_text(x: str) -> str:
    """yyyy-MM-dd from a text of the grammar (DATE_RE: a date, or a date at local midnight); others unchanged."""
    text = clean_text(x)
    # most values are already ISO: a length test and one regex instead of the grammar
    return case((f"length({text}) = 10 AND {text} RLIKE {lit(ISO_DATE_RE)}", text),
                default=_in_grammar(text, DATE_RE, _DATE_OUT))


def timestamp_text(x: str) -> str:
    """yyyy-MM-dd HH:mm:ss[.f] (a local time) or, with another offset than +08:00, the same followed by that
    offset (Z, ±hh or ±hhmm: the cast converts it) from a text of the grammar (DATETIME_RE); others unchanged."""
    text = clean_text(x)
    return case((f"length({text}) BETWEEN 19 AND 26 AND {text} RLIKE {lit(ISO_TIMESTAMP_RE)}", text),
                default=_in_grammar(text, DATETIME_RE, _DATETIME_OUT))

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


def item_null_markers(item: ItemDef, catalog: ConformCatalog | None = None) -> list[str]:
    """The item's null markers compared as SQL compares them (upper case): its resource's markers except the
    values of the item's own domain (无 is 'no' for a yes/no item; a code of its code list is that code)."""
    own = set(TRUE_WORDS + FALSE_WORDS) if item.type == "L" else set()
    if item.code_list and catalog:
        own |= set(catalog.code_lists.get(item.code_list) or ())
    own_keys = {null_marker_key(v) for v in own}
    return sorted({null_marker_key(m) for m in item.null_markers} - own_keys)


def null_marker(x: str, item: ItemDef, catalog: ConformCatalog | None = None) -> str:
    """SQL: the whole text, cleaned, is one of the item's null markers (FALSE when it has none)."""
    return in_list(f"upper({clean_text(x)})", item_null_markers(item, catalog))


def item_expr(x: str, item: ItemDef, catalog: ConformCatalog | None = None) -> str:
    """The standardised text of one item: null for a null marker, else chosen by its type, format and code list."""
    value = _item_value(x, item, catalog)
    markers = item_null_markers(item, catalog)
    return f"CASE WHEN {null_marker(x, item, catalog)} THEN NULL ELSE {value} END" if markers else value


def _item_value(x: str, item: ItemDef, catalog: ConformCatalog | None) -> str:
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

"""The forms departments' text arrives in: full-width characters, invisible marks and odd spaces.

One definition for every stage: conform's SQL standardisation (`citybrain.conform.standardise`) and
ingestion's reading of header names use these same characters.
"""

from __future__ import annotations

# Full-width ASCII variants U+FF01..U+FF5E map to U+0021..U+007E; the ideographic space to a space.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
# Invisible marks: zero-width space, non-joiner, joiner and the byte-order mark (a UTF-8 BOM left in a file).
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff"
NO_BREAK_SPACE = "\u00a0"
# Whitespace trimmed from both ends (and removed inside identifiers and codes): ASCII whitespace,
# no-break space, zero-width marks and the byte-order mark (the ideographic space is already ' ').
SPACES = " \t\n\r\f\v" + NO_BREAK_SPACE + ZERO_WIDTH

# In a name, an invisible mark is never meant (deleted wherever it is), nor is a line break (a spreadsheet
# header cell's wrapped text, 身份证\n号码), and a no-break space is a space.
_NAME = str.maketrans({**dict(zip(FULL_WIDTH, HALF_WIDTH, strict=True)), **{c: None for c in ZERO_WIDTH + "\r\n"},
                       NO_BREAK_SPACE: " "})


def normalise_name(text: str) -> str:
    """A header or key name as meant: half-width, invisible marks and line breaks removed anywhere, trimmed.

    `ｔｉｃｋｅｔ＿ｎｏ`, `ticket\\u200b_no`, `\\ufeffticket_no\\u00a0` all read as `ticket_no`.
    """
    return text.translate(_NAME).strip(SPACES)


def visible(text: str) -> str:
    """Text for a reason or a log line, invisible characters (but the tab) shown as \\uXXXX escapes."""
    return "".join(c if c.isprintable() or c == "\t" else f"\\u{ord(c):04x}" for c in text)

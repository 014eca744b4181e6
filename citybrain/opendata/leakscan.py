"""PII leak scan of a release before it may become `latest`: every CSV cell is checked for direct
identifiers. A finding names the file, column, row and rule.

Rules:
- pii.id_number: an 18-character resident identity number with a valid check character and birth date;
- pii.phone: a mainland mobile number (1[3-9] + 9 digits) or a landline with area code;
- pii.email: an e-mail address;
- pii.sole_trader_credit_code: a valid unified social credit code of an individual business (92...), which
  identifies a natural person (STANDARDS section 7: the sole-trader credit code is a direct identifier);
- pii.person_name: an unmasked person name in a person-name column (the dataset's catalogue direct
  identifiers named *name, or any header with 姓名): 2-4 Han characters from a common surname, no mask;
- pii.direct_column: a column named after a catalogue direct identifier that is neither a keyed hash nor masked.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from citybrain.standards.identifiers import is_valid_credit_code, is_valid_id_number

_EDGE = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
ID_RE = re.compile(_EDGE[0] + r"(\d{17}[\dXx])" + _EDGE[1])
PHONE_RE = re.compile(r"(?<![\d.])(1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![\d.])")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
USCC_RE = re.compile(_EDGE[0] + r"(92[0-9A-HJ-NPQRTUWXY]{16})" + _EDGE[1])
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
# the commonest Chinese surnames (together about 85 % of the population)
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜"
    "倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁"
    "蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾"
    "隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
NAME_RE = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


@dataclass(frozen=True)
class Finding:
    file: str
    column: str
    row: int  # 1-based data row (the header is row 0)
    rule: str
    value: str  # shown masked: the report must not leak either

    def describe(self) -> str:
        return f"{self.file}: column {self.column}, row {self.row}: {self.rule} ({self.value})"


class LeakFound(Exception):
    """The release holds direct identifiers; the message lists file, column, row and rule of each."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        shown = "\n".join("  " + f.describe() for f in findings[:20])
        more = f"\n  ... and {len(findings) - 20} more" if len(findings) > 20 else ""
        super().__init__(f"PII leak scan failed: {len(findings)} findings\n{shown}{more}")


def _shown(value: str) -> str:
    return value[:3] + "*" * max(0, len(value) - 5) + value[-2:] if len(value) > 5 else "*" * len(value)


def scan_cell(value: str, column: str, direct_columns: frozenset[str] = frozenset()) -> list[str]:
    """The rules a cell breaks (a keyed hash breaks none)."""
    if not value or HASH_RE.match(value):
        return []
    rules = []
    if any(is_valid_id_number(m.upper()) for m in ID_RE.findall(value)):
        rules.append("pii.id_number")
    if PHONE_RE.search(value):
        rules.append("pii.phone")
    if EMAIL_RE.search(value):
        rules.append("pii.email")
    if any(is_valid_credit_code(m) for m in USCC_RE.findall(value)):
        rules.append("pii.sole_trader_credit_code")
    person_column = "姓名" in column or (column in direct_columns and column.endswith("name"))
    if person_column and NAME_RE.match(value) and value[0] in SURNAMES:
        rules.append("pii.person_name")
    if column in direct_columns and "*" not in value and not HASH_RE.match(value):
        rules.append("pii.direct_column")
    return rules


def scan_csv(path: Path, root: Path, direct_columns: frozenset[str] = frozenset()) -> list[Finding]:
    findings = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for row_number, row in enumerate(reader, start=1):
            for column, value in zip(header, row, strict=False):
                findings += [Finding(str(path.relative_to(root)), column, row_number, rule, _shown(value))
                             for rule in scan_cell(value, column, direct_columns)]
    return findings


def scan_release(root: Path, direct_columns: dict[str, frozenset[str]] | None = None) -> list[Finding]:
    """Every CSV under ``root`` (direct_columns: dataset folder -> its catalogue direct identifiers);
    raises LeakFound when anything is found."""
    findings = []
    for path in sorted(root.rglob("*.csv")):
        dataset = path.relative_to(root).parts[0]
        findings += scan_csv(path, root, (direct_columns or {}).get(dataset, frozenset()))
    if findings:
        raise LeakFound(findings)
    return findings

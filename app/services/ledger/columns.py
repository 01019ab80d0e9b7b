"""The ledger's (台账) column map: the one table that imports read and exports write.

    序号 项目代码 项目名称 投资方 投资方国别 统一社会信用代码 世界500强 资金来源 产业类别 所属区域 总投资(万元) 币种
    所处阶段 进入阶段日期 包项目市领导 责任单位 计划签约日期 计划开工日期 计划投产日期
    市重点项目 重点前期项目 是否暂缓                                   (+ 备注, import only)

Exports write these Chinese headers, enum values as their Chinese labels, amounts in
万元, dates as dates. Imports accept the same headers, their aliases, or the English
field names (``name``, ``total_investment`` ...), in any order and case; the amount
column's unit comes from its header: ``总投资(元)``, ``总投资（万元）``, ``总投资(亿元)``,
``total_investment (10k)``; ``万美元`` also names the currency. Since one map does both
directions, an exported ledger imported again changes nothing.

Cells that a spreadsheet would run as a formula (``= + - @``, or a tab or carriage
return) are written with a leading single quote; a leading single quote is removed
on import.
"""

import gettext
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

import pycountry

from app.models import Project
from app.models.enums import Designation, DesignationStatus, FundingSource, Labelled, Stage
from app.models.fields import CENTS
from app.models.ledger import LedgerIssue
from app.services.promotion import credit_code

WAN = Decimal(10_000)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOTAL_ROW_NAMES = frozenset({"合计", "总计", "小计", "total", "subtotal"})


class CellError(ValueError):
    """A cell that cannot be read; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Record:
    """One project as an export writes it."""

    project: Project
    leader: str | None
    unit: str | None
    designations: dict[str, str]  # designation -> status
    credit_code: str | None = None  # the investor's
    fortune_global_500: bool = False
    zone: str | None = None  # the zone's and the industry's Chinese names
    industry: str | None = None


# --- reading cells -------------------------------------------------------------------------


def comparable(text: str) -> str:
    """A header or enum word made comparable: width, case, spaces and separators ignored."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-*·:：/、.]+", "", text)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def unescape(text: str) -> str:
    """Undo the quote an export puts before formula-like text."""
    return text[1:] if text.startswith("'") else text


def read_text(raw: Any) -> str | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        raise CellError("is a true/false value, not text")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime | date):
        raise CellError("is a date, not text")
    text = unescape(str(raw).strip()).strip()
    return text or None


def read_code(raw: Any) -> str | None:
    text = read_text(raw)
    return unicodedata.normalize("NFKC", text).strip() if text else None


def _enum_reader(enum: type[Labelled], aliases: dict[str, str] | None = None) -> Callable[[Any], Any]:
    lookup: dict[str, str] = {}
    for member in enum:
        lookup[comparable(member.value)] = member.value
        lookup[comparable(member.label)] = member.value
    for alias, value in (aliases or {}).items():
        lookup[comparable(alias)] = value
    labels = "、".join(m.label for m in enum)

    def read(raw: Any) -> str | None:
        text = read_text(raw)
        if text is None:
            return None
        value = lookup.get(comparable(text))
        if value is None:
            raise CellError(f"is not one of {labels}")
        return value

    return read


read_stage = _enum_reader(Stage, {
    "洽谈": "negotiating", "洽谈中": "negotiating", "在谈项目": "negotiating", "已签约": "signed",
    "注册": "registered", "落地": "registered", "注册落地": "registered", "已注册": "registered",
    "已落地": "registered", "前期项目": "preliminary", "开工": "under_construction", "在建项目": "under_construction",
    "已开工": "under_construction", "建设": "under_construction", "已投产": "in_production",
    "已终止": "terminated", "in production": "in_production", "under construction": "under_construction"})
read_funding_source = _enum_reader(FundingSource, {
    "外商投资": "foreign", "外资项目": "foreign", "内资项目": "domestic"})
# Zones and industries are reference data: a cell is read as text here and resolved to a
# key (by Chinese name, English name or key) when the import plans the row.
read_industry = read_text
read_zone = read_text
read_designation_status = _enum_reader(DesignationStatus, {
    "是": "granted", "列入": "granted", "拟列入": "candidate", "申报": "applied"})

_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "暂缓", "on hold"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "正常"})


def read_credit_code(raw: Any) -> str | None:
    text = read_code(raw)
    if not text:
        return None
    text = text.upper()
    wrong = credit_code.problem(text)
    if wrong is not None:
        raise CellError(wrong)
    return text


def read_bool(raw: Any) -> bool | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    text = comparable(str(int(raw) if isinstance(raw, float) and raw.is_integer() else raw))
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError("must be 是 or 否")


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?|\s*月?)?"
                      r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def read_date(raw: Any) -> date | None:
    """A date cell, an Excel serial number, or text like 2022-06-05, 2022/6/5, 2022年6月5日 or 2022年6月."""
    if _blank(raw):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, bool):
        raise CellError("is not a date")
    if isinstance(raw, int | float):
        if not 1 <= raw < 2_958_466:
            raise CellError("is not a date")
        return _EXCEL_EPOCH + timedelta(days=int(raw))
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    try:
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        match = _DATE_RE.match(text)
        if match:
            year, month, day = match.groups()
            return date(int(year), int(month), int(day or 1))
    except ValueError as exc:
        raise CellError("is not a real date") from exc
    raise CellError("is not a date: write it like 2022-06-05")


# Amount units: the scale word of a header like 总投资(万元) or a cell like 3.26亿.
SCALES: dict[str, Decimal] = {"": Decimal(1), "千": Decimal(10**3), "万": WAN, "十万": Decimal(10**5),
                              "百万": Decimal(10**6), "千万": Decimal(10**7), "亿": Decimal(10**8)}
ENGLISH_SCALES: dict[str, Decimal] = {
    "yuan": Decimal(1), "units": Decimal(1), "unit": Decimal(1), "1": Decimal(1),
    "k": Decimal(10**3), "thousand": Decimal(10**3), "1000": Decimal(10**3),
    "10k": WAN, "wan": WAN, "10000": WAN, "tenthousand": WAN,
    "m": Decimal(10**6), "million": Decimal(10**6), "1000000": Decimal(10**6),
    "100m": Decimal(10**8), "yi": Decimal(10**8), "100000000": Decimal(10**8), "hundredmillion": Decimal(10**8)}
# Currency words of Chinese amount headers and the 币种 column, beside ISO codes and
# pycountry's Chinese currency names. "元" alone is the row's own currency.
CURRENCY_WORDS = {"人民币": "CNY", "人民币元": "CNY", "美元": "USD", "美金": "USD", "日元": "JPY", "欧元": "EUR",
                  "港元": "HKD", "港币": "HKD", "英镑": "GBP", "韩元": "KRW", "澳元": "AUD", "新加坡元": "SGD",
                  "新台币": "TWD", "台币": "TWD", "瑞士法郎": "CHF", "加元": "CAD", "卢布": "RUB"}


def read_amount(raw: Any, scale: Decimal) -> Decimal | None:
    """An amount in the column's unit, returned in units of its currency, to the cent."""
    if _blank(raw):
        return None
    if isinstance(raw, bool | datetime | date):
        raise CellError("is not an amount")
    if isinstance(raw, float):
        value = Decimal(repr(raw))  # the shortest decimal that is this float: what the sheet showed
    elif isinstance(raw, int | Decimal):
        value = Decimal(raw)
    else:
        text = re.sub(r"[\s,，]", "", unicodedata.normalize("NFKC", str(raw)))
        text = unescape(text)
        for word in sorted(SCALES, key=len, reverse=True):
            if word and (text.endswith(word + "元") or text.endswith(word)):
                scale = SCALES[word]
                text = text.removesuffix("元").removesuffix(word)
                break
        else:
            text = text.removesuffix("元")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise CellError("is not a number") from exc
    if not value.is_finite():
        raise CellError("is not a number")
    if value < 0:
        raise CellError("must not be negative")
    if value.adjusted() > 20:
        raise CellError("is far too large")
    return (value * scale).quantize(CENTS, rounding=ROUND_HALF_UP)


@cache
def _currency_names() -> dict[str, str]:
    names = {comparable(word): code for word, code in CURRENCY_WORDS.items()}
    zh = gettext.translation("iso4217", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    for currency in pycountry.currencies:
        names.setdefault(comparable(zh.gettext(currency.name)), currency.alpha_3)
        names.setdefault(comparable(currency.alpha_3), currency.alpha_3)
    return names


def read_currency(raw: Any) -> str | None:
    text = read_text(raw)
    if text is None:
        return None
    code = _currency_names().get(comparable(text))
    if code is None:
        raise CellError("is not a currency: write an ISO 4217 code such as CNY or USD, or 人民币、美元")
    return code


@cache
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {comparable(k): v for k, v in {
        "中国香港": "HK", "中国澳门": "MO", "中国台湾": "TW", "台湾": "TW", "韩国": "KR", "朝鲜": "KP",
        "俄罗斯": "RU", "越南": "VN", "伊朗": "IR", "叙利亚": "SY", "老挝": "LA", "玻利维亚": "BO",
        "委内瑞拉": "VE", "坦桑尼亚": "TZ", "摩尔多瓦": "MD"}.items()}
    zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            text = getattr(country, attr, None)
            if text:
                names.setdefault(comparable(zh.gettext(text)), country.alpha_2)
                names.setdefault(comparable(text), country.alpha_2)
        names.setdefault(comparable(country.alpha_3), country.alpha_2)
        names[comparable(country.alpha_2)] = country.alpha_2
    return names


def read_country(raw: Any) -> str | None:
    text = read_text(raw)
    if text is None:
        return None
    code = _country_names().get(comparable(text))
    if code is None:
        raise CellError("is not a country: write an ISO 3166 code such as CN or JP, or 中国、日本")
    return code


# --- writing cells -------------------------------------------------------------------------


_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters no .xlsx can hold


def escape(text: str) -> str:
    """Make text safe to open: a spreadsheet would run ``=...`` (and ``+ - @``) as a formula.

    Control characters (other than tab and line breaks) are dropped: no workbook can hold them.
    """
    text = _UNWRITABLE.sub("", text)
    return "'" + text if text.startswith((*FORMULA_STARTS, "'")) else text


def in_wan(amount: Decimal) -> Decimal:
    """An amount in 万 (ten thousands), exact, without trailing zeros or an exponent."""
    return Decimal(format(amount.scaleb(-4).normalize(), "f"))


def _label(enum: type[Labelled]) -> Callable[[str | None], str | None]:
    return lambda value: enum(value).label if value else None


# --- the map -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One ledger column: its header, the headers it is also known by, how to read and write it."""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    read: Callable[[Any], Any] = read_text
    write: Callable[[Record], Any] | None = None  # None: import only
    width: int = 12
    note: str = ""


def _designation(designation: Designation) -> Callable[[Record], Any]:
    return lambda r: _label(DesignationStatus)(r.designations.get(designation))


COLUMNS: tuple[Column, ...] = (
    Column("row_number", "序号", ("no", "no.", "#", "行号"), read=lambda raw: None, width=6,
           note="ignored on import"),
    Column("code", "项目代码", ("项目编码", "国家项目代码", "project_code"), read=read_code,
           write=lambda r: r.project.code, width=26, note="national project code; matches projects"),
    Column("name", "项目名称", ("名称", "project_name", "project"), write=lambda r: r.project.name, width=40),
    Column("investor", "投资方", ("投资主体", "投资企业", "投资者", "投资单位"),
           write=lambda r: r.project.investor, width=30),
    Column("investor_country", "投资方国别", ("国别", "国家或地区", "国别地区", "投资方国家", "country"),
           read=read_country, write=lambda r: r.project.investor_country, width=10,
           note="ISO code or Chinese name; CN if blank for domestic projects"),
    Column("credit_code", "统一社会信用代码", ("信用代码", "社会信用代码", "统一代码", "credit_code"),
           read=read_credit_code, write=lambda r: r.credit_code, width=22,
           note="the investor's (GB 32100-2015, check character verified); set on an investor that has none"),
    Column("fortune_global_500", "世界500强", ("是否世界500强", "500强", "fortune_global_500"), read=read_bool,
           write=lambda r: "是" if r.fortune_global_500 else "否", width=10, note="the investor's; 是 or 否"),
    Column("funding_source", "资金来源", ("内外资", "资金类型", "项目类型"), read=read_funding_source,
           write=lambda r: _label(FundingSource)(r.project.funding_source), width=10),
    Column("industry", "产业类别", ("行业", "产业", "所属行业", "所属产业", "行业类别"), read=read_industry,
           write=lambda r: r.industry or r.project.industry, width=14,
           note="an industry's Chinese name, English name or key (/industries)"),
    Column("zone", "所属区域", ("重点区域", "区域", "所在区域", "所属功能区"), read=read_zone,
           write=lambda r: r.zone or r.project.zone, width=18,
           note="a zone's Chinese name, English name or key (/zones)"),
    Column("total_investment", "总投资", ("总投资额", "投资额", "计划总投资", "项目总投资"),
           read=lambda raw: read_amount(raw, Decimal(1)),
           write=lambda r: in_wan(r.project.total_investment_amount), width=16,
           note="unit from the header: 元, 万元 (exports), 亿元; in the row's 币种"),
    Column("currency", "币种", ("货币", "币别"), read=read_currency,
           write=lambda r: r.project.total_investment_currency, width=8,
           note="ISO code or Chinese name; if blank: the header's (万美元), else the project's, else CNY"),
    Column("stage", "所处阶段", ("阶段", "项目阶段", "推进阶段", "当前阶段", "项目进展"), read=read_stage,
           write=lambda r: _label(Stage)(r.project.stage), width=12,
           note="a different stage moves the project forward, one stage at a time"),
    Column("stage_entered_on", "进入阶段日期", ("阶段日期", "stage_date"), read=read_date,
           write=lambda r: r.project.stage_entered_on, width=14,
           note="the date of the stage moves; the import's as_of date if blank"),
    Column("leader", "包项目市领导", ("市领导", "包抓市领导", "联系市领导", "分管市领导", "包联市领导", "leader_name"),
           write=lambda r: r.leader, width=14, note="matched by name"),
    Column("unit", "责任单位", ("牵头单位", "主责单位", "责任部门", "unit_name", "responsible_unit"),
           write=lambda r: r.unit, width=24, note="matched by name"),
    Column("planned_sign_on", "计划签约日期", ("签约计划日期", "计划签约时间"), read=read_date,
           write=lambda r: r.project.planned_sign_on, width=14),
    Column("planned_start_on", "计划开工日期", ("开工计划日期", "计划开工时间"), read=read_date,
           write=lambda r: r.project.planned_start_on, width=14),
    Column("planned_production_on", "计划投产日期", ("投产计划日期", "计划投产时间"), read=read_date,
           write=lambda r: r.project.planned_production_on, width=14),
    Column("city_key", "市重点项目", ("designation_city_key",), read=read_designation_status,
           write=_designation(Designation.city_key), width=12, note="争取列入、已申报、已列入、未列入, or blank"),
    Column("key_preliminary", "重点前期项目", ("designation_key_preliminary",), read=read_designation_status,
           write=_designation(Designation.key_preliminary), width=12),
    Column("on_hold", "是否暂缓", ("暂缓", "暂停", "是否暂停"), read=read_bool,
           write=lambda r: "是" if r.project.on_hold else "否", width=10),
    Column("note", "备注", ("说明", "remark", "remarks"), width=30,
           note="import only: the note of a new project; the reason when a project is terminated"),
)
BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}
EXPORTED: tuple[Column, ...] = tuple(c for c in COLUMNS if c.write is not None or c.key == "row_number")
AMOUNT = BY_KEY["total_investment"]
DESIGNATION_KEYS: dict[str, Designation] = {"city_key": Designation.city_key,
                                            "key_preliminary": Designation.key_preliminary}
EXPORT_AMOUNT_HEADER = "总投资(万元)"


def header_of(column: Column) -> str:
    return EXPORT_AMOUNT_HEADER if column is AMOUNT else column.header


@cache
def _header_lookup() -> dict[str, Column]:
    lookup: dict[str, Column] = {}
    for column in COLUMNS:
        for text in (column.key, column.header, *column.aliases):
            lookup[comparable(text)] = column
    return lookup


def _amount_unit(unit: str) -> tuple[Decimal, str | None] | None:
    """The scale and currency of an amount header's unit: 万元 -> (10^4, None), 亿美元 -> (10^8, USD)."""
    unit = unit.replace(",", "")
    for word in sorted(SCALES, key=len, reverse=True):
        if unit.startswith(word):
            rest = unit[len(word):]
            if rest in ("元", "") and (word or rest):
                return SCALES[word], None
            if rest in CURRENCY_WORDS:
                return SCALES[word], CURRENCY_WORDS[rest]
    # English: an optional ISO currency code before or after a scale word, e.g. 10k, usd10k, 100mcny.
    currency: str | None = None
    for code in (unit[:3], unit[-3:]):
        if len(unit) >= 3 and code.isalpha() and pycountry.currencies.get(alpha_3=code.upper()) is not None:
            currency, unit = code.upper(), unit.removeprefix(code) if unit.startswith(code) else unit[:-3]
            break
    if unit in ENGLISH_SCALES:
        return ENGLISH_SCALES[unit], currency
    return (Decimal(1), currency) if currency and not unit else None


@dataclass
class Header:
    """How a file's header row maps onto the columns."""

    row: int
    columns: list[tuple[int, str, Column | None]]  # (position, header as written, column or ignored)
    amount_scale: Decimal = Decimal(1)
    amount_currency: str | None = None
    position: dict[str, int] = field(default_factory=dict)

    def header(self, key: str) -> str:
        for _, text, column in self.columns:
            if column is not None and column.key == key:
                return text
        return header_of(BY_KEY[key])

    def has(self, key: str) -> bool:
        return key in self.position


def _match_header(text: str) -> tuple[Column, Decimal, str | None] | None:
    key = comparable(text).replace("（", "(").replace("）", ")").replace("[", "(").replace("]", ")")
    key = key.replace("【", "(").replace("】", ")")
    column = _header_lookup().get(key)
    if column is not None:
        return column, Decimal(1), None
    amount_names = {comparable(t) for t in (AMOUNT.key, AMOUNT.header, *AMOUNT.aliases)}
    match = re.fullmatch(r"(.+?)\((.+)\)", key)
    if match and match.group(1) in amount_names:
        unit = _amount_unit(match.group(2))
        if unit is not None:
            return AMOUNT, *unit
        raise CellError(f"the unit of {text!r} is not one of 元, 万元, 亿元 (or 10k, 100m)")
    for name in sorted(amount_names, key=len, reverse=True):
        if key.startswith(name) and len(key) > len(name):
            unit = _amount_unit(key[len(name):])
            if unit is not None:
                return AMOUNT, *unit
    return None


def find_header(rows: Sequence[tuple[int, Sequence[Any]]]) -> tuple[Header | None, list[LedgerIssue]]:
    """The header row among the first rows of a sheet (a title row may come before it)."""
    for number, cells in rows:
        columns: list[tuple[int, str, Column | None]] = []
        issues: list[LedgerIssue] = []
        scale, currency = Decimal(1), None
        for position, cell in enumerate(cells):
            if _blank(cell):
                continue
            text = str(cell).strip()
            try:
                matched = _match_header(text)
            except CellError as exc:
                issues.append(LedgerIssue(row=number, column=text, message=str(exc)))
                columns.append((position, text, AMOUNT))
                continue
            if matched is None:
                columns.append((position, text, None))
                continue
            found, col_scale, col_currency = matched
            if found is AMOUNT:
                scale, currency = col_scale, col_currency
            columns.append((position, text, found))
        known = {c.key for _, _, c in columns if c is not None}
        if "name" in known or "code" in known or len(known) >= 3:
            header = Header(row=number, columns=columns, amount_scale=scale, amount_currency=currency)
            first_header: dict[str, str] = {}
            for position, text, column in columns:
                if column is None:
                    continue
                if column.key in first_header:
                    issues.append(LedgerIssue(row=number, column=text, field=column.key,
                                              message=f"the columns {first_header[column.key]!r} and {text!r} are "
                                                      f"both {column.header}: keep one"))
                    continue
                first_header[column.key] = text
                header.position[column.key] = position
            if not ("code" in known or {"name", "investor"} <= known):
                issues.append(LedgerIssue(row=number, message="the ledger needs a 项目代码 column, or both 项目名称 "
                                                              "and 投资方, to match its rows to projects"))
            return header, issues
    return None, [LedgerIssue(row=None, message="no header row found: the first rows should name the columns, "
                                                 "e.g. 项目名称, 投资方, 总投资(万元), 所处阶段")]


@dataclass(slots=True)
class Row:
    """One data row, read: the values of its present columns (None for a blank cell)."""

    number: int
    values: dict[str, Any]
    issues: list[LedgerIssue]
    failed: set[str]


def shorten(raw: Any) -> str | None:
    if raw is None:
        return None
    text = raw.isoformat() if isinstance(raw, date) else str(raw)
    return text if len(text) <= 100 else text[:99] + "…"


def read_row(header: Header, number: int, cells: Sequence[Any]) -> Row | None:
    """The row's values by field, or None for a blank row."""
    if all(_blank(c) for c in cells):
        return None
    values: dict[str, Any] = {}
    issues: list[LedgerIssue] = []
    failed: set[str] = set()
    for key, position in header.position.items():
        column = BY_KEY[key]
        if column.key == "row_number":
            continue
        raw = cells[position] if position < len(cells) else None
        try:
            if column is AMOUNT:
                values[key] = read_amount(raw, header.amount_scale)
            else:
                values[key] = column.read(raw)
        except CellError as exc:
            failed.add(key)
            issues.append(LedgerIssue(row=number, column=header.header(key), field=key, value=shorten(raw),
                                      message=str(exc)))
    return Row(number=number, values=values, issues=issues, failed=failed)


def is_total_row(header: Header, cells: Sequence[Any]) -> bool:
    """A 合计 / 小计 row: the ledger's own sums, not a project (the word in its first cell or its name cell)."""
    first = next((c for c in cells if not _blank(c)), None)
    position = header.position.get("name")
    name = cells[position] if position is not None and position < len(cells) else None
    words = [str(c) for c in (first, name) if not _blank(c)]
    return bool(words) and all(comparable(w) in TOTAL_ROW_NAMES for w in words)


def export_headers() -> list[str]:
    return [header_of(c) for c in EXPORTED]


def export_values(number: int, record: Record) -> list[Any]:
    """One project's cells, typed (str, Decimal, date or None), formula-like text escaped."""
    out: list[Any] = []
    for column in EXPORTED:
        value = number if column.write is None else column.write(record)
        out.append(escape(value) if isinstance(value, str) else value)
    return out

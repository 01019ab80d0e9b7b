"""The national project code (项目代码) as the approval platform issues it.

Five hyphen-joined segments, 24 characters: a time code (4), the region (6, an
administrative division of GB/T 2260), the guiding department (2), the project type (2)
and a serial (6). Two generations are in use (发改投资〔2020〕1439号, in force from
November 2020, provinces switching over in batches):

- old rules: the time code is the year of issue, 2011 to 2020, and the serial carries
  no check digit;
- new rules: the time code is the year and month of issue (YYMM, from 2011, i.e.
  November 2020), and the serial's last digit is an ISO/IEC 7064 MOD 11,10 check digit
  (GB/T 17710) over the code's other 19 digits, hyphens left out.

2011 and 2012 can be either (a year, or November and December 2020): such a code is
read as a new one when its check digit holds, else as an old one.
"""

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

SHAPE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")
# What the OpenAPI document shows; the rules below refuse more than the pattern can say.
PATTERN = r"^\d{4}-\d{6}-\d{2}-\d{2}-\d{6}$"

# The provinces, autonomous regions, municipalities and special administrative regions of
# GB/T 2260: the first two digits of every division code.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15",
    "21", "22", "23",
    "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46",
    "50", "51", "52", "53", "54",
    "61", "62", "63", "64", "65",
    "71", "81", "82",
})

OLD_YEARS = range(2011, 2021)
FIRST_NEW = (20, 11)  # November 2020, when the 2020 rules came into force
FIRST_NEW_DATE = (2020, 11)


class Rules(StrEnum):
    old = "old"
    new = "new"


@dataclass(frozen=True)
class Reading:
    """What a valid code says: the rules it was issued under and its time code."""

    rules: Rules
    year: int
    month: int | None


class CodeError(ValueError):
    """A code refused, with the part of it that is wrong: ``shape``, ``time code``,
    ``region`` or ``check digit``."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part


def mod11_10(digits: str) -> int:
    """The ISO/IEC 7064 MOD 11,10 check digit for a string of decimal digits.

    The hybrid system of the standard: start with P = 10; for each digit d, S = (P + d)
    mod 10, read as 10 when it is 0, and P = 2 S mod 11. The check digit c is the one that
    makes (P + c) mod 10 = 1.
    """
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("MOD 11,10 is defined over decimal digits")
    p = 10
    for d in digits:
        s = (p + int(d)) % 10 or 10
        p = (2 * s) % 11
    return (11 - p) % 10


def mod11_10_holds(digits: str) -> bool:
    """Whether the last digit of ``digits`` is the MOD 11,10 check digit of the others."""
    return len(digits) > 1 and mod11_10(digits[:-1]) == int(digits[-1])


def digits_of(code: str) -> str:
    return code.replace("-", "")


def with_check_digit(code_without_last: str) -> str:
    """A new-rule code from its first 23 characters (the serial's 5 random digits ending it)."""
    return code_without_last + str(mod11_10(digits_of(code_without_last)))


def read(code: str, *, today: date | None = None) -> Reading:
    """Read a code, or raise ``CodeError`` naming the part that is wrong. ``today`` bounds
    a new-rule time code: a code is not issued in a month still to come."""
    match = SHAPE.match(code)
    if match is None:
        raise CodeError("shape", "must be 24 characters: four digits, six, two, two and six, joined by "
                                 "hyphens, like 2411-370214-04-01-000011")
    time, region = match.group(1), match.group(2)
    yy, mm = int(time[:2]), int(time[2:])
    new_time = 1 <= mm <= 12 and (yy, mm) >= FIRST_NEW
    old_time = int(time) in OLD_YEARS
    if not new_time and not old_time:
        raise CodeError("time code", f"{time} is neither a year 2011-2020 (codes issued before November 2020) "
                                     "nor a year and month YYMM from 2011 (November 2020) on")
    if region[:2] not in PROVINCES:
        raise CodeError("region", f"the region code {region} does not begin with a province-level code of "
                                  "GB/T 2260 (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82)")
    check_holds = mod11_10_holds(digits_of(code))
    if old_time and not (new_time and check_holds):
        return Reading(Rules.old, int(time), None)
    if today is not None and (2000 + yy, mm) > (today.year, today.month):
        raise CodeError("time code", f"{time} is the month {mm:02d}/20{yy:02d}, which has not come yet")
    if not check_holds:
        raise CodeError("check digit", f"the last digit must be {mod11_10(digits_of(code)[:-1])} "
                                       "(ISO/IEC 7064 MOD 11,10 over the other 19 digits)")
    return Reading(Rules.new, 2000 + yy, mm)

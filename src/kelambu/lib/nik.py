"""The NIK, Indonesia's 16-digit national identity number (REFERENCE 6).

`PP KK CC DDMMYY SSSS`: province, regency (01-69 kabupaten, 71-99 kota), district, birth
date with day + 40 for women, and a serial from 0001. The region part is where the NIK was
first issued and never changes, so it says nothing sure about where a person lives now.

Pure scalar helpers: no Django, no Polars. The bulk path (`registry.validate`) applies the
same rules as Polars expressions and is tested against these functions.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

# The year in a NIK has two digits; the century is chosen so that the person's age falls
# nearest this working-age range (REFERENCE 6: a worker is 15 to about 80).
CENTURY_AGE_MIN = 15
CENTURY_AGE_MAX = 80

_STRIP = re.compile(r"[\s.\-]")
_DIGITS16 = re.compile(r"[0-9]{16}")


@dataclass(frozen=True)
class NikInfo:
    nik: str
    province: str  # "16"
    regency: str  # "1606"
    district: str  # "160601"
    sex: str  # "L" or "P"
    birth_day: int  # the real day, 1-31 (already minus 40 for women)
    birth_month: int
    yy: int  # the two-digit year as written
    birth_date: date
    serial: str  # "0001"


def clean_nik(text: str | None) -> str:
    """Removes what people type around a NIK: spaces, dots, dashes and the leading
    apostrophe Excel users put in to keep a number as text. Returns "" for None."""
    if text is None:
        return ""
    text = str(text).strip()
    if text.startswith("'"):
        text = text[1:]
    return _STRIP.sub("", text)


def age_on(birth: date, today: date) -> int:
    """Completed years on `today`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def infer_century(day: int, month: int, yy: int, today: date) -> date | None:
    """The date for a two-digit year: 19yy or 20yy, whichever is a real date, not in the
    future, and puts the age on `today` nearest the working-age range. None if neither."""
    best: date | None = None
    best_distance = 0
    for century in (2000, 1900):  # on a tie (impossible for a 100-year gap) the younger
        candidate = _real_date(century + yy, month, day)
        if candidate is None or candidate > today:
            continue
        age = age_on(candidate, today)
        distance = max(0, CENTURY_AGE_MIN - age, age - CENTURY_AGE_MAX)
        if best is None or distance < best_distance:
            best, best_distance = candidate, distance
    return best


def parse_nik(text: str | None, today: date) -> NikInfo | None:
    """Reads a NIK (cleaned first, see `clean_nik`). None when it is not 16 digits, its day
    is not 01-31 (men) or 41-71 (women), its month not 01-12, its date not a real calendar
    date in either century (or only in the future), or its serial is 0000."""
    nik = clean_nik(text)
    if not _DIGITS16.fullmatch(nik):
        return None
    dd, mm, yy, serial = int(nik[6:8]), int(nik[8:10]), int(nik[10:12]), nik[12:]
    if 1 <= dd <= 31:
        sex, day = "L", dd
    elif 41 <= dd <= 71:
        sex, day = "P", dd - 40
    else:
        return None
    if not 1 <= mm <= 12 or serial == "0000":
        return None
    birth = infer_century(day, mm, yy, today)
    if birth is None:
        return None
    return NikInfo(
        nik=nik,
        province=nik[:2],
        regency=nik[:4],
        district=nik[:6],
        sex=sex,
        birth_day=day,
        birth_month=mm,
        yy=yy,
        birth_date=birth,
        serial=serial,
    )


def issued_nearby(nik_regency: str, home_regency: str, regency_parents: Mapping[str, str]) -> bool:
    """True when a NIK issued in `nik_regency` is expected for someone living in
    `home_regency`: the same regency, or the regency `home_regency` was split from (people
    there keep the parent's code: Musi Rawas Utara 16.13 from Musi Rawas 16.05). Codes are
    undotted ("1613")."""
    return nik_regency == home_regency or regency_parents.get(home_regency) == nik_regency


def mask_nik(nik: str | None) -> str:
    """'1606010703850001' -> '1606**********01': the first 4 and the last 2 digits stay."""
    if not nik:
        return ""
    if len(nik) <= 6:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 6) + nik[-2:]

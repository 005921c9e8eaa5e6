"""Matching keys for names: respellings folded so that one person's records meet (REFERENCE 6)."""

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kelambu.lib.matchnames import (
    HONORIFICS,
    NOBLE_PREFIXES,
    load_variants,
    match_name,
    match_name_expr,
    name_parts_expr,
)
from kelambu.lib.names import PREFIX_TITLES, normalize_name_expr


def keys(names: list[str | None], variants=None) -> list[str | None]:
    frame = pl.Series("n", names, dtype=pl.String).to_frame()
    return frame.select(match_name_expr(normalize_name_expr(pl.col("n")), variants)).to_series().to_list()


def same_key(*names: str) -> str:
    found = {match_name(n) for n in names}
    assert len(found) == 1, dict(zip(names, [match_name(n) for n in names], strict=True))
    return found.pop()


def test_muhammad_and_saleh_spellings_meet():
    assert same_key(
        "Muhammad Sholeh", "M. Soleh", "Moh Saleh", "Muhamad Soleh", "MOH. SHOLEH",
        "Mochammad Saleh", "Mhd. Shaleh", "Muh Salih", "Mohamad Soleh",
    ) == "muhammad saleh"


def test_single_m_is_muhammad_only_first():
    assert match_name("M. Ali") == "muhammad ali"
    assert match_name("Kgs. M. Yusuf") == "kiagus muhammad yusuf"  # after a noble prefix
    assert match_name("Ali M.") == "ali m"  # an initial of anything
    assert match_name("M") == "m"  # alone, nothing to say it is Muhammad
    assert match_name("Md. Yusuf") == "muhammad yusuf"
    assert match_name("I Md Suarta") == "i md suarta"  # Balinese Made


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("Abdoel Kadir", "Abdul Kadir", "abdul kadir"),
        ("Djoko Santoso", "Joko Santoso", "joko santoso"),
        ("Soetjipto", "Sucipto", "sucipto"),
        ("Sjarifah", "Syarifah", "syarifah"),
        ("Chairul Anwar", "Khairul Anwar", "khairul anwar"),
        ("Dhani", "Dani", "dani"),
        ("Achmad Rifai", "Ahmad Rifai", "ahmad rifai"),
        ("Wahjudi", "Wahyudi", "wahyudi"),
        ("Tjahjono", "Cahyono", "cahyono"),
        ("Yoesoef", "Yusuf", "yusuf"),
        ("Soekirman", "Sukirman", "sukirman"),
    ],
)
def test_old_spelling_meets_new(old, new, key):
    assert same_key(old, new) == key


def test_siti_and_nur():
    assert same_key("Siti Aminah", "Sity Aminah", "Sitti Aminah", "St. Aminah") == "siti aminah"
    assert same_key("Nur Hasanah", "Noor Hasanah", "Nurr Hasanah", "Noer Hasanah") == "nur hasanah"
    assert match_name("Aminah St") == "aminah"  # last, "ST" is a degree (S.T.)


def test_other_listed_variants():
    assert same_key("Abdurrahman", "Abdur Rahman", "Abdul Rahman", "Abd. Rachman")
    assert same_key("Yusuf", "Yusup", "Jusuf")
    assert same_key("Fatimah", "Fatima", "Patimah")
    assert same_key("Khadijah", "Hadijah", "Kadijah", "Chadijah")
    assert same_key("Husin", "Husein", "Husain")
    assert same_key("Zainal Abidin", "Zainul Abidin")
    assert same_key("Kiagus Ahmad", "Kgs. Ahmad", "Ki Agus Ahmad")
    assert same_key("Masagus Ali", "Mgs. Ali")
    assert same_key("Nyimas Aisyah", "Nys. Aisyah")
    assert same_key("Raden Ayu", "Rd. Ayu")
    assert same_key("Kemas Umar", "Kms. Umar")
    assert same_key("Rizky Ferry", "Rizki Feri")
    assert same_key("Ahmad bin Umar", "Ahmad Umar")


def test_different_names_stay_apart():
    assert match_name("Siti Aminah") == match_name("Siti Aminah")
    assert match_name("Siti Aminah") != match_name("Siti Aisyah")
    for a, b in [("Rahman", "Rahmat"), ("Nur", "Nurul"), ("Abdul", "Abdullah"), ("Hasan", "Husin")]:
        assert match_name(a) != match_name(b)


def test_titles_are_dropped():
    assert same_key("Ust. H. Abdul Somad", "Abdul Somad", "Ustadz Abdul Somad")
    assert same_key("K.H. Ahmad Dahlan", "KH Ahmad Dahlan", "Kyai Ahmad Dahlan", "Ahmad Dahlan")
    assert same_key("Pak Slamet", "Bu Pak Slamet", "Mbah Slamet", "Slamet")
    assert same_key("Kgs. H. M. Yusuf", "Kiagus Muhammad Yusuf")


@pytest.mark.parametrize("name", ["Ustadz", "Pak", "Haji", "Bu Pak", "Hj.", "Kyai Haji"])
def test_a_name_that_is_only_a_title_stays(name):
    assert match_name(name) != ""


def test_scalar_matches_expression():
    names = [
        "Muhammad Sholeh", "H. M. Soleh, S.Pd.I", "Djoko Soetjipto", None, "", "St. Aminah",
        "Kgs. H. M. Yusuf", "Noor Hasanah", "Ahmad bin Umar", "Ustadz", "Abdur Rahman",
    ]
    assert keys(names) == [None if n is None else match_name(n) for n in names]


def test_nulls_stay_null():
    assert keys([None, "Siti"]) == [None, "siti"]
    assert match_name(None) == "" and match_name("") == "" and match_name(" , . ") == ""
    parts = pl.Series("k", [None, "", "ali"], dtype=pl.String).to_frame().select(
        **name_parts_expr(pl.col("k"))
    )
    assert parts.row(0) == (None, None, None, None)
    assert parts.row(1) == ("", "", "", "")
    assert parts.row(2) == ("ali", "ali", "ali", "a")


def test_name_parts():
    frame = pl.DataFrame({"k": ["muhammad saleh", "saleh muhammad", "siti nur aminah", "budi"]})
    out = frame.select(**name_parts_expr(pl.col("k")))
    assert out["name_first"].to_list() == ["muhammad", "saleh", "siti", "budi"]
    assert out["name_last"].to_list() == ["saleh", "muhammad", "aminah", "budi"]
    assert out["name_sorted"].to_list() == [
        "muhammad saleh", "muhammad saleh", "aminah nur siti", "budi",
    ]
    assert out["name_initials"].to_list() == ["ms", "sm", "sna", "b"]


# ---------------------------------------------------------------- the variant files


def write(tmp_path, text: str, name: str = "variants.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_variants_load():
    variants = load_variants()
    assert variants["moh"] == "muhammad" and variants["kgs"] == "kiagus"
    assert "m" not in variants  # positional, not a dictionary entry


def test_missing_column_names_file_and_line(tmp_path):
    path = write(tmp_path, "# a comment\n\nvariant,canon\nucup,yusuf\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:3: .*canonical"):
        load_variants(path)


def test_chain_names_file_and_line(tmp_path):
    path = write(tmp_path, "variant,canonical\n# Ucup -> Yusup -> Yusuf\nucup,yusup\n")
    # "yusup" is itself a shipped variant of "yusuf".
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:3: canonical 'yusup'"):
        load_variants(path)
    path = write(tmp_path, "variant,canonical\naa,bb\nbb,cc\n", "chain.csv")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:2: .*'bb'.*chain.csv:3"):
        load_variants(path)


def test_bad_rows_name_file_and_line(tmp_path):
    path = write(tmp_path, "variant,canonical\nucup,\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:2: empty canonical"):
        load_variants(path)
    path = write(tmp_path, "variant,canonical\nabdur rahman,abdul rahman\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:2: variant"):
        load_variants(path)


def test_extra_file_extends_and_overrides(tmp_path):
    assert match_name("Rohman") == match_name("Rahman")
    assert match_name("Ucup") != match_name("Yusuf")
    path = write(tmp_path, "Variant,Canonical\n# nickname used in this village\nUcup,Yusuf\nrohman,rohman\n")
    variants = load_variants(path)
    assert match_name("Ucup", variants) == match_name("Yusup", variants) == "yusuf"
    assert match_name("Rohman", variants) != match_name("Rahman", variants)
    assert load_variants()["rohman"] == "rahman"  # the shipped list is left as it was


def test_variants_that_meet_once_folded_must_agree():
    with pytest.raises(ValueError, match="folded"):
        match_name_expr(pl.col("n"), {"sitti": "siti", "sity": "sita"})


# ---------------------------------------------------------------- the key is a fixed point

_VOCAB = sorted(
    set(load_variants()) | {w for c in load_variants().values() for w in c.split()}
    | set(PREFIX_TITLES) | set(HONORIFICS) | set(NOBLE_PREFIXES)
    | {"m", "md", "st", "bin", "binti", "ki", "agus", "mas", "nyi", "ayu", "k", "h"}
)
# Made-up words from the letters the rules rewrite, so that rewrites meet and chain
# ("t" + "dh" + "j"), with a little of what normalize_name removes.
_PIECES = list("adehijkmoqstuyz") + ["dh", "dj", "tj", "sj", "ch", "oe", "iy", "uloh", "ll", "Y", "0", "'", "é"]
_WORD = st.one_of(
    st.sampled_from(_VOCAB), st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5).map("".join)
)
_NAME = st.lists(_WORD, min_size=1, max_size=5).flatmap(
    lambda words: st.lists(st.sampled_from([" ", ". ", ", ", "  ", "."]), min_size=len(words),
                           max_size=len(words)).map(
        lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True))
    )
)


@settings(max_examples=30, deadline=None)
@given(st.lists(_NAME, min_size=1, max_size=40))
def test_key_is_idempotent_and_plain(names):
    frame = pl.Series("n", names, dtype=pl.String).to_frame()
    out = frame.select(k=match_name_expr(normalize_name_expr(pl.col("n")))).with_columns(
        again=match_name_expr(pl.col("k"))
    )
    assert out["k"].to_list() == out["again"].to_list()
    assert all(re.fullmatch(r"[a-z0-9 ]*", k) for k in out["k"])

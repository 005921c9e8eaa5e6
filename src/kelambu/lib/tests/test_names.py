"""Cleaning and normalizing names as lists write them (REFERENCE 6)."""

import polars as pl
import pytest

from kelambu.lib.names import clean_name, clean_name_expr, normalize_name, normalize_name_expr


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  Siti   Aminah ", "Siti Aminah"),
        ("AHMAD\tFAUZI", "AHMAD FAUZI"),
        ("Ni\u00a0Made  Suastini\n", "Ni Made Suastini"),
        ("H. Ahmad Fauzi, S.Pd.I", "H. Ahmad Fauzi, S.Pd.I"),  # cleaning keeps the name as written
        ("", ""),
        ("   ", ""),
        (None, ""),
    ],
)
def test_clean_name_collapses_whitespace(text, cleaned):
    assert clean_name(text) == cleaned
    if text is not None:
        out = pl.Series([text]).to_frame("n").select(clean_name_expr(pl.col("n"))).item()
        assert out == cleaned


NORMALIZED = [
    ("Siti Aminah", "siti aminah"),
    ("  SITI   AMINAH  ", "siti aminah"),
    # Religious and social titles before the name.
    ("H. Ahmad Fauzi", "ahmad fauzi"),
    ("Hj. Siti Aminah", "siti aminah"),
    ("HAJI SULAIMAN", "sulaiman"),
    ("Hajjah Rohani", "rohani"),
    ("Bpk. Suparman", "suparman"),
    ("Bapak Suparman", "suparman"),
    ("Ibu Mardiana", "mardiana"),
    ("Tn. Rudi Hartono", "rudi hartono"),
    ("Ny. Yanti", "yanti"),
    ("Sdr. Joko", "joko"),
    ("Sdri. Ani", "ani"),
    ("Alm. Zainal Abidin", "zainal abidin"),
    ("Almh. Hasanah", "hasanah"),
    ("Almarhum Zainal", "zainal"),
    ("Almarhumah Hasanah", "hasanah"),
    # Academic titles before, degrees after.
    ("Drs. Bambang Sutrisno", "bambang sutrisno"),
    ("Dra. Nurhayati", "nurhayati"),
    ("Dr. Ir. H. Bambang", "bambang"),
    ("Prof. Dr. Hendra", "hendra"),
    ("Dra.Hj.Nurhayati", "nurhayati"),
    ("AHMAD FAUZI, S.Pd.I", "ahmad fauzi"),
    ("Ahmad Fauzi, S.Pd.I.", "ahmad fauzi"),
    ("Ahmad Fauzi, S. Pd. I", "ahmad fauzi"),
    ("Siti Aminah, S.Pd., M.Pd.", "siti aminah"),
    ("Siti Aminah S.Pd", "siti aminah"),
    ("Dewi Lestari, SE", "dewi lestari"),
    ("Dewi Lestari S.E.", "dewi lestari"),
    ("Rudi, S.H.", "rudi"),
    ("Eko Saputra, S.Sos", "eko saputra"),
    ("Indah, S.Kom", "indah"),
    ("Agus, S.T.", "agus"),
    ("Wahyu, S.IP", "wahyu"),
    ("Rina, A.Md.", "rina"),
    ("Fitri Yanti, S.Ag", "fitri yanti"),
    ("Dedi, M.Si", "dedi"),
    ("Yulianti, S.Kep", "yulianti"),
    ("Susanti, SKM", "susanti"),
    ("Drs. H. Ahmad Fauzi, M.Si", "ahmad fauzi"),
    ("Budi Santoso (Alm)", "budi santoso"),
    ("Budi Santoso, Alm.", "budi santoso"),
    # A comma followed by more than titles is just punctuation.
    ("Fauzi, Ahmad", "fauzi ahmad"),
    ("Aminah, Siti, S.Pd", "aminah siti"),
    ("AHMAD,", "ahmad"),
    # Accents and punctuation.
    ("Ni Made Suástini", "ni made suastini"),
    ("Ma'ruf Amin", "ma ruf amin"),
    ("Abdul-Rahman", "abdul rahman"),
    ("Nur'aini", "nur aini"),
    # A name that is only a title is not emptied.
    ("Haji", "haji"),
    ("IBU", "ibu"),
    ("Drs", "drs"),
    ("H.", "h"),
    (", H.", "h"),
    # Deeper matching (abbreviations, old spellings) is not done here.
    ("M. Yusuf", "m yusuf"),
    ("Muhamad Yusuf", "muhamad yusuf"),
    ("Soekarno", "soekarno"),
    ("St. Aminah", "st aminah"),  # "St." for Siti: not a degree before a name
    ("", ""),
]


@pytest.mark.parametrize(("text", "normalized"), NORMALIZED)
def test_normalize_name(text, normalized):
    assert normalize_name(text) == normalized


def test_the_expression_and_the_scalar_agree():
    texts = [text for text, _ in NORMALIZED]
    out = pl.Series("n", texts + [None], dtype=pl.String).to_frame().select(normalize_name_expr(pl.col("n")))
    assert out["n"].to_list() == [normalized for _, normalized in NORMALIZED] + [None]


def test_none_normalizes_to_empty():
    assert normalize_name(None) == ""


def test_title_words_inside_a_name_stay():
    # Only leading titles and trailing degrees are taken.
    assert normalize_name("Siti Ibu Aminah") == "siti ibu aminah"
    assert normalize_name("Ahmad Haji Umar") == "ahmad haji umar"
    assert normalize_name("Ahmad Hjx") == "ahmad hjx"

import re
from collections import Counter
from datetime import date, datetime

import polars as pl
import pytest
from lokal import wilayah
from lokal.nik import parse_nik

from kelambu.lib import columns, issues, vocab
from kelambu.synth import names as N
from kelambu.synth.generate import (
    CORRUPTION_KINDS,
    ERROR_ISSUES,
    SOURCES,
    STYLES,
    TODAY,
    generate,
    old_spelling,
    write,
)

BASE = wilayah._base()
DESA = wilayah._desa()


@pytest.fixture(scope="module")
def p3ke():
    return generate(3000, 11)


@pytest.fixture(scope="module")
def p3ke_dups():
    return generate(2000, 12, duplicates=0.5)


@pytest.fixture(scope="module")
def village():
    return generate(4000, 13, source="village")


def originals(result) -> pl.DataFrame:
    return result.records.with_columns(result.truth).filter(pl.col("corruptions") == "none")


def field(result, name):
    return result.columns[name]


def birth_date(result, text: str) -> date:
    return datetime.strptime(text, result.style.date_format).date()


# ------------------------------------------------------------------ determinism


def test_same_arguments_give_the_same_bytes(tmp_path):
    for suffix in ("csv", "xlsx"):
        a, b = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
        write(generate(300, 5, duplicates=0.2, errors=0.05), a, truth=tmp_path / "ta.csv")
        write(generate(300, 5, duplicates=0.2, errors=0.05), b, truth=tmp_path / "tb.csv")
        assert a.read_bytes() == b.read_bytes()
        assert (tmp_path / "ta.csv").read_bytes() == (tmp_path / "tb.csv").read_bytes()
    assert not generate(300, 6).records.equals(generate(300, 5).records)


def test_adding_duplicates_leaves_the_people_unchanged():
    plain = originals(generate(500, 3))
    noisy = originals(generate(500, 3, duplicates=0.3))
    cols = ["NIK", "Nama Lengkap", "Tanggal Lahir", "No KK", "Kode Desa"]
    assert plain.select(cols).sort("NIK").equals(noisy.select(cols).sort("NIK"))


# ------------------------------------------------------------------ shape of each source


@pytest.mark.parametrize("source", SOURCES)
def test_headers_are_recognised_and_cells_are_text(source):
    result = generate(200, 1, source=source)
    style = STYLES[source]
    assert result.records.columns == [h for _, h in style.headers]
    for fld, header in style.headers:
        assert columns.field_for_header(header) == fld
    assert all(dtype == pl.Utf8 for dtype in result.records.dtypes)
    ids = result.records[style.columns["record_id"]]
    assert ids.n_unique() == result.records.height
    assert ids.str.contains(rf"^{style.prefix}-16(06|03|13)-\d{{7}}$").all()
    birth = result.records[style.columns["birth_date"]].to_list()
    assert all(birth_date(result, b) for b in birth)
    sexes = set(result.records[style.columns["sex"]])
    assert sexes == set(style.sex_labels)


@pytest.mark.parametrize("source", SOURCES)
def test_categories_and_occupations_use_words_vocab_knows(source):
    result = generate(1500, 2, source=source)
    cats, occs = vocab.category_lookup(), vocab.occupation_lookup()
    for text in result.records[field(result, "category")].unique().to_list():
        assert columns.header_key(text) in cats, text
    for text in result.records[field(result, "occupation")].drop_nulls().unique().to_list():
        assert columns.header_key(text) in occs, text


def test_case_follows_the_source(p3ke, village):
    names = p3ke.records["Nama Lengkap"].to_list()
    assert all(n == n.upper() for n in names)
    assert any(n != n.upper() for n in village.records["Nama"].to_list())


# ------------------------------------------------------------------ NIK, KK, people


@pytest.mark.parametrize("source", ["p3ke", "dtsen", "village"])
def test_nik_is_valid_and_agrees_with_birth_date_sex_and_regions(source):
    result = generate(1500, 21, source=source, duplicates=0.2)
    cols = result.columns
    male, _ = result.style.sex_labels
    for row in result.records.iter_rows(named=True):
        nik = row[cols["nik"]]
        if nik is None:  # a duplicate whose NIK is missing
            continue
        info = parse_nik(nik, reference_date=TODAY)
        assert info.valid, (nik, info.errors)
        assert info.birth_date == birth_date(result, row[cols["birth_date"]]).isoformat()
        assert info.gender == ("L" if row[cols["sex"]] == male else "P")
        assert info.district_code in BASE
        kk = row[cols["kk"]]
        assert re.fullmatch(r"\d{16}", kk)
        assert f"{kk[:2]}.{kk[2:4]}.{kk[4:6]}" in BASE
        assert row[cols["village_code"]] in DESA
    niks = result.records[cols["nik"]].drop_nulls()
    assert niks.n_unique() == niks.len()


def test_women_have_day_plus_40(p3ke):
    rows = p3ke.records.filter(pl.col("Jenis Kelamin") == "Perempuan")
    assert rows.height > 300
    days = rows["NIK"].str.slice(6, 2).cast(pl.Int32)
    assert days.min() >= 41 and days.max() <= 71


def test_serials_start_at_0001(p3ke):
    serials = p3ke.records["NIK"].str.slice(12, 4).cast(pl.Int32)
    assert serials.min() == 1
    assert (serials == 1).sum() > p3ke.records.height / 2


def test_musi_rawas_utara_people_carry_musi_rawas_niks():
    result = generate(3000, 4, regencies=("16.13", "16.06"))
    rows = originals(result)
    niks_1613 = rows.filter(pl.col("Kode Desa").str.starts_with("16.13."))["NIK"].str.slice(0, 4)
    share_1605 = (niks_1613 == "1605").mean()
    assert 0.8 < share_1605 < 0.95
    assert set(rows["NIK"].str.slice(0, 4)) <= {k.replace(".", "") for k in BASE if len(k) == 5}
    niks_1606 = rows.filter(pl.col("Kode Desa").str.starts_with("16.06."))["NIK"].str.slice(0, 4)
    moved_in = (niks_1606 != "1606").mean()
    assert 0.01 < moved_in < 0.06  # about 3% moved in from another regency of the province
    assert (niks_1606.str.slice(0, 2) == "16").all()


def test_people_spread_over_the_real_villages_of_the_regencies(p3ke):
    codes = p3ke.records["Kode Desa"]
    assert set(codes.str.slice(0, 5)) == {"16.06", "16.03", "16.13"}
    assert codes.n_unique() > 400
    assert codes.is_in(list(DESA)).all()


def test_households_share_kk_address_village_and_decile(p3ke):
    groups = originals(p3ke).group_by("No KK").agg(
        pl.len(), pl.col("Alamat").n_unique().alias("addr"), pl.col("Kode Desa").n_unique().alias("vil"),
        pl.col("Desil").n_unique().alias("dec"),
    )
    assert groups["len"].max() == 3
    assert (groups["len"] > 1).sum() > 300
    assert (groups.select("addr", "vil", "dec") == 1).to_numpy().all()


def test_addresses_look_like_indonesian_addresses(p3ke):
    addr = p3ke.records["Alamat"]
    assert addr.str.contains(r"^(DUSUN|DSN\.|RT|JL\.|LR\.) ").all()
    assert addr.str.contains(r"RT \d{2,3}").mean() > 0.7


def test_ages_are_mostly_working_age(p3ke):
    births = [birth_date(p3ke, t) for t in p3ke.records["Tanggal Lahir"]]
    ages = [(TODAY - b).days / 365.2425 for b in births]
    n = len(ages)
    assert sum(18 <= a < 65 for a in ages) / n > 0.95
    outside = sum(a < 15 or a >= 81 for a in ages) / n
    assert 0.001 < outside < 0.012


def test_phones(p3ke):
    phones = p3ke.records["No HP"]
    assert 0.25 < phones.null_count() / phones.len() < 0.35
    assert phones.drop_nulls().str.contains(r"^08\d{9,11}$").all()


def test_names_match_sex_and_mix_traditions(p3ke):
    rows = originals(p3ke)
    male_only = {n.upper() for n in N.M_JAWA_SINGLE} - {n.upper() for n in N.F_JAWA_SINGLE}
    female_only = {n.upper() for n in N.F_JAWA_SINGLE}
    for name, sex in rows.select("Nama Lengkap", "Jenis Kelamin").iter_rows():
        if name in male_only:
            assert sex == "Laki-laki", name
        if name in female_only:
            assert sex == "Perempuan", name
        if name.split(" ")[0] in ("SITI", "SITY", "SITTI", "HJ."):
            assert sex == "Perempuan", name
    words = Counter(len(n.split(" ")) for n in rows["Nama Lengkap"])
    assert words[1] and words[2] and words[3]
    firsts = set(rows["Nama Lengkap"].str.split(" ").list.first())
    assert {"MUHAMMAD", "MUHAMAD", "SITI"} <= firsts
    assert len(rows["Nama Lengkap"].unique()) > 1500


def test_old_spelling():
    assert old_spelling("Joko Wahyudi") == "Djoko Wahjoedi"
    assert old_spelling("Sutrisno") == "Soetrisno"
    assert old_spelling("Cahyono") == "Tjahjono"
    assert old_spelling("Syamsul Khairul") == "Sjamsoel Chairoel"


# ------------------------------------------------------------------ deciles and categories


def test_decile_proportions_by_source(p3ke):
    shares = p3ke.records["Desil"].value_counts(normalize=True)
    assert set(shares["Desil"]) == {"1", "2", "3", "4"}
    assert ((shares["proportion"] - 0.25).abs() < 0.04).all()

    dtsen = generate(4000, 8, source="dtsen").records["Desil Kesejahteraan"]
    shares = dtsen.value_counts(normalize=True)
    assert set(shares["Desil Kesejahteraan"]) == {str(d) for d in range(1, 11)}
    assert ((shares["proportion"] - 0.1).abs() < 0.03).all()

    for source in ("village", "sponsor", "other"):
        assert "decile" not in generate(50, 1, source=source).columns


def test_p3ke_lists_informal_workers_of_south_sumatra(p3ke):
    assert set(p3ke.records["Kategori"]) == {"Pekerja Informal"}
    occ = vocab.occupation_lookup()
    codes = Counter(occ[columns.header_key(t)] for t in p3ke.records["Pekerjaan"])
    top = [c for c, _ in codes.most_common(4)]
    assert "petani_karet" in top and "buruh_harian" in top
    assert {"petani_sawit", "nelayan", "ojek", "pedagang", "tukang_becak"} <= set(codes)


def test_village_category_mix(village):
    cats = vocab.category_lookup()
    rows = village.records.with_columns(
        pl.col("Jabatan").map_elements(lambda t: cats[columns.header_key(t)], return_dtype=pl.Utf8).alias("cat")
    )
    per_village = rows.group_by("Kode Desa/Kelurahan").agg(
        *[(pl.col("cat") == c).sum().alias(c) for c in vocab.VILLAGE_WORKERS],
        (pl.col("cat") == "informal").sum().alias("informal"),
    )
    assert per_village.height > 50
    full = per_village.filter(pl.col("kader") > 0)  # the last village may be cut short
    assert (full["kepala_desa"] == 1).all()
    assert full["perangkat_desa"].is_between(8, 12).all()
    assert full["bpd"].is_between(5, 9).all()
    assert full["rt_rw"].is_between(10, 30).all()
    assert full["linmas"].is_between(5, 10).all()
    assert full["guru_ngaji"].is_between(3, 6).all()
    assert full["kader"].is_between(5, 10).all()
    farmers = rows.filter(pl.col("cat") == "informal")
    assert abs(farmers.height / rows.height - 0.08) < 0.005
    assert set(farmers["Pekerjaan"]) == {"Petani Sawit"}
    assert rows.filter(pl.col("cat") != "informal")["Pekerjaan"].null_count() == rows.height - farmers.height
    assert (rows["Kode Desa/Kelurahan"].str.slice(9, 1) == "2").all()  # desa, not kelurahan
    assert rows.filter(pl.col("Jabatan") == "Sekretaris Desa").height == rows.filter(pl.col("cat") == "kepala_desa").height
    kader_sex = rows.filter(pl.col("cat") == "kader")["L/P"]
    assert (kader_sex == "P").mean() > 0.85


def test_a_village_list_larger_than_one_pass_keeps_one_head_per_village():
    result = generate(40_000, 1, source="village", regencies=("16.13",))
    cats = vocab.category_lookup()
    heads = result.records.filter(
        pl.col("Jabatan").map_elements(lambda t: cats[columns.header_key(t)], return_dtype=pl.Utf8) == "kepala_desa"
    )
    assert heads["Kode Desa/Kelurahan"].n_unique() == heads.height
    assert result.records.height == 40_000


def test_sponsor_lists_cluster_around_the_company(p3ke):
    sponsor = generate(3000, 11, source="sponsor", regencies=("16.13",))
    top2 = sponsor.records["Kode Kemendagri"].str.slice(0, 8).value_counts(sort=True)["count"][:2].sum()
    assert top2 / 3000 > 0.5
    occ = vocab.occupation_lookup()
    codes = Counter(occ[columns.header_key(t)] for t in sponsor.records["Pekerjaan"])
    assert codes.most_common(1)[0][0] == "petani_sawit"


# ------------------------------------------------------------------ duplicates and truth


def test_duplicates_rate_and_truth_consistency(p3ke_dups, tmp_path):
    result = p3ke_dups
    assert result.records.height == 3000 and result.duplicates == 1000
    truth = result.truth
    assert truth.columns == ["record_id", "person_key", "corruptions"]
    assert truth["record_id"].equals(result.records["ID"].alias("record_id"))
    orig = truth.filter(pl.col("corruptions") == "none")
    dups = truth.filter(pl.col("corruptions") != "none")
    assert orig.height == 2000 and orig["person_key"].n_unique() == 2000
    assert dups["person_key"].is_in(orig["person_key"].implode()).all()
    kinds = Counter(k for c in dups["corruptions"] for k in c.split("+"))
    assert set(kinds) == set(CORRUPTION_KINDS)
    # duplicates are shuffled in, not appended
    positions = [i for i, c in enumerate(truth["corruptions"]) if c != "none"]
    assert positions[0] < 500 and positions[-1] > 2500

    path = tmp_path / "truth.csv"
    write(result, tmp_path / "list.csv", truth=path)
    assert pl.read_csv(path, infer_schema=False).equals(truth)


def test_a_duplicate_never_repeats_its_originals_nik(p3ke_dups):
    rows = p3ke_dups.records.with_columns(p3ke_dups.truth)
    orig = rows.filter(pl.col("corruptions") == "none").select("person_key", pl.col("NIK").alias("orig_nik"),
                                                               pl.col("Tanggal Lahir").alias("orig_birth"),
                                                               pl.col("Nama Lengkap").alias("orig_name"),
                                                               pl.col("Kode Desa").alias("orig_village"),
                                                               pl.col("No KK").alias("orig_kk"))
    dups = rows.filter(pl.col("corruptions") != "none").join(orig, on="person_key")
    assert rows["NIK"].drop_nulls().is_duplicated().sum() == 0
    for d in dups.iter_rows(named=True):
        kinds = d["corruptions"].split("+")
        assert d["NIK"] != d["orig_nik"]
        assert ("nik_missing" in kinds) == (d["NIK"] is None)
        if "nik_typo" in kinds and "date_swap" not in kinds:
            diff = [i for i in range(16) if d["NIK"][i] != d["orig_nik"][i]]
            assert 1 <= len(diff) <= 2 and set(diff) <= {4, 5, 12, 13, 14, 15}
        if "date_swap" in kinds:
            a, b = d["orig_birth"].split("-"), d["Tanggal Lahir"].split("-")
            assert (a[0], a[1], a[2]) == (b[1], b[0], b[2])
        else:
            assert d["Tanggal Lahir"] == d["orig_birth"]
        if "moved" in kinds:
            assert d["Kode Desa"] != d["orig_village"] and d["Kode Desa"][:5] == d["orig_village"][:5]
            assert d["No KK"] != d["orig_kk"]
        else:
            assert d["Kode Desa"] == d["orig_village"] and d["No KK"] == d["orig_kk"]
        if not {"respell", "abbreviate", "nickname", "title"} & set(kinds):
            assert d["Nama Lengkap"] == d["orig_name"]
        else:
            assert d["Nama Lengkap"] != d["orig_name"]


def test_name_corruptions_look_like_real_ones(p3ke_dups):
    rows = p3ke_dups.records.with_columns(p3ke_dups.truth)
    names = rows.filter(pl.col("corruptions").str.contains("abbreviate"))["Nama Lengkap"]
    assert names.str.contains(r"\b[A-Z][a-zA-Z]{0,3}\.").all()
    titled = rows.filter(pl.col("corruptions").str.contains("title"))["Nama Lengkap"]
    assert titled.str.contains(r"^(H|HJ|DRS|DRA|IR|UST)\. |, [A-Z.]+$").all()


# ------------------------------------------------------------------ errors


def test_errors_are_injected_the_ways_real_lists_break():
    result = generate(3000, 31, errors=0.1)
    rows = result.records.with_columns(result.truth)
    bad = rows.filter(pl.col("corruptions") != "none")
    assert bad.height == result.errors == 300
    assert set(bad["corruptions"]) == set(ERROR_ISSUES)
    checks = {
        "err_nik_15": lambda r: re.fullmatch(r"\d{15}", r["NIK"]),
        "err_nik_scientific": lambda r: re.fullmatch(r"\d\.\d{5}E\+15", r["NIK"]),
        "err_nik_excel_zero": lambda r: r["NIK"].endswith("0000") and len(r["NIK"]) == 16,
        "err_birth_date": lambda r: r["Tanggal Lahir"].startswith("31-02-"),
        "err_name_empty": lambda r: r["Nama Lengkap"] is None,
        "err_name_dash": lambda r: r["Nama Lengkap"] == "-",
        "err_decile": lambda r: r["Desil"] == "7",
        "err_village": lambda r: r["Kode Desa"].endswith(".99.9999") and r["Kode Desa"] not in DESA,
        "err_sex": lambda r: r["Jenis Kelamin"] == "X",
    }
    for r in bad.iter_rows(named=True):
        assert checks[r["corruptions"]](r), r
    good = rows.filter(pl.col("corruptions") == "none")
    assert good["NIK"].str.contains(r"^\d{16}$").all()
    assert good["Desil"].is_in(["1", "2", "3", "4"]).all()
    assert (good["Nama Lengkap"].str.len_chars() > 2).all()
    assert good["NIK"].is_duplicated().sum() == 0


def test_error_kinds_name_issues_of_the_catalogue():
    assert set(ERROR_ISSUES.values()) <= set(issues.ROW_CODES)
    rejected = {k for k, code in ERROR_ISSUES.items() if code in issues.ERROR_CODES}
    assert rejected == set(ERROR_ISSUES) - {"err_name_dash"}


def test_no_decile_error_in_a_list_without_deciles():
    result = generate(500, 3, source="village", errors=0.2)
    kinds = set(result.truth["corruptions"]) - {"none"}
    assert "err_decile" not in kinds
    assert any(r.startswith("31/02/") for r in result.records["Tgl. Lahir"])


# ------------------------------------------------------------------ xlsx and arguments


def test_xlsx_writes_identifiers_as_text(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    result = generate(120, 4, source="dtsen", duplicates=0.1)
    path = tmp_path / "dtsen.xlsx"
    write(result, path)
    ws = openpyxl.load_workbook(path, read_only=False)["DTSEN"]
    header = [c.value for c in ws[1]]
    assert header == result.records.columns
    nik_col = header.index("NIK") + 1
    kk_col = header.index("Nomor KK") + 1
    phone_col = header.index("Nomor HP") + 1
    assert ws.max_row == 133
    for row in range(2, ws.max_row + 1):
        for col in (nik_col, kk_col, phone_col):
            cell = ws.cell(row, col)
            if cell.value is not None:
                assert cell.data_type == "s" and isinstance(cell.value, str), (row, col, cell.value)
                assert cell.number_format == "@"
    values = [ws.cell(r, nik_col).value for r in range(2, ws.max_row + 1)]
    assert values == result.records["NIK"].to_list()


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate(10, 1, source="bpjs")
    with pytest.raises(ValueError):
        generate(10, 1, regencies=("99.99",))
    with pytest.raises(ValueError):
        generate(0, 1)
    with pytest.raises(ValueError):
        generate(10, 1, errors=2)
    with pytest.raises(ValueError):
        write(generate(10, 1), "out.json")
    assert generate(10, 1, regencies="1606").records["Kode Desa"].str.starts_with("16.06.").all()

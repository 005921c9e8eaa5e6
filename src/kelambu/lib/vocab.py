"""Worker categories and occupations, with the words lists use for them.

Categories are who a person is to a program (the seed programs fund informal workers,
village officials, non-ASN, teachers); occupations are what an informal worker does.
Labels are (Bahasa Indonesia, English).
"""

from .columns import header_key

CATEGORIES: dict[str, tuple[str, str]] = {
    "informal": ("Pekerja rentan informal", "Informal vulnerable worker"),
    "kepala_desa": ("Kepala desa", "Village head"),
    "perangkat_desa": ("Perangkat desa", "Village official"),
    "bpd": ("Anggota BPD", "Village council member (BPD)"),
    "rt_rw": ("Ketua RT/RW", "Neighbourhood head (RT/RW)"),
    "linmas": ("Linmas", "Village guard (linmas)"),
    "guru_ngaji": ("Guru ngaji", "Quran teacher (guru ngaji)"),
    "kader": ("Kader", "Volunteer (kader)"),
    "non_asn": ("Non-ASN", "Non-civil-servant government worker (non-ASN)"),
    "guru": ("Guru", "Teacher"),
    "lainnya": ("Lainnya", "Other"),
}

# Categories that make up the village-worker ecosystem (REFERENCE 2, Muara Enim).
VILLAGE_WORKERS = ("kepala_desa", "perangkat_desa", "bpd", "rt_rw", "linmas", "guru_ngaji", "kader")

CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "informal": ("informal", "pekerja informal", "pekerja rentan", "pekerja rentan informal", "bpu", "bukan penerima upah", "vulnerable worker"),
    "kepala_desa": ("kepala desa", "kades", "kepala kampung", "lurah", "pj kepala desa", "village head"),
    "perangkat_desa": ("perangkat desa", "perangkat", "sekdes", "sekretaris desa", "kaur", "kasi", "kadus", "kepala dusun", "operator desa", "village official"),
    "bpd": ("bpd", "anggota bpd", "ketua bpd", "badan permusyawaratan desa"),
    "rt_rw": ("rt/rw", "rt rw", "rt", "rw", "ketua rt", "ketua rw"),
    "linmas": ("linmas", "hansip", "perlindungan masyarakat"),
    "guru_ngaji": ("guru ngaji", "guru mengaji", "ustadz", "ustadzah", "marbot", "imam masjid"),
    "kader": ("kader", "kader posyandu", "kader pkk", "kader kb"),
    "non_asn": ("non asn", "non-asn", "honorer", "pppk paruh waktu", "tenaga honorer", "thl"),
    "guru": ("guru", "guru honorer", "pengajar", "teacher"),
    "lainnya": ("lainnya", "lain lain", "other"),
}

OCCUPATIONS: dict[str, tuple[str, str]] = {
    "tukang_becak": ("Tukang becak", "Pedicab driver"),
    "buruh_harian": ("Buruh harian lepas", "Day labourer"),
    "petani": ("Petani", "Farmer"),
    "petani_sawit": ("Petani sawit", "Oil-palm farmer"),
    "petani_karet": ("Petani karet", "Rubber farmer"),
    "nelayan": ("Nelayan", "Fisher"),
    "pedagang": ("Pedagang kecil", "Small trader"),
    "pekerja_lepas": ("Pekerja lepas", "Freelance worker"),
    "ojek": ("Ojek / ojol", "Motorcycle taxi driver"),
    "sopir": ("Sopir", "Driver"),
    "kurir": ("Kurir", "Courier"),
    "tukang_bangunan": ("Tukang bangunan", "Construction labourer"),
    "peternak": ("Peternak", "Livestock keeper"),
    "asisten_rumah_tangga": ("Asisten rumah tangga", "Domestic worker"),
    "penjahit": ("Penjahit", "Tailor"),
    "pemulung": ("Pemulung", "Waste picker"),
    "lainnya": ("Lainnya", "Other"),
}

# Occupations of transport workers, whose PP 50/2025 discount window differs (REFERENCE 3).
TRANSPORT_OCCUPATIONS = ("ojek", "sopir", "kurir", "tukang_becak")

OCCUPATION_ALIASES: dict[str, tuple[str, ...]] = {
    "tukang_becak": ("tukang becak", "becak", "penarik becak", "pengayuh becak"),
    "buruh_harian": ("buruh harian", "buruh harian lepas", "bhl", "buruh", "kuli", "day labourer"),
    "petani": ("petani", "tani", "petani/pekebun", "pekebun", "buruh tani", "petani padi", "farmer"),
    "petani_sawit": ("petani sawit", "pekebun sawit", "petani kelapa sawit", "buruh sawit", "oil palm farmer"),
    "petani_karet": ("petani karet", "penyadap karet", "pekebun karet", "buruh karet"),
    "nelayan": ("nelayan", "nelayan/perikanan", "fisher", "fisherman"),
    "pedagang": ("pedagang", "pedagang kecil", "pedagang kaki lima", "pkl", "warung", "trader"),
    "pekerja_lepas": ("pekerja lepas", "freelance", "serabutan", "wiraswasta"),
    "ojek": ("ojek", "ojol", "opang", "ojek online", "ojek pangkalan", "tukang ojek"),
    "sopir": ("sopir", "supir", "driver", "pengemudi"),
    "kurir": ("kurir", "courier"),
    "tukang_bangunan": ("tukang bangunan", "tukang", "tukang batu", "tukang kayu", "kuli bangunan"),
    "peternak": ("peternak", "peternakan"),
    "asisten_rumah_tangga": ("asisten rumah tangga", "art", "pembantu rumah tangga", "prt"),
    "penjahit": ("penjahit",),
    "pemulung": ("pemulung",),
    "lainnya": ("lainnya", "lain lain", "other"),
}

_CATEGORY_LOOKUP = {header_key(a): code for code, aliases in CATEGORY_ALIASES.items() for a in aliases}
_CATEGORY_LOOKUP.update({header_key(code): code for code in CATEGORIES})
_OCCUPATION_LOOKUP = {header_key(a): code for code, aliases in OCCUPATION_ALIASES.items() for a in aliases}
_OCCUPATION_LOOKUP.update({header_key(code): code for code in OCCUPATIONS})


def category_lookup() -> dict[str, str]:
    """Folded alias (see `columns.header_key`) -> category code."""
    return dict(_CATEGORY_LOOKUP)


def occupation_lookup() -> dict[str, str]:
    """Folded alias (see `columns.header_key`) -> occupation code."""
    return dict(_OCCUPATION_LOOKUP)


def category_label(code: str | None, lang: str = "id") -> str:
    if not code:
        return ""
    labels = CATEGORIES.get(code)
    return (labels[0] if lang == "id" else labels[1]) if labels else code


def occupation_label(code: str | None, lang: str = "id") -> str:
    if not code:
        return ""
    labels = OCCUPATIONS.get(code)
    return (labels[0] if lang == "id" else labels[1]) if labels else code

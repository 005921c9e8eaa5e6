"""The canonical columns of a beneficiary list and the headers they go by.

P3KE and DTSEN export columns are not fixed (REFERENCE 7), so lists are read by header:
case, spacing and punctuation are ignored, Indonesian and English aliases accepted.
"""

import re
import unicodedata

# Canonical field -> accepted headers (compared after `header_key`).
ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": ("record_id", "id", "record id", "id record", "no urut", "id peserta", "id keluarga p3ke", "id art"),
    "nik": ("nik", "no nik", "nomor nik", "nomor induk kependudukan", "nik ktp", "national id"),
    "kk": ("kk", "no kk", "nomor kk", "no. kk", "nomor kartu keluarga", "no kartu keluarga", "family card", "family card number"),
    "name": ("nama", "nama lengkap", "nama peserta", "nama penerima", "name", "full name"),
    "sex": ("jk", "jenis kelamin", "l/p", "l-p", "lp", "kelamin", "sex", "gender"),
    "birth_date": ("tgl lahir", "tanggal lahir", "tgl. lahir", "tanggal lahir (dd-mm-yyyy)", "birth date", "date of birth", "dob"),
    "address": ("alamat", "alamat lengkap", "alamat domisili", "address"),
    "village_code": ("kode desa", "kode wilayah", "kode kelurahan", "kode desa/kelurahan", "kode kemendagri", "village code", "region code"),
    "decile": ("desil", "desil kesejahteraan", "peringkat kesejahteraan", "decile", "welfare decile"),
    "occupation": ("pekerjaan", "jenis pekerjaan", "profesi", "occupation", "job"),
    "category": ("kategori", "kategori pekerja", "jabatan", "category", "worker category"),
    "phone": ("no hp", "nomor hp", "no. hp", "no telp", "nomor telepon", "telepon", "hp", "no wa", "phone", "phone number", "mobile"),
}

# A list without these cannot make a person; the whole file is refused (MISSING_COLUMN).
REQUIRED = ("nik", "name")

FIELDS = tuple(ALIASES)

_PUNCT = re.compile(r"[^0-9a-z/]+")


def header_key(header: str) -> str:
    """Folds a header for comparison: 'Tgl. Lahir ' and 'TGL LAHIR' are the same key."""
    text = unicodedata.normalize("NFKD", str(header)).encode("ascii", "ignore").decode()
    text = text.lower().replace("\ufeff", "")
    return " ".join(_PUNCT.sub(" ", text).split())


_LOOKUP = {header_key(alias): field for field, aliases in ALIASES.items() for alias in aliases}


def field_for_header(header: str) -> str | None:
    """The canonical field a header names, or None for a column Kelambu does not use."""
    return _LOOKUP.get(header_key(header))

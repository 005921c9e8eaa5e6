"""The catalogue of import problems: a stable code, a severity, the field it concerns and
a message in Bahasa Indonesia and English.

Row issues are stored on each staged row as their codes; the message is rendered from
this catalogue with the row number and the list's own column header, so a report always
says which row, which column and what is wrong. File issues refuse the whole file.
"""

from dataclasses import dataclass

ERROR = "error"  # the row is rejected
WARNING = "warning"  # the row is accepted and flagged
HELD = "held"  # the row changes nothing until the region that owns the person decides
FILE = "file"  # the whole file is refused


@dataclass(frozen=True)
class IssueType:
    code: str
    severity: str
    field: str | None
    message_id: str
    message_en: str


_CATALOGUE = [
    # --- row errors ---
    IssueType("NIK_FORMAT", ERROR, "nik",
              "NIK harus 16 angka dan bagian tanggalnya harus tanggal yang ada",
              "NIK must be 16 digits with a real date in its date part"),
    IssueType("NIK_EXCEL_MANGLED", ERROR, "nik",
              "NIK rusak oleh Excel (notasi ilmiah atau sel angka yang memotong digit terakhir); ketik ulang sebagai teks",
              "NIK damaged by Excel (scientific notation, or a number cell that dropped the last digit); retype it as text"),
    IssueType("NIK_BIRTHDATE_MISMATCH", ERROR, "nik",
              "Tanggal lahir dalam NIK tidak sama dengan kolom tanggal lahir",
              "The birth date inside the NIK disagrees with the birth-date column"),
    IssueType("NIK_SEX_MISMATCH", ERROR, "nik",
              "Jenis kelamin menurut NIK (tanggal +40 untuk perempuan) tidak sama dengan kolom jenis kelamin",
              "The sex implied by the NIK (day + 40 for women) disagrees with the sex column"),
    IssueType("NIK_REGION_UNKNOWN", ERROR, "nik",
              "Kode provinsi/kabupaten/kecamatan dalam NIK tidak ada",
              "The province/regency/district code inside the NIK does not exist"),
    IssueType("BIRTHDATE_INVALID", ERROR, "birth_date",
              "Tanggal lahir tidak dapat dibaca atau tidak mungkin",
              "The birth date cannot be read or is impossible"),
    IssueType("NAME_MISSING", ERROR, "name",
              "Nama kosong", "The name is empty"),
    # The lengths are the database columns' (registry.models); a test holds them equal.
    IssueType("NAME_TOO_LONG", ERROR, "name",
              "Nama terlalu panjang: paling banyak 255 karakter; nama tidak disimpan, perpendek lalu impor ulang",
              "The name is too long: at most 255 characters; it was not stored, shorten it and import the row again"),
    IssueType("RECORD_ID_TOO_LONG", ERROR, "record_id",
              "ID baris terlalu panjang: paling banyak 100 karakter; ID tidak disimpan, perpendek lalu impor ulang",
              "The record id is too long: at most 100 characters; it was not stored, shorten it and import the row "
              "again"),
    IssueType("REGION_UNKNOWN", ERROR, "village_code",
              "Kode desa/kelurahan tidak ada dalam daftar wilayah Kemendagri",
              "The village code is not in the Kemendagri region list"),
    IssueType("DECILE_INVALID", ERROR, "decile",
              "Desil di luar skala sumber data (P3KE 1-4, DTSEN 1-10)",
              "The decile is outside the source's scale (P3KE 1-4, DTSEN 1-10)"),
    IssueType("DUPLICATE_IN_FILE", ERROR, "nik",
              "NIK yang sama sudah ada di baris sebelumnya dalam berkas ini; baris pertama yang dipakai",
              "The same NIK appears on an earlier row of this file; the first row is kept"),
    IssueType("SEX_INVALID", ERROR, "sex",
              "Jenis kelamin harus L atau P", "Sex must be L (male) or P (female)"),
    IssueType("OUT_OF_SCOPE", ERROR, "village_code",
              "Desa berada di luar wilayah akun Anda (atau kosong), jadi orang ini tidak dapat Anda tambahkan",
              "The village is outside your account's area (or empty), so you cannot add this person"),
    # --- rows held for the owning region (nothing changed, nothing of the person revealed) ---
    IssueType("HELD_OTHER_REGION", HELD, "nik",
              "NIK ini terdaftar atas orang yang tinggal di luar wilayah akun Anda; tidak ada yang diubah. Baris "
              "ditahan sampai wilayah tempat orang itu tinggal mengonfirmasi kepindahannya. Jika NIK salah, "
              "perbaiki dan impor ulang baris ini",
              "This NIK belongs to a person living outside your account's area; nothing was changed. The row is "
              "held until the region where that person lives confirms the move. If the NIK is wrong, correct it "
              "and import the row again"),
    IssueType("HELD_UNVERIFIED", HELD, "nik",
              "Orang baru dari daftar perusahaan: kabupaten/kota memverifikasinya sebelum masuk registrasi",
              "A new person from a company's list: the regency verifies them before they enter the registry"),
    IssueType("HELD_NEW_LIMIT", HELD, "nik",
              "Batas orang baru akun Anda untuk 30 hari sudah tercapai; baris ditahan sampai operator kabupaten "
              "mengonfirmasinya",
              "Your account's limit of new people for 30 days is reached; the row is held until a regency "
              "operator confirms it"),
    # --- row warnings ---
    IssueType("NIK_MISSING", WARNING, "nik",
              "NIK kosong: orang ini dicatat tanpa NIK dan belum dapat didaftarkan",
              "No NIK: this person is recorded without one and cannot be enrolled yet"),
    IssueType("NIK_REGION_DIFFERS", WARNING, "nik",
              "NIK diterbitkan di wilayah lain (wajar bila pindah domisili)",
              "The NIK was issued in another region (normal when someone has moved)"),
    IssueType("AGE_OUT_OF_RANGE", WARNING, "birth_date",
              "Umur di luar rentang usia kerja yang diharapkan",
              "Age is outside the expected working-age range"),
    IssueType("NAME_SUSPICIOUS", WARNING, "name",
              "Nama tampak tidak wajar (berisi angka, satu huruf, atau hanya tanda baca)",
              "The name looks wrong (digits, a single letter, or only punctuation)"),
    IssueType("KK_FORMAT", WARNING, "kk",
              "Nomor KK harus 16 angka; KK tidak dipakai", "The KK number must be 16 digits; it was ignored"),
    IssueType("PHONE_INVALID", WARNING, "phone",
              "Nomor HP tidak dikenali; nomor tidak dipakai", "The phone number is not recognised; it was ignored"),
    IssueType("CATEGORY_UNKNOWN", WARNING, "category",
              "Kategori pekerja tidak dikenal; dicatat sebagai Lainnya",
              "Unknown worker category; recorded as Other"),
    IssueType("OCCUPATION_UNKNOWN", WARNING, "occupation",
              "Pekerjaan tidak dikenal; dicatat sebagai Lainnya",
              "Unknown occupation; recorded as Other"),
    # --- whole-file refusals ---
    IssueType("MISSING_COLUMN", FILE, None,
              "Kolom wajib tidak ditemukan", "A required column is missing"),
    IssueType("FILE_EMPTY", FILE, None, "Berkas kosong", "The file is empty"),
    IssueType("FILE_NO_ROWS", FILE, None,
              "Berkas hanya berisi judul kolom, tanpa baris data", "The file has a header but no data rows"),
    IssueType("FILE_NOT_TEXT", FILE, None,
              "Berkas bukan CSV atau XLSX yang dapat dibaca (isi biner)", "The file is not a readable CSV or XLSX (binary content)"),
    IssueType("FILE_TYPE_MISMATCH", FILE, None,
              "Isi berkas tidak sesuai dengan jenis yang disebut namanya", "The file's content does not match the type its name claims"),
    IssueType("FILE_TOO_LARGE", FILE, None, "Berkas terlalu besar", "The file is too large"),
    IssueType("XLSX_BOMB", FILE, None,
              "Berkas XLSX akan membengkak terlalu besar saat dibuka (zip bomb)", "The XLSX would expand to an excessive size when opened (zip bomb)"),
    IssueType("XLSX_INVALID", FILE, None,
              "Berkas XLSX rusak atau tidak dapat dibaca", "The XLSX file is damaged or cannot be read"),
    IssueType("FIELD_TOO_LARGE", FILE, None,
              "Ada sel yang terlalu panjang", "A cell is too long"),
    IssueType("SPONSOR_ROWS_LIMIT", FILE, None,
              "Perusahaan ini sudah mengirim terlalu banyak baris dalam 30 hari",
              "This company has filed too many rows in 30 days"),
    IssueType("DUPLICATE_HEADER", FILE, None,
              "Judul kolom yang sama muncul dua kali", "The same column header appears twice"),
    IssueType("SHEET_NOT_FOUND", FILE, None,
              "Sheet dengan nama itu tidak ada", "There is no sheet with that name"),
    IssueType("MAPPING_INVALID", FILE, None,
              "Berkas pemetaan kolom tidak valid", "The column-mapping file is not valid"),
    IssueType("ENCODING_UNKNOWN", FILE, None,
              "Pengodean teks berkas tidak dikenali", "The file's text encoding is not recognised"),
    IssueType("CSV_MALFORMED", FILE, None,
              "Berkas CSV rusak: jumlah sel atau tanda kutip dalam sebuah baris tidak sesuai",
              "The CSV file is malformed: a row's cells or quotes do not line up"),
    IssueType("FILE_TOO_MANY_ROWS", FILE, None,
              "Berkas berisi terlalu banyak baris", "The file has too many rows"),
    IssueType("FILE_TOO_MANY_COLUMNS", FILE, None,
              "Berkas berisi terlalu banyak kolom", "The file has too many columns"),
    IssueType("FILE_TOO_MANY_CELLS", FILE, None,
              "Berkas berisi terlalu banyak sel untuk dibaca", "The file has too many cells to read"),
]

ISSUES: dict[str, IssueType] = {i.code: i for i in _CATALOGUE}
ROW_CODES = tuple(i.code for i in _CATALOGUE if i.severity != FILE)
ERROR_CODES = frozenset(i.code for i in _CATALOGUE if i.severity == ERROR)
WARNING_CODES = frozenset(i.code for i in _CATALOGUE if i.severity == WARNING)
HELD_CODES = frozenset(i.code for i in _CATALOGUE if i.severity == HELD)


def split_codes(issues: str | None) -> list[str]:
    """Staged rows keep their issues as space-separated codes."""
    return issues.split() if issues else []


def row_message(code: str, row: int, header: str | None, lang: str = "id") -> str:
    """'Baris 12, kolom "NIK": ...' for one issue on one row."""
    issue = ISSUES[code]
    text = issue.message_id if lang == "id" else issue.message_en
    column = header or issue.field or ""
    if lang == "id":
        return f'Baris {row}, kolom "{column}": {text} [{code}]'
    return f'Row {row}, column "{column}": {text} [{code}]'

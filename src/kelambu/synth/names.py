"""Name data for synthetic South Sumatran beneficiary lists.

Three naming traditions meet in the province (REFERENCE 6): Malay/Palembang names, Javanese
names (transmigration villages in Musi Banyuasin, Musi Rawas and Musi Rawas Utara) and
Arabic-origin Muslim names, which both of the others use as well. Indonesians have no
family names: a "second name" is just another given name, so nothing here is inherited.

Pools are tuples of names, or of (name, weight) where a spelling variant should be rarer
than the common form. `TEMPLATES` says how names are put together per sex and tradition.
The dictionaries at the end drive the corruptions of duplicate records: spelling variants,
abbreviations, nicknames and titles.
"""

# ---------------------------------------------------------------- men

M_JAWA_SINGLE = (
    "Sutrisno", "Paijo", "Sukirman", "Suparman", "Sugiono", "Tukimin", "Wagiman", "Sarmin",
    "Paimin", "Sumarno", "Poniman", "Karno", "Suyono", "Slamet", "Sukardi", "Sumadi", "Parno",
    "Tumijo", "Wakidi", "Paiman", "Sarno", "Suroto", "Kasiman", "Darmin", "Sunardi", "Supardi",
    "Sujarwo", "Rasimin", "Ngadimin", "Kaseno", "Suwito", "Jumadi", "Mujiono", "Sukiman",
    "Suratno", "Tugiman", "Warsono", "Kateno", "Legiman", "Sugito", "Marjuki", "Parjo", "Tarjo",
    "Sumarto", "Sudarno", "Sapari", "Katiman", "Mulyadi", "Sukimin", "Samidi",
)
M_JAWA_GIVEN = (
    "Agus", "Bambang", "Budi", "Joko", "Slamet", "Heru", "Teguh", "Wahyu", "Bayu", "Anto", "Edi",
    "Hadi", "Hari", "Imam", "Gatot", "Bagus", "Yudi", "Wawan", "Didik", "Sigit", "Sapto", "Dimas",
    "Adi", "Aris", "Bowo", "Suryo", "Galih", "Ganjar", "Joni", "Kusno", "Lilik", "Narto", "Panji",
    "Priyo", "Setyo", "Sugeng", "Totok", "Untung", "Yanto", "Yoga", "Endro", "Puji", "Nanang",
    "Ari", "Supri", "Tono", "Wiji", "Gunadi", "Rahmat", "Purwadi",
)
M_ORDINAL = ("Eko", "Dwi", "Tri", "Catur", "Panca")
M_JAWA_SECOND = (
    "Santoso", "Susanto", "Prasetyo", "Wibowo", "Setiawan", "Purwanto", "Riyadi", "Suryadi",
    "Hartono", "Widodo", "Sugiarto", "Nugroho", "Prabowo", "Wahyudi", "Kurniawan", "Raharjo",
    "Handoko", "Suprapto", "Sutrisno", "Supriyadi", "Haryanto", "Pranoto", "Mulyono", "Sudarsono",
    "Hermawan", "Cahyono", "Sulistyo", "Saputro", "Utomo", "Purnomo", "Kuncoro", "Wijayanto",
    "Setyawan", "Budiono", "Suharto", "Harjono", "Yulianto", "Prayitno", "Sutopo", "Triyono",
    "Subagyo", "Sukamto", "Atmojo", "Pamungkas", "Wicaksono", "Santosa", "Priyanto", "Winarno",
    "Sunarto", "Rianto", "Suwarno", "Susilo",
)

M_MELAYU_GIVEN = (
    "Hendra", "Rudi", "Dedi", "Erwin", "Yudi", "Rahmat", "Hendri", "Herman", "Andi", "Irwan",
    "Ferry", "Rizal", "Syahrial", "Zulkifli", "Safrizal", "Amran", "Yusri", "Jamaludin", "Dodi",
    "Edwin", "Robi", "Iwan", "Doni", "Deni", "Riki", "Reza", "Roni", "Toni", "Firdaus", "Hasanudin",
    "Zainudin", "Herianto", "Alpian", "Sopian", "Ardi", "Sahril", "Sukri", "Rusdi", "Darmadi",
    "Hamdan", "Herwan", "Nasir", "Rozali", "Syamsudin", "Zulkarnain", "Rasyidin", "Kurnia",
    "Yadi", "Eman", "Fadli", "Arman", "Samsul", "Hermanto", "Jhoni", "Heri", "Novri", "Indra",
    "Rendi", "Aldi", "Anton",
)
M_MELAYU_SECOND = (
    "Saputra", "Putra", "Pratama", "Syahputra", "Gunawan", "Irawan", "Firmansyah", "Ramadhan",
    "Effendi", "Apriansyah", "Julianto", "Ardiansyah", "Kusuma", "Wijaya", "Febriansyah",
    "Hendriansyah", "Mardiansyah", "Rahmadi", "Junaidi", "Sopyan", "Hamdani", "Darmawan",
    "Iskandar", "Sanjaya", "Rosadi", "Hermansyah", "Alamsyah", "Kurniawan", "Setiawan", "Pranata",
    "Agustian", "Oktavian", "Novriansyah", "Desriansyah", "Yansyah", "Syaputra", "Nopriansyah",
    "Aprianto", "Akbar", "Satria", "Perdana", "Mahendra", "Fadillah", "Sahputra", "Rusdianto",
)
M_MIDDLE = ("Eka", "Dwi", "Tri", "Adi", "Putra", "Agus", "Ari", "Dian", "Budi", "Rahmat")

M_MUHAMMAD = (
    ("Muhammad", 45), ("Muhamad", 15), ("Mohammad", 10), ("Mohamad", 6), ("Mochamad", 4),
    ("Mochammad", 3), ("Muhammat", 2), ("M.", 4), ("Moh.", 2),
)
M_AHMAD = (("Ahmad", 80), ("Achmad", 15), ("Akhmad", 5))
M_ABDUL = (("Abdul", 90), ("Abdoel", 3), ("Abd.", 7))
M_ARAB_GIVEN = (
    "Rizki", "Fauzi", "Ridwan", "Yusuf", "Ali", "Hasan", "Husin", "Ismail", "Ibrahim", "Ilham",
    "Arif", "Faisal", "Fadli", "Hamzah", "Anwar", "Syafei", "Zainal", "Amin", "Nasrul", "Hafiz",
    "Iqbal", "Jamil", "Khairul", "Luthfi", "Mahmud", "Rasyid", "Rusli", "Saiful", "Syamsul",
    "Taufik", "Umar", "Usman", "Yahya", "Zakaria", "Yunus", "Sholeh", "Syukri", "Farhan", "Fikri",
    "Hanafi", "Idris", "Ikhsan", "Kholil", "Ma'ruf", "Mukhlis", "Ridho", "Salim", "Sulaiman",
    "Syarif", "Zaki", "Habibi", "Azhari", "Abdullah", "Khoirudin", "Nurdin", "Syahroni", "Amir",
    "Arsyad", "Bahrudin", "Daud", "Harun", "Ishak", "Jafar", "Kamal", "Lukman", "Mansur", "Musa",
    "Nawawi", "Sahlan", "Sofyan", "Thamrin", "Yasin", "Zulfikar",
)
M_ARAB_SECOND = (
    "Hidayat", "Hidayatullah", "Rahman", "Hakim", "Aziz", "Fauzan", "Ramadhan", "Akbar", "Nurdin",
    "Alfarizi", "Maulana", "Firdaus", "Habibullah", "Ikhsan", "Ilyas", "Syarifudin", "Zulfikar",
    "Rasyid", "Muttaqin", "Mubarak", "Nurhadi", "Anshori", "Fadillah", "Hasyim", "Zainuddin",
    "Arifin", "Amrullah", "Fahmi", "Baihaqi", "Najib", "Rosyid", "Sholihin", "Hamid", "Syahrir",
)
M_ABDUL_SECOND = (
    "Rahman", "Rahim", "Aziz", "Halim", "Hamid", "Karim", "Latif", "Majid", "Malik", "Rauf",
    "Razak", "Somad", "Wahab", "Gani", "Kadir", "Muis", "Jalil", "Hadi", "Rasyid", "Manan",
    "Syukur", "Salam", "Basit", "Hakim", "Kholik",
)
# Palembang nobility names (Kemas, Kiagus, Masagus, Raden for men; Nyimas, Nyayu for women).
M_PALEMBANG = (("Kemas", 40), ("Kiagus", 30), ("Masagus", 20), ("Raden", 10))

# ---------------------------------------------------------------- women

F_JAWA_SINGLE = (
    "Sumarni", "Painem", "Tukiyem", "Sarmini", "Suwarni", "Ngatini", "Sumiati", "Wagiyem",
    "Parsinah", "Suyati", "Tumini", "Sulastri", "Juminten", "Poniyem", "Sukinah", "Sutini",
    "Ngatiyem", "Tukinem", "Paini", "Suparmi", "Karsini", "Sumirah", "Wartini", "Jumiati",
    "Kasmini", "Suminah", "Sriyatun", "Tumirah", "Sainem", "Legini", "Rubiyah", "Mujiati",
    "Suyatmi", "Darsih", "Parinem", "Waginah", "Sutinah", "Tarsih", "Sumini", "Partini",
)
F_JAWA_GIVEN = (
    "Sri", "Endang", "Ning", "Rina", "Tutik", "Yuli", "Rini", "Retno", "Wulan", "Ayu", "Dyah",
    "Puji", "Nining", "Sulis", "Indah", "Novi", "Tuti", "Umi", "Yayuk", "Wiwik", "Lilik", "Ratna",
    "Endah", "Murni", "Heni", "Yati", "Ika", "Anik", "Nanik", "Titik", "Erna", "Susi", "Eni",
    "Siswati", "Kartini", "Tri", "Dwi", "Eka",
)
F_ORDINAL = ("Eka", "Dwi", "Tri", "Sri")
F_JAWA_SECOND = (
    "Wahyuni", "Lestari", "Rahayu", "Handayani", "Suryani", "Sulistyowati", "Purwanti", "Mulyani",
    "Haryati", "Wulandari", "Setyowati", "Astuti", "Utami", "Widayati", "Indrawati", "Ningsih",
    "Sulistiani", "Kurniasih", "Hartini", "Susilowati", "Rahmawati", "Pujiastuti", "Sumarsih",
    "Winarti", "Yuliani", "Sundari", "Sriyani", "Puspitasari", "Wijayanti", "Nurhayati",
    "Kusumawati", "Maryati", "Pratiwi", "Setianingsih", "Rusmini", "Anggraeni", "Sukmawati",
    "Wahyuningsih", "Ernawati", "Supriyati",
)

F_MELAYU_GIVEN = (
    "Yanti", "Rina", "Yuliana", "Desi", "Herlina", "Novi", "Fitri", "Lina", "Rosmala", "Maryani",
    "Eli", "Erna", "Leni", "Rita", "Yeni", "Susi", "Mega", "Rahma", "Dian", "Rosita", "Nurlela",
    "Merry", "Reni", "Evi", "Vivi", "Wati", "Ida", "Ani", "Mira", "Lela", "Misna", "Elly",
    "Herawati", "Meli", "Sinta", "Yulia", "Dewi", "Indah", "Putri", "Ayu", "Tika", "Linda", "Emi",
    "Ratna", "Rosdiana", "Darmawati", "Yusnani", "Marlena", "Leli", "Rosa", "Nurhayati", "Komariah",
    "Susanti", "Desy", "Feby",
)
F_MELAYU_SECOND = (
    "Sari", "Wati", "Yanti", "Puspita", "Oktaviani", "Novitasari", "Marlina", "Susanti", "Apriani",
    "Febrianti", "Yulianti", "Agustina", "Herawati", "Rahmawati", "Kartika", "Anggraini", "Lestari",
    "Purnama", "Safitri", "Permatasari", "Juliana", "Oktarina", "Maharani", "Utami", "Wulandari",
    "Novita", "Septiani", "Desriani", "Ramadhani", "Pertiwi", "Melati", "Aprilia", "Listiani",
    "Fitriani", "Sartika", "Handayani", "Oktavia", "Mayasari", "Rosmiati", "Yusnita", "Elvira",
    "Rosalina",
)
F_MIDDLE = ("Eka", "Dwi", "Tri", "Dian", "Putri", "Ayu", "Nur", "Sri", "Indah")

F_SITI = (("Siti", 90), ("Sity", 6), ("Sitti", 4))
F_NUR = (("Nur", 88), ("Noor", 10), ("Nurr", 2))
F_NURUL = ("Nurul",)
F_ARAB_GIVEN = (
    "Aminah", "Aisyah", "Fatimah", "Khadijah", "Zainab", "Maryam", "Halimah", "Hasanah", "Rahmah",
    "Salamah", "Maimunah", "Zubaidah", "Jamilah", "Hafsah", "Rukiah", "Saodah", "Mardiah", "Aini",
    "Fitriani", "Nurjanah", "Hamidah", "Laila", "Syarifah", "Kholifah", "Masitoh", "Rohmah",
    "Nafisah", "Sholihah", "Zahra", "Azizah", "Munawaroh", "Khoiriyah", "Robiah", "Saidah",
    "Latifah", "Habibah", "Nurhasanah", "Wardah", "Sa'adah", "Mu'minah", "Romlah", "Asiyah",
    "Faridah", "Hayati", "Rosidah", "Aliyah", "Komariah", "Mariam", "Muslimah", "Zulaikha",
)
F_ARAB_SECOND = (
    "Hidayah", "Azzahra", "Rahmawati", "Fitriani", "Hasanah", "Khasanah", "Nurhaliza", "Rohmah",
    "Maulida", "Fadhilah", "Solehah", "Amalia", "Husna", "Rahmadani", "Aulia", "Safitri", "Ulfa",
    "Jannah", "Afifah", "Khairunnisa", "Mardhiyah", "Annisa",
)
F_PALEMBANG = (("Nyimas", 60), ("Nyayu", 40))

# Pools by name, for the templates.
POOLS: dict[str, tuple] = {
    "M_JAWA_SINGLE": M_JAWA_SINGLE, "M_JAWA_GIVEN": M_JAWA_GIVEN, "M_ORDINAL": M_ORDINAL,
    "M_JAWA_SECOND": M_JAWA_SECOND, "M_MELAYU_GIVEN": M_MELAYU_GIVEN,
    "M_MELAYU_SECOND": M_MELAYU_SECOND, "M_MIDDLE": M_MIDDLE, "M_MUHAMMAD": M_MUHAMMAD,
    "M_AHMAD": M_AHMAD, "M_ABDUL": M_ABDUL, "M_ARAB_GIVEN": M_ARAB_GIVEN,
    "M_ARAB_SECOND": M_ARAB_SECOND, "M_ABDUL_SECOND": M_ABDUL_SECOND, "M_PALEMBANG": M_PALEMBANG,
    "F_JAWA_SINGLE": F_JAWA_SINGLE, "F_JAWA_GIVEN": F_JAWA_GIVEN, "F_ORDINAL": F_ORDINAL,
    "F_JAWA_SECOND": F_JAWA_SECOND, "F_MELAYU_GIVEN": F_MELAYU_GIVEN,
    "F_MELAYU_SECOND": F_MELAYU_SECOND, "F_MIDDLE": F_MIDDLE, "F_SITI": F_SITI, "F_NUR": F_NUR,
    "F_NURUL": F_NURUL, "F_ARAB_GIVEN": F_ARAB_GIVEN, "F_ARAB_SECOND": F_ARAB_SECOND,
    "F_PALEMBANG": F_PALEMBANG,
}

ORIGINS = ("jawa", "melayu", "arab")

# (sex, origin) -> ((weight, (pool, pool, ...)), ...): a name is one name from each pool.
TEMPLATES: dict[tuple[str, str], tuple[tuple[int, tuple[str, ...]], ...]] = {
    ("L", "jawa"): (
        (22, ("M_JAWA_SINGLE",)),
        (40, ("M_JAWA_GIVEN", "M_JAWA_SECOND")),
        (10, ("M_ORDINAL", "M_JAWA_GIVEN", "M_JAWA_SECOND")),
        (5, ("M_MUHAMMAD", "M_JAWA_GIVEN", "M_JAWA_SECOND")),
        (5, ("M_AHMAD", "M_JAWA_SECOND")),
        (10, ("M_JAWA_GIVEN", "M_ARAB_SECOND")),
        (8, ("M_ARAB_GIVEN", "M_JAWA_SECOND")),
    ),
    ("L", "melayu"): (
        (45, ("M_MELAYU_GIVEN", "M_MELAYU_SECOND")),
        (7, ("M_MELAYU_GIVEN",)),
        (12, ("M_MELAYU_GIVEN", "M_ARAB_SECOND")),
        (10, ("M_MUHAMMAD", "M_MELAYU_GIVEN")),
        (10, ("M_MELAYU_GIVEN", "M_MIDDLE", "M_MELAYU_SECOND")),
        (8, ("M_ARAB_GIVEN", "M_MELAYU_SECOND")),
        (3, ("M_PALEMBANG", "M_ARAB_GIVEN")),
        (2, ("M_PALEMBANG", "M_ABDUL", "M_ABDUL_SECOND")),
    ),
    ("L", "arab"): (
        (33, ("M_MUHAMMAD", "M_ARAB_GIVEN")),
        (14, ("M_MUHAMMAD", "M_ARAB_GIVEN", "M_ARAB_SECOND")),
        (15, ("M_ABDUL", "M_ABDUL_SECOND")),
        (12, ("M_AHMAD", "M_ARAB_GIVEN")),
        (16, ("M_ARAB_GIVEN", "M_ARAB_SECOND")),
        (6, ("M_ARAB_GIVEN",)),
        (4, ("M_AHMAD", "M_ARAB_GIVEN", "M_ARAB_SECOND")),
    ),
    ("P", "jawa"): (
        (22, ("F_JAWA_SINGLE",)),
        (43, ("F_JAWA_GIVEN", "F_JAWA_SECOND")),
        (10, ("F_ORDINAL", "F_JAWA_GIVEN", "F_JAWA_SECOND")),
        (15, ("F_SITI", "F_JAWA_SECOND")),
        (10, ("F_SITI", "F_ARAB_GIVEN")),
    ),
    ("P", "melayu"): (
        (42, ("F_MELAYU_GIVEN", "F_MELAYU_SECOND")),
        (9, ("F_MELAYU_GIVEN",)),
        (10, ("F_NUR", "F_ARAB_GIVEN")),
        (12, ("F_MELAYU_GIVEN", "F_MIDDLE", "F_MELAYU_SECOND")),
        (15, ("F_SITI", "F_MELAYU_SECOND")),
        (8, ("F_MELAYU_GIVEN", "F_ARAB_SECOND")),
        (4, ("F_PALEMBANG", "F_ARAB_GIVEN")),
    ),
    ("P", "arab"): (
        (42, ("F_SITI", "F_ARAB_GIVEN")),
        (15, ("F_NUR", "F_ARAB_GIVEN")),
        (10, ("F_SITI", "F_NUR", "F_ARAB_GIVEN")),
        (16, ("F_ARAB_GIVEN", "F_ARAB_SECOND")),
        (10, ("F_ARAB_GIVEN",)),
        (7, ("F_NURUL", "F_ARAB_SECOND")),
    ),
}

# Villages whose name holds one of these words were mostly settled by Javanese
# transmigrants (Sidomulyo, Sumber Makmur, Karya Jaya, Wonorejo ...).
JAVANESE_VILLAGE_WORDS = (
    "sido", "rejo", "mulyo", "mulya", "harjo", "wono", "purwo", "margo", "tirto", "sumber",
    "karya", "bangun", "tri", "sri", "catur", "panca", "widodo", "asri", "utomo", "kerto", "kencana",
    "subur", "makmur", "sari", "rahayu", "mukti", "trans", "suko", "jadi", "manunggal",
    "purwodadi", "tugu", "tegal", "ngadi", "wukir", "dwi", "nawang", "harapan", "bumi",
)
# Share of each tradition among the people of a village.
ORIGIN_MIX = {
    "javanese_village": (0.66, 0.18, 0.16),
    "kelurahan": (0.22, 0.45, 0.33),
    "other": (0.10, 0.55, 0.35),
}

# ---------------------------------------------------------------- variation of duplicates

# Token -> spellings of the same name seen in lists (REFERENCE 6).
SPELLING_VARIANTS: dict[str, tuple[str, ...]] = {
    "Muhammad": ("Muhamad", "Mohammad", "Mohamad", "Mochamad", "Muhammat", "Muhamat"),
    "Muhamad": ("Muhammad", "Mohamad", "Muhamat"),
    "Mohammad": ("Muhammad", "Mohamad", "Mochammad"),
    "Mohamad": ("Muhamad", "Mohammad"),
    "Mochamad": ("Mochammad", "Muhammad", "Mohamad"),
    "Mochammad": ("Mochamad", "Muhammad"),
    "Muhammat": ("Muhammad",),
    "Ahmad": ("Achmad", "Akhmad", "Ahmat"),
    "Achmad": ("Ahmad",),
    "Akhmad": ("Ahmad", "Achmad"),
    "Abdul": ("Abdoel",),
    "Abdoel": ("Abdul",),
    "Siti": ("Sity", "Sitti"),
    "Sity": ("Siti",),
    "Sitti": ("Siti",),
    "Nur": ("Noor", "Nurr"),
    "Noor": ("Nur",),
    "Nurul": ("Noerul", "Nurull"),
    "Rizki": ("Rizky", "Risky", "Rizqi", "Riski"),
    "Fauzi": ("Fauzy", "Pauzi"),
    "Yusuf": ("Yusup", "Yoesoef"),
    "Saiful": ("Syaiful", "Saipul"),
    "Aisyah": ("Aisah", "Aisya", "Aishah"),
    "Fatimah": ("Fatima", "Patimah"),
    "Khadijah": ("Hadijah", "Kadijah", "Chadijah"),
    "Rahman": ("Rachman", "Rohman"),
    "Zainal": ("Jainal", "Zainul"),
    "Zulkifli": ("Julkifli", "Zulkifly"),
    "Sofyan": ("Sopyan", "Sofian", "Sopian"),
    "Sopyan": ("Sofyan", "Sopian"),
    "Sopian": ("Sofian", "Sopyan"),
    "Alpian": ("Alfian", "Alpiyan"),
    "Effendi": ("Efendi", "Effendy", "Efendy"),
    "Hendri": ("Hendry", "Hendrik"),
    "Ferry": ("Feri", "Ferri", "Fery"),
    "Taufik": ("Taufiq", "Topik", "Taupik"),
    "Syamsul": ("Samsul", "Sjamsul"),
    "Samsul": ("Syamsul",),
    "Syarif": ("Sarif", "Syarip"),
    "Hasanah": ("Khasanah", "Hasana"),
    "Ramadhan": ("Ramadan", "Romadhon"),
    "Rahmat": ("Rahmad", "Rachmat"),
    "Fitri": ("Fitry",),
    "Ikhsan": ("Ihsan", "Iksan"),
    "Khairul": ("Khoirul", "Hairul"),
    "Zakaria": ("Zakariya", "Jakaria"),
    "Kholil": ("Kolil", "Cholil"),
    "Sholeh": ("Soleh", "Saleh"),
    "Wahyu": ("Wahyoe", "Wahju"),
    "Hidayat": ("Hidayad",),
    "Yanti": ("Yanty",),
    "Dewi": ("Dewy",),
    "Dedi": ("Dedy", "Dedi"),
    "Rudi": ("Rudy",),
    "Desi": ("Desy", "Dessy"),
    "Jamaludin": ("Jamaluddin", "Djamaludin"),
    "Hasanudin": ("Hasanuddin",),
    "Zainudin": ("Zainuddin",),
    "Syamsudin": ("Syamsuddin", "Samsudin"),
    "Sulaiman": ("Sulaeman", "Soelaiman"),
    "Ismail": ("Ismael",),
    "Rukiah": ("Rukiyah", "Rukiya"),
    "Saodah": ("Saudah",),
    "Maimunah": ("Maemunah",),
    "Zubaidah": ("Jubaidah",),
    "Komariah": ("Qomariah", "Komariyah"),
    "Mardiah": ("Mardiyah",),
    "Nurjanah": ("Nurjannah",),
    "Khoiriyah": ("Khoiriah", "Choiriyah"),
    "Wahyuni": ("Wahjuni",),
    "Joko": ("Djoko",),
    "Sutrisno": ("Soetrisno",),
    "Suparman": ("Soeparman",),
    "Sukirman": ("Soekirman",),
    "Cahyono": ("Tjahjono", "Cahyo"),
    "Susilo": ("Soesilo",),
}

# Rewrites (from, to, allowed at the start of a word) applied to a token when it has no
# listed variant: y/i, doubled letters, kh/h, sy/s, f/p, z/j, old spellings, vowels, a lost h.
GENERIC_RESPELLINGS: tuple[tuple[str, str, bool], ...] = (
    ("y", "i", False), ("i", "y", False), ("mm", "m", False), ("ll", "l", False),
    ("rr", "r", False), ("ff", "f", False), ("dd", "d", False), ("tt", "t", False),
    ("kh", "h", True), ("sy", "s", True), ("dh", "d", False), ("th", "t", False),
    ("f", "p", True), ("z", "j", True), ("u", "oe", True), ("j", "dj", True), ("c", "tj", True),
    ("e", "a", False), ("o", "u", False), ("h", "", False),
)

# Old (pre-1972) spelling: oe/u, dj/j, tj/c, j/y, sj/sy, ch/kh, nj/ny (REFERENCE 6).
OLD_SPELLING: tuple[tuple[str, str], ...] = (
    ("kh", "ch"), ("sy", "sj"), ("ny", "nj"), ("j", "dj"), ("c", "tj"), ("y", "j"), ("u", "oe"),
)

# Token -> abbreviations lists use for it.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "Muhammad": ("M.", "Moh.", "Muh.", "Mhd."),
    "Muhamad": ("M.", "Muh.", "Mhd."),
    "Mohammad": ("M.", "Moh."),
    "Mohamad": ("M.", "Moh."),
    "Mochamad": ("M.", "Moch."),
    "Mochammad": ("M.", "Moch."),
    "Muhammat": ("M.",),
    "Ahmad": ("A.", "Ahm."),
    "Achmad": ("A.", "Ach."),
    "Akhmad": ("A.",),
    "Abdul": ("Abd.",),
    "Abdoel": ("Abd.",),
    "Siti": ("St.",),
    "Nur": ("N.",),
    "Kemas": ("Kms.", "K."),
    "Kiagus": ("Kgs.", "K.A."),
    "Masagus": ("Mgs.", "M.A."),
    "Raden": ("R.",),
    "Nyimas": ("Nys.", "Ny."),
    "Nyayu": ("Ny.",),
}

# Leading tokens that lists drop (the person is called by the rest of the name).
DROPPABLE_PREFIXES = frozenset(
    ("Muhammad", "Muhamad", "Mohammad", "Mohamad", "Mochamad", "Mochammad", "Muhammat", "M.",
     "Moh.", "Ahmad", "Achmad", "Akhmad", "Siti", "Sity", "Sitti", "Nur", "Noor", "Kemas", "Kiagus",
     "Masagus", "Raden", "Nyimas", "Nyayu")
)

# Token -> nicknames (panggilan) that end up in lists instead of the registered name.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Yusuf": ("Ucup",), "Ahmad": ("Mamat", "Amat"), "Achmad": ("Mamat",), "Slamet": ("Memet",),
    "Rizki": ("Kiki",), "Fitri": ("Pipit",), "Fatimah": ("Imah", "Timah"), "Aminah": ("Minah",),
    "Halimah": ("Imah", "Limah"), "Khadijah": ("Ijah", "Dijah"), "Zainab": ("Enab",),
    "Aisyah": ("Ais", "Ica"), "Bambang": ("Bams",), "Rahmat": ("Mamat",), "Mahmud": ("Mamud",),
    "Ismail": ("Mail",), "Ibrahim": ("Baim",), "Sulaiman": ("Leman",), "Susanti": ("Santi",),
    "Herawati": ("Hera", "Wati"), "Nurhayati": ("Yati",), "Komariah": ("Kokom",),
    "Syamsul": ("Ancul",), "Hasanudin": ("Udin",), "Zainudin": ("Udin",), "Jamaludin": ("Udin", "Jamal"),
    "Syamsudin": ("Udin",), "Nurdin": ("Udin",), "Bahrudin": ("Udin",), "Khoirudin": ("Udin",),
    "Abdullah": ("Dullah",), "Hamzah": ("Ameng",), "Zulkifli": ("Zul", "Ijul"), "Zulkarnain": ("Zul",),
    "Syahrial": ("Ial",), "Safrizal": ("Ijal",), "Rizal": ("Ijal",), "Faisal": ("Ical",),
    "Yuliana": ("Yuli", "Lia"), "Rosmala": ("Ros",), "Rosita": ("Ros", "Ita"), "Rosdiana": ("Ros", "Diana"),
    "Handayani": ("Yani",), "Wulandari": ("Wulan",), "Maryani": ("Yani",), "Nurlela": ("Lela",),
    "Dewi": ("Uwi",), "Herlina": ("Lina", "Erlin"), "Salamah": ("Lamah",),
    "Rukiah": ("Ukik",), "Maimunah": ("Munah",), "Hasanah": ("Anah",), "Hendra": ("Hen",),
    "Sutrisno": ("Tris",), "Sumarni": ("Marni",), "Suwarni": ("Warni",), "Sulastri": ("Lastri",),
}

TITLES_BEFORE = {"L": (("H.", 80), ("Drs.", 10), ("Ir.", 5), ("Ust.", 5)), "P": (("Hj.", 90), ("Dra.", 10))}
TITLES_AFTER = (
    ("S.Pd.", 30), ("S.Pd.I.", 10), ("S.Ag.", 8), ("S.E.", 12), ("S.H.", 6), ("A.Md.", 12),
    ("S.Sos.", 8), ("S.IP.", 5), ("S.Kom.", 5), ("S.T.", 4),
)

# ---------------------------------------------------------------- addresses

STREETS = (
    "Merdeka", "Jend. Sudirman", "Ahmad Yani", "Diponegoro", "Kolonel Wahid Udin", "Lintas Timur",
    "Lintas Sumatera", "Pangeran Diponegoro", "Kartini", "Pahlawan", "Veteran", "Sukarno Hatta",
    "Kapten Rivai", "Letnan Amir Hamzah", "Pramuka", "Masjid", "Pasar", "Pendidikan", "Talang Jawa",
    "Perjuangan", "Inpres", "Sekolah", "Kenanga", "Melati", "Mawar", "Cempaka", "Flamboyan",
    "Dahlia", "Anggrek", "Palembang-Jambi", "Perintis", "Bhayangkara", "Gotong Royong",
)
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")

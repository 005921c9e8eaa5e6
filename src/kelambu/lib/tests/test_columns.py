from kelambu.lib.columns import field_for_header, header_key


def test_headers_fold_case_spacing_and_punctuation():
    assert header_key(" Tgl. Lahir ") == "tgl lahir"
    assert field_for_header("TGL LAHIR") == "birth_date"
    assert field_for_header("Nomor KK") == "kk"
    assert field_for_header("\ufeffNIK") == "nik"
    assert field_for_header("L/P") == "sex"
    assert field_for_header("Warna Favorit") is None

"""The registry's pages: search, person detail and correction, import upload with its report
and downloads."""

import pytest
from django.urls import reverse

from kelambu.audit.models import Event
from kelambu.registry.models import ImportBatch, Person

CSV = (
    "NIK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Kode Desa;Desil;Pekerjaan\n"
    "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001;1;Petani Karet\n"
    "1606015708900002;Siti Aminah;P;17-08-1990;16.06.01.2001;2;Pedagang\n"
    "123;Rahmat;L;01-01-1980;16.06.01.2001;1;Petani\n"
)


@pytest.fixture
def uploaded(personas, client, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(personas["muba"])
    response = client.post(reverse("import_new"), {
        "file": SimpleUploadedFile("p3ke-sekayu.csv", CSV.encode(), content_type="text/csv"),
        "source": "p3ke",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportBatch.objects.get()


def test_upload_runs_the_import_and_shows_the_report(uploaded, client):
    batch = uploaded
    assert (batch.status, batch.accepted, batch.rejected) == ("done", 2, 1)
    assert batch.created_by.username == "dinsos.muba"
    page = client.get(reverse("batch_detail", args=[batch.pk])).content.decode()
    assert "NIK_FORMAT" in page and "Baris 4" in page
    status = client.get(reverse("batch_status", args=[batch.pk])).json()
    assert status["status"] == "done"
    csv = client.get(reverse("batch_rejected", args=[batch.pk, "csv"]))
    assert csv.status_code == 200 and "Rahmat" in csv.content.decode("utf-8-sig")
    xlsx = client.get(reverse("batch_rejected", args=[batch.pk, "xlsx"]))
    assert xlsx.content[:2] == b"PK"
    report = client.get(reverse("batch_report", args=[batch.pk])).json()
    assert report["rejected"] == 1


def test_uploading_the_same_file_again_changes_nothing(uploaded, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(reverse("import_new"), {
        "file": SimpleUploadedFile("again.csv", CSV.encode(), content_type="text/csv"), "source": "p3ke",
    }, follow=True)
    assert ImportBatch.objects.count() == 1
    assert "sudah diimpor" in response.content.decode()


def test_hostile_upload_is_refused_with_a_reason(personas, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(personas["muba"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    response = client.post(reverse("import_new"), {
        "file": SimpleUploadedFile("daftar.csv", png, content_type="text/csv"), "source": "p3ke",
    }, follow=True)
    page = response.content.decode()
    assert "FILE_TYPE_MISMATCH" in page and Person.objects.count() == 0


def test_registry_search_and_person_detail_with_provenance(uploaded, client):
    page = client.get(reverse("person_list"), {"q": "sholeh"}).content.decode()
    assert "Muhammad Sholeh" in page and "Siti Aminah" not in page
    person = Person.objects.get(nik="1606011503850001")
    detail = client.get(reverse("person_detail", args=[person.pk])).content.decode()
    assert "p3ke-sekayu.csv" in detail and "Sukarami" in detail


def test_correction_is_validated_scoped_and_audited(uploaded, client, personas):
    person = Person.objects.get(nik="1606011503850001")
    url = reverse("person_edit", args=[person.pk])
    bad = client.post(url, {"name": "", "village": "16.06.01.2001", "reason": "typo"})
    assert bad.status_code == 200 and Person.objects.get(pk=person.pk).name == "Muhammad Sholeh"
    outside = client.post(url, {"name": "Muhammad Sholeh", "village": "16.71.01.1001", "reason": "moved"})
    assert "OUT_OF_SCOPE" in outside.content.decode()
    ok = client.post(url, {"name": "Muhammad Sholeh", "village": "16.06.01.2002", "phone": "0812-3456-7890",
                           "category": "informal", "occupation": "petani_karet", "reason": "pindah dusun"})
    assert ok.status_code == 302
    person.refresh_from_db()
    assert person.village_id == "16.06.01.2002" and person.phone == "081234567890"
    event = Event.objects.get(action="person.correct")
    assert event.actor == personas["muba"] and event.data["changes"]["village_id"] == ["16.06.01.2001", "16.06.01.2002"]

"""Cancelling an import: one still in the queue is taken off it at once; one running stops at
its next step; either way nothing of it is kept, and only its importer (or an admin) may."""

import pytest
from django.urls import reverse
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kelambu.audit.models import Event
from kelambu.jobs.services import request_cancel
from kelambu.registry.models import BatchStatus, ImportBatch, Person
from kelambu.registry.services import ImportOptions, run_import, start_import

pytestmark = pytest.mark.django_db

LIST = ("NIK;Nama;JK;Tanggal Lahir;Kode Desa\n"
        "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001\n"
        "1606015708900002;Siti Aminah;P;17-08-1990;16.06.01.2001\n")


def _upload(client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.KELAMBU_IMPORT_IN_BACKGROUND = True  # queued for a worker; none runs in this test
    response = client.post(reverse("import_new"), {
        "file": SimpleUploadedFile("sekayu.csv", LIST.encode(), content_type="text/csv"), "source": "village"})
    assert response.status_code == 302
    return ImportBatch.objects.get()


def test_a_queued_import_is_taken_off_the_queue(client, personas, settings, tmp_path):
    client.force_login(personas["muba"])
    batch = _upload(client, settings, tmp_path)
    assert batch.status == BatchStatus.PENDING and batch.runner.startswith("queue:")
    page = client.get(reverse("batch_detail", args=[batch.pk])).content.decode()
    assert "Batalkan impor" in page
    assert client.get(reverse("batch_status", args=[batch.pk])).json()["stage_label"] == "Menunggu giliran di antrean"
    response = client.post(reverse("batch_cancel", args=[batch.pk]), follow=True)
    assert "Impor dibatalkan" in response.content.decode()
    assert "Impor dibatalkan sebelum selesai" in response.content.decode()
    assert "beri tahu administrator" not in response.content.decode()
    batch.refresh_from_db()
    assert (batch.status, batch.error_code) == (BatchStatus.FAILED, "CANCELLED")
    task = DBTaskResult.objects.get(pk=batch.runner.split(":", 1)[1])
    assert task.status == TaskResultStatus.FAILED and task.exception_class_path.endswith("Cancelled")
    assert Event.objects.filter(action="import.cancelled", object_id=str(batch.pk)).exists()
    # The worker that would have taken it finds nothing to do.
    assert not DBTaskResult.objects.ready().exists()


def test_only_its_importer_or_an_admin_cancels_it(client, personas, settings, tmp_path):
    client.force_login(personas["muba"])
    batch = _upload(client, settings, tmp_path)
    for who, status in (("bpjs", 403), ("muaraenim", 404), ("csr", 404), ("public", 403)):
        client.force_login(personas[who])
        assert client.post(reverse("batch_cancel", args=[batch.pk])).status_code == status, who
    assert ImportBatch.objects.get().status == BatchStatus.PENDING
    client.force_login(personas["admin"])
    client.post(reverse("batch_cancel", args=[batch.pk]))
    assert ImportBatch.objects.get().error_code == "CANCELLED"


def test_a_running_import_stops_at_its_next_step_and_keeps_nothing(personas, tmp_path):
    path = tmp_path / "sekayu.csv"
    path.write_text(LIST)
    options = ImportOptions(source="village")
    batch, _ = start_import(path, options, personas["muba"])
    request_cancel(f"import:{batch.pk}")  # as the page does while the worker runs it
    done = run_import(batch, path, options, personas["muba"])
    assert (done.status, done.error_code) == (BatchStatus.FAILED, "CANCELLED")
    assert not Person.objects.exists()
    # A second run of another batch is not affected by the first one's request.
    again, _ = start_import(tmp_path / "sekayu.csv", ImportOptions(source="p3ke"), personas["muba"])
    assert run_import(again, path, ImportOptions(source="p3ke"), personas["muba"]).status == BatchStatus.DONE

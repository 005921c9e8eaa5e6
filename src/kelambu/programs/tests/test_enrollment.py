"""Exchange files with the BPJS branch: export, the answer (KPJ numbers, rejections and the
next in priority), people leaving."""

import csv
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from kelambu.programs import enrollment, services
from kelambu.programs.models import FundedMonth, Membership, MembershipStatus

from .test_allocation_service import make_people, program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Messages are matched in the source language; the UI default is Indonesian.
    from django.utils import translation

    with translation.override("en"):
        yield


def answer(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["ID Kelambu", "Status", "KPJ", "Alasan"])
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def allocated():
    make_people([(1, 30, "informal", None, True), (2, 30, "informal", None, True), (3, 30, "informal", None, True)])
    p = program(budget_people=2)
    services.allocate_program(p, "test")
    return p


def test_export_marks_submitted_and_has_the_columns(allocated):
    frame = enrollment.export_frame(allocated, "test")
    assert frame.columns == list(enrollment.EXPORT_COLUMNS) and frame.height == 2
    row = frame.row(0, named=True)
    assert len(row["NIK"]) == 16 and row["Program"] == "JKK+JKM" and row["Bulan Mulai"] == "10-2026"
    assert row["Dasar Penghasilan"] == "1000000"
    assert set(Membership.objects.values_list("status", flat=True)) == {MembershipStatus.SUBMITTED}
    assert enrollment.export_frame(allocated, "test").height == 0  # nothing new to send


def test_answer_registers_rejects_and_refills(allocated, tmp_path):
    first, second = Membership.objects.order_by("pk")
    path = answer(tmp_path / "jawaban.csv", [
        {"ID Kelambu": first.pk, "Status": "Terdaftar", "KPJ": "12345678901", "Alasan": ""},
        {"ID Kelambu": second.pk, "Status": "Ditolak", "KPJ": "", "Alasan": "NIK tidak ditemukan di Dukcapil"},
    ])
    result = enrollment.import_answer(allocated, path, "test")
    assert (result.registered, result.rejected, result.replaced) == (1, 1, 1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "registered" and first.kpj == "12345678901"
    assert second.status == "rejected" and second.reason.startswith("NIK tidak")
    assert not FundedMonth.objects.filter(membership=second).exists()
    # The next in priority (decile 3) was proposed; the rejected one is not proposed again.
    new = Membership.objects.get(status="proposed")
    assert new.person.decile == 3
    again = services.allocate_program(allocated, "test", what_if=True).report
    assert again["ineligible_by_reason"] == {"rejected_by_bpjs": 1}


@pytest.mark.parametrize(("rows", "message"), [
    ([{"ID Kelambu": "999999", "Status": "Terdaftar", "KPJ": "12345678901"}], "not a membership"),
    ([{"ID Kelambu": "{first}", "Status": "Terdaftar", "KPJ": "12AB"}], "not a KPJ"),
    ([{"ID Kelambu": "{first}", "Status": "mungkin", "KPJ": ""}], "neither registered nor rejected"),
    ([{"ID Kelambu": "{first}", "Status": "Terdaftar", "KPJ": "12345678901"},
      {"ID Kelambu": "{second}", "Status": "Terdaftar", "KPJ": "12345678901"}], "appears twice"),
])
def test_a_wrong_answer_changes_nothing(allocated, tmp_path, rows, message):
    first, second = Membership.objects.order_by("pk")
    rows = [{k: str(v).format(first=first.pk, second=second.pk) for k, v in r.items()} for r in rows]
    before = list(Membership.objects.values_list("pk", "status", "kpj"))
    with pytest.raises(ValidationError, match=message):
        enrollment.import_answer(allocated, answer(tmp_path / "a.csv", rows), "test")
    assert list(Membership.objects.values_list("pk", "status", "kpj")) == before


def test_unreadable_answers(allocated, tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ValidationError, match="empty"):
        enrollment.import_answer(allocated, tmp_path / "empty.csv", "test")
    (tmp_path / "cols.csv").write_text("NIK,KPJ\n1,2\n")
    with pytest.raises(ValidationError, match="lacks column"):
        enrollment.import_answer(allocated, tmp_path / "cols.csv", "test")
    (tmp_path / "bin.xlsx").write_bytes(b"\x00\x01not a workbook")
    with pytest.raises(ValidationError, match="cannot be read"):
        enrollment.import_answer(allocated, tmp_path / "bin.xlsx", "test")


def test_people_leave(allocated):
    member = Membership.objects.order_by("pk").first()
    enrollment.end_membership(member, "death", date(2026, 11, 14), "test")
    member.refresh_from_db()
    assert member.status == "ended" and member.end_reason == "death"
    assert sorted(FundedMonth.objects.filter(membership=member).values_list("month", flat=True)) == [
        date(2026, 10, 1), date(2026, 11, 1)]
    with pytest.raises(ValidationError):
        enrollment.end_membership(member, "death", date(2026, 11, 14), "test")
    with pytest.raises(ValidationError):
        enrollment.end_membership(Membership.objects.order_by("pk").last(), "bored", date(2026, 11, 1), "test")


def test_enrollment_commands(allocated, tmp_path, capsys):
    out = tmp_path / "kirim.xlsx"
    call_command("enrollment", "export", allocated.name, "--out", str(out))
    assert out.read_bytes()[:2] == b"PK"
    first, second = Membership.objects.order_by("pk")
    path = answer(tmp_path / "jawab.csv", [
        {"ID Kelambu": first.pk, "Status": "registered", "KPJ": "22345678901", "Alasan": ""},
        {"ID Kelambu": second.pk, "Status": "registered", "KPJ": "22345678902", "Alasan": ""},
    ])
    call_command("enrollment", "import", allocated.name, str(path))
    assert set(Membership.objects.values_list("kpj", flat=True)) == {"22345678901", "22345678902"}
    with pytest.raises(CommandError, match="not a membership"):
        call_command("enrollment", "import", allocated.name,
                     str(answer(tmp_path / "x.csv", [{"ID Kelambu": "0", "Status": "registered", "KPJ": "1"}])))
    call_command("enrollment", "end", str(first.pk), "--reason", "moved", "--date", "2026-12-02")
    first.refresh_from_db()
    assert first.status == "ended"


def test_people_active_elsewhere_are_flagged_not_excluded(tmp_path):
    from kelambu.programs.models import ActiveParticipation, Outcome
    from kelambu.registry.models import Person

    people = make_people([(1, 30, "informal", None, True), (2, 30, "informal", None, True)])
    p = program(budget_people=2)
    listed = tmp_path / "aktif.csv"
    listed.write_text(f"NIK,Jenis,KPJ\n{people[0].nik},Penerima Upah,11111111\n{people[1].nik},BPU,22222222\n")
    assert enrollment.import_participants(listed, date(2026, 9, 30), "test") == 2
    result = services.allocate_program(p, "test")
    assert result.report["funded"] == 2  # flagged, still funded
    assert result.report["funded_active_elsewhere"] == {"pu": 1, "bpu": 1}
    first = Outcome.objects.get(run=result.run, person=people[0])
    assert first.params["flags"] == "pu"
    # Once this program enrolled them, a BPU participation is this program's own.
    again = services.allocate_program(p, "test", what_if=True)
    assert again.report["funded_active_elsewhere"] == {"pu": 1}
    # A new list replaces the old; a wrong row refuses the whole file.
    bad = tmp_path / "salah.csv"
    bad.write_text(f"NIK,Jenis\n{people[0].nik},PU\n123,PU\n{people[1].nik},pensiun\n")
    with pytest.raises(ValidationError, match="row 3"):
        enrollment.import_participants(bad, date(2026, 10, 31), "test")
    assert ActiveParticipation.objects.count() == 2
    assert Person.objects.count() == 2

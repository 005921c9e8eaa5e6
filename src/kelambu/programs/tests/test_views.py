"""Program pages: who sees what, the new-program form, allocations from the page, outcomes
explained in Indonesian, the BPJS exchange files, ending a membership."""

import csv
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kelambu.programs.models import (
    AllocationRun,
    FundedMonth,
    Membership,
    MembershipStatus,
    Program,
    ProgramSponsor,
    Sponsor,
)
from kelambu.programs.tests.test_allocation_service import make_people, program
from kelambu.programs.views import explain, parse_quotas

pytestmark = pytest.mark.django_db


@pytest.fixture
def pake(personas):
    """Five Muba people (one too old), a budget for two: poorest first."""
    make_people([(1, 30, "informal", None, True), (2, 40, "informal", None, True), (3, 50, "informal", None, True),
                 (1, 70, "informal", None, True), (2, 35, "informal", None, True)])
    return program(name="PAKE Uji", budget_people=2)


@pytest.fixture
def other_regency(personas):
    """A Muara Enim program, funded by the CSR officer's company."""
    p = Program.objects.create(name="Desa Muara Enim", region_id="16.03", start_month=date(2026, 10, 1),
                               end_month=date(2026, 12, 1))
    company = personas["csr"].sponsor
    ProgramSponsor.objects.create(program=p, sponsor=company, year=2026, budget=1_000_000, status="accepted")
    return p


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _allocate(client, p, what_if=False):
    return client.post(reverse("program_allocate", args=[p.pk]), {"what_if": "1" if what_if else "0"}, follow=True)


# --- access ------------------------------------------------------------------------------

def test_access_per_persona(client, personas, pake, other_regency):
    lists = {}
    for who in ("admin", "muba", "muaraenim", "bpjs", "csr"):
        client.force_login(personas[who])
        response = client.get(reverse("program_list"))
        assert response.status_code == 200, who
        lists[who] = {row["program"].name for row in response.context["rows"]}
        assert "/program/" in client.get(reverse("home")).content.decode()
    assert lists["admin"] == lists["bpjs"] == {"PAKE Uji", "Desa Muara Enim"}
    assert lists["muba"] == {"PAKE Uji"} and lists["muaraenim"] == {"Desa Muara Enim"}
    assert lists["csr"] == {"Desa Muara Enim"}
    # Another regency's program is not found; read-only roles may not write.
    client.force_login(personas["muaraenim"])
    assert client.get(reverse("program_detail", args=[pake.pk])).status_code == 404
    for who in ("bpjs", "csr"):
        client.force_login(personas[who])
        target = other_regency if who == "csr" else pake
        page = client.get(reverse("program_detail", args=[target.pk]))
        assert page.status_code == 200 and not page.context["can_manage"]
        assert client.post(reverse("program_allocate", args=[target.pk]), {"what_if": "0"}).status_code == 403
        assert client.post(reverse("program_export", args=[target.pk]), {"format": "xlsx"}).status_code == 403
        assert client.post(reverse("program_list"), {"name": "X"}).status_code == 403
    assert not AllocationRun.objects.exists()
    for who in ("public", "village"):
        client.force_login(personas[who])
        assert client.get(reverse("program_list")).status_code == 403
        assert client.get(reverse("program_detail", args=[pake.pk])).status_code == 403
        assert client.get(reverse("program_members", args=[pake.pk])).status_code == 403
        assert "/program/" not in client.get(reverse("home")).content.decode()
    client.logout()
    assert client.get(reverse("program_list")).status_code == 302


# --- creating a program -------------------------------------------------------------------

def _form(**over):
    data = {"name": "Program Baru", "region": "16.06", "status": "active", "start_month": "2026-10",
            "end_month": "2026-12", "income_basis": "1000000", "decile_scale": "p3ke", "decile_min": "1",
            "decile_max": "3", "age_min": "15", "age_max": "65", "categories": ["informal"],
            "quotas": "desil 1 = 12451\ndesil 2 = 24.119", "new_sponsor": "Pemkab Muba (Bappeda)", "sponsor_kind": "apbd",
            "budget": "5000000", "year": "2026"}
    data.update(over)
    return data


def test_create_program_through_the_form(client, personas):
    client.force_login(personas["muba"])
    form = client.get(reverse("program_list")).context["form"]
    assert [c[0] for c in form.fields["region"].choices] == ["16.06"]
    response = client.post(reverse("program_list"), _form(), follow=True)
    p = Program.objects.get(name="Program Baru")
    assert response.redirect_chain[-1][0] == reverse("program_detail", args=[p.pk])
    assert p.region_id == "16.06" and p.start_month == date(2026, 10, 1) and p.end_month == date(2026, 12, 1)
    assert p.quotas == [{"field": "decile", "value": "1", "limit": 12451},
                        {"field": "decile", "value": "2", "limit": 24119}]
    assert p.categories == ["informal"] and p.created_by == personas["muba"]
    funder = p.funders.get()
    assert funder.sponsor.name == "Pemkab Muba (Bappeda)" and funder.budget == 5_000_000 and funder.year == 2026
    # The regency's own budget: committed by its operator, so accepted at once, by them.
    assert (funder.status, funder.decided_by) == ("accepted", personas["muba"])
    # The page shows the head count the budget buys.
    assert response.context["envelopes"][0].capacity > 0


@pytest.mark.parametrize("over, field", [
    ({"start_month": "2026-12", "end_month": "2026-10"}, "end_month"),
    ({"budget": "-5"}, "budget"),
    ({"budget": "1.5"}, "budget"),
    ({"quotas": "desil satu = 12"}, "quotas"),
    ({"quotas": "kategori tukang = 5"}, "quotas"),
    ({"income_basis": "500000"}, "income_basis"),
    ({"year": "2025"}, "year"),
    ({"new_sponsor": "", "sponsor": ""}, "sponsor"),
])
def test_invalid_program_saves_nothing(client, personas, over, field):
    client.force_login(personas["muba"])
    response = client.post(reverse("program_list"), _form(**over))
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not Program.objects.exists() and not Sponsor.objects.exclude(name="PT MMS").exists()
    assert "Program tidak disimpan" in response.content.decode()


def test_operator_cannot_create_in_another_regency(client, personas):
    client.force_login(personas["muba"])
    response = client.post(reverse("program_list"), _form(region="16.03"))
    assert "region" in response.context["form"].errors and not Program.objects.exists()


def test_quota_lines():
    quotas, errors = parse_quotas("desil 1 = 12.451\n\nkategori informal = 5\nwilayah 16.06.01 = 3")
    assert not errors and [q["field"] for q in quotas] == ["decile", "category", "region"]
    assert quotas[0]["limit"] == 12451
    _, errors = parse_quotas("desil 1 12451\nwarna merah = 3")
    assert len(errors) == 2 and errors[0].startswith("Baris 1")


# --- allocation from the page ------------------------------------------------------------

def test_what_if_then_real_allocation(client, personas, pake, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    client.force_login(personas["muba"])
    response = _allocate(client, pake, what_if=True)
    run = AllocationRun.objects.get()
    assert run.what_if and response.redirect_chain[-1][0] == reverse("program_run", args=[pake.pk, run.pk])
    assert "Simulasi" in _messages(response) and not Membership.objects.exists()
    response = _allocate(client, pake)
    run = AllocationRun.objects.get(what_if=False)
    assert Membership.objects.filter(program=pake, status=MembershipStatus.PROPOSED).count() == 2
    assert FundedMonth.objects.count() == 6
    assert "2 kepesertaan baru" in _messages(response)
    detail = client.get(reverse("program_detail", args=[pake.pk]))
    assert detail.context["run"] == run and detail.context["report"]["funded"] == 2
    members = client.get(reverse("program_members", args=[pake.pk]))
    assert len(members.context["rows"]) == 2
    assert "1606011500000001" in members.content.decode()  # an operator sees the whole NIK


def test_allocation_in_the_background_polls_until_done(client, personas, pake, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = True
    # The job goes through the queue; here the queue runs it at once, on the test's connection.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(personas["muba"])
    response = client.post(reverse("program_allocate", args=[pake.pk]), {"what_if": "1"})
    assert response.status_code == 302 and "/alokasi/proses/" in response["Location"]
    token = response["Location"].rstrip("/").split("/")[-1]
    state = client.get(reverse("program_status", args=[pake.pk, token])).json()
    assert state["finished"] and not state["error"]
    done = client.get(response["Location"])
    run = AllocationRun.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("program_run", args=[pake.pk, run.pk])
    # Somebody else's progress is not found.
    client.force_login(personas["admin"])
    assert client.get(reverse("program_status", args=[pake.pk, token])).status_code == 404


def test_outcomes_explained_in_indonesian(client, personas, pake, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    client.force_login(personas["muba"])
    _allocate(client, pake)
    run = AllocationRun.objects.get()
    url = reverse("program_run", args=[pake.pk, run.pk])
    page = client.get(url).content.decode()
    assert "Tidak memenuhi syarat: umur 70 di atas batas 65" in page
    assert "Tidak dibiayai: anggaran habis di desil 2" in page
    assert "Dibiayai oleh Pemkab Musi Banyuasin" in page
    only = client.get(url, {"result": "ineligible", "reason": "age_above"})
    assert [r["o"].reason for r in only.context["rows"]] == ["age_above"]
    found = client.get(url, {"q": "1606011500000003"})
    assert len(found.context["rows"]) == 1
    # In English too.
    client.cookies["django_language"] = "en"
    assert "Not eligible: age 70 above the limit 65" in client.get(url).content.decode()


def test_explain_words():
    from django.utils import translation

    with translation.override("id"):
        assert explain("unfunded", "already_funded", {"program": "PAKE", "months": 3}) == \
            "Sudah dibiayai program PAKE (3 bulan)"
        assert explain("ineligible", "rejected_by_bpjs", {"reason": "NIK ganda"}) == "Ditolak BPJS: NIK ganda"
        assert explain("unfunded", "quota_full", {"field": "decile", "value": "1", "limit": 12451}) == \
            "Tidak dibiayai: kuota penuh (desil 1, batas 12.451)"


# --- exchange files and memberships --------------------------------------------------------

@pytest.fixture
def allocated(client, personas, pake, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    client.force_login(personas["muba"])
    _allocate(client, pake)
    return pake


def test_export_is_xlsx_and_marks_submitted(client, allocated):
    response = client.post(reverse("program_export", args=[allocated.pk]), {"format": "xlsx"})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert "attachment" in response["Content-Disposition"]
    assert set(Membership.objects.values_list("status", flat=True)) == {MembershipStatus.SUBMITTED}
    again = client.post(reverse("program_export", args=[allocated.pk]), {"format": "csv"}, follow=True)
    assert "Tidak ada kepesertaan" in _messages(again)
    csv_again = client.post(reverse("program_export", args=[allocated.pk]), {"format": "csv", "again": "1"})
    assert csv_again.content.startswith(b'\xef\xbb\xbf"ID Kelambu"')


def _answer(rows) -> SimpleUploadedFile:
    import io

    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=["ID Kelambu", "Status", "KPJ", "Alasan"])
    w.writeheader()
    w.writerows(rows)
    return SimpleUploadedFile("jawaban.csv", text.getvalue().encode(), content_type="text/csv")


def test_bad_answer_shows_errors_and_changes_nothing(client, allocated):
    client.post(reverse("program_export", args=[allocated.pk]), {"format": "xlsx"})
    first, second = Membership.objects.order_by("pk")
    response = client.post(reverse("program_answer", args=[allocated.pk]), {"file": _answer([
        {"ID Kelambu": first.pk, "Status": "Terdaftar", "KPJ": "12AB", "Alasan": ""},
        {"ID Kelambu": 999999, "Status": "Terdaftar", "KPJ": "12345678901", "Alasan": ""},
    ])})
    assert response.status_code == 400
    errors = response.context["answer_errors"]
    assert len(errors) == 2 and "12AB" in errors[0] and "999999" in errors[1]
    assert "Berkas jawaban BPJS ditolak" in response.content.decode()
    assert set(Membership.objects.values_list("status", flat=True)) == {MembershipStatus.SUBMITTED}
    assert not Membership.objects.exclude(kpj="").exists()
    # A good answer registers and refills.
    response = client.post(reverse("program_answer", args=[allocated.pk]), {"file": _answer([
        {"ID Kelambu": first.pk, "Status": "Terdaftar", "KPJ": "12345678901", "Alasan": ""},
        {"ID Kelambu": second.pk, "Status": "Ditolak", "KPJ": "", "Alasan": "NIK tidak ditemukan"},
    ])}, follow=True)
    assert "1 terdaftar" in _messages(response)
    first.refresh_from_db()
    assert first.status == "registered" and first.kpj == "12345678901"


def test_end_membership(client, allocated):
    member = Membership.objects.order_by("pk").first()
    url = reverse("program_member_end", args=[allocated.pk, member.pk])
    response = client.post(url, {"reason": "death", "on": "2026-10-15"}, follow=True)
    member.refresh_from_db()
    assert member.status == MembershipStatus.ENDED and member.end_reason == "death"
    assert member.ended_on == date(2026, 10, 15)
    assert FundedMonth.objects.filter(membership=member).count() == 1  # October stays paid
    assert "berakhir" in _messages(response)
    again = client.post(url, {"reason": "death", "on": "2026-10-15"}, follow=True)
    assert "sudah berakhir" in _messages(again)
    bad = client.post(reverse("program_member_end", args=[allocated.pk, Membership.objects.last().pk]),
                      {"reason": "bored", "on": "2026-10-15"}, follow=True)
    assert "bored" in _messages(bad)
    filtered = client.get(reverse("program_members", args=[allocated.pk]), {"status": "ended"})
    assert [r["m"].pk for r in filtered.context["rows"]] == [member.pk]


def test_csr_sees_masked_niks_of_its_own_memberships(client, personas, other_regency, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    make_people([(1, 30, "informal", None, True)])
    from kelambu.registry.models import Person

    Person.objects.update(village_id="16.03.01.2001")
    client.force_login(personas["muaraenim"])
    _allocate(client, other_regency)
    assert Membership.objects.count() == 1
    client.force_login(personas["csr"])
    page = client.get(reverse("program_members", args=[other_regency.pk]))
    html = page.content.decode()
    assert len(page.context["rows"]) == 1 and "1606**********01" in html and "1606011500000001" not in html
    assert "Akhiri" not in html

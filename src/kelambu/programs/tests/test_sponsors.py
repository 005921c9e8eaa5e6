"""A sponsor is an entity with its officers (security issue, class 4): its money goes into a
program only once it has accepted, recorded with who and when; only its officers (or an
administrator) accept, file its lists or see the members it pays for."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kelambu.audit.models import Event
from kelambu.programs import services
from kelambu.programs.models import Membership, Program, ProgramSponsor, Sponsor
from kelambu.programs.tests.test_allocation_service import COST_APBD_Q4, make_people

pytestmark = pytest.mark.django_db

MONTHS = {"start_month": date(2026, 10, 1), "end_month": date(2026, 12, 1)}


def _program(actor, sponsor, people=2):
    return services.create_program(actor, {"name": "Uji CSR", "region_id": "16.06", **MONTHS}, sponsor=sponsor,
                                   year=2026, budget=people * 3 * 20_000)


def test_an_operator_only_asks_a_company_for_money(personas):
    make_people([(1, 30, "informal", None, True), (2, 30, "informal", None, True)])
    mms = personas["csr"].sponsor
    program = _program(personas["muba"], mms)
    envelope = program.funders.get()
    assert (envelope.status, envelope.requested_by, envelope.decided_by) == ("proposed", personas["muba"], None)
    # Nothing of it is allocated before the company accepts.
    with pytest.raises(ValidationError):
        services.allocate_program(program, personas["muba"])
    assert not Membership.objects.exists()
    # Only the company's own officers accept.
    with pytest.raises(PermissionDenied):
        services.decide_envelope(envelope, personas["muba"], accept=True)
    services.decide_envelope(envelope, personas["csr"], accept=True, note="PKS 12/2026")
    envelope.refresh_from_db()
    assert (envelope.status, envelope.decided_by, envelope.decision_note) == ("accepted", personas["csr"], "PKS 12/2026")
    assert Event.objects.filter(action="programs.envelope.accept", actor=personas["csr"]).exists()
    result = services.allocate_program(program, personas["muba"])
    assert result.report["funded"] == 2 and Membership.objects.filter(sponsor=mms).count() == 2
    with pytest.raises(ValidationError):
        services.decide_envelope(envelope, personas["csr"], accept=False)  # answered once


def test_a_declined_request_is_never_allocated(personas):
    make_people([(1, 30, "informal", None, True)])
    program = _program(personas["muba"], personas["csr"].sponsor)
    services.decide_envelope(program.funders.get(), personas["csr"], accept=False)
    with pytest.raises(ValidationError):
        services.allocate_program(program, personas["muba"])


def test_the_regencys_own_budget_is_committed_by_its_operator(personas):
    regency = Sponsor.objects.create(name="Pemkab Musi Banyuasin", kind="apbd", region_id="16.06")
    other = Sponsor.objects.create(name="Pemkab Muara Enim", kind="apbd", region_id="16.03")
    program = _program(personas["muba"], regency)
    assert program.funders.get().status == "accepted"
    envelope = services.add_envelope(program, other, personas["muba"], year=2026, budget=COST_APBD_Q4)
    assert envelope.status == "proposed"  # another regency's money: that regency decides


def test_no_company_is_made_from_a_typed_name(personas):
    with pytest.raises(PermissionDenied):
        services.create_program(personas["muba"], {"name": "Uji", "region_id": "16.06", **MONTHS},
                                new_sponsor={"name": "PT Palsu", "kind": "csr", "region_id": "16.06"},
                                year=2026, budget=1)
    assert not Sponsor.objects.filter(name="PT Palsu").exists() and not Program.objects.exists()
    # The administrator adds companies (and gives them officers).
    program = services.create_program(personas["admin"], {"name": "Uji", "region_id": "16.06", **MONTHS},
                                      new_sponsor={"name": "PT Baru", "kind": "csr", "region_id": "16.06"},
                                      year=2026, budget=1)
    assert program.funders.get().sponsor.name == "PT Baru"


def test_the_form_refuses_a_new_company_from_an_operator(client, personas):
    client.force_login(personas["muba"])
    form = client.get(reverse("program_list")).context["form"]
    assert {k for k, _label in form.fields["sponsor_kind"].choices if k} == {"apbd", "apbdes"}
    response = client.post(reverse("program_list"), {
        "name": "P", "region": "16.06", "status": "active", "start_month": "2026-10", "end_month": "2026-12",
        "income_basis": "1000000", "new_sponsor": "PT Palsu", "sponsor_kind": "csr", "budget": "1", "year": "2026"})
    assert "sponsor_kind" in response.context["form"].errors and not Program.objects.exists()


def test_funding_requests_page_for_the_companys_officers(client, personas, django_user_model):
    program = _program(personas["muba"], personas["csr"].sponsor)
    envelope = program.funders.get()
    client.force_login(personas["csr"])
    page = client.get(reverse("funding_requests")).content.decode()
    assert "Uji CSR" in page and "Menunggu persetujuan sponsor" in page
    # An officer of another company does not see or answer it.
    rival = Sponsor.objects.create(name="PT Saingan", kind="csr")
    officer = django_user_model.objects.create_user("csr.saingan", role="csr_officer", sponsor=rival)
    client.force_login(officer)
    assert "Uji CSR" not in client.get(reverse("funding_requests")).content.decode()
    assert client.post(reverse("funding_decide", args=[envelope.pk]), {"decision": "accept"}).status_code == 404
    assert client.get(reverse("program_detail", args=[program.pk])).status_code == 404
    client.force_login(personas["csr"])
    response = client.post(reverse("funding_decide", args=[envelope.pk]), {"decision": "accept"}, follow=True)
    assert response.status_code == 200
    assert ProgramSponsor.objects.get(pk=envelope.pk).status == "accepted"
    # A regency operator answers only for its regency's own budget: a company's request is
    # not theirs to see. The public has no such page.
    client.force_login(personas["muba"])
    assert "Uji CSR" not in client.get(reverse("funding_requests")).content.decode()
    client.force_login(personas["public"])
    assert client.get(reverse("funding_requests")).status_code == 403


def test_a_regencys_budget_asked_by_another_regency_is_answered_by_its_operator(client, personas):
    muba_budget = Sponsor.objects.create(name="Pemkab Musi Banyuasin", kind="apbd", region_id="16.06")
    enim_budget = Sponsor.objects.create(name="Pemkab Muara Enim", kind="apbd", region_id="16.03")
    program = _program(personas["muba"], muba_budget)
    envelope = services.add_envelope(program, enim_budget, personas["muba"], year=2026, budget=COST_APBD_Q4)
    # The asking regency cannot answer its own request for another regency's money.
    client.force_login(personas["muba"])
    assert "Pemkab Muara Enim" not in client.get(reverse("funding_requests")).content.decode()
    assert client.post(reverse("funding_decide", args=[envelope.pk]), {"decision": "accept"}).status_code == 404
    client.force_login(personas["muaraenim"])
    assert "Pemkab Muara Enim" in client.get(reverse("funding_requests")).content.decode()
    client.post(reverse("funding_decide", args=[envelope.pk]), {"decision": "decline", "note": "anggaran habis"})
    envelope.refresh_from_db()
    assert (envelope.status, envelope.decided_by, envelope.decision_note) == (
        "declined", personas["muaraenim"], "anggaran habis")


def test_the_home_page_speaks_to_a_company_or_to_a_regency(client, personas):
    client.force_login(personas["csr"])
    page = client.get(reverse("home")).content.decode()
    assert "program yang meminta perusahaan Anda mendanainya" in page
    client.force_login(personas["muba"])
    page = client.get(reverse("home")).content.decode()
    assert "perusahaan Anda" not in page and "APBD atau APBDes kabupaten Anda" in page

"""Scoped reads and NIK masking, tested with personas: every role sees exactly its part.
What a company sees of the people it pays for (class 5), and why a masked NIK cannot be
rebuilt (class 2), are here too."""

from datetime import date

import pytest
from django.urls import reverse

from kelambu.accounts import access
from kelambu.audit.models import Event
from kelambu.programs.models import Membership, Program, ProgramSponsor, Sponsor
from kelambu.registry.models import Person
from kelambu.registry.services import ImportOptions, import_list

HEADER = "NIK,Nama,JK,Tgl Lahir,Kode Desa,Desil\n"
PEOPLE = [
    "1606011503850001,Muhammad Sholeh,L,15-03-1985,16.06.01.2001,1",  # Muba, Sekayu village 2001
    "1606015708900002,Siti Aminah,P,17-08-1990,16.06.01.2002,2",  # Muba, another village
    "1603011001800003,Ahmad Fauzi,L,10-01-1980,16.03.01.2011,1",  # Muara Enim
    "1671015204950004,Nur Hasanah,P,12-04-1995,16.71.01.1001,3",  # Kota Palembang
]
SPONSOR = ["1603011001800003,Ahmad Fauzi,L,10-01-1980,16.03.01.2011,", "1671015204950004,Nur Hasanah,P,12-04-1995,16.71.01.1001,"]


@pytest.fixture
def registry(personas, tmp_path):
    lists = tmp_path / "p3ke.csv"
    lists.write_text(HEADER + "\n".join(PEOPLE) + "\n")
    import_list(lists, ImportOptions(source="p3ke"), personas["admin"])
    company = tmp_path / "mms.csv"
    company.write_text(HEADER + "\n".join(SPONSOR) + "\n")
    import_list(company, ImportOptions(source="sponsor"), personas["csr"])
    return personas


@pytest.fixture
def funded(registry):
    """A Muara Enim program: PT MMS pays for Ahmad Fauzi (with a KPJ), the regency for
    Muhammad Sholeh, whom the company must not see."""
    program = Program.objects.create(name="Uji", region_id="16.03", start_month=date(2026, 1, 1),
                                     end_month=date(2026, 6, 1))
    mms = registry["csr"].sponsor
    regency = Sponsor.objects.create(name="Pemkab Muara Enim", kind="apbd", region_id="16.03")
    for sponsor in (mms, regency):
        ProgramSponsor.objects.create(program=program, sponsor=sponsor, year=2026, budget=10_000_000, status="accepted")
    months = {"start_month": date(2026, 1, 1), "end_month": date(2026, 6, 1)}
    Membership.objects.create(person=Person.objects.get(nik="1603011001800003"), program=program, sponsor=mms,
                              status="registered", kpj="26000000777", **months)
    Membership.objects.create(person=Person.objects.get(nik="1606011503850001"), program=program, sponsor=regency,
                              status="registered", kpj="26000000888", **months)
    return program


def names(user):
    return set(Person.objects.visible_to(user).values_list("name", flat=True))


def test_each_persona_sees_its_scope(registry):
    p = registry
    everyone = {"Muhammad Sholeh", "Siti Aminah", "Ahmad Fauzi", "Nur Hasanah"}
    assert names(p["admin"]) == everyone
    assert names(p["muba"]) == {"Muhammad Sholeh", "Siti Aminah"}
    assert names(p["muaraenim"]) == {"Ahmad Fauzi"}
    assert names(p["village"]) == {"Muhammad Sholeh"}
    # A company's list does not open the registry to it: naming a NIK reveals nothing.
    assert names(p["csr"]) == set()
    assert names(p["bpjs"]) == everyone  # province-wide branch office
    assert names(p["public"]) == set()


def test_anonymous_and_unscoped_accounts_see_nobody(registry, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert names(AnonymousUser()) == set()
    lost = django_user_model.objects.create_user("noregion", role="regency_operator")
    assert names(lost) == set()  # a scoped role without a scope sees nothing, not everything
    assert not access.can_import(lost) and not access.can_decide(lost) and access.change_scope(lost) is None
    nosponsor = django_user_model.objects.create_user("nosponsor", role="csr_officer")
    assert not access.can_import(nosponsor) and not access.can_see_programs(nosponsor)
    inactive = registry["muba"]
    inactive.is_active = False
    assert names(inactive) == set()


def test_nik_masking_by_role(registry):
    assert access.can_see_nik(registry["muba"]) and access.can_see_nik(registry["bpjs"])
    assert not access.can_see_nik(registry["csr"]) and not access.can_see_nik(registry["public"])


def test_person_outside_scope_is_not_found(registry, client):
    palembang = Person.objects.get(name="Nur Hasanah")
    client.force_login(registry["muba"])
    assert client.get(reverse("person_detail", args=[palembang.pk])).status_code == 404
    for who in ("public", "csr"):
        client.force_login(registry[who])
        assert client.get(reverse("person_detail", args=[palembang.pk])).status_code == 403
        assert client.get(reverse("person_list")).status_code == 403


def test_public_sees_aggregates_only(registry, client):
    client.force_login(registry["public"])
    page = client.get(reverse("regions_summary")).content.decode()
    assert "Musi Banyuasin" in page and "Sholeh" not in page and "160601" not in page


# --- what a company sees of the people it pays for (class 5) -----------------------------

def test_a_company_sees_its_own_members_by_name_and_masked_nik_only(funded, registry, client):
    client.force_login(registry["csr"])
    page = client.get(reverse("program_members", args=[funded.pk])).content.decode()
    assert "Ahmad Fauzi" in page and "1603**********03" in page
    assert "Muhammad Sholeh" not in page  # paid for by the regency, not the company
    # Nothing beside the mask rebuilds it, and no KPJ, decile or registry link.
    for hidden in ("1603011001800003", "26000000777", "10-01-1980", "16.03.01.2011", "/orang/"):
        assert hidden not in page, hidden
    # An operator of the program's regency sees the details.
    client.force_login(registry["muaraenim"])
    page = client.get(reverse("program_members", args=[funded.pk])).content.decode()
    assert "1603011001800003" in page and "26000000777" in page


def test_a_company_cannot_change_a_person_only_propose(funded, registry, client):
    from kelambu.registry.models import Proposal

    ahmad = Person.objects.get(nik="1603011001800003")
    client.force_login(registry["csr"])
    assert client.post(reverse("person_edit", args=[ahmad.pk]), {"name": "X", "reason": "x"}).status_code == 403
    member = Membership.objects.get(person=ahmad)
    url = reverse("program_member_propose", args=[funded.pk, member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "Ahmad Fauzi Rahman", "reason": "KTP asli bertuliskan nama lengkap"})
    assert response.status_code == 302
    ahmad.refresh_from_db()
    assert ahmad.name == "Ahmad Fauzi"  # proposed, not changed
    proposal = Proposal.objects.get()
    assert proposal.owner_region == "16.03.01.2011"
    # Not for someone the company does not pay for.
    sholeh = Membership.objects.get(person__nik="1606011503850001")
    assert client.get(reverse("program_member_propose", args=[funded.pk, sholeh.pk])).status_code == 404
    # The person's regency decides; the correction is then audited like any other.
    client.force_login(registry["muaraenim"])
    assert "Ahmad Fauzi Rahman" in client.get(reverse("decisions")).content.decode()
    client.post(reverse("proposal_decide", args=[proposal.pk]), {"decision": "accept"})
    ahmad.refresh_from_db()
    assert ahmad.name == "Ahmad Fauzi Rahman"
    assert Event.objects.filter(action="person.correct", object_id=str(ahmad.pk)).exists()
    client.force_login(registry["muba"])
    assert client.post(reverse("proposal_decide", args=[proposal.pk]), {"decision": "accept"}).status_code == 404


# --- masked NIKs cannot be recovered (class 2) -------------------------------------------

def test_a_masked_role_finds_by_a_whole_nik_only(funded, registry, client, settings):
    """Ten prefix queries per digit recovered every masked NIK: part of a NIK now finds
    nothing for a role that sees NIKs masked; a whole NIK is audited and limited per hour."""
    settings.KELAMBU_NIK_LOOKUPS_PER_HOUR = 3
    client.force_login(registry["csr"])
    url = reverse("program_members", args=[funded.pk])
    for prefix in ("1", "16", "1603", "160301100180000"):
        assert not client.get(url, {"q": prefix}).context["rows"], prefix
    assert len(client.get(url, {"q": "1603011001800003"}).context["rows"]) == 1
    assert Event.objects.filter(action="search.nik", actor=registry["csr"]).count() == 1
    assert "1603011001800003" not in Event.objects.get(action="search.nik").summary
    for _ in range(2):
        client.get(url, {"q": "1603011001800099"})
    assert client.get(url, {"q": "1603011001800003"}).status_code == 403  # the fourth in an hour
    assert Event.objects.filter(action="search.nik_limited").exists()
    # By name it still works.
    assert len(client.get(url, {"q": "fauzi"}).context["rows"]) == 1


def test_operators_search_by_part_of_a_nik_and_are_audited_for_a_whole_one(registry, client):
    client.force_login(registry["muba"])
    page = client.get(reverse("person_list"), {"q": "160601"})
    assert {p.name for p, _nik in page.context["rows"]} == {"Muhammad Sholeh", "Siti Aminah"}
    assert not Event.objects.filter(action="search.nik").exists()
    client.get(reverse("person_list"), {"q": "1606011503850001"})
    assert Event.objects.filter(action="search.nik", actor=registry["muba"]).count() == 1


def test_person_views_are_audited(registry, client):
    sholeh = Person.objects.get(name="Muhammad Sholeh")
    client.force_login(registry["muba"])
    client.get(reverse("person_detail", args=[sholeh.pk]))
    assert Event.objects.filter(action="person.view", object_id=str(sholeh.pk), actor=registry["muba"]).exists()

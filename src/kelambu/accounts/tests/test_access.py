"""Scoped reads and NIK masking, tested with personas: every role sees exactly its part."""

import pytest
from django.urls import reverse

from kelambu.accounts import access
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


def names(user):
    return set(Person.objects.visible_to(user).values_list("name", flat=True))


def test_each_persona_sees_its_scope(registry):
    p = registry
    everyone = {"Muhammad Sholeh", "Siti Aminah", "Ahmad Fauzi", "Nur Hasanah"}
    assert names(p["admin"]) == everyone
    assert names(p["muba"]) == {"Muhammad Sholeh", "Siti Aminah"}
    assert names(p["muaraenim"]) == {"Ahmad Fauzi"}
    assert names(p["village"]) == {"Muhammad Sholeh"}
    assert names(p["csr"]) == {"Ahmad Fauzi", "Nur Hasanah"}  # the company's own list
    assert names(p["bpjs"]) == everyone  # province-wide branch office
    assert names(p["public"]) == set()


def test_anonymous_and_unscoped_accounts_see_nobody(registry, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert names(AnonymousUser()) == set()
    lost = django_user_model.objects.create_user("noregion", role="regency_operator")
    assert names(lost) == set()  # a scoped role without a scope sees nothing, not everything
    inactive = registry["muba"]
    inactive.is_active = False
    assert names(inactive) == set()


def test_nik_masking_by_role(registry):
    assert access.can_see_nik(registry["muba"]) and access.can_see_nik(registry["bpjs"])
    assert not access.can_see_nik(registry["csr"]) and not access.can_see_nik(registry["public"])


def test_web_list_masks_nik_for_csr_and_shows_it_to_operators(registry, client):
    client.force_login(registry["csr"])
    page = client.get(reverse("person_list")).content.decode()
    assert "Ahmad Fauzi" in page and "1603011001800003" not in page and "1603**********03" in page
    assert "Muhammad Sholeh" not in page
    client.force_login(registry["muaraenim"])
    page = client.get(reverse("person_list")).content.decode()
    assert "1603011001800003" in page


def test_person_outside_scope_is_not_found(registry, client):
    palembang = Person.objects.get(name="Nur Hasanah")
    client.force_login(registry["muba"])
    assert client.get(reverse("person_detail", args=[palembang.pk])).status_code == 404
    client.force_login(registry["public"])
    assert client.get(reverse("person_detail", args=[palembang.pk])).status_code == 403
    assert client.get(reverse("person_list")).status_code == 403


def test_public_sees_aggregates_only(registry, client):
    client.force_login(registry["public"])
    page = client.get(reverse("regions_summary")).content.decode()
    assert "Musi Banyuasin" in page and "Sholeh" not in page and "160601" not in page

"""Shared fixtures: the region tree loaded once per test database, and personas: one
user per role, each with a scope, as the access rules are tested against them."""

import pytest

from kelambu.accounts.models import Role
from kelambu.web.i18n import compile_messages

# The UI is tested in Bahasa Indonesia, so the catalogue must be compiled first.
compile_messages()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from kelambu.regions.services import load_regions

    with django_db_blocker.unblock():
        load_regions()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 at full strength would dominate the run time; tests need no real hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def personas(db):
    from django.contrib.auth import get_user_model

    from kelambu.programs.models import Sponsor

    User = get_user_model()
    # A CSR officer acts for a sponsor entity (programs.Sponsor), never a typed name.
    mms, _created = Sponsor.objects.get_or_create(name="PT MMS", defaults={"kind": "csr", "region_id": "16.13"})

    def make(username, role, **extra):
        user = User.objects.create_user(username=username, password="pw-" + username, role=role, **extra)
        return user

    return {
        "admin": make("admin", Role.ADMIN, is_staff=True, is_superuser=True),
        "muba": make("dinsos.muba", Role.REGENCY_OPERATOR, region_id="16.06"),
        "muaraenim": make("dpmd.muaraenim", Role.REGENCY_OPERATOR, region_id="16.03"),
        "village": make("desa.sekayu", Role.VILLAGE_OPERATOR, region_id="16.06.01.2001"),
        "csr": make("csr.mms", Role.CSR_OFFICER, sponsor=mms),
        "bpjs": make("bpjs.sumsel", Role.BPJS_OFFICER, region_id="16"),
        "public": make("publik", Role.PUBLIC),
    }

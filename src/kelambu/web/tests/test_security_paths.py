"""Security paths: `kelambu demo` refuses a real installation's database; the rejected-rows
download serves only csv and xlsx, with a header no file name can break; every download
of personal data (and every person view and whole-NIK search) is in the append-only audit
trail; responses to a logged-in user are never stored by a browser or proxy."""

import csv
import email.message
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from kelambu.audit.models import Event
from kelambu.audit.services import record as audit
from kelambu.registry.models import BatchStatus, ImportBatch, Person
from kelambu.registry.services import ImportOptions, import_list

pytestmark = pytest.mark.django_db

CSV = (
    "NIK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Kode Desa;Desil;Pekerjaan\n"
    "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001;1;Petani Karet\n"
    "1606015708900002;Siti Aminah;P;17-08-1990;16.06.01.2001;2;Pedagang\n"
    "123;Rahmat;L;01-01-1980;16.06.01.2001;1;Petani\n"
)
HOSTILE_NAMES = [
    'daftar".csv',
    'daftar.csv"; filename="evil.bat',
    "daftar.csv;filename=evil.bat",
    "daftar.csv\r\nSet-Cookie: sessionid=evil",
    "daftar\n.csv",
    "daftar\\\".csv",
    "daftar-désa-ñ-日本.csv",
    "<script>alert(1)</script>.csv",
]


@pytest.fixture
def imported(personas, tmp_path):
    """A list imported by Musi Banyuasin's operator: two people accepted, one row rejected,
    under a hostile file name."""
    path = tmp_path / "list.csv"
    path.write_text(CSV, encoding="utf-8")
    name = 'p3ke".csv;filename=evil.bat\r\nX-Evil: 1 <b>désa</b>'
    batch, ran = import_list(path, ImportOptions(source="p3ke", file_name=name), personas["muba"])
    assert ran and (batch.status, batch.accepted, batch.rejected) == (BatchStatus.DONE, 2, 1)
    assert batch.file_name == name  # stored as given
    return batch


DISPOSITION = re.compile(r"""attachment; (?:filename="(?:[\t !#-\[\]-~]|\\["\\])*"|filename\*=utf-8''[A-Za-z0-9%._~/-]*)""")


def no_store(response) -> bool:
    control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= control


def disposition_params(value: str) -> tuple[list[str], str | None]:
    """The parameter names of a Content-Disposition value and the file name a mail/HTTP
    parser reads from it."""
    assert "\r" not in value and "\n" not in value
    # One parameter, by RFC 6266's grammar: a quoted-string whose quotes and backslashes are
    # escaped, or an RFC 5987 percent-encoded value.
    assert DISPOSITION.fullmatch(value), value
    message = email.message.Message()
    message["Content-Disposition"] = value
    params = message.get_params(header="content-disposition")
    return [k.lower() for k, _v in params[1:]], message.get_filename()


# --- 1. kelambu demo refuses a database it did not make ------------------------------------

def _demo_command():
    from kelambu.web.management.commands.demo import Command

    return Command()


def test_demo_check_passes_on_an_empty_database():
    assert not get_user_model().objects.exists()
    _demo_command()._check_database()  # no CommandError


def test_demo_refuses_a_database_with_someone_elses_account(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    User = get_user_model()
    User.objects.create_user(username="petugas.dinsos", password="rahasia-sekali")
    with pytest.raises(CommandError) as refused:
        call_command("demo", no_serve=True, scale=0.002)
    message = str(refused.value)
    assert "(petugas.dinsos)" in message
    assert "did not make" in message and "tidak dibuat oleh demo" in message
    assert "kelambu setup" in message
    # Nothing was added: no demo account (no admin with the published password), no list.
    assert list(User.objects.values_list("username", flat=True)) == ["petugas.dinsos"]
    assert not User.objects.filter(is_superuser=True).exists()
    assert not Event.objects.filter(action="user.create").exists()
    assert not ImportBatch.objects.exists()
    assert not (tmp_path / "demo").exists()


def test_demo_check_passes_on_the_demos_own_database_and_names_only_foreign_accounts():
    from kelambu.programs.seed import company_sponsors

    command = _demo_command()
    command._users(company_sponsors())  # the demo's own accounts, as `kelambu demo` makes them
    made = Event.objects.filter(action="user.create", actor_name="demo", actor=None).count()
    assert made == get_user_model().objects.count() == 7
    command._check_database()  # its own accounts: no CommandError

    # An account added by someone else (even with a demo event about something else) is refused.
    stranger = get_user_model().objects.create_user(username="zz.operator", password="rahasia-sekali")
    audit("demo", "import.done", stranger, summary="not a user.create")
    with pytest.raises(CommandError) as refused:
        command._check_database()
    assert "(zz.operator)" in str(refused.value)  # the demo's own accounts are not named


# --- 3. the rejected-rows download ---------------------------------------------------------

@pytest.mark.parametrize("suffix", [
    "ditolak.bat", "ditolak.html", "ditolak.csv.bat", "ditolak.xlsx.html", "ditolak.csv%0d%0aSet-Cookie:x=1",
    "ditolak.csv%0a", "ditolak.csv%00", "ditolak.CSV", "ditolak.csv/", "ditolak.", "ditolak",
])
def test_rejected_rows_other_suffixes_are_not_found(client, personas, imported, suffix):
    client.force_login(personas["muba"])
    response = client.get(f"/impor/{imported.pk}/{suffix}")
    assert response.status_code == 404
    assert "Content-Disposition" not in response
    assert not Event.objects.filter(action="download.rejected_rows").exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rejected_rows_download_is_an_attachment_with_one_safe_file_name(client, personas, imported, fmt):
    client.force_login(personas["muba"])
    response = client.get(f"/impor/{imported.pk}/ditolak.{fmt}")
    assert response.status_code == 200
    value = response["Content-Disposition"]
    assert value == f'attachment; filename="ditolak-impor-{imported.pk}.{fmt}"'
    assert disposition_params(value) == (["filename"], f"ditolak-impor-{imported.pk}.{fmt}")
    assert "evil" not in str(response.serialize_headers())
    if fmt == "csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == 2 and "Rahmat" in rows[1] and "NIK_FORMAT" in ",".join(rows[1])
    else:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert response.content[:2] == b"PK"


def test_rejected_rows_only_for_a_finished_batch_in_the_users_area(client, personas, imported):
    url = reverse("batch_rejected", args=[imported.pk, "csv"])
    client.force_login(personas["muaraenim"])  # another regency's operator
    assert client.get(url).status_code == 404
    client.force_login(personas["public"])
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302
    ImportBatch.objects.filter(pk=imported.pk).update(status=BatchStatus.RUNNING)
    client.force_login(personas["muba"])
    assert client.get(url).status_code == 404
    assert not Event.objects.filter(action="download.rejected_rows").exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_attachment_header_cannot_be_split_or_given_a_second_file_name(name):
    from kelambu.web.pages import attachment

    response = attachment(b"x", "text/csv; charset=utf-8", name)
    params, parsed = disposition_params(response["Content-Disposition"])
    assert response["Content-Disposition"].startswith("attachment; ")
    assert len(params) == 1 and params[0] in ("filename", "filename*")
    assert parsed == name  # read back exactly: nothing in it became syntax
    assert b"Set-Cookie" not in response.serialize_headers().split(b"Content-Disposition")[0]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_batch_file_names_break_no_page_or_download(client, personas, imported, name):
    ImportBatch.objects.filter(pk=imported.pk).update(file_name=name)
    client.force_login(personas["muba"])
    for url in (reverse("batch_rejected", args=[imported.pk, "csv"]), reverse("batch_rejected", args=[imported.pk, "xlsx"]),
                reverse("batch_report", args=[imported.pk])):
        response = client.get(url)
        assert response.status_code == 200, url
        params, _parsed = disposition_params(response["Content-Disposition"])
        assert params == ["filename"], url
    for url in (reverse("batch_detail", args=[imported.pk]), reverse("batch_list")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>alert(1)</script>" not in response.content.decode()


# --- 4. every download of personal data is audited -----------------------------------------

def _only_event(action, actor):
    events = list(Event.objects.filter(action=action))
    assert len(events) == 1, [str(e) for e in events]
    assert events[0].actor == actor and events[0].actor_name == actor.username
    return events[0]


def test_rejected_rows_and_report_downloads_are_audited(client, personas, imported):
    muba = personas["muba"]
    client.force_login(muba)
    assert client.get(reverse("batch_rejected", args=[imported.pk, "csv"])).status_code == 200
    event = _only_event("download.rejected_rows", muba)
    assert (event.object_type, event.object_id) == ("registry.importbatch", str(imported.pk))
    assert "csv" in event.summary and "1 rows" in event.summary
    assert client.get(reverse("batch_rejected", args=[imported.pk, "xlsx"])).status_code == 200
    assert Event.objects.filter(action="download.rejected_rows", actor=muba, object_id=str(imported.pk)).count() == 2
    assert Event.objects.filter(action="download.rejected_rows", summary__contains="xlsx").count() == 1

    response = client.get(f"/impor/{imported.pk}/laporan.json")
    assert response.status_code == 200 and response.json()["rejected"] == 1
    event = _only_event("download.import_report", muba)
    assert (event.object_type, event.object_id) == ("registry.importbatch", str(imported.pk))


def test_person_view_and_whole_nik_search_are_audited(client, personas, imported):
    muba = personas["muba"]
    person = Person.objects.get(nik="1606011503850001")
    client.force_login(muba)
    assert client.get(reverse("person_list"), {"q": "sholeh"}).status_code == 200
    assert not Event.objects.filter(action="search.nik").exists()  # a name search is not a NIK lookup
    page = client.get(reverse("person_list"), {"q": "1606 0115 0385 0001"})
    assert page.status_code == 200 and "Muhammad Sholeh" in page.content.decode()
    event = _only_event("search.nik", muba)
    assert (event.object_type, event.object_id) == ("search", "registry")
    assert event.data == {"nik": "1606011503850001"}
    assert "1606011503850001" not in event.summary  # masked in the summary

    assert client.get(reverse("person_detail", args=[person.pk])).status_code == 200
    event = _only_event("person.view", muba)
    assert (event.object_type, event.object_id) == ("registry.person", str(person.pk))

    # A refused view is no view: nothing recorded for it.
    client.force_login(personas["muaraenim"])
    assert client.get(reverse("person_detail", args=[person.pk])).status_code == 404
    assert Event.objects.filter(action="person.view").count() == 1


def test_bpjs_exchange_file_download_is_audited(client, personas):
    from kelambu.programs.services import allocate_program
    from kelambu.programs.tests.test_allocation_service import make_people, program

    make_people([(1, 30, "informal", None, True), (2, 40, "informal", None, True)])
    p = program(name="PAKE Uji", budget_people=2)
    allocate_program(p, "test")
    muba = personas["muba"]
    client.force_login(muba)
    response = client.post(reverse("program_export", args=[p.pk]), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert disposition_params(response["Content-Disposition"])[0] == ["filename"]
    assert no_store(response)
    event = _only_event("download.bpjs_export", muba)
    assert (event.object_type, event.object_id) == ("programs.program", str(p.pk))
    assert "2 rows" in event.summary


def test_audit_events_cannot_be_changed_or_deleted(personas):
    muba = personas["muba"]
    before = Event.objects.count()
    event = audit(muba, "person.view", summary="person #1 viewed", object_type="registry.person", object_id="1")
    event.summary = "nothing to see"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        Event.objects.filter(pk=event.pk).update(summary="nothing to see")
    with pytest.raises(PermissionError):
        Event.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):
        Event.objects.all().delete()
    with pytest.raises(PermissionError), transaction.atomic():  # bulk_update joins the caller's transaction
        Event.objects.bulk_update([event], ["summary"])
    # The actor cannot be removed from under the trail either.
    with pytest.raises(ProtectedError):
        muba.delete()
    stored = Event.objects.get(pk=event.pk)
    assert (stored.summary, stored.actor_id) == ("person #1 viewed", muba.pk)
    assert Event.objects.count() == before + 1


def test_audit_events_are_read_only_in_the_admin(client, personas):
    event = audit(personas["muba"], "person.view", summary="person #1 viewed", object_type="registry.person",
                  object_id="1")
    client.force_login(personas["admin"])
    change = reverse("admin:audit_event_change", args=[event.pk])
    assert client.get(change).status_code == 200  # may be read
    assert client.post(change, {"summary": "edited", "action": "x"}).status_code == 403
    assert client.post(reverse("admin:audit_event_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_event_add")).status_code == 403
    assert Event.objects.get(pk=event.pk).summary == "person #1 viewed"


# --- 5. no caching for logged-in users -----------------------------------------------------

def test_personal_pages_and_downloads_are_not_stored(client, personas, imported):
    person = Person.objects.get(nik="1606011503850001")
    client.force_login(personas["muba"])
    for url in (reverse("home"), reverse("person_list") + "?q=1606011503850001",
                reverse("person_detail", args=[person.pk]), reverse("batch_list"),
                reverse("batch_detail", args=[imported.pk]), reverse("batch_status", args=[imported.pk]),
                reverse("batch_report", args=[imported.pk]), reverse("batch_rejected", args=[imported.pk, "csv"]),
                reverse("batch_rejected", args=[imported.pk, "xlsx"]), f"/impor/{imported.pk}/ditolak.bat"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert no_store(response), (url, response.get("Cache-Control"))
        assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
        assert "Expires" in response, url


def test_anonymous_responses_and_the_login_page(client, personas, imported):
    # Anonymous: sent to the login page; the middleware adds nothing (no personal data here).
    response = client.get(reverse("batch_rejected", args=[imported.pk, "csv"]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "no-store" not in response.get("Cache-Control", "")
    # The login page itself is never cached (Django's LoginView), for anyone.
    login = client.get(reverse("login"))
    assert login.status_code == 200 and no_store(login)
    # Logging in: the response already belongs to a logged-in user.
    done = client.post(reverse("login"), {"username": "dinsos.muba", "password": "pw-dinsos.muba"})
    assert done.status_code == 302 and no_store(done)
    assert no_store(client.get(reverse("batch_rejected", args=[imported.pk, "csv"])))

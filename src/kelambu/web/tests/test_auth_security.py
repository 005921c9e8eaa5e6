"""Login throttling (django-axes), session length on shared office PCs, no caching of
personal data, and users changing their own password."""

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kelambu.audit.models import Event
from kelambu.registry.models import ImportBatch, Person

CSV = (
    "NIK;Nama Lengkap;Jenis Kelamin;Tanggal Lahir;Kode Desa;Desil;Pekerjaan\n"
    "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001;1;Petani Karet\n"
    "123;Rahmat;L;01-01-1980;16.06.01.2001;1;Petani\n"
)
RIGHT = "pw-dinsos.muba"


def login(client, username="dinsos.muba", password=RIGHT, ip="10.1.1.1", url=None):
    return client.post(url or reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return client.get(reverse("home")).status_code == 200


def lockout_page(response) -> bool:
    return response.status_code == 429 and 'class="card narrow lockout"' in response.content.decode()


# --- Brute force ----------------------------------------------------------------------

def test_axes_is_on_with_the_documented_defaults():
    assert "axes" in settings.INSTALLED_APPS and settings.AXES_ENABLED
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert sorted(settings.AXES_LOCKOUT_PARAMETERS) == ["ip_address", "username"]
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=30)


def test_two_hundred_wrong_passwords_then_the_right_one_is_refused(client, personas):
    from axes.models import AccessAttempt

    for _ in range(200):
        login(client, password="Tebakan-123")
    response = login(client)
    assert lockout_page(response)
    assert not logged_in(client)
    # The failures are recorded without the passwords typed.
    attempt = AccessAttempt.objects.get(username="dinsos.muba")
    assert attempt.failures_since_start == 201
    assert "Tebakan-123" not in attempt.post_data and RIGHT not in attempt.post_data


def test_the_admin_login_is_throttled_too(client, personas):
    url = reverse("admin:login")
    for _ in range(200):
        client.post(url, {"username": "admin", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
    response = client.post(url, {"username": "admin", "password": "pw-admin", "next": "/admin/"},
                           REMOTE_ADDR="10.1.1.1")
    assert lockout_page(response)
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_a_failure_below_the_limit_does_not_lock(client, personas, settings):
    settings.AXES_FAILURE_LIMIT = 3
    login(client, password="wrong")
    login(client, password="wrong")
    assert login(client).status_code == 302 and logged_in(client)


def test_lock_by_address_many_usernames_from_one_computer(client, personas, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for i in range(5):
        login(client, username=f"tebakan{i}", password="wrong", ip="10.2.2.2")
    # Anyone from that address is refused, even with the right password...
    assert lockout_page(login(client, ip="10.2.2.2"))
    # ...while the same account from another address gets in.
    other = Client()
    assert login(other, ip="10.3.3.3").status_code == 302 and logged_in(other)


def test_lock_by_account_one_username_from_several_addresses(client, personas, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for i in range(5):
        login(client, password="wrong", ip=f"10.4.4.{i + 1}")
    # The account is refused from a fresh address, with the right password...
    assert lockout_page(login(Client(), ip="10.5.5.5"))
    # ...while another account from that same fresh address gets in.
    other = Client()
    assert login(other, username="desa.sekayu", password="pw-desa.sekayu", ip="10.5.5.5").status_code == 302
    assert logged_in(other)


def test_the_cool_off_lets_the_user_in_again(client, personas, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        login(client, password="wrong")
    assert lockout_page(login(client))
    # Move the recorded failures back past the cool-off time.
    past = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    assert AccessAttempt.objects.update(attempt_time=past) >= 1
    assert login(client).status_code == 302 and logged_in(client)


def test_the_lockout_page_is_in_indonesian_by_default_and_english_on_request(client, personas, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        login(client, password="wrong")
    page = login(client).content.decode()
    assert '<html lang="id">' in page
    assert "Terlalu banyak percobaan masuk yang gagal" in page
    assert "30 menit" in page and "administrator" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = login(client)
    assert lockout_page(english)
    text = english.content.decode()
    assert "Too many failed login attempts" in text and "30 minutes" in text


def test_a_locked_out_admin_can_be_unlocked_with_the_management_command(client, personas, settings):
    from django.core.management import call_command

    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        login(client, password="wrong")
    assert lockout_page(login(client))
    call_command("axes_reset_username", "dinsos.muba", verbosity=0)
    assert login(client).status_code == 302


def test_an_administrator_unlocks_in_the_admin(client, personas, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        login(client, password="wrong")
    assert lockout_page(login(client))
    admin = Client()
    admin.force_login(personas["admin"])
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "dinsos.muba" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="dinsos.muba")
    deleted = admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert deleted.status_code == 302 and not AccessAttempt.objects.exists()
    assert login(client).status_code == 302


# --- Sessions -------------------------------------------------------------------------

def test_the_session_cookie_lasts_only_while_the_browser_is_open(client, personas):
    response = login(client)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"]
    session = client.session
    assert session.get_expire_at_browser_close()
    # On the server it ends after the working day.
    hours = (session.get_expiry_date() - timezone.now()) / timedelta(hours=1)
    assert 7.9 < hours <= 8


def test_the_session_ends_after_the_maximum_age(client, personas):
    login(client)
    assert logged_in(client)
    later = timezone.now() + timedelta(hours=8, minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_maximum_age_counts_from_login_even_if_the_session_is_saved_later(client, personas):
    login(client)
    start = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=7)):
        assert logged_in(client)
        session = client.session
        session["touched"] = True  # a save would push the server-side expiry to hour 15
        session.save()
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=8, minutes=1)):
        response = client.get(reverse("home"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        page = client.get(response["Location"]).content.decode()
    assert "Sesi Anda berakhir" in page


def test_the_session_length_is_a_setting(client, personas, settings):
    assert settings.SESSION_COOKIE_AGE == settings.KELAMBU_SESSION_HOURS * 3600 == 8 * 3600
    settings.SESSION_COOKIE_AGE = 3600
    login(client)
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(minutes=61)):
        assert client.get(reverse("home")).status_code == 302


# --- No caching of personal data -------------------------------------------------------

@pytest.fixture
def uploaded(personas, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(personas["muba"])
    response = client.post(reverse("import_new"), {
        "file": SimpleUploadedFile("p3ke-sekayu.csv", CSV.encode(), content_type="text/csv"),
        "source": "p3ke",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportBatch.objects.get()


def no_store(response) -> bool:
    control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= control


def test_pages_and_downloads_for_a_logged_in_user_are_not_stored(uploaded, client):
    person = Person.objects.get(nik="1606011503850001")
    for url in (reverse("home"), reverse("person_list"), reverse("person_detail", args=[person.pk]),
                reverse("batch_report", args=[uploaded.pk]),
                reverse("batch_rejected", args=[uploaded.pk, "csv"])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert no_store(response), (url, response.get("Cache-Control"))


def test_static_files_stay_cacheable(client, personas):
    client.force_login(personas["muba"])
    from django.templatetags.static import static

    response = client.get(static("kelambu/kelambu.css"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Password change -------------------------------------------------------------------

def test_the_user_menu_links_to_the_password_change(client, personas):
    client.force_login(personas["muba"])
    assert reverse("password_change") in client.get(reverse("home")).content.decode()


def test_the_password_change_page_needs_a_login(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_password_change_requires_the_old_password_and_is_audited(client, personas):
    user = personas["muba"]
    elsewhere = Client()  # the same user on another PC
    assert login(elsewhere, ip="10.9.9.9").status_code == 302 and logged_in(elsewhere)
    client.force_login(user)
    page = client.get(reverse("password_change")).content.decode()
    assert "Ganti kata sandi" in page and "Kata sandi saat ini" in page
    new = "Kelapa-Sawit-2026"

    wrong = client.post(reverse("password_change"),
                        {"old_password": "not-it", "new_password1": new, "new_password2": new})
    assert wrong.status_code == 200 and "Kata sandi Anda saat ini salah" in wrong.content.decode()
    assert not Event.objects.filter(action="user.password_change").exists()

    done = client.post(reverse("password_change"),
                       {"old_password": RIGHT, "new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == reverse("password_change_done")
    assert "Kata sandi Anda sudah diganti" in client.get(done["Location"]).content.decode()
    assert logged_in(client)  # this session stays...
    assert not logged_in(elsewhere)  # ...the others end

    event = Event.objects.get(action="user.password_change")
    assert event.actor == user and event.object_id == str(user.pk)
    assert new not in event.summary + str(event.data) and RIGHT not in event.summary + str(event.data)

    user = get_user_model().objects.get(pk=user.pk)
    assert user.check_password(new) and not user.check_password(RIGHT)
    assert login(Client(), password=RIGHT).status_code == 200  # the form again, with the error
    fresh = Client()
    assert login(fresh, password=new).status_code == 302 and logged_in(fresh)


def test_password_change_applies_the_validators(client, personas):
    client.force_login(personas["muba"])
    response = client.post(reverse("password_change"),
                           {"old_password": RIGHT, "new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert get_user_model().objects.get(username="dinsos.muba").check_password(RIGHT)

"""The shell: the login page, home, and the language switch."""

from django.urls import reverse


def test_login_page_in_indonesian_by_default(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "Masuk" in page and "Kata sandi" in page


def test_login_and_home(client, personas):
    response = client.post(reverse("login"), {"username": "dinsos.muba", "password": "pw-dinsos.muba"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_english_on_request(client, personas):
    client.force_login(personas["muba"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert "people in the registry" in page

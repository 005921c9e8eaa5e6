"""The production path: `kelambu serve` (gunicorn, WhiteNoise), the refusal of the
development key, the Content-Security-Policy, `check --deploy` with a production
environment, and the client address behind a proxy."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory, override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 20 + "-a-long-random-production-secret-key-for-tests-only"
PRODUCTION = {
    "KELAMBU_SECRET_KEY": KEY, "KELAMBU_DEBUG": "0", "KELAMBU_ALLOWED_HOSTS": "kelambu.example.go.id",
    "KELAMBU_BEHIND_TLS_PROXY": "1", "KELAMBU_SSL_REDIRECT": "1", "KELAMBU_HSTS_SECONDS": "31536000",
    "KELAMBU_HSTS_INCLUDE_SUBDOMAINS": "1", "KELAMBU_HSTS_PRELOAD": "1", "KELAMBU_SECURE_COOKIES": "1",
    "KELAMBU_CSRF_TRUSTED_ORIGINS": "https://kelambu.example.go.id", "KELAMBU_PROXY_COUNT": "1",
}


def _kelambu(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "kelambu.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, **kw)


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    done = _kelambu("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "KELAMBU_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_flags_the_embedded_defaults(tmp_path):
    # Without the production environment the same check names what is missing.
    env = {k: "" for k in PRODUCTION} | {"KELAMBU_DATA_DIR": str(tmp_path)}
    done = _kelambu("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012", "security.W016"):
        assert warning in done.stderr + done.stdout


@pytest.mark.parametrize("env, message", [
    ({"KELAMBU_SECRET_KEY": "", "KELAMBU_DEBUG": "0"}, "development key"),
    ({"KELAMBU_SECRET_KEY": "short", "KELAMBU_DEBUG": "0"}, "shorter than 50"),
])
def test_serve_refuses_an_unsafe_key(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=message):
        call_command("serve", addr="127.0.0.1:1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serve_runs_the_production_server_and_stops_on_sigterm(tmp_path):
    env = {"KELAMBU_DATA_DIR": str(tmp_path), "KELAMBU_SECRET_KEY": KEY, "KELAMBU_DEBUG": "0"}
    assert _kelambu("migrate", "--verbosity", "0", env=env).returncode == 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "kelambu.cli", "serve", "--addr", f"127.0.0.1:{port}",
                               "--workers", "1", "--threads", "2"], env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = _get(f"http://127.0.0.1:{port}/masuk/")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.3)
        page = body.decode()
        assert status == 200 and "<h1>Masuk</h1>" in page  # Indonesian from the first page
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "gunicorn" in headers.get("Server", "")
        # Static files: hashed names, compressed, cached for good.
        css = re.search(r'href="(/static/kelambu/kelambu\.[0-9a-f]{12}\.css)"', page).group(1)
        request = urllib.request.Request(f"http://127.0.0.1:{port}{css}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert "immutable" in response.headers["Cache-Control"]
            assert response.headers["Content-Encoding"] == "gzip"
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    assert server.returncode == 0, out


def test_every_page_has_the_policy_and_no_template_needs_inline_code(client, personas):
    client.force_login(personas["muba"])
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    # Inline script, style attributes and event handlers would be refused by that policy.
    for template in ROOT.rglob("templates/**/*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", text), template


@override_settings(AXES_IPWARE_PROXY_COUNT=1, AXES_IPWARE_PROXY_ORDER="right-most",
                   AXES_IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"))
def test_behind_a_proxy_logins_are_counted_per_client_not_per_proxy():
    from axes.helpers import get_client_ip_address

    # The proxy (10.0.0.5) appended the address it saw; what a client put before it is ignored.
    request = RequestFactory().get("/masuk/", REMOTE_ADDR="10.0.0.5",
                                   HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert get_client_ip_address(request) == "203.0.113.7"

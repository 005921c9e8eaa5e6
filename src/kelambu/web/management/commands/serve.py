"""kelambu serve: the production server (gunicorn, static files by WhiteNoise).

    kelambu serve [--addr 127.0.0.1:8000] [--workers 2] [--threads 4]

Collects the static files, then runs gunicorn as a child process, with the settings from
the environment (docs/DEPLOY.md), until it is stopped (Ctrl-C or SIGTERM, passed on).
Refuses to start with DEBUG off and the development secret key.
"""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def check_secret_key(env: dict) -> None:
    """The server's key is the environment's (the child reads its settings afresh)."""
    key = env.get("KELAMBU_SECRET_KEY") or settings.DEVELOPMENT_SECRET_KEY
    debug = env.get("KELAMBU_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
    if not debug and key == settings.DEVELOPMENT_SECRET_KEY:
        raise CommandError(
            "KELAMBU_SECRET_KEY tidak diatur: server tidak dijalankan dengan kunci pengembangan / "
            "KELAMBU_SECRET_KEY is not set: the server does not run with the development key "
            "(set a long random key, see docs/DEPLOY.md).")
    if not debug and len(key) < 50:
        raise CommandError("KELAMBU_SECRET_KEY is shorter than 50 characters (docs/DEPLOY.md).")


def gunicorn_command(addr: str, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "kelambu.wsgi:application",
        "--bind", addr, "--workers", str(workers), "--threads", str(threads),
        # Threads: a page waiting on the database (SQLite's write lock during an import) does
        # not hold a whole process. Imports upload in one request and run in the background.
        "--worker-class", "gthread", "--timeout", "120", "--graceful-timeout", "30",
        "--access-logfile", "-", "--error-logfile", "-",
        # The proxy in front (docs/DEPLOY.md) may set the scheme headers.
        "--forwarded-allow-ips", os.environ.get("KELAMBU_FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]


class Command(BaseCommand):
    help = "Run Kelambu under its production server (gunicorn) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("KELAMBU_ADDR", "127.0.0.1:8000"),
                            help="HOST:PORT to listen on (default 127.0.0.1:8000, or KELAMBU_ADDR)")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("KELAMBU_WEB_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("KELAMBU_WEB_THREADS", 4)))

    def handle(self, *args, **opts):
        env = dict(os.environ)
        check_secret_key(env)
        addr = opts["addr"]
        if ":" not in addr:
            raise CommandError(f"--addr must be HOST:PORT, not {addr!r}")
        env["KELAMBU_STATIC_COLLECTED"] = "1"
        env.setdefault("DJANGO_SETTINGS_MODULE", "kelambu.settings")
        # With the server's settings (hashed names and their manifest), not this process's.
        subprocess.run([sys.executable, "-m", "kelambu.cli", "collectstatic", "--noinput", "--verbosity", "0"],
                       env=env, check=True)
        self.stdout.write(f"Kelambu: http://{addr}/ (gunicorn, {opts['workers']} x {opts['threads']} threads)")
        self.stdout.flush()
        child = subprocess.Popen(gunicorn_command(addr, opts["workers"], opts["threads"]), env=env)

        def forward(signum, _frame):
            child.send_signal(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)
        code = child.wait()
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            raise CommandError(f"gunicorn stopped with exit code {code}")

"""kelambu serve: the production server (gunicorn, static files by WhiteNoise) and the job
worker.

    kelambu serve [--addr 127.0.0.1:8000] [--workers 2] [--threads 4] [--no-worker]

Collects the static files, then runs gunicorn and `kelambu worker` as child processes, with
the settings from the environment (docs/DEPLOY.md), until it is stopped (Ctrl-C or SIGTERM,
passed on to both). A worker that ends is started again (it fails what the dead one left
running). Refuses to start with DEBUG off and the development secret key.
"""

import os
import signal
import subprocess
import sys
import time

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
        parser.add_argument("--no-worker", action="store_true",
                            help="serve pages only (a worker runs elsewhere: `kelambu worker`)")

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
        self.stdout.write(f"Kelambu: http://{addr}/ (gunicorn, {opts['workers']} x {opts['threads']} threads"
                          + ("" if opts["no_worker"] else ", and a job worker") + ")")
        self.stdout.flush()
        web = subprocess.Popen(gunicorn_command(addr, opts["workers"], opts["threads"]), env=env)
        worker_command = [sys.executable, "-m", "kelambu.cli", "worker"]
        worker = None if opts["no_worker"] else subprocess.Popen(worker_command, env=env)
        stopping = []

        def forward(signum, _frame):
            stopping.append(signum)
            for child in (web, worker):
                if child is not None and child.poll() is None:
                    child.send_signal(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, forward)
        while web.poll() is None:
            if worker is not None and worker.poll() is not None and not stopping:
                self.stderr.write(f"The job worker ended (exit code {worker.returncode}); starting it again.")
                time.sleep(1)
                worker = subprocess.Popen(worker_command, env=env)
            time.sleep(0.5)
        if worker is not None and worker.poll() is None:
            if not stopping:  # gunicorn ended by itself; a second signal would force the worker
                worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        code = web.returncode
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            raise CommandError(f"gunicorn stopped with exit code {code}")

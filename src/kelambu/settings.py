"""One env-driven settings module.

SQLite file under KELAMBU_DATA_DIR by default; PostgreSQL when KELAMBU_DATABASE_URL
(or DATABASE_URL) names one.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envlist(name: str, default: str = "") -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("KELAMBU_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# `kelambu serve` refuses to start with this key unless DEBUG is on (docs/DEPLOY.md).
DEVELOPMENT_SECRET_KEY = "kelambu-insecure-development-key-change-me"
SECRET_KEY = os.environ.get("KELAMBU_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = envbool("KELAMBU_DEBUG", False)
ALLOWED_HOSTS = envlist("KELAMBU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

# --- Behind a TLS reverse proxy (docs/DEPLOY.md); all off for the embedded default ------
# The proxy terminates TLS and says so in X-Forwarded-Proto.
if envbool("KELAMBU_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("KELAMBU_SSL_REDIRECT")
SECURE_HSTS_SECONDS = envint("KELAMBU_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("KELAMBU_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = envbool("KELAMBU_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("KELAMBU_SECURE_COOKIES")
CSRF_TRUSTED_ORIGINS = envlist("KELAMBU_CSRF_TRUSTED_ORIGINS")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# How many proxies stand in front (each appends to X-Forwarded-For). 0: the client is
# REMOTE_ADDR. Login lockouts count per client address, so behind a proxy this must be set,
# or every client would share the proxy's address.
KELAMBU_PROXY_COUNT = envint("KELAMBU_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Failed logins and lockouts (AXES_* below).
    "axes",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY below).
    "csp",
    # The job queue (TASKS below): django-tasks with its database backend.
    "django_tasks",
    "django_tasks_db",
    "kelambu.jobs",
    "kelambu.accounts",
    "kelambu.audit",
    "kelambu.regions",
    "kelambu.registry",
    "kelambu.dedup",
    "kelambu.rules",
    "kelambu.programs",
    "kelambu.synth",
    "kelambu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kelambu.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: ends a login after SESSION_COOKIE_AGE, and marks
    # every response to a logged-in user Cache-Control: no-store, private.
    "kelambu.web.middleware.SessionLimitMiddleware",
    "kelambu.web.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kelambu.urls"
WSGI_APPLICATION = "kelambu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kelambu.web.context.nav",
            ],
        },
    },
]

_db_url = os.environ.get("KELAMBU_DATABASE_URL") or os.environ.get("DATABASE_URL")
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
            "KELAMBU_TEST_DATABASE_NAME", "test_kelambu"
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "kelambu.sqlite3",
            "OPTIONS": {
                # WAL lets the web app read while an import writes; IMMEDIATE avoids
                # "database is locked" upgrades from read to write transactions.
                # 64 KiB pages (set before WAL fixes them, so only for a new file): a third less
                # time writing a million-row import than SQLite's default 4 KiB.
                "init_command": "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
                # A 256 MB page cache keeps index pages of a million-row import in memory.
                "PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out login before any password is checked. It needs
# the request, which every login view passes; the test client's client.login() does not
# (pass request=HttpRequest() there, or use force_login, which does not authenticate).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Login throttling (django-axes) --------------------------------------------------
# A login is refused once this many failures, within the cool-off time, came for one
# username (from any address) or from one address (for any usernames); the right password
# is refused too. Failures are counted from the database; they expire after the cool-off.
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_FAILURE_LIMIT = envint("KELAMBU_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=envint("KELAMBU_LOGIN_COOLOFF_MINUTES", 30))
# Every attempt while locked starts the cool-off again, so hammering never gets a guess.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# A success does not clear the failures: on a shared PC (one address) an insider's own
# login would otherwise wipe the count of guesses at a colleague's account.
AXES_RESET_ON_SUCCESS = False
# The address is REMOTE_ADDR. Behind a reverse proxy every client has the proxy's address
# and one office's typos would lock everyone: configure the proxy headers then (django-axes'
# AXES_IPWARE_* settings with django-ipware, or AXES_CLIENT_IP_CALLABLE).
# Behind KELAMBU_PROXY_COUNT proxies, the client is read from X-Forwarded-For by django-ipware
# (the address the outermost trusted proxy saw), never from a header a client can forge alone.
if KELAMBU_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = KELAMBU_PROXY_COUNT
    AXES_IPWARE_PROXY_ORDER = "right-most"
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_LOCKOUT_CALLABLE = "kelambu.accounts.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

# Import progress is shared between the worker thread and the page that polls it; a file
# cache works across processes on one machine without another service.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": DATA_DIR / "cache",
    }
}

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "uploads"
# `kelambu serve` collects the static files first and sets KELAMBU_STATIC_COLLECTED: then
# WhiteNoise serves hashed, compressed files with far-future caching. Otherwise (tests, the
# development server) straight from the apps' static folders.
STATIC_COLLECTED = envbool("KELAMBU_STATIC_COLLECTED")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if STATIC_COLLECTED
                    else "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED

# Content-Security-Policy (django-csp): scripts, styles and images only from this site, no
# inline script or style (kelambu.js draws the bars), no framing, forms post only here.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Uploads larger than this are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
# Shared office PCs: the session cookie lasts until the browser closes, and a login ends
# KELAMBU_SESSION_HOURS after it began however busy it was (SessionLimitMiddleware), also
# when a browser restores its cookies.
KELAMBU_SESSION_HOURS = envint("KELAMBU_SESSION_HOURS", 8)
SESSION_COOKIE_AGE = KELAMBU_SESSION_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Not saved on every request: that would write the session table on each page load, and on
# SQLite a page would then wait for the write lock an import holds (PRAGMA busy_timeout,
# up to 30 s). The limit above is counted from login, so nothing needs the sliding expiry.
SESSION_SAVE_EVERY_REQUEST = False
CSRF_COOKIE_HTTPONLY = False

# --- Jobs (kelambu/jobs) ------------------------------------------------------------
# Long work is a task in the database (django-tasks, the API Django 6 ships), run by
# `kelambu worker`; the same database as everything else, so SQLite needs no other service.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Registry import ---------------------------------------------------------------
# Ages outside these bounds get the AGE_OUT_OF_RANGE warning (REFERENCE 6: a worker is
# 15 to about 80).
KELAMBU_AGE_MIN = envint("KELAMBU_AGE_MIN", 15)
KELAMBU_AGE_MAX = envint("KELAMBU_AGE_MAX", 80)
# Hostile-input limits: a list bigger than this, or one field longer, is refused whole.
KELAMBU_IMPORT_MAX_BYTES = envint("KELAMBU_IMPORT_MAX_BYTES", 512 * 1024**2)
KELAMBU_IMPORT_MAX_FIELD = envint("KELAMBU_IMPORT_MAX_FIELD", 4096)
# An XLSX whose XML would unpack past this many bytes, or at a ratio above the next
# setting, is treated as a zip bomb (measured while inflating, not taken from the zip).
KELAMBU_XLSX_MAX_UNPACKED = envint("KELAMBU_XLSX_MAX_UNPACKED", 1024**3)
KELAMBU_XLSX_MAX_RATIO = envint("KELAMBU_XLSX_MAX_RATIO", 200)
# The shape of a list, counted before it is read (a sheet's used area: its last row and
# column; a CSV's records and header cells), and the memory a read may plan to use.
# A regency's P3KE export is tens of MB; the benchmark's 1,000,000-row CSV (161 MiB) and
# 200,000-row XLSX (2.4 million cells) fit with room (docs/PERFORMANCE.md).
KELAMBU_IMPORT_MAX_ROWS = envint("KELAMBU_IMPORT_MAX_ROWS", 2_000_000)
KELAMBU_IMPORT_MAX_COLUMNS = envint("KELAMBU_IMPORT_MAX_COLUMNS", 1024)
KELAMBU_IMPORT_MAX_CELLS = envint("KELAMBU_IMPORT_MAX_CELLS", 10_000_000)
KELAMBU_IMPORT_MAX_MEMORY = envint("KELAMBU_IMPORT_MAX_MEMORY", 2560 * 1024**2)
# SQLite bulk inserts of at least this many rows go through a database image (registry/bulk.py).
KELAMBU_SQLITE_IMAGE_MIN_ROWS = envint("KELAMBU_SQLITE_IMAGE_MIN_ROWS", 5000)
# PostgreSQL: a load of at least this many rows, and at least the table's size, rebuilds the
# table's non-unique indexes after it instead of updating them row by row (registry/bulk.py).
KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS = envint("KELAMBU_PG_REBUILD_INDEXES_MIN_ROWS", 100_000)
# Web uploads run in a background thread so the page can show progress; tests run
# them inline.
KELAMBU_IMPORT_IN_BACKGROUND = envbool("KELAMBU_IMPORT_IN_BACKGROUND", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KELAMBU_LOG_LEVEL", "WARNING")},
}

# PP 50/2025 excludes BPU paid from APBN or APBD from its discount and is open on the others
# (REFERENCE 3): the funding kinds that get it where the rule says "configurable".
KELAMBU_DISCOUNT_FUNDING = frozenset(
    x.strip() for x in os.environ.get("KELAMBU_DISCOUNT_FUNDING", "apbdes,csr").split(",") if x.strip()
)

# --- Scope of imports and lookups (accounts/access.py) --------------------------------
# A village operator's imports may add at most this many new people in 30 days; rows beyond
# it are held for the regency to confirm (made-up NIKs must not become funded people).
KELAMBU_VILLAGE_NEW_PEOPLE_LIMIT = envint("KELAMBU_VILLAGE_NEW_PEOPLE_LIMIT", 1000)
# Rows a sponsor's officers may file in 30 days; a list beyond it is refused whole.
KELAMBU_SPONSOR_ROWS_LIMIT = envint("KELAMBU_SPONSOR_ROWS_LIMIT", 20_000)
# Whole-NIK lookups per hour by a role that sees NIKs masked (each one is audited).
KELAMBU_NIK_LOOKUPS_PER_HOUR = envint("KELAMBU_NIK_LOOKUPS_PER_HOUR", 30)

"""Settings for undersigned, read from the environment (see the README for every variable).

Safe defaults: DEBUG off, SQLite under the data directory, secrets generated on first start and kept
in files readable only by their owner. Bad values stop the process at start with a clear message.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from undersigned.lib.env import envbool, envchoice, envcodes, envemail, envint, envlist, envmatch, envstr
from undersigned.lib.logredact import filter_gunicorn_error_log
from undersigned.lib.network import is_loopback

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("DATA_DIR", str(Path.cwd() / "var"))).resolve()


def _generated_secret(name: str) -> str:
    """A secret from the environment, or one generated once and kept in DATA_DIR (mode 0600)."""
    value = envstr(name)
    if value:
        return value
    path = DATA_DIR / "secrets" / name.lower()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


DEBUG = envbool("DEBUG", "False")
SECRET_KEY = _generated_secret("SECRET_KEY")
# Encrypts what must be kept for a while but must not be readable from a database dump alone:
# private token keys, addresses of emails waiting in the outbox.
ENCRYPTION_KEY = _generated_secret("ENCRYPTION_KEY")

SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in ("http", "https") or not _site.hostname:
    raise ImproperlyConfigured(f"Unexpected value SITE_URL={SITE_URL}, use e.g. https://letters.example.org")
SITE_NAME = envstr("SITE_NAME", "undersigned")
_site_host = f"[{_site.hostname}]" if ":" in _site.hostname else _site.hostname  # Django writes IPv6 hosts in []
ALLOWED_HOSTS = envcodes("ALLOWED_HOSTS", f"{_site_host},127.0.0.1,localhost", r"[\w.*-]+|\[[0-9A-Fa-f:.]+\]",
                         "letters.example.org,www.letters.example.org (host names, no https:// or path)")
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]
USE_HTTPS = _site.scheme == "https"

INSTALLED_APPS = [
    "undersigned.organizers.apps.OrganizersAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "undersigned.companies",
    "undersigned.letters",
    "undersigned.signatures",
    "undersigned.verification",
    "undersigned.ledger",
    "undersigned.contracts",
    "undersigned.moderation",
    "undersigned.messaging",
    "undersigned.organizers.apps.OrganizersConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "undersigned.lib.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, users and messages under ORGANIZER_PATH only (public pages set and read no cookie).
    "undersigned.lib.middleware.OrganizerSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "undersigned.lib.middleware.OrganizerAuthenticationMiddleware",
    "undersigned.lib.middleware.OrganizerMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "undersigned.urls"
WSGI_APPLICATION = "undersigned.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "undersigned.lib.context.site",
            ],
        },
    },
]

DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'undersigned.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DATABASE_CONN_MAX_AGE", "60"))}
except ValueError as error:
    raise ImproperlyConfigured(f"Unexpected value DATABASE_URL: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE avoids upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # recursive_triggers: an INSERT OR REPLACE that deletes a row fires its DELETE triggers (the log's
        # append-only guards); without it SQLite deletes silently.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000; "
                        "PRAGMA recursive_triggers=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if DATABASES["default"]["NAME"] == ":memory:" else 60
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the SQL text: no quoting of values into SQL in Python. (Statements
    # are not prepared: Django leaves psycopg's prepare_threshold unset, which keeps pgbouncer in
    # transaction mode and connections that outlive a migration safe.) A statement then takes at most
    # 65,535 parameters: code with long id lists uses subqueries or batches.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Email: EMAIL_URL=smtp://user:password@host:587 (STARTTLS) or smtps://…:465 (TLS). Without it, mail
# goes to the demo outbox on disk, readable at /outbox/ — meant for trying the site, not for use.
EMAIL_URL = envstr("EMAIL_URL")
DEFAULT_FROM_EMAIL = envemail("DEFAULT_FROM_EMAIL", "Letters <noreply@localhost>")
# Verification codes go out under a neutral name: corporate gateways log senders and subjects.
NEUTRAL_FROM_EMAIL = envemail("NEUTRAL_FROM_EMAIL", DEFAULT_FROM_EMAIL)
OUTBOX_DIR = DATA_DIR / "outbox"
# The worker sends over this many SMTP connections at once (each message costs round trips to the server).
EMAIL_CONNECTIONS = envint("EMAIL_CONNECTIONS", "4", minimum=1)
if EMAIL_URL:
    _mail = urlsplit(EMAIL_URL)
    if _mail.scheme not in ("smtp", "smtps") or not _mail.hostname:
        raise ImproperlyConfigured("Unexpected value EMAIL_URL, use smtp://user:password@host:port or smtps://…")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname
    EMAIL_PORT = _mail.port or (465 if _mail.scheme == "smtps" else 25)
    EMAIL_HOST_USER = _mail.username or ""
    EMAIL_HOST_PASSWORD = _mail.password or ""
    EMAIL_USE_SSL = _mail.scheme == "smtps"
    EMAIL_USE_TLS = _mail.scheme == "smtp" and envbool("EMAIL_USE_TLS", "True" if EMAIL_PORT == 587 else "False")
    EMAIL_TIMEOUT = 20
    DEMO_OUTBOX = False
else:
    # The demo outbox shows every address and code to anyone who opens /outbox/: only for a site that
    # nobody else can reach. A public SITE_URL without EMAIL_URL is a mistake, not a demo.
    if not is_loopback(_site.hostname):
        raise ImproperlyConfigured(
            f"EMAIL_URL is not set, and SITE_URL={SITE_URL} is not a loopback address: without EMAIL_URL, "
            "emails (with every address and code) are shown to anyone at /outbox/. Set EMAIL_URL to your "
            "mail server (smtp://user:password@host:587 or smtps://…:465); the demo outbox is only for "
            "SITE_URL=http://127.0.0.1:… or http://localhost:…"
        )
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = OUTBOX_DIR
    DEMO_OUTBOX = True

# Confirmation links for self-reported signatures stop working after this many hours.
CONFIRMATION_HOURS = envint("CONFIRMATION_HOURS", "72", minimum=1)
# Signatures enter the public list and counts in batches this many seconds apart.
PUBLICATION_INTERVAL = envint("PUBLICATION_INTERVAL", "120", minimum=0)
SIGNATURES_PER_PAGE = 50

# Cookies exist only in the organizer area. The pages signers use set none (a cookie would be a stable
# identifier linking the visit that got a token to its later submission): their forms are protected
# from other sites by undersigned.lib.crossorigin (a check of the Sec-Fetch-Site and Origin headers)
# instead of Django's CSRF token, and Django's session, CSRF cookie and messages stay under /organizer/,
# where an organizer session exists (browsers do not send these cookies to the public pages either).
ORGANIZER_PATH = "/organizer/"  # urls.py: the organizer area and its sign-in links
SESSION_COOKIE_PATH = ORGANIZER_PATH
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_PATH = ORGANIZER_PATH
CSRF_COOKIE_HTTPONLY = True
# Messages in the session (under /organizer/), not in a cookie of their own set for the whole site.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": under "no-referrer" browsers send `Origin: null` with every form POST
# (Fetch standard), and Django's CSRF check (organizer area) and undersigned.lib.crossorigin (public
# forms, in browsers without Sec-Fetch-Site) then refuse them. Nothing is sent to other sites either way.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if USE_HTTPS:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000", minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "True")

# Logs never carry network addresses, user agents or email addresses: Django's request logger
# (which prints the request line and, on errors, the request) is kept to warnings without request data,
# and gunicorn's access log is off (see undersigned.cli). Nor secrets from URLs: the console handler,
# which every record goes through (django.request, django.security.*, django.server…), and gunicorn's
# error log replace the tokens of confirmation, withdrawal and sign-in links by "[redacted]".
LOG_LEVEL = envchoice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "undersigned.lib.logredact.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
    },
}
ADMINS: list = []
filter_gunicorn_error_log()

# Reverse proxies in front of the site (each appends to X-Forwarded-For); 0 means none.
PROXY_COUNT = envint("PROXY_COUNT", "0", minimum=0)

# The contract record (contracts app): the agencies `contracts ingest` keeps, as toptier (070 = DHS) or
# sub-tier (7012 = ICE) codes, and DuckDB's memory limit while it reads a file (it goes into SQL: checked).
CONTRACTS_AGENCIES = envcodes("CONTRACTS_AGENCIES", "070", r"(?=.*\d)[0-9A-Z]{3,4}", "070 or 7012,7014")
CONTRACTS_DUCKDB_MEMORY = envmatch("CONTRACTS_DUCKDB_MEMORY", "2GB", r"\d+(\.\d+)?\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", "2GB or 512MB")

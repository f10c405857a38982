"""Settings come from the environment, fail loudly on bad values, and pass Django's deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys


def run(args, tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EMAIL_URL", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    environment.update({"DATA_DIR": str(tmp_path), **env})
    return subprocess.run([sys.executable, "-m", "undersigned", *args], env=environment, capture_output=True, text=True, timeout=120)


def test_it_passes_the_deploy_checks_in_production(tmp_path):
    result = run(["manage", "check", "--deploy", "--fail-level", "WARNING"], tmp_path,
                 SITE_URL="https://letters.example.org", SECRET_KEY="x" * 20 + "-Production-Secret-Key-Value-1234567890",
                 EMAIL_URL="smtp://mailer:secret@mail.example.org:587")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_a_bad_boolean(tmp_path):
    result = run(["manage", "check"], tmp_path, DEBUG="yes")
    assert result.returncode == 1
    assert "Unexpected value DEBUG=yes" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_refuses_a_bad_site_url(tmp_path):
    result = run(["manage", "check"], tmp_path, SITE_URL="letters.example.org")
    assert result.returncode == 1 and "SITE_URL" in result.stderr


def test_it_refuses_a_bad_email_url(tmp_path):
    result = run(["manage", "check"], tmp_path, EMAIL_URL="imap://mail.example.org")
    assert result.returncode == 1 and "EMAIL_URL" in result.stderr


def test_it_keeps_generated_secrets_private(tmp_path):
    assert run(["manage", "check"], tmp_path).returncode == 0
    for name in ("secret_key", "encryption_key"):
        assert (tmp_path / "secrets" / name).stat().st_mode & 0o077 == 0


def test_it_refuses_the_demo_outbox_on_a_public_address(tmp_path):
    # Without EMAIL_URL, /outbox/ shows every address and code to anyone: only for a site on loopback.
    for site_url in ("https://letters.example.org", "http://192.0.2.10:8000", "http://[2001:db8::1]:8000"):
        result = run(["manage", "check"], tmp_path, SITE_URL=site_url)
        assert result.returncode == 1, site_url
        assert "EMAIL_URL is not set" in result.stderr and "Traceback" not in result.stderr


def test_it_keeps_the_demo_outbox_on_loopback(tmp_path):
    for site_url in ("http://127.0.0.1:8000", "http://127.0.0.2:8000", "http://localhost:8000", "http://[::1]:8000"):
        result = run(["manage", "check"], tmp_path, SITE_URL=site_url)
        assert result.returncode == 0, (site_url, result.stderr)
    result = run(["manage", "shell", "-c", "from django.conf import settings; print(settings.DEMO_OUTBOX)"], tmp_path)
    assert result.stdout.split()[-1:] == ["True"], result.stderr
    result = run(["manage", "shell", "-c", "from django.conf import settings; print(settings.DEMO_OUTBOX)"], tmp_path,
                 SITE_URL="https://letters.example.org", EMAIL_URL="smtps://mail.example.org")
    assert result.stdout.split()[-1:] == ["False"], result.stderr


def test_it_keeps_cookies_in_the_organizer_area(tmp_path):
    result = run(["manage", "shell", "-c", "from django.conf import settings; "
                  "print(settings.CSRF_COOKIE_PATH, settings.SESSION_COOKIE_PATH)"], tmp_path)
    assert result.stdout.split()[-2:] == ["/organizer/", "/organizer/"], result.stderr


def test_it_refuses_bad_values_naming_the_variable(tmp_path):
    for name, value in [("LOG_LEVEL", "FOO"), ("CONTRACTS_AGENCIES", "ICEE"), ("CONTRACTS_AGENCIES", "070,;drop"),
                        ("CONTRACTS_DUCKDB_MEMORY", "2GB'; INSTALL httpfs; --"), ("ALLOWED_HOSTS", "https://letters.example.org"),
                        ("DEFAULT_FROM_EMAIL", "Letters"), ("NEUTRAL_FROM_EMAIL", "noreply@")]:
        result = run(["manage", "check"], tmp_path, **{name: value})
        assert result.returncode == 1 and f"Unexpected value {name}=" in result.stderr, (name, result.stderr[-500:])
        assert "Traceback" not in result.stderr


def test_it_accepts_good_values(tmp_path):
    result = run(["manage", "check"], tmp_path, LOG_LEVEL="WARNING", CONTRACTS_AGENCIES="7012, 7014",
                 CONTRACTS_DUCKDB_MEMORY="512MB", ALLOWED_HOSTS="letters.example.org,127.0.0.1,[::1]",
                 NEUTRAL_FROM_EMAIL="Mail <noreply@neutral.example>")
    assert result.returncode == 0, result.stderr

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
                 SITE_URL="https://letters.example.org", SECRET_KEY="x" * 20 + "-Production-Secret-Key-Value-1234567890")
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

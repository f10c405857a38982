"""Shared fixtures, defined in code.

The suite runs on SQLite in this process and, when UNDERSIGNED_TEST_POSTGRES_URL names a PostgreSQL
server, a second time on PostgreSQL in a child process started at the beginning of the run (so both
engines share the machine's two cores); tests/test_postgresql.py reports the child's result. In CI
(CI=true) nothing may skip for lack of PostgreSQL or Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mail import SmtpSink
from tests.support.site import RunningSite

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.getenv("CI") == "true"
POSTGRES_URL = os.getenv("UNDERSIGNED_TEST_POSTGRES_URL", "")
INNER_RUN = os.getenv("UNDERSIGNED_INNER_RUN") == "1"
CHROMIUM = Path("/usr/bin/chromium")


def needs(condition: bool, reason: str):
    """Skip when the machine lacks something, except in CI, where that is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must have this: {reason}", pytrace=False)
        pytest.skip(reason)


# The contract record's tests read the real USAspending files beside the repository (../shared/data, as
# CI has them). Without that folder they are left out, and the header of the run says so.
SHARED_DATA = REPO.parent / "shared" / "data" / "usaspending"
collect_ignore = [] if SHARED_DATA.exists() or IN_CI else ["contracts"]


def pytest_report_header(config):
    if collect_ignore:
        return f"tests/contracts left out: {SHARED_DATA} not found (the real data shipped beside this repository)"
    return None


postgres_child: subprocess.Popen | None = None
postgres_log = REPO / "var" / "test-postgresql.log"


def pytest_configure(config):
    global postgres_child
    if INNER_RUN or not POSTGRES_URL or config.option.collectonly or os.getenv("DATABASE_URL", "").startswith("postgres"):
        return
    postgres_log.parent.mkdir(exist_ok=True)
    args = [arg for arg in config.invocation_params.args]
    env = {**os.environ, "DATABASE_URL": POSTGRES_URL, "UNDERSIGNED_INNER_RUN": "1"}
    postgres_child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=config.invocation_params.dir, env=env, stdout=postgres_log.open("wb"), stderr=subprocess.STDOUT,
    )


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. A request to /es/ through Django's test client leaves
    Spanish active in this thread (LocaleMiddleware sets the language of every request and never resets
    it), and a later test's code outside a request would otherwise answer in Spanish."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def smtp_sink():
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def chromium_path():
    needs(CHROMIUM.exists(), "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def browser(chromium_path):
    """The machine's Chromium (never a downloaded one), one per test module."""
    from tests.support.browser import chromium

    with chromium(chromium_path) as browser:
        yield browser


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture(scope="session")
def site(smtp_sink, tmp_path_factory):
    """`undersigned serve` running in a child process, sending mail to the SMTP sink."""
    running = RunningSite(data_dir=tmp_path_factory.mktemp("site"), smtp_port=smtp_sink.port)
    running.start()
    yield running
    running.stop()


def pytest_collection_modifyitems(config, items):
    # The PostgreSQL run's report waits for the child: ask for it last, when this run is done.
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_postgresql.py"))

"""Every page a signer sees is available in Spanish: the catalogue is complete and compiled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.conftest import needs

LOCALE = Path(__file__).resolve().parent.parent / "src" / "undersigned" / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))


def test_it_has_a_spanish_catalogue():
    assert [path.parent.parent.name for path in CATALOGUES] == ["es"]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parent.parent.name)
def test_it_translates_every_message(path):
    catalogue = polib.pofile(str(path))
    missing = [entry.msgid for entry in catalogue if not entry.translated() and not entry.obsolete]
    assert not missing, f"{len(missing)} untranslated or fuzzy in {path}: {missing[:10]}"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parent.parent.name)
def test_it_ships_the_compiled_catalogue(path):
    compiled = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural) for entry in polib.mofile(str(path.with_suffix(".mo")))}
    source = {(entry.msgctxt, entry.msgid): (entry.msgstr, entry.msgstr_plural)
              for entry in polib.pofile(str(path)).translated_entries()}
    assert compiled == source, "run: uv run python scripts/messages.py compile"


def test_it_has_every_string_of_the_code_in_the_catalogue(tmp_path):
    needs(shutil.which("xgettext") is not None, "GNU gettext is not installed (apt-get install gettext)")
    copy = tmp_path / "undersigned"
    shutil.copytree(LOCALE.parent, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "migrations"))
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--no-location", "-l", "es", "--ignore", "static/*",
         "--ignore", "migrations/*"],
        cwd=copy, capture_output=True, text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "undersigned.settings_test"},
    )
    assert result.returncode == 0, result.stderr
    fresh = polib.pofile(str(copy / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in fresh if not entry.translated() and not entry.obsolete]
    assert not missing, f"strings not yet in the Spanish catalogue (run scripts/messages.py extract): {missing[:10]}"

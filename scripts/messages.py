"""Update and compile the translations.

    uv run python scripts/messages.py extract   # needs GNU gettext (apt-get install gettext)
    uv run python scripts/messages.py compile   # pure Python (polib): writes the .mo files

The .mo files are committed, so that a fresh machine serves Spanish without gettext installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polib

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "undersigned"
LANGUAGES = ["es"]


def extract() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "undersigned.settings_test"}
    for domain in ("django",):
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "--no-location", "--no-obsolete", "-d", domain,
             *[f"-l{language}" for language in LANGUAGES], "--ignore", "static/*", "--ignore", "migrations/*"],
            cwd=PACKAGE, env=env, check=True,
        )


def compile_all() -> None:
    for po_path in (PACKAGE / "locale").glob("*/LC_MESSAGES/*.po"):
        polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
        print(f"compiled {po_path.relative_to(PACKAGE)}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "extract":
        extract()
    elif command == "compile":
        compile_all()
    else:
        sys.exit(__doc__)

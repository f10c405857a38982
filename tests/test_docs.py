"""The README documents every setting and every command (datasette's habit: docs checked by tests)."""

from __future__ import annotations

import re
from pathlib import Path

from undersigned.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_it_documents_every_environment_variable():
    settings_source = (ROOT / "src" / "undersigned" / "settings.py").read_text()
    names = set(re.findall(r'env(?:str|bool|int|list)\("([A-Z_]+)"', settings_source))
    names |= set(re.findall(r'_generated_secret\("([A-Z_]+)"\)', settings_source))
    assert names, "no settings found: did settings.py change its helpers?"
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing, f"README.md does not document: {missing}"


def test_it_documents_every_command():
    missing = []
    for name, command in main.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            missing += [f"{name} {sub}" for sub in subcommands if f"undersigned {name} {sub}" not in README]
            if f"undersigned {name}" not in README:
                missing.append(name)
        elif f"undersigned {name}" not in README:
            missing.append(name)
    assert not missing, f"README.md does not document: {missing}"


def test_every_command_option_has_help():
    def walk(command, path):
        for parameter in command.params:
            if parameter.param_type_name == "option" and not parameter.help and parameter.name not in ("help", "version"):
                yield f"{path} {parameter.opts[0]}"
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    assert list(walk(main, "undersigned")) == []

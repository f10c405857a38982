"""Read settings from the environment, refusing values that do not parse.

A typo in a production setting should stop the process at start, with the name and the bad value,
instead of silently falling back to a default.
"""

from __future__ import annotations

import os
import re
from email.utils import parseaddr
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def envstr(name: str, default: str = "") -> str:
    """A string setting. ``NAME_FILE`` (a path) wins over ``NAME``, for secrets kept in files."""
    file_path = os.getenv(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"Cannot read {name}_FILE={file_path}: {error.strerror}") from error
    return os.getenv(name, default)


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default)
    if value not in ("", "True", "False"):
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use 'True' or 'False'")
    return value == "True"


def envint(name: str, default: str, *, minimum: int | None = None) -> int:
    value = os.getenv(name, default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use a whole number") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use a number >= {minimum}")
    return number


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.getenv(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use one of: {', '.join(choices)}")
    return value


def envmatch(name: str, default: str, pattern: str, example: str) -> str:
    """A string setting that must match ``pattern`` whole (it may end up in SQL or a header)."""
    value = os.getenv(name, default).strip()
    if not re.fullmatch(pattern, value):
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use e.g. {example}")
    return value


def envcodes(name: str, default: str, pattern: str, example: str) -> list[str]:
    """A comma-separated list whose every item matches ``pattern``."""
    codes = envlist(name, default)
    bad = [code for code in codes if not re.fullmatch(pattern, code)]
    if bad or not codes:
        raise ImproperlyConfigured(f"Unexpected value {name}={os.getenv(name, default)}, use e.g. {example}")
    return codes


def envemail(name: str, default: str) -> str:
    """A sender such as ``Letters <noreply@example.org>``."""
    value = envstr(name, default)
    address = parseaddr(value)[1]
    if "@" not in address or address.startswith("@") or address.endswith("@") or "\n" in value or "\r" in value:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use e.g. 'Letters <noreply@example.org>'")
    return value

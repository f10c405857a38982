"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for log entries and signed statements.

What may go in: ``None``, ``True``/``False``, ``int`` within ±(2**53 − 1) (the I-JSON safe range), ``str``
(valid Unicode: no lone surrogates), ``list``/``tuple`` of those, and ``dict`` with ``str`` keys.
**No floats**, not even integral ones: a number written by one program as ``1.0`` and by another as ``1``
is the classic way two honest implementations disagree about a hash. Times are strings
(``"2026-01-20T10:05:00Z"``), amounts and sizes are integers, binary data is base64 text.

``canonical_json`` is the authority: it checks the value against the rules above and serialises it
with the ``rfc8785`` package. ``parse_json`` is the strict reader for data that will be checked against a
hash or a signature (UTF-8 only, no floats, no NaN/Infinity, and, through ``is_canonical``, no duplicate
keys or alternative spellings).

For the auditor's hot loop, ``is_canonical`` re-encodes with the standard library's C encoder
(sorted keys, no whitespace, non-ASCII unescaped). On the allowed values *with ASCII keys* its output is
byte-for-byte RFC 8785: strings are escaped identically (``\\b \\t \\n \\f \\r \\" \\\\`` and ``\\u00xx`` for
the other control characters, nothing else), integers print identically, and sorting ASCII keys by code
point equals RFC 8785's UTF-16 order. Where a key is not ASCII it falls back to ``rfc8785``. A test
checks the equivalence with generated values.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

__all__ = ["CanonicalJSONError", "MAX_SAFE_INTEGER", "canonical_json", "parse_json", "is_canonical"]

MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalJSONError(ValueError):
    """A value that has no canonical encoding here, or bytes that are not canonical JSON."""


def _check(value: Any, path: str) -> None:
    if value is None or value is True or value is False or isinstance(value, str):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise CanonicalJSONError(f"{path}: not valid Unicode (lone surrogate)") from None
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalJSONError(f"{path}: integer {value} is outside ±(2**53 - 1)")
        return
    if isinstance(value, float):
        raise CanonicalJSONError(f"{path}: floats are not allowed; use an integer or a string")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"{path}: object key {key!r} is not a string")
            _check(key, f"{path} key")
            _check(item, f"{path}.{key}")
        return
    raise CanonicalJSONError(f"{path}: a {type(value).__name__} has no JSON form")


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 encoding of ``obj`` (see the module docstring for what is allowed)."""
    _check(obj, "$")
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:  # pragma: no cover - _check catches these first
        raise CanonicalJSONError(str(exc)) from exc


def _no_float(text: str) -> Any:
    raise CanonicalJSONError(f"number {text} is not an integer; floats are not allowed")


def _no_constant(text: str) -> Any:
    raise CanonicalJSONError(f"{text} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_constant)
_FAST_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def parse_json(data: bytes | str) -> Any:
    """Parse strictly: UTF-8, integers only, no NaN/Infinity. Raises ``CanonicalJSONError``.

    It does not reject duplicate keys by itself; ``is_canonical`` does (the re-encoding would differ).
    """
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return _DECODER.decode(text)
    except UnicodeDecodeError as exc:
        raise CanonicalJSONError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise CanonicalJSONError("JSON nested too deeply") from None


def _ascii_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(k.isascii() and _ascii_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_ascii_keys(v) for v in value)
    return True


def is_canonical(data: bytes, obj: Any, *, ascii_keys: bool = False) -> bool:
    """True when ``data`` is exactly the canonical encoding of ``obj`` (= ``parse_json(data)``).

    Assumes ``obj`` holds only allowed values (``parse_json`` output whose integers the caller has
    range-checked). ``ascii_keys=True`` says the caller already knows every key is ASCII (e.g. it checked
    them against a schema), which skips a walk over the value.
    """
    try:
        if ascii_keys or _ascii_keys(obj):
            return _FAST_ENCODER.encode(obj).encode("utf-8") == data
        return canonical_json(obj) == data
    except (UnicodeEncodeError, CanonicalJSONError, ValueError):
        return False

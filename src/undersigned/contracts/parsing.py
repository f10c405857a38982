"""Small pure parsers for procurement data: dates, amounts, names, keys, fiscal years.

The same rules exist as DuckDB SQL in ``sources.py`` (for bulk files); property tests check that both
agree. Dates in the wild: ISO (``2023-05-10``, with or without a time), US month-first as re-saved by
spreadsheet programs (``5/10/23``, ``05/10/2023``) and, in the older DUNS-era exports, day-first
(``10/05/2023``, ``10/05/23 00:00``). Two-digit years: 00-68 are 20xx, 69-99 are 19xx (POSIX).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?:[ T].*)?$")
# The same patterns, for DuckDB's RE2 (no difference in meaning).
ISO_DATE_SQL = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"
SLASH_DATE_SQL = r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?:[ T].*)?$"


class ParseError(ValueError):
    pass


def full_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= 68 else 1900
    return year


def parse_date(value: str | None, *, dayfirst: bool = False) -> date | None:
    """A date from any of the formats above; ``None`` for an empty value; ParseError otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if match := ISO_DATE.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := SLASH_DATE.match(text):
            first, second = int(match[1]), int(match[2])
            day, month = (first, second) if dayfirst else (second, first)
            return date(full_year(match[3]), month, day)
    except ValueError:
        pass
    raise ParseError(f"not a date: {text!r}")


def parse_amount(value: str | None) -> Decimal:
    """Dollars as a Decimal rounded to cents; empty is zero; ParseError when it is not a number."""
    text = (value or "").strip().replace(",", "").replace("$", "")
    if not text:
        return Decimal("0.00")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ParseError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ParseError(f"not an amount: {value!r}")
    return amount.quantize(Decimal("0.01"))


def fiscal_year(day: date | None) -> int | None:
    """The US federal fiscal year: FY2025 runs from 1 October 2024 to 30 September 2025."""
    if day is None:
        return None
    return day.year + 1 if day.month >= 10 else day.year


# Legal-form words dropped from the end of a name, so that "PEN-LINK, LTD" and "PEN-LINK, LIMITED" meet.
LEGAL_SUFFIXES = {
    "inc", "incorporated", "llc", "lllp", "llp", "lp", "ltd", "limited", "corp", "corporation", "co",
    "company", "plc", "pllc", "pc", "gmbh", "ag", "sa", "bv", "nv", "srl", "pty", "the", "holdings",
}
_PUNCTUATION = re.compile(r"[^a-z0-9& ]+")


def clean_name(name: str | None) -> str:
    """A recipient or company name reduced for comparison: lower case, no accents or punctuation, no
    legal form at the end. "PEN-LINK, LTD." → "pen link"; "The Thomson Company Inc" → "thomson"."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    text = text.replace("l.l.c", "llc").replace("&amp;", "&")
    words = _PUNCTUATION.sub(" ", text).split()
    if words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def none_if_blank(value: str | None) -> str:
    text = (value or "").strip()
    return "" if text.upper() in ("", "NAN", "NULL", "NONE") else text


def award_key(piid: str, subtier: str, parent_piid: str = "", parent_agency: str = "", *, idv: bool = False) -> str:
    """USAspending's generated award key (``CONT_AWD_{PIID}_{subtier}_{parent PIID}_{parent agency}``)."""
    if idv:
        return f"CONT_IDV_{piid}_{subtier}"
    return f"CONT_AWD_{piid}_{subtier}_{parent_piid or '-NONE-'}_{parent_agency or '-NONE-'}"


def transaction_key(piid: str, subtier: str, modification: str, parent_piid: str = "", parent_agency: str = "",
                    number: str = "") -> str:
    """The bulk files' ``contract_transaction_unique_key`` for records that lack one (old exports, API)."""
    return "_".join([subtier or "-NONE-", parent_agency or "-NONE-", piid, modification or "0",
                     parent_piid or "-NONE-", number or "0"])

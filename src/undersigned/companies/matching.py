"""Matching people's input to the company registry: email domains, typed company names, free mail.

Pure helpers first (no database): :func:`normalize_domain`, :func:`is_free_mail`,
:func:`canonical_email`, :func:`clean_company_name`. Then the lookups that read the registry:
:func:`company_for_email`, :func:`match_company_name`, :func:`suggest_companies`, and
:class:`NameIndex` for matching many names against one snapshot of the registry (the contract ingest).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from undersigned.companies.models import Company

# ---------------------------------------------------------------------------------------------------
# Domains


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DOTS = re.compile("[\u002e\u3002\uff0e\uff61]")  # the dots IDNA treats as label separators


def normalize_domain(domain: str) -> str:
    """The ASCII (IDNA / punycode) lower-case form of a domain name, or ``ValueError``.

    ``" Example.COM. "`` → ``"example.com"``; ``"bücher.example"`` → ``"xn--bcher-kva.example"``.
    Labels are converted with Python's ``idna`` codec (IDNA 2003 ToASCII with nameprep). A domain needs
    at least two labels, each 1–63 letters, digits or hyphens (not at either end), 253 characters at
    most, and a top-level label that is not all digits (so IP addresses are refused).
    """
    if not isinstance(domain, str):
        raise ValueError("a domain must be text")
    text = domain.strip().rstrip(".。．｡")
    if not text:
        raise ValueError("empty domain")
    labels = []
    for label in _DOTS.split(text):
        if not label:
            raise ValueError(f"empty label in domain {domain!r}")
        try:
            ascii_label = label.encode("idna").decode("ascii").lower()
        except UnicodeError as error:
            raise ValueError(f"not a valid domain name: {domain!r}") from error
        if not _LABEL.match(ascii_label):
            raise ValueError(f"not a valid domain name: {domain!r}")
        labels.append(ascii_label)
    result = ".".join(labels)
    if len(labels) < 2:
        raise ValueError(f"a domain needs at least two labels: {domain!r}")
    if len(result) > 253:
        raise ValueError(f"domain longer than 253 characters: {domain[:40]!r}…")
    if labels[-1].isdigit():
        raise ValueError(f"not a domain name (an address?): {domain!r}")
    return result


def domain_suffixes(domain: str) -> list[str]:
    """``a.b.example.com`` → ``["a.b.example.com", "b.example.com", "example.com"]`` (longest first)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


# ---------------------------------------------------------------------------------------------------
# Free mail

# Consumer mailbox providers, relays and ISPs: anyone can get an address there, so an address there
# proves nothing about an employer. Exact domains; subdomains of these count too (see is_free_mail).
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Apple, Yahoo, AOL
        "gmail.com", "googlemail.com",
        "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com",
        "icloud.com", "me.com", "mac.com", "privaterelay.appleid.com",
        "yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "aim.com", "verizon.net",
        # Privacy-minded providers and forwarding/alias services
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "passmail.net", "passinbox.com",
        "tutanota.com", "tutanota.de", "tutamail.com", "tuta.io", "tuta.com", "keemail.me",
        "fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "fastmail.us", "fastmail.to",
        "messagingengine.com", "sent.com", "hey.com", "duck.com", "mozmail.com",
        "simplelogin.com", "simplelogin.co", "slmail.me", "aleeas.com", "anonaddy.com", "anonaddy.me",
        "addy.io", "startmail.com", "runbox.com", "hushmail.com", "mailfence.com", "posteo.de",
        "posteo.net", "mailbox.org", "riseup.net", "disroot.org", "kolabnow.com", "zoho.com",
        "zohomail.com", "mail.com", "email.com", "usa.com", "inbox.com", "lavabit.com",
        # GMX, WEB.DE, Yandex, Mail.ru and other national providers
        "gmx.com", "gmx.net", "gmx.de", "gmx.at", "gmx.ch", "gmx.us", "gmx.co.uk", "gmx.fr", "gmx.es",
        "web.de", "t-online.de", "freenet.de", "arcor.de",
        "yandex.com", "yandex.ru", "yandex.ua", "yandex.by", "yandex.kz", "ya.ru",
        "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru",
        "qq.com", "163.com", "126.com", "yeah.net", "sina.com", "sohu.com", "aliyun.com",
        "naver.com", "daum.net", "hanmail.net", "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
        "libero.it", "virgilio.it", "tiscali.it", "orange.fr", "wanadoo.fr", "laposte.net", "free.fr",
        "sfr.fr", "rediffmail.com", "uol.com.br", "bol.com.br", "terra.com.br",
        # Internet-access providers' mailboxes (not their employees' domains: att.net is not att.com)
        "att.net", "sbcglobal.net", "bellsouth.net", "comcast.net", "xfinity.com", "cox.net",
        "charter.net", "spectrum.net", "earthlink.net", "optonline.net", "frontier.com", "juno.com",
        "netzero.net", "rogers.com", "shaw.ca", "sympatico.ca", "btinternet.com", "sky.com",
        "virginmedia.com", "talktalk.net", "bigpond.com", "optusnet.com.au",
    }
)

# Providers with one mailbox service under many country domains (yahoo.co.uk, hotmail.fr, gmx.ch,
# yandex.com.tr…): the first label of the domain, followed by a country or generic top-level domain.
FREE_MAIL_FAMILIES: frozenset[str] = frozenset(
    {"gmail", "googlemail", "yahoo", "hotmail", "outlook", "live", "gmx", "yandex", "protonmail", "tutanota"}
)

_COUNTRY_TAIL = re.compile(r"^(?:[a-z]{2,3}|(?:co|com|net|org|ne|or)\.[a-z]{2})$")


def is_free_mail(domain: str) -> bool:
    """True for a consumer mail provider's domain (or a subdomain of one), whatever its case or script.

    ``gmail.com``, ``GMAIL.COM.``, ``yahoo.co.uk``, ``gmx.ch``, ``yandex.com.tr``, ``mail.proton.me``
    → True; ``google.com``, ``att.com`` → False. A value that is not a domain at all is False.
    """
    try:
        domain = normalize_domain(domain)
    except ValueError:
        return False
    if any(suffix in FREE_MAIL_DOMAINS for suffix in domain_suffixes(domain)):
        return True
    first, _, tail = domain.partition(".")
    return first in FREE_MAIL_FAMILIES and bool(_COUNTRY_TAIL.match(tail))


# ---------------------------------------------------------------------------------------------------
# Canonical email addresses

# Providers where dots in the local part are ignored (``j.doe`` and ``jdoe`` are one mailbox). Google
# Workspace domains do not ignore dots, so only the consumer domains are here.
DOTLESS_DOMAINS: frozenset[str] = frozenset({"gmail.com"})
# Domains that are another name for the same mailboxes.
DOMAIN_SYNONYMS: dict[str, str] = {"googlemail.com": "gmail.com"}


def split_email(address: str) -> tuple[str, str]:
    """``(local part, normalised domain)`` of an address, or ``ValueError``. No other checks."""
    if not isinstance(address, str):
        raise ValueError("an email address must be text")
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError("not an email address")
    if any(ch.isspace() for ch in local) or len(local) > 64:
        raise ValueError("not an email address")
    return local, normalize_domain(domain)


def canonical_email(address: str) -> str:
    """The form of an address under which one mailbox has one identity (to give one person one token).

    Exactly:

    1. Surrounding whitespace is removed; the address splits at its **last** ``@``.
    2. The domain is normalised by :func:`normalize_domain` (lower case, IDNA/punycode, no trailing dot),
       and ``googlemail.com`` becomes ``gmail.com``.
    3. The local part is lower-cased and put in Unicode NFC. (RFC 5321 allows case-sensitive local
       parts; no real provider uses them, and merging two such addresses errs on the safe side here.)
    4. A sub-address tag is removed: everything from the first ``+`` on (``jane+ice@x`` → ``jane@x``),
       unless the ``+`` is the first character.
    5. For ``gmail.com`` only, dots in the local part are removed (``j.a.n.e@`` → ``jane@``). Other
       providers keep dots, because for them ``j.doe`` and ``jdoe`` are different mailboxes.

    Nothing else: no ``-`` tags (Yahoo's disposable addresses are separate mailboxes), no quoted-string
    unescaping. Raises ``ValueError`` if there is no ``@``, an empty side, whitespace in the local part,
    or an invalid domain. Idempotent: ``canonical_email(canonical_email(a)) == canonical_email(a)``.
    """
    local, domain = split_email(address)
    domain = DOMAIN_SYNONYMS.get(domain, domain)
    local = unicodedata.normalize("NFC", unicodedata.normalize("NFC", local).lower())
    plus = local.find("+")
    if plus > 0:
        local = local[:plus]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


# ---------------------------------------------------------------------------------------------------
# Company names

# Legal-form words (and the country markers "US"/"USA" of American arms: "Magnet Forensics USA, Inc.")
# removed from the end of a name ("Pen-Link, Ltd." = "Penlink"). Deliberately not
# "group", "systems", "solutions", "technologies" or "services": those tell firms apart
# (Paragon Solutions, Paragon Systems and Paragon Professional Services are three companies).
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {
        "inc", "incorporated", "corp", "corporation", "co", "company", "companies", "llc", "lc", "ltd",
        "limited", "lp", "llp", "lllp", "plc", "pllc", "pc", "gmbh", "ag", "sa", "sas", "sarl", "srl",
        "spa", "nv", "bv", "se", "oy", "ab", "as", "asa", "kk", "pte", "pty", "holding", "holdings",
        "us", "usa",
    }
)
_PARENTHESES = re.compile(r"\([^()]*\)")


def _fold(text: str) -> str:
    """Case-fold and strip accents, keeping letters of every script."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def clean_company_name(text: str) -> str:
    """The key under which company names are compared: ``"PEN-LINK, LTD."`` → ``"penlink"``.

    Case-folded and accent-free; ``&`` reads as "and"; text in parentheses dropped (``"PARAGON
    SOLUTIONS (US) INC"``), unless nothing else is left; a leading or trailing "the" and trailing
    legal-form words (:data:`LEGAL_SUFFIXES`) dropped, but never the last remaining word; then every
    character that is not a letter or digit is dropped, spaces included (``"Pen Link"`` = ``"Penlink"``).
    Idempotent. An empty string if the text has no letters or digits.
    """
    text = _fold(text or "")
    without_parentheses = _PARENTHESES.sub(" ", text)
    if any(ch.isalnum() for ch in without_parentheses):
        text = without_parentheses
    text = text.replace("&", " and ")
    # Words split at spaces and commas; inside a word, punctuation just goes: "pen-link" → "penlink",
    # "l.l.c." → "llc", "amazon.com" → "amazoncom".
    words = ["".join(ch for ch in word if ch.isalnum()) for word in re.split(r"[\s,;/]+", text)]
    words = [w for w in words if w]
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] == "the"):
        words.pop()
    return "".join(words)


# ---------------------------------------------------------------------------------------------------
# Lookups in the registry


def company_for_email(address: str) -> Company | None:
    """The company whose registered email domain the address is at, or None.

    Case-insensitive and IDN-safe (the domain is compared in its punycode form); a subdomain of a
    registered domain matches it (``jane@us.ibm.com`` → IBM), and the longest registered domain wins
    (``aws.example`` over ``example``). Free-mail addresses and malformed addresses give None.
    """
    from undersigned.companies.models import EmailDomain

    try:
        _, domain = split_email(address)
    except ValueError:
        return None
    if is_free_mail(domain):
        return None
    candidates = domain_suffixes(domain)
    rows = EmailDomain.objects.filter(domain__in=candidates).select_related("company")
    found = {row.domain: row.company for row in rows}
    for candidate in candidates:  # longest first
        if candidate in found:
            return found[candidate]
    return None


def company_keys(name: str, slug: str = "", aliases: Iterable[str] = ()) -> set[str]:
    """Every key a company is matched under: its cleaned name, slug and aliases."""
    keys = {clean_company_name(name), clean_company_name(slug.replace("-", " ")) if slug else ""}
    keys.update(clean_company_name(alias) for alias in aliases or () if isinstance(alias, str))
    keys.discard("")
    return keys


def _key_index(rows: Iterable[tuple[int, str, str, list]]) -> tuple[dict[str, int], frozenset[str]]:
    """``{key: company pk}`` from ``(pk, name, slug, aliases)`` rows, without keys two companies share."""
    by_key: dict[str, int] = {}
    ambiguous: set[str] = set()
    for pk, name, slug, aliases in rows:
        for key in company_keys(name, slug, aliases if isinstance(aliases, list) else []):
            if by_key.setdefault(key, pk) != pk:
                ambiguous.add(key)
    for key in ambiguous:
        del by_key[key]
    return by_key, frozenset(ambiguous)


class NameIndex:
    """One snapshot of the registry's names, slugs and aliases, for matching many names quickly.

    ``NameIndex().match("PEN-LINK, LIMITED")`` → the Penlink company. Build a new one after the
    registry changes. If two companies share a key (the loader refuses that; the admin form too), the
    key matches neither: a wrong attribution is worse than none.
    """

    def __init__(self, companies: Iterable[Company] | None = None):
        from undersigned.companies.models import Company

        if companies is None:
            companies = Company.objects.select_related("parent").all()
        self.companies: dict[int, Company] = {c.pk: c for c in companies}
        keys, self.ambiguous = _key_index((c.pk, c.name, c.slug, c.aliases) for c in self.companies.values())
        self.by_key: dict[str, Company] = {key: self.companies[pk] for key, pk in keys.items()}

    def match(self, text: str) -> Company | None:
        key = clean_company_name(text)
        return self.by_key.get(key) if key else None

    def suggest(self, text: str, limit: int = 5) -> list[Company]:
        """Companies whose name or alias is, starts with, or resembles the text (in that order)."""
        return [self.companies[pk] for pk in _suggest({k: c.pk for k, c in self.by_key.items()}, text, limit)]


def _suggest(by_key: dict[str, int], text: str, limit: int) -> list[int]:
    key = clean_company_name(text)
    if not key or limit <= 0:
        return []
    results: list[int] = []
    if key in by_key:
        results.append(by_key[key])
    for candidate in sorted(k for k in by_key if k.startswith(key)):
        if by_key[candidate] not in results:
            results.append(by_key[candidate])
    if len(results) < limit and len(key) >= 3:
        from rapidfuzz import fuzz, process

        for candidate, _score, _ in process.extract(key, list(by_key), scorer=fuzz.ratio, score_cutoff=75, limit=20):
            if by_key[candidate] not in results:
                results.append(by_key[candidate])
    return results[:limit]


# The registry's key index, rebuilt in this process only when the names in the database change: the
# check reads (pk, name, slug, aliases) of every company, about a millisecond for a few hundred, while
# cleaning every name again would cost ten times that on each signing.
# The check itself runs at most every CHECK_SECONDS per process (a renamed company is recognised by every
# process within that time), so a busy signing page does not read the registry on every request.
_cache_lock = threading.Lock()
_cached: tuple[str, dict[str, int]] | None = None
_checked_at = float("-inf")
CHECK_SECONDS = 5.0


def forget_registry_index(**_signal_arguments) -> None:
    global _checked_at
    _checked_at = float("-inf")


def registry_key_index() -> dict[str, int]:
    """``{cleaned name: company pk}`` for the registry as it is in the database (at most CHECK_SECONDS old)."""
    global _cached, _checked_at
    if _cached is not None and time.monotonic() - _checked_at < getattr(settings, "COMPANY_INDEX_CHECK_SECONDS", CHECK_SECONDS):
        return _cached[1]
    import json

    from django.db.models import TextField
    from django.db.models.functions import Cast

    from undersigned.companies.models import Company

    # Aliases as their stored JSON text: decoding them for every check would cost more than the rest.
    rows = list(
        Company.objects.order_by("pk").annotate(raw=Cast("aliases", TextField())).values_list("pk", "name", "slug", "raw")
    )
    digest = hashlib.sha256()
    for pk, name, slug, raw in rows:
        digest.update(f"{pk}\x00{name}\x00{slug}\x00{raw}\x01".encode())
    fingerprint = digest.hexdigest()
    cached = _cached
    if cached is not None and cached[0] == fingerprint:
        _checked_at = time.monotonic()
        return cached[1]
    index, _ambiguous = _key_index((pk, name, slug, json.loads(raw) if raw else []) for pk, name, slug, raw in rows)
    with _cache_lock:
        _cached = (fingerprint, index)
        _checked_at = time.monotonic()
    return index


def registry_fingerprint() -> str:
    """A digest of the registry's names, slugs and aliases as last checked: it changes with them."""
    registry_key_index()
    return _cached[0]


def match_company_id(text: str) -> int | None:
    """The primary key of the company a typed or recorded name refers to, or None.

    Compares :func:`clean_company_name` keys of the text and of every company's name, slug and aliases,
    so case, punctuation, spacing, "The" and legal-form words do not matter:
    ``"pen-link, limited"``, ``"Penlink"`` and ``"PEN-LINK, LTD."`` are the same company. A key that
    two companies share matches neither. No fuzzy matching here (see :func:`suggest_companies`). A
    text that is a bare domain (``"linkedin.com"``) also matches by email domain. A name in the
    registry costs no query (the cached index): a signing needs only the key.
    """
    key = clean_company_name(text or "")
    if not key:
        return None
    pk = registry_key_index().get(key)
    if pk is not None:
        return pk
    stripped = (text or "").strip()
    if re.fullmatch(r"[\w-]+(?:\.[\w-]+)+", stripped):
        company = company_for_email(f"x@{stripped}")
        return company.pk if company is not None else None
    return None


def match_company_name(text: str) -> Company | None:
    """The company :func:`match_company_id` finds, with its parent."""
    from undersigned.companies.models import Company

    pk = match_company_id(text)
    return None if pk is None else Company.objects.select_related("parent").filter(pk=pk).first()


def suggest_companies(text: str, limit: int = 5) -> list[Company]:
    """Up to ``limit`` companies to suggest for what a signer is typing: exact, then prefix, then close
    (rapidfuzz ratio ≥ 75 on cleaned names). Suggestions only: a person confirms."""
    from undersigned.companies.models import Company

    pks = _suggest(registry_key_index(), text or "", limit)
    found = Company.objects.select_related("parent").in_bulk(pks)
    return [found[pk] for pk in pks if pk in found]

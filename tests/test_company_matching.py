"""Matching email addresses and typed names to the company registry; free mail; canonical addresses."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from undersigned.companies.matching import (
    FREE_MAIL_DOMAINS,
    canonical_email,
    clean_company_name,
    company_for_email,
    is_free_mail,
    match_company_name,
    normalize_domain,
    suggest_companies,
)
from undersigned.companies.models import Company, EmailDomain
from undersigned.companies.registry import load_registry


@pytest.fixture
def seed(db):
    load_registry()


def slug_of(company):
    return company.slug if company else None


# --- company_for_email ---------------------------------------------------------------------------


def test_it_finds_the_company_of_a_work_address(seed):
    assert slug_of(company_for_email("jane@google.com")) == "google"
    assert slug_of(company_for_email("jane@linkedin.com")) == "linkedin"
    assert company_for_email("jane@linkedin.com").root.slug == "microsoft"


def test_it_ignores_case_whitespace_and_a_trailing_dot(seed):
    assert slug_of(company_for_email("  Jane.Doe@Microsoft.COM. ")) == "microsoft"


def test_it_matches_subdomains_of_a_registered_domain(seed):
    assert slug_of(company_for_email("jane@us.ibm.com")) == "ibm"
    assert slug_of(company_for_email("jane@mail.eu.amazon.com")) == "amazon"


def test_it_does_not_match_lookalike_domains(seed):
    assert company_for_email("jane@notgoogle.com") is None
    assert company_for_email("jane@google.com.evil.example") is None


def test_it_prefers_the_longest_registered_domain(db):
    parent = Company.objects.create(slug="parent", name="Parent")
    child = Company.objects.create(slug="child", name="Child", parent=parent)
    EmailDomain.objects.create(domain="example.org", company=parent)
    EmailDomain.objects.create(domain="lab.example.org", company=child)
    assert company_for_email("a@x.lab.example.org") == child
    assert company_for_email("a@example.org") == parent


def test_it_matches_internationalised_domains_in_either_form(db):
    company = Company.objects.create(slug="buecher", name="Bücher")
    EmailDomain.objects.create(domain="Bücher.example", company=company)
    assert EmailDomain.objects.get().domain == "xn--bcher-kva.example"
    assert company_for_email("jane@BÜCHER.example") == company
    assert company_for_email("jane@xn--bcher-kva.example") == company
    assert company_for_email("jane@team.bücher．example") == company  # full-width dot


def test_it_gives_nothing_for_free_mail_and_malformed_addresses(seed):
    assert company_for_email("jane@gmail.com") is None
    assert company_for_email("jane@att.net") is None
    assert company_for_email("not an address") is None
    assert company_for_email("@google.com") is None
    assert company_for_email("jane@") is None
    assert company_for_email("jane@-bad-.com") is None
    assert company_for_email("jane@unknown.example") is None


# --- match_company_name --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, slug",
    [
        ("PEN-LINK, LTD", "penlink"),
        ("PEN-LINK, LIMITED", "penlink"),
        ("Pen-Link, Ltd.", "penlink"),
        ("penlink", "penlink"),
        ("  Pen Link  ", "penlink"),
        ("AWS", "aws"),
        ("amazon web services, inc.", "aws"),
        ("Amazon.com", "amazon"),
        ("GEO GROUP INC., THE", "geo-group"),
        ("The GEO Group", "geo-group"),
        ("CORRECTIONS CORPORATION OF AMERICA", "corecivic"),
        ("ERNST AND YOUNG LLP", "ey"),
        ("Ernst & Young", "ey"),
        ("AT&T", "att"),
        ("at&t inc", "att"),
        ("WEST PUBLISHING CORPORATION", "west-publishing"),
        ("Reed Elsevier, Inc.", "relx"),
        ("PALANTIR USG, INC.", "palantir"),
        ("BOOZ ALLEN HAMILTON INCORPORATED (3626)", "booz-allen"),
        ("MAGNET FORENSICS USA, INC.", "magnet-forensics"),
        ("CELLEBRITE USA CORP", "cellebrite"),
        ("PARAGON SOLUTIONS (US) INC", "paragon-solutions"),
        ("Paragon Solutions", "paragon-solutions"),
        ("lexisnexis-risk-solutions", "lexisnexis-risk-solutions"),
        ("Meta Platforms, Inc.", "meta"),
        ("Facebook", "meta"),
        ("linkedin.com", "linkedin"),
        ("Nestlé", None),
    ],
)
def test_it_matches_company_names(seed, text, slug):
    assert slug_of(match_company_name(text)) == slug


def test_it_keeps_the_paragon_namesakes_apart(seed):
    assert match_company_name("PARAGON SYSTEMS") is None
    assert match_company_name("Paragon Systems, Inc.") is None
    assert match_company_name("PARAGON PROFESSIONAL SERVICES") is None
    assert match_company_name("Paragon") is None


def test_it_tells_science_applications_from_leidos(seed):
    assert slug_of(match_company_name("Science Applications International Corporation")) == "saic"
    assert slug_of(match_company_name("Leidos, Inc.")) == "leidos"


def test_it_matches_nothing_for_empty_or_unknown_names(seed):
    assert match_company_name("") is None
    assert match_company_name("   ,.;  ") is None
    assert match_company_name("Acme Widgets") is None


def test_it_refuses_to_guess_when_two_companies_share_a_name(db):
    Company.objects.create(slug="one", name="Twin")
    Company.objects.create(slug="two", name="Twin, Inc.")
    assert match_company_name("Twin") is None


def test_it_suggests_companies_while_typing(seed):
    assert "amazon" in [c.slug for c in suggest_companies("amaz")]
    assert slug_of(suggest_companies("Palantir")[0]) == "palantir"
    assert "microsoft" in [c.slug for c in suggest_companies("Microsfot")]
    assert suggest_companies("") == []


# --- free mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "GMAIL.COM.", "googlemail.com", "outlook.com", "hotmail.co.uk", "live.com", "yahoo.com",
     "yahoo.co.jp", "icloud.com", "me.com", "proton.me", "protonmail.com", "pm.me", "aol.com", "gmx.de",
     "gmx.net", "gmx.ch", "yandex.ru", "yandex.com.tr", "mail.ru", "tutanota.com", "tuta.io", "fastmail.com",
     "fastmail.fm", "hey.com", "duck.com", "mozmail.com", "privaterelay.appleid.com", "att.net"],
)
def test_it_knows_free_mail_domains(domain):
    assert is_free_mail(domain)


@pytest.mark.parametrize("domain", ["google.com", "microsoft.com", "apple.com", "att.com", "mail.google.com",
                                    "yahooinc.com", "example.org", "not a domain", ""])
def test_it_does_not_call_employers_free_mail(domain):
    assert not is_free_mail(domain)


def test_it_lists_free_mail_domains_in_their_normal_form():
    assert all(normalize_domain(domain) == domain for domain in FREE_MAIL_DOMAINS)


def test_it_registers_no_free_mail_domain_for_any_company(seed):
    assert not [d.domain for d in EmailDomain.objects.all() if is_free_mail(d.domain)]


# --- canonical_email -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, canonical",
    [
        ("Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("  jane@example.com. ", "jane@example.com"),
        ("jane+ice@example.com", "jane@example.com"),
        ("jane+a+b@example.com", "jane@example.com"),
        ("+jane@example.com", "+jane@example.com"),
        ("J.a.n.e+letters@GMail.com", "jane@gmail.com"),
        ("j.a.n.e@googlemail.com", "jane@gmail.com"),
        ("j.doe@outlook.com", "j.doe@outlook.com"),
        ("j.doe@google.com", "j.doe@google.com"),
        ("jane@Bücher.example", "jane@xn--bcher-kva.example"),
        ("\"odd@local\"@example.com", "\"odd@local\"@example.com"),
    ],
)
def test_it_canonicalises_addresses(address, canonical):
    assert canonical_email(address) == canonical


@pytest.mark.parametrize("address", ["", "jane", "jane@", "@example.com", "ja ne@example.com", "jane@localhost",
                                     "jane@127.0.0.1", "jane@exa mple.com", "x" * 65 + "@example.com"])
def test_it_refuses_what_is_not_an_address(address):
    with pytest.raises(ValueError):
        canonical_email(address)


local_parts = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=30).filter(
    lambda s: not s.startswith("+")
)
domains = st.sampled_from(["example.com", "gmail.com", "googlemail.com", "outlook.com", "corp.example.org",
                           "bücher.example", "GOOGLE.COM"])
tags = st.text(alphabet=string.ascii_letters + string.digits + ".-+", max_size=15)


@given(st.text(min_size=1, max_size=40), domains)
@example("İ", "example.com")
@example("ǅ", "example.com")
def test_it_is_idempotent(local, domain):
    try:
        once = canonical_email(f"{local}@{domain}")
    except ValueError:
        return
    assert canonical_email(once) == once


@given(local_parts, domains)
def test_it_ignores_case(local, domain):
    assert canonical_email(f"{local.upper()}@{domain.upper()}") == canonical_email(f"{local.lower()}@{domain}")


@given(local_parts, domains, tags)
def test_it_ignores_sub_address_tags(local, domain, tag):
    assert canonical_email(f"{local}+{tag}@{domain}") == canonical_email(f"{local}@{domain}")


@given(local_parts, st.sampled_from(["gmail.com", "googlemail.com", "GMail.com"]), st.data())
def test_it_ignores_dots_at_gmail_only(local, domain, data):
    assume(local.replace(".", ""))
    position = data.draw(st.integers(0, len(local)))
    dotted = local[:position] + "." + local[position:]
    assert canonical_email(f"{dotted}@{domain}") == canonical_email(f"{local}@{domain}")
    assert canonical_email(f"{dotted}@outlook.com") != canonical_email(f"{local}@outlook.com")


@given(local_parts, domains)
def test_it_keeps_one_at_sign_and_a_normal_domain(local, domain):
    result = canonical_email(f"{local}@{domain}")
    assert result.count("@") == 1
    head, _, tail = result.partition("@")
    assert head and tail == normalize_domain(tail) and "+" not in head


# --- clean_company_name --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("PEN-LINK, LTD.", "penlink"),
        ("Pen Link Limited", "penlink"),
        ("The GEO Group, Inc.", "geogroup"),
        ("GEO GROUP INC., THE", "geogroup"),
        ("PARAGON SOLUTIONS (US) INC", "paragonsolutions"),
        ("Paragon Systems", "paragonsystems"),
        ("AT&T Inc.", "atandt"),
        ("Société Générale S.A.", "societegenerale"),
        ("B.I. Incorporated", "bi"),
        ("Inc.", "inc"),
        ("The", "the"),
        ("字节跳动", "字节跳动"),
        ("", ""),
        ("  ,.  ", ""),
    ],
)
def test_it_cleans_company_names(text, key):
    assert clean_company_name(text) == key


names = st.text(alphabet=string.ascii_letters + string.digits + " ", min_size=1, max_size=30).filter(
    lambda s: any(ch.isalnum() for ch in s)
)


@given(st.text(max_size=60))
@example("ﬁ")
@example("ǅ Ⅷ")
@example("(x)")
def test_it_cleans_idempotently(text):
    once = clean_company_name(text)
    assert clean_company_name(once) == once
    assert all(ch.isalnum() for ch in once)


@given(names)
def test_it_cleans_regardless_of_case(name):
    assert clean_company_name(name.upper()) == clean_company_name(name.lower())


@given(names, st.sampled_from([", Inc.", " LLC", " Ltd", ", Limited", " Corporation", " Co.", " L.L.C.", " plc"]))
def test_it_cleans_away_legal_suffixes(name, suffix):
    base = clean_company_name(name)
    assume(base and not any(base == s for s in ["inc", "llc", "ltd", "limited", "corporation", "co", "plc"]))
    assume(len(name.split()) >= 1 and name.split()[-1].lower() not in {"the", "us", "usa"})
    assert clean_company_name(name + suffix) == base


@given(names, st.sampled_from(["-", ".", "'", "’", "&"]), st.data())
def test_it_cleans_regardless_of_punctuation_inside_a_word(name, mark, data):
    words = name.split()
    first = words[0]
    assume(len(first) >= 2 and mark != "&")  # "&" reads as "and": a word of its own
    position = data.draw(st.integers(1, len(first) - 1))
    punctuated = " ".join([first[:position] + mark + first[position:], *words[1:]])
    assert clean_company_name(punctuated) == clean_company_name(name)


@given(names)
def test_it_reads_an_ampersand_as_and(name):
    assume(len(name.split()) >= 1)
    assert clean_company_name(f"{name} & Sons") == clean_company_name(f"{name} and Sons")

"""Signers' pages set no cookie, and their forms refuse requests from other sites without one.

A CSRF cookie would be a stable identifier linking the visit that got a verification code to the later
submission of its token; the public forms are protected by undersigned.lib.crossorigin instead (the
Sec-Fetch-Site and Origin headers). The organizer area keeps Django's CSRF token and cookie.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.support.cast import companies, form_data, letter, mailbox, sign_path  # noqa: F401 (fixtures)
from tests.support.pages import page_text
from tests.support.verified import code_in, fast_keys  # noqa: F401 (fixtures)
from undersigned.cli import main
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db

# What browsers send with a form POSTed from a page of another site (and what nothing but such a page
# would send).
CROSS_SITE = [
    {"HTTP_ORIGIN": "https://evil.example"},
    {"HTTP_SEC_FETCH_SITE": "cross-site"},
    {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"},
    {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://sub.testserver"},
    {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "http://testserver"},  # Sec-Fetch-Site decides
    {"HTTP_ORIGIN": "null"},  # an opaque origin: a sandboxed frame, a data: URL
    {"HTTP_ORIGIN": "https://testserver"},  # another scheme…
    {"HTTP_ORIGIN": "http://testserver:8080"},  # …or port is another origin
    {"HTTP_ORIGIN": "http://testserver.evil.example"},
]
# A form on this site, a typed address, or a client that is not a browser (no header at all).
SAME_ORIGIN = [
    {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "http://testserver"},
    {"HTTP_ORIGIN": "http://testserver"},
    {"HTTP_ORIGIN": "http://testserver:80"},
    {"HTTP_SEC_FETCH_SITE": "none"},
    {},
]


def stored() -> dict:
    """Every table's row count, and the status of every signature: what a refused POST must not change."""
    counts = {model._meta.label: model.objects.count() for model in apps.get_models() if model._meta.managed}
    counts["statuses"] = sorted(Signature.objects.values_list("status", flat=True))
    return counts


def receipt_from(html: str) -> str:
    return html.split('id="receipt-text" readonly rows="5">')[1].split("</textarea>")[0]


@pytest.fixture
def forms(client, letter, mailbox, fast_keys):
    """Each public form: (name, path, data, expected status once accepted), in an order that works."""
    slug = letter.slug
    ok = {"HTTP_ORIGIN": "http://testserver"}
    # A pending signature (to confirm) and a confirmed one (to withdraw), through the form.
    assert client.post(sign_path(letter), form_data(email="pending@google.com"), **ok).status_code == 302
    pending = mailbox.deliver_one("pending@google.com")
    assert client.post(sign_path(letter), form_data(email="live@google.com"), **ok).status_code == 302
    live = mailbox.deliver_one("live@google.com")
    assert client.post(mailbox.path(live, "confirm"), **ok).status_code == 200
    # A code (for the token page), a receipt (for the submit page), a signed receipt (to withdraw).
    assert client.post(f"/letters/{slug}/verify/code/", {"email": "coder@google.com"}, **ok).status_code == 200
    code = code_in(mailbox.deliver_one("coder@google.com"))
    assert client.post(f"/letters/{slug}/verify/code/", {"email": "other@google.com"}, **ok).status_code == 200
    other_code = code_in(mailbox.deliver_one("other@google.com"))
    token_page = client.post(f"/letters/{slug}/verify/token/", {"email": "other@google.com", "code": other_code}, **ok)
    unsubmitted = receipt_from(token_page.content.decode())
    assert client.post(f"/letters/{slug}/verify/code/", {"email": "third@google.com"}, **ok).status_code == 200
    third = client.post(f"/letters/{slug}/verify/token/", {
        "email": "third@google.com", "code": code_in(mailbox.deliver_one("third@google.com"))}, **ok)
    signed_page = client.post(f"/letters/{slug}/verify/submit/", {"receipt": receipt_from(third.content.decode())}, **ok)
    assert signed_page.status_code == 201
    signed = receipt_from(signed_page.content.decode())
    return [
        ("sign", sign_path(letter), form_data(email="new@google.com"), 302),
        ("sign (es)", sign_path(letter, "es"), form_data(email="nuevo@google.com"), 302),
        ("confirm", mailbox.path(pending, "confirm"), {}, 200),
        ("withdraw", mailbox.path(live, "withdraw"), {}, 200),
        ("verification code", f"/letters/{slug}/verify/code/", {"email": "new@google.com"}, 200),
        ("verification token (no JavaScript)", f"/letters/{slug}/verify/token/",
         {"email": "coder@google.com", "code": code}, 200),
        ("verification submit", f"/es/letters/{slug}/verify/submit/", {"receipt": unsubmitted}, 201),
        ("verification withdraw", f"/letters/{slug}/verify/withdraw/", {"receipt": signed}, 200),
        ("check my receipt", f"/letters/{slug}/check/receipt/", {"receipt": signed}, 200),
    ]


def test_it_refuses_every_public_form_sent_from_another_site(client, forms):
    for name, path, data, _status in forms:
        for headers in CROSS_SITE:
            before = stored()
            response = client.post(path, data, **headers)
            assert response.status_code == 403, (name, headers)
            assert 'id="cross-site-refused"' in response.content.decode(), (name, headers)
            assert "no-store" in response["Cache-Control"]
            assert stored() == before, (name, headers)
            assert not response.cookies


def test_it_accepts_them_from_this_site_and_from_programs(letter, forms):
    for name, path, data, status in forms:
        before = stored()
        response = Client(enforce_csrf_checks=True).post(path, data, **SAME_ORIGIN[len(name) % len(SAME_ORIGIN)])
        assert response.status_code == status, (name, response.content.decode()[:2000])
        assert not response.cookies, name
        assert stored() != before or name == "check my receipt", name


def test_pages_that_show_a_secret_are_never_cached(client, forms, settings):
    # Confirmation and withdrawal links, addresses, codes and receipts (withdrawal secret included):
    # neither the browser nor a cache on the way may keep these pages.
    for name, path, data, status in forms:
        for response in (client.get(path), client.post(path, data)):
            cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
            assert {"no-store", "private"} <= cache_control, (name, response.status_code, cache_control)
    link = CliRunner().invoke(main, ["organizer-link"]).output.strip().removeprefix(settings.SITE_URL)
    assert "no-store" in client.get(link)["Cache-Control"]


@pytest.mark.parametrize("headers", SAME_ORIGIN)
def test_it_accepts_every_same_origin_form(client, letter, mailbox, headers):
    response = client.post(sign_path(letter), form_data(), **headers)
    assert response.status_code == 302
    assert len(mailbox.deliver()) == 1


def test_it_says_so_in_the_pages_language(client, letter):
    response = client.post(sign_path(letter, "es"), form_data(), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert 'lang="es"' in response.content.decode()
    assert "Formulario rechazado" in page_text(response.content.decode())


def test_it_knows_its_origin_behind_a_tls_proxy(client, letter, mailbox, settings):
    # SITE_URL=https://… configures SECURE_PROXY_SSL_HEADER: the request is https if the proxy says so.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    https = {"HTTP_ORIGIN": "https://testserver", "HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "testserver"}
    assert client.post(sign_path(letter), form_data(), **https).status_code == 302
    # A proxy that does not say so (or rewrites Host): SITE_URL's own origin is accepted too.
    settings.SITE_URL = "https://letters.example.org"
    assert client.post(sign_path(letter), form_data(email="b@google.com"),
                       HTTP_ORIGIN="https://letters.example.org").status_code == 302
    assert client.post(sign_path(letter), form_data(email="c@google.com"),
                       HTTP_ORIGIN="http://letters.example.org").status_code == 403
    assert len(mailbox.deliver()) == 2


# --------------------------------------------------------------------------------------------------
# No cookies on public pages


def public_patterns(resolver=None, prefix=""):
    """(name, route) of every URL pattern outside the organizer area."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith("organizer/"):
            continue
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            for name, sub in public_patterns(pattern, route):
                yield (namespace + name if name else name), sub
        elif isinstance(pattern, URLPattern):
            yield pattern.name, route


def public_pages(letter, confirm_path, withdraw_path) -> dict[str, str]:
    slug = letter.slug
    return {
        "openapi": "/api/v1/openapi.json",
        "api-letters": "/api/v1/letters",
        "api-letter": f"/api/v1/letters/{slug}",
        "api-letter-signatures": f"/api/v1/letters/{slug}/signatures",
        "api-companies": "/api/v1/companies",
        "api-company": "/api/v1/companies/google",
        "api-letter-keys": f"/api/v1/letters/{slug}/keys",
        "api-letter-verifications": f"/api/v1/letters/{slug}/verifications",
        "api-letter-tokens": f"/api/v1/letters/{slug}/tokens",
        "api-letter-withdrawals": f"/api/v1/letters/{slug}/withdrawals",
        "api-company-contracts": "/api/v1/companies/google/contracts",
        "api-log-key": "/api/v1/log/key",
        "api-letter-log": f"/api/v1/letters/{slug}/log",
        "api-letter-log-entries": f"/api/v1/letters/{slug}/log/entries",
        "api-letter-log-tree-head": f"/api/v1/letters/{slug}/log/tree-head",
        "api-letter-log-tree-heads": f"/api/v1/letters/{slug}/log/tree-heads",
        "api-letter-log-inclusion": f"/api/v1/letters/{slug}/log/proof/inclusion?index=0&tree_size=1",
        "api-letter-log-consistency": f"/api/v1/letters/{slug}/log/proof/consistency?first=1&second=1",
        "api-letter-log-export": f"/api/v1/letters/{slug}/log/export.jsonl.gz",
        "messaging:outbox": "/outbox/",
        "letters:index": "/",
        "letters:detail": f"/letters/{slug}/",
        "signatures:sign": f"/letters/{slug}/sign/",
        "signatures:check_email": f"/letters/{slug}/sign/check-your-email/",
        "signatures:confirm": confirm_path,
        "signatures:withdraw": withdraw_path,
        "verification:verify": f"/letters/{slug}/verify/",
        "verification:code": f"/letters/{slug}/verify/code/",
        "verification:token": f"/letters/{slug}/verify/token/",
        "verification:submit": f"/letters/{slug}/verify/submit/",
        "verification:withdraw": f"/letters/{slug}/verify/withdraw/",
        "contracts:index": "/contracts/",
        "contracts:export": "/contracts/export.csv",
        "contracts:company": "/contracts/companies/google/",
        "contracts:company_csv": "/contracts/companies/google/awards.csv",
        "contracts:company_feed": "/contracts/companies/google/feed/",
        "contracts:category": "/contracts/categories/facial-recognition/",
        "contracts:category_feed": "/contracts/categories/facial-recognition/feed/",
        "ledger:how-to-check": f"/letters/{slug}/check/",
        "ledger:check-receipt": f"/letters/{slug}/check/receipt/",
    }


def test_no_public_page_sets_a_cookie(client, letter, mailbox):
    assert client.post(sign_path(letter), form_data()).status_code == 302
    message = mailbox.deliver_one("jane.doe@google.com")
    pages = public_pages(letter, mailbox.path(message, "confirm"), mailbox.path(message, "withdraw"))
    names = {name for name, _route in public_patterns()}
    assert names == set(pages), f"list the new public pages here: {names ^ set(pages)}"
    for name, path in pages.items():
        for language_path in (path, f"/es{path}") if not path.startswith(("/api/", "/outbox/")) else (path,):
            response = client.get(language_path)
            assert response.status_code < 500, (name, language_path)
            assert not response.cookies, (name, language_path, response.cookies)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert b"csrfmiddlewaretoken" not in body, (name, language_path)
    assert not client.cookies


def test_the_language_switch_sets_no_cookie(client, letter):
    html = client.get(f"/letters/{letter.slug}/").content.decode()
    assert 'href="/es/letters/stop-the-contracts/"' in html  # a link to the page in Spanish, not a form
    assert "/i18n/setlang" not in html
    assert client.post("/i18n/setlang/", {"language": "es"}).status_code == 404
    response = client.get("/es/letters/stop-the-contracts/")
    assert response.status_code == 200 and not response.cookies


def test_public_pages_do_not_read_an_organizers_session(client, letter):
    # Sessions, users and messages exist under /organizer/ only: a public page neither reads nor renews
    # a session cookie, even one a client sends it (browsers send it to /organizer/ only).
    client.force_login(get_user_model().objects.create(username="org", is_staff=True, is_superuser=True))
    for path in (f"/letters/{letter.slug}/", f"/es/letters/{letter.slug}/", f"/api/v1/letters/{letter.slug}"):
        response = client.get(path)
        assert response.status_code == 200 and not response.cookies, path
        assert not hasattr(response.wsgi_request, "session") and not hasattr(response.wsgi_request, "user"), path
    response = client.get("/organizer/")
    assert response.status_code == 200 and response.wsgi_request.user.username == "org"


# --------------------------------------------------------------------------------------------------
# The organizer area keeps Django's CSRF protection


def test_the_organizer_area_still_needs_djangos_token():
    user = get_user_model().objects.create(username="org", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/organizer/password_change/")
    assert page.status_code == 200
    cookie = page.cookies["csrftoken"]
    assert cookie["path"] == "/organizer/"
    assert client.post("/organizer/logout/").status_code == 403
    # Same-origin headers are no substitute for the token here.
    assert client.post("/organizer/logout/", HTTP_ORIGIN="http://testserver", HTTP_SEC_FETCH_SITE="same-origin").status_code == 403
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert client.post("/organizer/logout/", {"csrfmiddlewaretoken": token}).status_code == 200


def test_the_organizer_sign_in_link_still_needs_djangos_token(settings):
    user = get_user_model().objects.create(username="org", is_staff=True, is_superuser=True)
    result = CliRunner().invoke(main, ["organizer-link", "--username", user.username])
    assert result.exit_code == 0, result.output
    path = result.output.strip().removeprefix(settings.SITE_URL)
    client = Client(enforce_csrf_checks=True)
    assert client.post(path, HTTP_ORIGIN="http://testserver").status_code == 403
    page = client.get(path)
    assert page.cookies["csrftoken"]["path"] == "/organizer/"
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(path, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response.cookies["sessionid"]["path"] == "/organizer/"

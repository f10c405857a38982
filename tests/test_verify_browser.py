"""Verified signing in Chromium against `undersigned serve` (real SMTP for the codes):

* the browser library (@cloudflare/blindrsa-ts, the committed bundle) blinds and finalises against our
  server through the real page, and the receipt withdraws the signature;
* a token made by our Python client verifies with the browser library;
* "submit later from this browser" submits on a later visit;
* without JavaScript, the weaker fallback (the server blinds) works through plain forms.

Every request stays on the site; no page has a console error (CSP violations included).
"""

from __future__ import annotations

import re

import httpx
import pytest

from undersigned.letters.demo import DEMO_SLUG
from undersigned.verification import protocol
from undersigned.verification.cli import _client

from tests.support.browser import recorded_page
from tests.support.mail import SmtpSink

pytestmark = pytest.mark.browser


def counts(site):
    return httpx.get(f"{site.url}/api/v1/letters/{DEMO_SLUG}").json()["counts"]


def code_for(smtp_sink, email, after):
    message = smtp_sink.wait_for(email, after=after)
    return re.search(r"\b(\d{8})\b", SmtpSink.text(message)).group(1)


def get_token_in_the_page(page, site, smtp_sink, email):
    page.goto(f"{site.url}/letters/{DEMO_SLUG}/")
    page.click(f'main a[href$="/letters/{DEMO_SLUG}/verify/"]')
    page.wait_for_url(f"**/letters/{DEMO_SLUG}/verify/")
    assert page.locator("#js-fallback-note").is_hidden()
    seen = len(smtp_sink.messages)
    page.fill("#email", email)
    page.click("#email-form button[type=submit]")
    page.locator("#code").wait_for(state="visible")
    page.fill("#code", code_for(smtp_sink, email, seen))
    page.click("#code-form button[type=submit]")
    page.locator("#step-sign").wait_for(state="visible")


def test_the_browser_blinds_and_finalises_against_the_server(browser, site, smtp_sink):
    before = counts(site)
    with recorded_page(browser) as (page, recorder):
        # The browser's own requests: the token request carries a blinded message, never the token.
        bodies = []
        page.on("request", lambda request: bodies.append((request.url, request.post_data or "")))
        get_token_in_the_page(page, site, smtp_sink, "browser.signer@google.com")
        page.click("#when-now")
        page.click("#sign-form button[type=submit]")
        page.locator("#step-done").wait_for(state="visible")
        receipt = protocol.read_receipt(page.input_value("#receipt-output"))
        assert receipt["company"] == "google" and receipt["status"] == "confirmed"
        token_posts = [body for url, body in bodies if url.endswith("/tokens")]
        assert token_posts and receipt["message"] not in token_posts[0]
        assert counts(site)["verified"] == before["verified"] + 1

        # Withdraw with the receipt, by pasting it.
        page.goto(f"{site.url}/letters/{DEMO_SLUG}/verify/withdraw/")
        page.fill("#receipt", protocol.receipt_text(receipt))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "withdrawn" in page.content()
        assert counts(site)["verified"] == before["verified"]
        assert recorder.foreign_requests(site.url) == []
        assert recorder.problems == []


def test_a_python_token_verifies_in_the_browser_library(browser, site, smtp_sink):
    api = _client(site.url, DEMO_SLUG)
    email = "python.signer@google.com"
    seen = len(smtp_sink.messages)
    api.request_code(email)
    receipt = api.token_with_code(email, code_for(smtp_sink, email, seen))
    key = next(k for k in api.keys() if k["key_id"] == receipt["key_id"])
    with recorded_page(browser) as (page, recorder):
        page.goto(f"{site.url}/letters/{DEMO_SLUG}/verify/")
        result = page.evaluate("""async (args) => {
            const api = window.UndersignedBlindRSA;
            const key = await api.importPublicKey(args.key);
            const good = await api.verify(key, args.message, args.signature);
            const sig = api.fromB64url(args.signature); sig[10] ^= 1;
            const bad = await api.verify(key, args.message, api.toB64url(sig));
            return [good, bad, await api.keyId(args.key)];
        }""", {"key": key["public_key"], "message": receipt["message"], "signature": receipt["signature"]})
        assert result == [True, False, key["key_id"]]
        assert recorder.problems == []
    api.submit(receipt)  # and the server accepts it


def test_a_token_kept_for_later_is_submitted_on_a_later_visit(browser, site, smtp_sink):
    before = counts(site)
    with recorded_page(browser) as (page, recorder):
        get_token_in_the_page(page, site, smtp_sink, "later.browser@google.com")
        page.click("#when-later")
        page.click("#sign-form button[type=submit]")
        page.locator("#step-done").wait_for(state="visible")
        assert counts(site) == before
        pending = page.evaluate("() => JSON.parse(localStorage.getItem('undersigned-pending-signatures'))")
        assert len(pending) == 1 and pending[0]["due"] > 0
        # Time passes: make it due, then visit the letter page again.
        page.evaluate("""() => { const items = JSON.parse(localStorage.getItem('undersigned-pending-signatures'));
            items[0].due = 0; localStorage.setItem('undersigned-pending-signatures', JSON.stringify(items)); }""")
        page.goto(f"{site.url}/letters/{DEMO_SLUG}/")
        page.wait_for_function("() => localStorage.getItem('undersigned-pending-signatures') === null")
        assert counts(site)["verified"] == before["verified"] + 1
        assert recorder.problems == []


def test_without_javascript_the_server_blinds_and_forgets(browser, site, smtp_sink):
    before = counts(site)
    email = "nojs.signer@google.com"
    with recorded_page(browser, java_script_enabled=False) as (page, recorder):
        page.goto(f"{site.url}/letters/{DEMO_SLUG}/verify/")
        assert page.locator("#js-fallback-note").is_visible()
        seen = len(smtp_sink.messages)
        page.fill("#email", email)
        with page.expect_navigation():
            page.click("#email-form button[type=submit]")
        page.fill("#code", code_for(smtp_sink, email, seen))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "Weaker fallback" in page.content()
        receipt = protocol.read_receipt(page.input_value("#receipt-text"))
        page.fill("#role", "Designer")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "counts as verified" in page.content()
        assert counts(site)["verified"] == before["verified"] + 1
        # The same receipt, pasted again on the "saved receipt" page, is refused clearly.
        page.goto(f"{site.url}/letters/{DEMO_SLUG}/verify/submit/")
        page.fill("#receipt", protocol.receipt_text(receipt))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert "already been used" in page.content()
        assert counts(site)["verified"] == before["verified"] + 1
        assert recorder.foreign_requests(site.url) == []

"""Verified signing in Chromium on the Spanish page (/es/…), against `undersigned serve` with real SMTP:
the email with the code arrives in Spanish, the API's refusals (English, with an error_code) show as
the page's Spanish messages, and the flow then succeeds. No English reaches the signer; axe-core finds
no serious violation with an error shown.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from undersigned.letters.demo import DEMO_SLUG

from tests.support.browser import recorded_page
from tests.support.mail import SmtpSink

pytestmark = pytest.mark.browser

# The Spanish messages (locale/es/LC_MESSAGES/django.po) that the page gives verify.js.
WRONG_CODE = "El código es incorrecto o ha caducado. Revísalo o pide un código nuevo."
INVITATION_INVALID = "Este código de invitación no es válido para esta carta: es incorrecto, ya se usó o ha caducado."
NAME_REQUIRED = "Escribe tu nombre o elige firmar de forma anónima."
# The API's English answers to the same requests: none of this may appear on the page.
ENGLISH = ["The code is wrong", "This invitation code is not valid", "name is needed", "Error:", "HTTP 4"]


def verified_count(site) -> int:
    return httpx.get(f"{site.url}/api/v1/letters/{DEMO_SLUG}").json()["counts"]["verified"]


def shown_error(page) -> str:
    box = page.locator("#verify-error")
    box.wait_for(state="visible")
    text = box.inner_text().strip()
    assert not any(english in text for english in ENGLISH), text
    return text


def submit_and_wait_for_refusal(page, button: str) -> str:
    """Click ``button``, wait for the API's answer and the message it leads to."""
    page.evaluate("() => { document.getElementById('verify-error').hidden = true; }")
    page.click(button)
    return shown_error(page)


def test_it_signs_in_spanish_from_the_code_email_to_the_receipt(browser, axe, site, smtp_sink):
    before = verified_count(site)
    email = "firmante.es@google.com"
    with recorded_page(browser, locale="en-US") as (page, recorder):  # the browser's own language is English
        bodies = []
        page.on("request", lambda request: bodies.append((request.url, request.post_data or "")))
        page.goto(f"{site.url}/es/letters/{DEMO_SLUG}/verify/")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("#js-fallback-note").is_hidden()

        # An invitation code the server does not know: refused by the API, shown in Spanish.
        page.fill("#invitation", "google-" + "a" * 24)
        assert submit_and_wait_for_refusal(page, "#invitation-form button[type=submit]") == INVITATION_INVALID
        # One for no company at all is refused by the page itself, in Spanish too.
        page.fill("#invitation", "nadie-" + "a" * 24)
        assert submit_and_wait_for_refusal(page, "#invitation-form button[type=submit]") == INVITATION_INVALID

        # The code's email, in Spanish, because the page asked for its language.
        seen = len(smtp_sink.messages)
        page.fill("#email", email)
        page.click("#email-form button[type=submit]")
        page.locator("#code").wait_for(state="visible")
        requests = [json.loads(body) for url, body in bodies if url.endswith("/verifications")]
        assert requests == [{"email": email, "language": "es"}]
        message = smtp_sink.wait_for(email, after=seen)
        text = SmtpSink.text(message)
        assert str(message["Subject"]) == "Tu código"
        assert "Tu código es" in text and "Es válido durante 15 minutos" in text and "Your code" not in text
        code = re.search(r"\b(\d{8})\b", text).group(1)

        # A wrong code: the API's English refusal becomes the page's Spanish message.
        page.fill("#code", "0" * 8 if code != "0" * 8 else "1" * 8)
        assert submit_and_wait_for_refusal(page, "#code-form button[type=submit]") == WRONG_CODE
        violations = [v for v in axe.run(page).response["violations"] if v.get("impact") in ("serious", "critical")]
        assert violations == [], [(v["id"], v["help"]) for v in violations]

        # The right code then gets the token.
        page.fill("#code", code)
        page.click("#code-form button[type=submit]")
        page.locator("#step-sign").wait_for(state="visible")
        assert page.locator("#verify-error").is_hidden()
        assert page.inner_text("#token-ready") == "Tu navegador guarda un token anónimo para Google."

        # "Show my name" without a name: the page's own Spanish message.
        page.check("#sign-visibility-named")
        assert submit_and_wait_for_refusal(page, "#sign-form button[type=submit]") == NAME_REQUIRED
        page.check("#sign-visibility-anonymous")
        page.click("#when-now")
        page.click("#sign-form button[type=submit]")
        page.locator("#step-done").wait_for(state="visible")
        assert page.inner_text("#done-message") == "Tu firma se envió y se cuenta como firma verificada."
        assert verified_count(site) == before + 1

        assert recorder.foreign_requests(site.url) == []
        # The refusals are 400 answers, which Chromium reports on the console; nothing else went wrong.
        problems = [p for p in recorder.problems if "status of 400" not in p]
        assert problems == []

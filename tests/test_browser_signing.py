"""Signing the demo letter in Chromium with the keyboard only, in English and in Spanish, against
`undersigned serve` sending its mail to a real SMTP server; then withdrawing.

Every request the pages make must go to the site itself, and every page must carry the strict
Content-Security-Policy.
"""

from __future__ import annotations

import pytest

from tests.support.browser import recorded_page, tab_to
from tests.support.pages import read_letter_page

pytestmark = pytest.mark.browser

SLUG = "cancel-the-contracts"
SPANISH_TITLE = "Trabajadores de la tecnología contra los contratos con ICE"
CONFIRM_LINK = r"http://\S+/signatures/confirm/[\w-]+/"


@pytest.fixture(autouse=True)
def site_log_on_failure(site):
    """The site's output, shown by pytest when a test fails."""
    start = len(site.log())
    yield
    print(site.log()[start:][-8000:])


def letter_page(page) -> dict:
    return read_letter_page(page.content())


def fill(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def sign_with_the_keyboard(page, *, name: str, company: str, email: str) -> None:
    """From the letter page: follow "Sign", choose to show the name, fill in the form, submit."""
    tab_to(page, f'main a[href$="/letters/{SLUG}/sign/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/letters/{SLUG}/sign/")
    # The radio group: Tab reaches the checked choice ("anonymous", the default); an arrow key moves on.
    tab_to(page, "input[name=visibility]")
    assert page.evaluate("() => document.activeElement.value") == "anonymous"
    page.keyboard.press("ArrowDown")
    assert page.locator("input[name=visibility][value=named]").is_checked()
    fill(page, "#id_name", name)
    fill(page, "#id_company", company)
    fill(page, "#id_role", "Software Engineer")
    fill(page, "#id_email", email)
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/letters/{SLUG}/sign/check-your-email/")


def press_the_button(page) -> None:
    tab_to(page, "main form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Space")


def sign_confirm_withdraw(page, recorder, site, smtp_sink, *, language: str, email: str):
    prefix = "" if language == "en" else f"/{language}"
    letter_url = f"{site.url}{prefix}/letters/{SLUG}/"
    if language == "en":
        page.goto(letter_url)
    else:
        # Reach the translation through the visible language switch.
        page.goto(f"{site.url}/letters/{SLUG}/")
        tab_to(page, f'.language-switch a[hreflang="{language}"]')
        page.keyboard.press("Enter")
        page.wait_for_url(letter_url)
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").inner_text() == SPANISH_TITLE
    before = letter_page(page)

    received = len(smtp_sink.messages)
    sign_with_the_keyboard(page, name="Jane Doe", company="Google", email=email)
    assert page.url.startswith(f"{site.url}{prefix}/")
    message = smtp_sink.wait_for(email, after=received)
    link = smtp_sink.link(message, CONFIRM_LINK)
    assert link.startswith(f"{site.url}{prefix}/signatures/confirm/")

    page.goto(link)
    page.reload()  # following the link any number of times signs nothing
    page.goto(letter_url)
    assert letter_page(page) == before

    page.goto(link)
    press_the_button(page)
    withdraw = page.locator("#withdraw-link")
    assert withdraw.is_visible()
    assert withdraw.get_attribute("href") in smtp_sink.text(message)  # the same private link as the email

    # The letter page, reached with the keyboard from the confirmation page.
    tab_to(page, f'main a[href="{prefix}/letters/{SLUG}/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(letter_url)
    after = letter_page(page)
    assert after["total"] == before["total"] + 1
    assert after["by_company"]["Alphabet"][1] == before["by_company"].get("Alphabet", (0, 0, 0))[1] + 1
    # Named, but not yet reviewed by an organizer: listed as "Anonymous" with the company.
    assert len(after["signatures"]) == len(before["signatures"]) + 1
    assert after["signatures"][-1].endswith(", Google")
    assert "Jane Doe" not in after["signatures"][-1]
    if language == "es":  # the interface is translated too, not only the letter
        assert not after["signatures"][-1].startswith("Anonymous")
    assert "Jane Doe" not in page.content()

    # Withdraw through the link on the confirmation page (shown again when the email link is reopened).
    page.goto(link)
    tab_to(page, "#withdraw-link")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{prefix}/signatures/withdraw/**")
    press_the_button(page)
    page.goto(letter_url)
    assert letter_page(page) == before
    return message


def assert_stays_on_the_site(recorder, site, *, expected_problems: tuple[str, ...] = ()):
    assert recorder.requests, "no request was recorded"
    assert recorder.foreign_requests(site.url) == []
    problems = [problem for problem in recorder.problems if not any(text in problem for text in expected_problems)]
    assert problems == []  # no CSP violation, no script error, no failed request
    assert recorder.documents
    for response in recorder.documents:
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, (response.url, policy)


def test_it_signs_confirms_and_withdraws_with_the_keyboard_in_english(browser, site, smtp_sink):
    with recorded_page(browser, locale="en-US") as (page, recorder):
        message = sign_confirm_withdraw(page, recorder, site, smtp_sink, language="en",
                                        email="jane.doe+e2e@google.com")
        assert "Tech workers against ICE contracts" in str(message["Subject"])
        assert_stays_on_the_site(recorder, site)


def test_it_signs_confirms_and_withdraws_with_the_keyboard_in_spanish(browser, site, smtp_sink):
    with recorded_page(browser, locale="es-ES") as (page, recorder):
        message = sign_confirm_withdraw(page, recorder, site, smtp_sink, language="es",
                                        email="maria.garcia+e2e@google.com")
        assert SPANISH_TITLE in str(message["Subject"])
        assert SPANISH_TITLE in smtp_sink.text(message)
        assert_stays_on_the_site(recorder, site)


def test_it_shows_form_errors_and_keeps_the_signer_on_the_form(browser, site, smtp_sink):
    with recorded_page(browser) as (page, recorder):
        page.goto(f"{site.url}/letters/{SLUG}/sign/")
        fill(page, "#id_company", "Google")
        fill(page, "#id_email", "not-an-address")
        tab_to(page, "form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == f"{site.url}/letters/{SLUG}/sign/"
        assert page.locator("#id_email").get_attribute("aria-invalid") == "true"
        assert page.locator("#id_email_error").is_visible()
        assert page.locator("#id_company").input_value() == "Google"
        assert_stays_on_the_site(recorder, site, expected_problems=("status of 400 (Bad Request)",))

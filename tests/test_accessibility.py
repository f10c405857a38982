"""axe-core (bundled with axe-playwright-python) in Chromium on the pages a signer sees, in English and
Spanish: no serious or critical violations."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.browser import recorded_page

pytestmark = pytest.mark.browser

SLUG = "cancel-the-contracts"
LANGUAGES = ["en", "es"]


def prefix(language: str) -> str:
    return "" if language == "en" else f"/{language}"


def confirmation_link(site, smtp_sink, language: str) -> str:
    """A fresh confirmation link, from a signature made through the API."""
    email = f"a11y-{language}-{len(smtp_sink.messages)}@example.org"
    request = urllib.request.Request(
        f"{site.url}/api/v1/letters/{SLUG}/signatures",
        data=json.dumps({"company": "Acme Accessibility", "email": email}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    link = smtp_sink.link(smtp_sink.wait_for(email), r"http://\S+/signatures/confirm/[\w-]+/")
    # The API has no language in its URL: the link opens in the page's language with a prefix.
    path = link.split("/signatures/", 1)[1]
    return f"{site.url}{prefix(language)}/signatures/{path}"


def serious_violations(axe, page) -> list[dict]:
    results = axe.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def check(axe, page, url: str) -> None:
    violations = serious_violations(axe, page)
    assert not violations, f"axe-core on {url}:\n{describe(violations)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_has_no_serious_violations_on_the_letter_page(browser, axe, site, language):
    with recorded_page(browser) as (page, _):
        url = f"{site.url}{prefix(language)}/letters/{SLUG}/"
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language
        check(axe, page, url)


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_has_no_serious_violations_on_the_sign_form(browser, axe, site, language):
    with recorded_page(browser) as (page, _):
        url = f"{site.url}{prefix(language)}/letters/{SLUG}/sign/"
        page.goto(url)
        check(axe, page, url)
        # With validation errors: the form comes back with messages tied to their fields.
        page.locator("input[name=visibility][value=named]").check()
        page.locator("#id_email").fill("not-an-address")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        assert page.locator(".errorlist").count() >= 3  # name, company, email
        check(axe, page, url + " (with errors)")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_has_no_serious_violations_on_the_check_your_email_page(browser, axe, site, language):
    with recorded_page(browser) as (page, _):
        url = f"{site.url}{prefix(language)}/letters/{SLUG}/sign/check-your-email/"
        page.goto(url)
        check(axe, page, url)


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_has_no_serious_violations_on_the_confirmation_pages(browser, axe, site, smtp_sink, language):
    link = confirmation_link(site, smtp_sink, language)
    with recorded_page(browser) as (page, _):
        page.goto(link)
        check(axe, page, link)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        assert page.locator("#withdraw-link").is_visible()
        check(axe, page, link + " (confirmed)")
        page.goto(site.url + page.locator("#withdraw-link").get_attribute("href"))
        check(axe, page, "the withdrawal page")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        check(axe, page, "the withdrawn page")

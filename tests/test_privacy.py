"""After complete signing flows through the running site (`undersigned serve`, a real SMTP server, the
JSON API and the HTML form), neither the database nor the site's log holds an email address used, its
local part, the client's network address next to a signature, or a user agent.
"""

from __future__ import annotations

import time
import urllib.request

import httpx
import pytest

from tests.support.dump import database_tables

SLUG = "cancel-the-contracts"
USER_AGENT = "PrivacyCanary/7.3 (undersigned test; canary-ua-5f1e)"
FORWARDED = "203.0.113.77"  # what a client might claim in X-Forwarded-For (no proxy is trusted here)
CONFIRM_LINK = r"http://\S+/signatures/confirm/[\w-]+/"
WITHDRAW_LINK = r"http://\S+/signatures/withdraw/[\w-]+/"
ADDRESSES = {
    "api": "privacy.api.signer+ice@google.com",
    "form": "Privacy.Form.Signer@amazon.com",
    "pending": "privacy.never.confirms@example.org",
}


def csrf_post(client: httpx.Client, url: str, data: dict | None = None) -> httpx.Response:
    """GET the page with the form, then POST it as a browser does: no cookie (the page sets none), and
    the site's own Origin (what the cross-site check of undersigned.lib.crossorigin looks at)."""
    page = client.get(url)
    assert page.status_code == 200, page.text[:500]
    assert "set-cookie" not in page.headers and "csrfmiddlewaretoken" not in page.text
    return client.post(url, data=data or {}, headers={"Origin": str(client.base_url).rstrip("/")})


@pytest.fixture(scope="module")
def flows(site, smtp_sink):
    """Signing flows of every kind, run once for the module's tests."""
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": FORWARDED}
    with httpx.Client(base_url=site.url, headers=headers, timeout=20, follow_redirects=True) as client:
        before = len(smtp_sink.messages)

        # 1. Through the JSON API, confirmed.
        response = client.post(f"/api/v1/letters/{SLUG}/signatures", json={
            "name": "Api Signer", "show_name": True, "company": "Google", "role": "SRE", "email": ADDRESSES["api"],
        })
        assert response.status_code == 202
        confirm = smtp_sink.link(smtp_sink.wait_for(ADDRESSES["api"], after=before), CONFIRM_LINK)
        assert csrf_post(client, confirm).status_code == 200

        # 2. Through the HTML form, confirmed, then withdrawn.
        response = csrf_post(client, f"/letters/{SLUG}/sign/", {
            "visibility": "anonymous", "company": "AWS", "email": ADDRESSES["form"], "comment": "Cancel them.",
        })
        assert response.status_code == 200 and response.url.path.endswith("/check-your-email/")
        message = smtp_sink.wait_for(ADDRESSES["form"], after=before)
        assert csrf_post(client, smtp_sink.link(message, CONFIRM_LINK)).status_code == 200
        assert csrf_post(client, smtp_sink.link(message, WITHDRAW_LINK)).status_code == 200

        # 3. The first address again (another case, another tag): an "already signed" email.
        response = csrf_post(client, f"/es/letters/{SLUG}/sign/", {
            "visibility": "anonymous", "company": "Google", "email": ADDRESSES["api"].upper().replace("+ICE", "+again"),
        })
        assert response.status_code == 200
        smtp_sink.wait_for(ADDRESSES["api"].upper().replace("+ICE", "+again"), after=before)

        # 4. Never confirmed.
        assert client.post(f"/api/v1/letters/{SLUG}/signatures", json={
            "company": "Nowhere Corp", "email": ADDRESSES["pending"],
        }).status_code == 202
        smtp_sink.wait_for(ADDRESSES["pending"], after=before)

    wait_for_empty_outbox(site)
    return {"recipients": sorted({r for recipients, _ in smtp_sink.messages for r in recipients})}


def wait_for_empty_outbox(site, timeout=20.0):
    """The worker deletes each message once the SMTP server took it; wait until it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tables = database_tables(site)
        if not tables.get("messaging_outgoingemail", "").strip():
            return
        time.sleep(0.2)
    raise AssertionError("the outbox still holds messages that were delivered")


def needles_for(address: str) -> list[str]:
    local = address.rsplit("@", 1)[0]
    canonical_local = local.split("+", 1)[0]
    needles = {address, local, canonical_local}
    return sorted({n.lower() for n in needles} | {n.lower().encode().hex() for n in needles})


def without_site_url(text: str, site) -> str:
    """The site's own address legitimately appears (links in queued mail, the start-up banner)."""
    return text.replace(site.url, "<SITE_URL>")


def test_it_keeps_no_email_address_in_the_database(site, flows):
    assert set(ADDRESSES.values()) <= set(flows["recipients"]) | {ADDRESSES["api"]}
    tables = database_tables(site)
    # The dump does hold what the signers chose to publish (so the searches below look at real data).
    assert "Api Signer" in tables["signatures_signature"]
    assert "AWS" in tables["signatures_signature"]
    found = []
    for address in flows["recipients"]:  # every address this site has mailed in this test session
        for needle in needles_for(address):
            found += [(table, needle) for table, text in tables.items() if needle in text.lower()]
    assert found == []


def test_it_keeps_no_user_agent_anywhere(site, flows):
    tables = database_tables(site)
    for needle in ("canary-ua-5f1e", "privacycanary", "headlesschrome", "python-httpx", "python-urllib"):
        assert [table for table, text in tables.items() if needle in text.lower()] == [], needle
        assert needle not in site.log().lower()


def test_it_keeps_no_network_address_next_to_signatures(site, flows):
    tables = database_tables(site)
    for table, text in tables.items():
        text = without_site_url(text, site)
        assert "127.0.0.1" not in text, table
        assert FORWARDED not in text, table


def test_it_logs_no_address_of_any_kind(site, flows):
    log = without_site_url(site.log(), site).lower()
    assert log.strip()  # the site did write its start-up lines
    for address in flows["recipients"]:
        for needle in needles_for(address):
            assert needle not in log
    assert "127.0.0.1" not in log
    assert FORWARDED not in log


def test_it_does_not_use_the_demo_outbox_when_a_mail_server_is_set(site, flows):
    outbox = site.data_dir / "outbox"
    assert not outbox.exists() or not any(outbox.iterdir())
    try:
        urllib.request.urlopen(f"{site.url}/outbox/", timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 404
    else:
        raise AssertionError("/outbox/ is served although the site sends real email")
    assert "demo outbox" not in site.log().lower()

"""The organizer area: one-time sign-in links, the moderation queue, invalidations, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model

from tests.support.cast import mailbox  # noqa: F401 (fixture)
from undersigned.cli import main
from undersigned.letters.models import Letter, LetterSecret
from undersigned.moderation.models import Invalidation, RateLimit
from undersigned.signatures.counts import letter_counts
from undersigned.signatures.models import Signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter():
    return Letter.objects.create(slug="demo", title="Demo", body="Text", status=Letter.Status.OPEN)


@pytest.fixture
def organizer(client):
    user = get_user_model().objects.create(username="org", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def confirmed(letter, **fields):
    return Signature.objects.create(letter=letter, status=Signature.Status.CONFIRMED,
                                    company_as_written=fields.pop("company_as_written", "Google"), **fields)


def test_it_signs_in_with_a_one_time_link(client, settings):
    result = CliRunner().invoke(main, ["organizer-link"])
    assert result.exit_code == 0, result.output
    path = result.output.strip().removeprefix(settings.SITE_URL)
    assert client.get(path).status_code == 200  # a button, not a sign-in: link scanners must not use it up
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/organizer/"
    assert client.get("/organizer/").status_code == 200
    client.logout()
    assert client.post(path).status_code == 404  # used once already


def test_it_refuses_a_made_up_link(client):
    assert client.post("/organizer/sign-in/not-a-real-token/").status_code == 404


def test_it_keeps_outsiders_out(client, letter):
    assert client.get("/organizer/").status_code == 302
    assert client.get("/organizer/letters/demo/signatures.csv").status_code == 302


def test_it_approves_and_hides_names(client, organizer, letter):
    signature = confirmed(letter, name="Jane Doe", show_name=True)
    assert signature.display_name == "Anonymous"  # not reviewed yet
    client.post("/organizer/signatures/signature/", {"action": "approve", "_selected_action": [signature.pk]})
    signature.refresh_from_db()
    assert signature.display_name == "Jane Doe"
    client.post("/organizer/signatures/signature/", {"action": "hide", "_selected_action": [signature.pk]})
    signature.refresh_from_db()
    assert signature.display_name == "Anonymous" and signature.is_counted


def test_it_invalidates_with_a_recorded_reason(client, organizer, letter):
    keep, drop = confirmed(letter), confirmed(letter)
    form = client.post("/organizer/signatures/signature/", {"action": "invalidate", "_selected_action": [drop.pk]})
    assert form.status_code == 200 and b"Reason" in form.content  # asks for the reason first
    client.post("/organizer/signatures/signature/",
                {"action": "invalidate", "_selected_action": [drop.pk], "reason": "Same person twice"})
    assert letter_counts(letter).total == 1
    record = Invalidation.objects.get()
    assert (record.reason, record.signature_count, record.created_by) == ("Same person twice", 1, organizer)
    keep.refresh_from_db()
    assert keep.is_counted


def test_it_releases_held_signatures(client, organizer, letter):
    held = Signature.objects.create(letter=letter, status=Signature.Status.HELD, company_as_written="X", held_for_review=True)
    assert letter_counts(letter).total == 0
    client.post("/organizer/signatures/signature/", {"action": "release", "_selected_action": [held.pk]})
    assert letter_counts(letter).total == 1



def test_the_company_is_set_before_publication_only(client, organizer, letter):
    from undersigned.companies.models import Company
    from undersigned.ledger.publish import publish_pending

    acme = Company.objects.create(slug="acme", name="Acme")
    held = Signature.objects.create(letter=letter, status=Signature.Status.HELD, company_as_written="ACME inc",
                                    held_for_review=True)
    page = f"/organizer/signatures/signature/{held.pk}/change/"
    assert 'name="company"' in client.get(page).content.decode()
    response = client.post(page, {"company": acme.pk, "review": held.review})
    assert response.status_code == 302, response.content.decode()[:2000]
    held.refresh_from_db()
    assert held.company == acme

    published = confirmed(letter, company_as_written="Acme")
    publish_pending(letter)
    page = f"/organizer/signatures/signature/{published.pk}/change/"
    assert 'name="company"' not in client.get(page).content.decode()  # the log has recorded it
    client.post(page, {"company": acme.pk, "review": published.review})
    published.refresh_from_db()
    assert published.company is None


def test_it_downloads_signatures_as_csv_safely(client, organizer, letter):
    confirmed(letter, name="=HYPERLINK(\"http://evil\")", show_name=True, comment="hello")
    response = client.get("/organizer/letters/demo/signatures.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "letter", "kind", "status"]
    assert rows[1][6].startswith("'=")  # a formula is neutralised


def test_it_opens_and_closes_letters_from_the_list(client, organizer):
    draft = Letter.objects.create(slug="d", title="D", body="x")
    client.post("/organizer/letters/letter/", {"action": "open_letters", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "open"
    LetterSecret.objects.create(letter=draft)
    client.post("/organizer/letters/letter/", {"action": "close_letters", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == "closed"
    assert not LetterSecret.objects.filter(letter=draft).exists()  # nobody can test addresses any more


def test_it_edits_rate_limits(client, organizer):
    response = client.get("/organizer/moderation/ratelimit/")
    assert response.status_code == 200 and b"Network address" in response.content


def test_a_publication_between_form_and_save_keeps_the_company(client, organizer, letter, monkeypatch):
    from undersigned.companies.models import Company
    from undersigned.ledger.publish import publish_pending
    from undersigned.signatures.admin import SignatureAdmin

    acme = Company.objects.create(slug="acme", name="Acme")
    signature = confirmed(letter, company_as_written="Acme")
    publish_pending(letter)
    # The form was built while the signature waited; the publisher recorded it before the save.
    monkeypatch.setattr(SignatureAdmin, "get_readonly_fields", lambda self, request, obj=None: self.readonly_fields)
    response = client.post(f"/organizer/signatures/signature/{signature.pk}/change/", {"company": acme.pk, "review": signature.review})
    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.company is None


def test_serve_prints_a_sign_in_link_only_until_an_organizer_has_signed_in(client, settings):
    from undersigned.organizers.setup import prepare_site

    first = [line for line in prepare_site(with_demo=False) if "Organizer sign-in" in line]
    assert len(first) == 1 and "/organizer/sign-in/" in first[0]
    path = first[0].rsplit(" ", 1)[1].removeprefix(settings.SITE_URL)
    assert client.post(path).status_code == 302  # the organizer signs in with it

    again = [line for line in prepare_site(with_demo=False) if "Organizer sign-in" in line]
    assert again == ["Organizer sign-in: run `undersigned organizer-link` for a one-time link."]


def test_an_edited_rate_limit_takes_effect(client, organizer, letter, mailbox):
    from tests.support.cast import signed

    limit, _ = RateLimit.objects.update_or_create(scope=RateLimit.Scope.NETWORK, letter=None,
                                                  defaults={"max_per_day": 50})
    response = client.post(f"/organizer/moderation/ratelimit/{limit.pk}/change/", {
        "scope": "network", "letter": "", "max_per_day": "1", "enabled": "on",
    })
    assert response.status_code == 302, response.content[:2000]
    assert RateLimit.objects.get(pk=limit.pk).max_per_day == 1
    client.logout()
    for number in range(2):
        signed(client, letter, mailbox, email=f"limited{number}@google.com")
    assert list(Signature.objects.order_by("id").values_list("status", flat=True)) == ["confirmed", "held"]

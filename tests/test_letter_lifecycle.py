"""A letter goes draft → open → closed → archived, and never back: a closed letter is not opened again.

Closing destroys the letter's private token keys and verification secrets and deletes its issuance
records; reopened, it would let every address get a second token, and nothing (the audit included)
could tell. So the model refuses it, and the organizer area says why.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from undersigned.letters.models import Letter

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_it_moves_forward_only():
    letter = Letter.objects.create(slug="d", title="D", body="x")
    assert not letter.close() and not letter.archive()  # a draft is opened first
    assert letter.open() and letter.status == Letter.Status.OPEN
    assert not letter.open() and not letter.archive()
    assert letter.close() and letter.status == Letter.Status.CLOSED
    assert not letter.open() and not letter.close()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.CLOSED
    assert letter.archive() and not letter.open()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.ARCHIVED


@pytest.mark.parametrize("status", [Letter.Status.CLOSED, Letter.Status.ARCHIVED])
def test_it_refuses_to_save_a_closed_letter_as_open(status):
    letter = Letter.objects.create(slug="d", title="D", body="x", status=status)
    letter.status = Letter.Status.OPEN
    with pytest.raises(ValidationError, match="cannot be opened again"):
        letter.save()
    assert Letter.objects.get(pk=letter.pk).status == status


def test_a_schedule_never_reopens_a_closed_letter(letter):
    from datetime import timedelta

    from django.utils import timezone

    letter.close()
    Letter.objects.filter(pk=letter.pk).update(opens_at=timezone.now() - timedelta(hours=1))
    Letter.apply_schedules()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.CLOSED


def test_the_organizer_area_refuses_to_reopen_and_says_why(admin_client):
    closed = Letter.objects.create(slug="c", title="Closed one", body="x")
    closed.open() and closed.close()
    draft = Letter.objects.create(slug="d", title="Draft one", body="x")
    response = admin_client.post("/organizer/letters/letter/", {
        "action": "open_letters", "_selected_action": [closed.pk, draft.pk]}, follow=True)
    text = response.content.decode()
    assert "A closed letter cannot be opened again" in text and "Closed one" in text
    assert "1 letter(s) opened." in text
    assert Letter.objects.get(pk=closed.pk).status == Letter.Status.CLOSED
    assert Letter.objects.get(pk=draft.pk).status == Letter.Status.OPEN


def test_after_closing_no_address_gets_a_second_token(letter, signer, client):
    """The review's scenario: sign, close, try to open again, ask for a code for the same address."""
    signer.sign("jane.doe@google.com")
    letter.close()
    assert not Letter.objects.get(pk=letter.pk).open()
    with pytest.raises(Exception, match="does not take signatures"):
        signer.api.request_code("jane.doe@google.com")

"""The organizer area for verification: minting invitation codes, listing them without holders, and
seeing that a closed letter's keys and secrets were destroyed."""

from __future__ import annotations

import re

import pytest

from undersigned.verification.models import Invitation, SecretsDestroyed, TokenKey

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)


@pytest.fixture
def organizer(admin_client):
    return admin_client


def test_it_mints_codes_shown_once_and_lists_them_without_holder(organizer, letter, companies, fast_keys, signer):
    response = organizer.post("/organizer/verification/invitation/mint/", {
        "letter": letter.pk, "company": companies["google"].pk, "count": 3, "days": 7})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>(google-[a-z2-7]{24})</code></li>", response.content.decode())
    assert len(codes) == 3 and len(set(codes)) == 3
    assert Invitation.objects.count() == 3
    signer.api.submit(signer.api.token_with_invitation(codes[0]))
    listing = organizer.get("/organizer/verification/invitation/").content.decode()
    for code in codes:
        assert code not in listing  # only a hint
    assert listing.count("Not used yet") == 2 and "Used" in listing
    assert "Mint invitation codes" in listing


def test_it_shows_that_a_closed_letters_secrets_were_destroyed(organizer, letter, signer):
    signer.sign("jane@google.com")
    signer.code_for("joe@amazon.com")
    keys = organizer.get("/organizer/verification/tokenkey/").content.decode()
    assert "signs tokens (encrypted at rest)" in keys
    letter.close()
    record = SecretsDestroyed.objects.get()
    assert (record.keys_destroyed, record.issuance_records_deleted, record.challenges_deleted) == (2, 1, 1)
    listing = organizer.get("/organizer/verification/secretsdestroyed/").content.decode()
    assert letter.title in listing
    keys = organizer.get("/organizer/verification/tokenkey/").content.decode()
    assert "destroyed on" in keys and "signs tokens" not in keys
    assert all(not key.sealed_private_key for key in TokenKey.objects.all())


def test_closing_deletes_unused_invitations_only(letter, companies, fast_keys, signer):
    from undersigned.verification.actions import mint_invitations

    used, unused = mint_invitations(letter, companies["google"], count=2)
    signer.api.submit(signer.api.token_with_invitation(used))
    letter.close()
    assert [i.status for i in Invitation.objects.all()] == ["used"]
    assert SecretsDestroyed.objects.get().invitations_deleted == 1
    assert unused

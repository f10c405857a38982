"""The verification API and the signer's language: the code's email in the language the page asks for
(over real SMTP, to the test SMTP sink), and refusals with a stable error_code, so that a Spanish page
shows its own message instead of the API's English one."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from undersigned.messaging.worker import deliver_due_emails
from undersigned.verification import actions, api

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.mail import SmtpSink
from tests.support.verified import client_for, fast_keys, signer  # noqa: F401 (fixtures)

ACTIONS = Path(actions.__file__)


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def smtp(settings, smtp_sink):
    """The worker sends to the real SMTP sink (aiosmtpd) shared by the browser tests."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_sink.port, 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_sink


def code_email(client, letter, smtp, email, **fields):
    seen = len(smtp.messages)
    response = post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": email, **fields})
    assert response.status_code == 202, response.content
    assert deliver_due_emails() == 1
    message = smtp.wait_for(email, after=seen)
    return message, SmtpSink.text(message)


def test_it_sends_the_code_in_the_language_asked_for(client, letter, fast_keys, smtp):
    message, text = code_email(client, letter, smtp, "ana.es@google.com", language="es")
    assert str(message["Subject"]) == "Tu código"
    assert "Tu código es" in text and "Es válido durante 15 minutos" in text
    assert "Your code" not in text and "It works" not in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Tu código es" in html
    # The answer itself stays English, the same for every address.
    english = post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": "x@gmail.com"}).json()
    spanish = post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": "x@gmail.com", "language": "es"}).json()
    assert spanish == english and english["message"].startswith("If this address can be verified")


def test_it_sends_the_code_in_english_by_default_or_when_asked(client, letter, fast_keys, smtp):
    for email, fields in (("ana.default@google.com", {}), ("ana.en@google.com", {"language": "en"})):
        message, text = code_email(client, letter, smtp, email, **fields)
        assert str(message["Subject"]) == "Your code" and "Your code is" in text and "It works for 15 minutes" in text


def test_the_code_in_a_spanish_email_gets_a_token(client, letter, fast_keys, smtp):
    _message, text = code_email(client, letter, smtp, "ana.token@google.com", language="es")
    code = re.search(r"\b(\d{8})\b", text).group(1)
    receipt = client_for(client, letter.slug).token_with_code("ana.token@google.com", code)
    assert receipt["company"] == "google"


@pytest.mark.parametrize("language", ["fr", "ES", "", 3, None, ["es"]])
def test_it_refuses_an_unknown_language(client, letter, fast_keys, mailbox, language):
    response = post(client, f"/api/v1/letters/{letter.slug}/verifications", {"email": "jane@google.com", "language": language})
    if language is None:  # null is the same as leaving it out
        assert response.status_code == 202
        return
    assert response.status_code == 400
    assert response.json() == {"error": "language must be one of: en, es.", "error_code": "invalid_language"}
    assert mailbox.deliver() == []


def test_refusals_stay_english_with_their_code_whatever_the_language(client, letter, fast_keys, mailbox):
    path = f"/api/v1/letters/{letter.slug}/verifications"
    for fields in ({}, {"language": "es"}):
        bad = post(client, path, {"email": "not an address", **fields})
        assert (bad.status_code, bad.json()) == (400, {"error": "email must be an email address.", "error_code": "invalid_email"})
    letter.close()
    for fields in ({}, {"language": "es"}):
        closed = post(client, path, {"email": "jane@google.com", **fields})
        assert closed.status_code == 409
        assert closed.json() == {"error": f"The letter '{letter.slug}' is closed and does not take signatures.",
                                 "error_code": "letter_closed"}


def test_too_many_codes_has_its_code_in_english(client, letter, fast_keys, mailbox):
    from undersigned.moderation.models import RateLimit

    RateLimit.objects.create(scope=RateLimit.Scope.NETWORK, letter=letter, max_per_day=1)
    path = f"/api/v1/letters/{letter.slug}/verifications"
    assert post(client, path, {"email": "a@gmail.com", "language": "es"}).status_code == 202
    refused = post(client, path, {"email": "b@gmail.com", "language": "es"})
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many codes were asked for from your network today. Try again tomorrow, "
                                       "or ask an organizer for an invitation code.",
                              "error_code": "too_many_codes"}


def test_token_refusals_have_codes(client, letter, signer, mailbox):
    base = f"/api/v1/letters/{letter.slug}"
    code = signer.code_for("jane@google.com")
    key = signer.api.key_for_email("jane@google.com")
    blinded = "A" * 342  # 256 bytes of zeros: in range, well-formed
    wrong = post(client, f"{base}/tokens", {"email": "jane@google.com", "code": "00000000", "key_id": key["key_id"], "blinded_msg": blinded})
    assert (wrong.status_code, wrong.json()["error_code"]) == (400, "wrong_code")
    invitation = post(client, f"{base}/tokens", {"invitation": "google-" + "a" * 24, "key_id": key["key_id"], "blinded_msg": blinded})
    assert (invitation.status_code, invitation.json()["error_code"]) == (400, "invitation_invalid")
    other_key = post(client, f"{base}/tokens", {"email": "jane@google.com", "code": code, "key_id": "0" * 64, "blinded_msg": blinded})
    assert (other_key.status_code, other_key.json()["error_code"]) == (400, "wrong_key")
    malformed = post(client, f"{base}/tokens", {"email": "jane@google.com", "code": code, "key_id": key["key_id"], "blinded_msg": "!"})
    assert (malformed.status_code, malformed.json()["error_code"]) == (400, "bad_request")
    unknown = post(client, f"{base}/tokens", {"email": "jane@google.com", "code": code, "pin": 1})
    assert unknown.json() == {"error": "Unknown field(s): pin.", "error_code": "bad_request"}
    signer.api.token_with_code("jane@google.com", code)  # the right code still works
    again = signer.code_for("jane@google.com")
    twice = post(client, f"{base}/tokens", {"email": "jane@google.com", "code": again, "key_id": key["key_id"], "blinded_msg": blinded})
    assert (twice.status_code, twice.json()["error_code"]) == (409, "already_issued")
    missing = post(client, "/api/v1/letters/no-such-letter/tokens", {"invitation": "x"})
    assert (missing.status_code, missing.json()["error_code"]) == (404, "letter_not_found")
    no_keys = client.get("/api/v1/letters/no-such-letter/keys")
    assert (no_keys.status_code, no_keys.json()["error_code"]) == (404, "letter_not_found")


def test_signature_and_withdrawal_refusals_have_codes(client, letter, signer):
    base = f"/api/v1/letters/{letter.slug}"
    token = signer.token("jane@google.com")
    submission = {"token": {"key_id": token["key_id"], "message": token["message"], "signature": token["signature"]}}
    cases = [
        ({**submission, "show_name": True}, 400, "name_required"),
        ({**submission, "name": "x" * 101}, 400, "field_too_long"),
        ({**submission, "role": "a\u200bb"}, 400, "field_invalid"),
        ({**submission, "role": 3}, 400, "field_invalid"),
        ({"token": {**submission["token"], "message": token["message"][:-4] + "AAAA"}}, 400, "token_invalid"),
        ({"token": {**submission["token"], "signature": "%%"}}, 400, "token_invalid"),
    ]
    for body, status, code in cases:
        response = post(client, f"{base}/signatures", body)
        assert (response.status_code, response.json()["error_code"]) == (status, code), body
    receipt = signer.api.submit(token)
    used = post(client, f"{base}/signatures", submission)
    assert (used.status_code, used.json()) == (409, {"error": "This token has already been used.", "error_code": "token_used"})
    short = post(client, f"{base}/withdrawals", {"withdrawal_secret": "short"})
    assert (short.status_code, short.json()["error_code"]) == (400, "withdrawal_secret_invalid")
    unknown = post(client, f"{base}/withdrawals", {"withdrawal_secret": "A" * 43})
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "signature_not_found")
    assert receipt["status"] == "confirmed"


def refusals_written_in(path: Path) -> list[tuple[int, object]]:
    """(line, code) of every ``VerificationError(status, code, …)`` made in a module."""
    tree = ast.parse(path.read_text())
    return [(node.lineno, node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else None)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "VerificationError"]


def test_every_refusal_names_a_documented_code():
    for path in (ACTIONS, ACTIONS.with_name("views.py")):
        refusals = refusals_written_in(path)
        assert refusals, path
        undocumented = [(line, code) for line, code in refusals if code not in api.ERROR_CODES]
        assert not undocumented, f"{path.name}: refusals whose code is not in api.ERROR_CODES: {undocumented}"


def test_a_refusal_made_in_spanish_answers_in_english_with_its_code():
    from django.utils import translation

    made = []
    with translation.override("es"):
        for attempt in (lambda: actions.check_address("no"),
                        lambda: actions.Display.from_data({"name": "x" * 500}),
                        lambda: actions._decode("%%", "message")):
            with pytest.raises(actions.VerificationError) as caught:
                attempt()
            made.append(caught.value)
        spanish = [error.message for error in made]
    answers = [api._refusal(error) for error in made]
    assert [(a.status, a.message, a.details) for a in answers] == [
        (400, "email must be an email address.", {"error_code": "invalid_email"}),
        (400, "name must be at most 100 characters.", {"error_code": "field_too_long"}),
        (400, "message is not valid base64url (no padding, URL-safe alphabet).", {"error_code": "token_invalid"}),
    ]
    assert all(message != answer.message for message, answer in zip(spanish, answers)), spanish  # really made in Spanish


def test_the_openapi_description_documents_language_and_codes(client, settings):
    document = client.get("/api/v1/openapi.json").json()
    schema = document["paths"]["/api/v1/letters/{slug}/verifications"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["language"]["enum"] == [code for code, _name in settings.LANGUAGES]
    refusal = document["components"]["schemas"]["VerificationRefusal"]
    assert refusal["properties"]["error_code"]["enum"] == list(api.ERROR_CODES)
    for code in api.ERROR_CODES:
        assert f"`{code}`" in refusal["description"], code

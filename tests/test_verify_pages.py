"""The verified signing pages without JavaScript (the weaker fallback), and the links to them."""

from __future__ import annotations

from undersigned.signatures.models import Signature
from undersigned.verification import protocol

from tests.support.cast import companies, letter, mailbox  # noqa: F401 (fixtures)
from tests.support.pages import page_text
from tests.support.verified import code_in, fast_keys  # noqa: F401 (fixtures)


def verify_path(letter, page="", language="en"):
    prefix = "" if language == "en" else f"/{language}"
    return f"{prefix}/letters/{letter.slug}/verify/{page}"


def test_the_letter_and_the_form_link_to_the_verified_page(client, letter):
    for path in (f"/letters/{letter.slug}/", f"/letters/{letter.slug}/sign/"):
        assert f'href="/letters/{letter.slug}/verify/"' in client.get(path).content.decode()


def test_it_states_the_honest_limits(client, letter):
    for language in ("en", "es"):
        response = client.get(verify_path(letter, language=language))
        assert response.status_code == 200
        text = page_text(response.content.decode())
        assert 'id="limits-heading"' in response.content.decode()
        if language == "en":
            assert "while the letter is open, someone holding both the database and the site's secrets" in text
            assert "Tor Browser" in text and "promises to forget" in text
            assert "Use a device and a network of your own" in text
            assert "a key of your own" in text and "runs code that this site serves" in text
        else:
            assert "Qué está protegido y qué no" in text and "Los límites, con honestidad" in text
            assert "Usa un dispositivo y una red propios" in text and "una clave solo para ti" in text


def test_it_signs_and_withdraws_without_javascript(client, letter, mailbox, fast_keys):
    response = client.post(verify_path(letter, "code/"), {"email": "Jane@Google.com"})
    assert response.status_code == 200 and 'name="code"' in response.content.decode()
    code = code_in(mailbox.deliver_one("Jane@Google.com"))
    response = client.post(verify_path(letter, "token/"), {"email": "Jane@Google.com", "code": code})
    assert response.status_code == 200, response.content.decode()
    html = response.content.decode()
    assert "Weaker fallback" in page_text(html)
    receipt_text = html.split('id="receipt-text" readonly rows="5">')[1].split("</textarea>")[0]
    receipt = protocol.read_receipt(receipt_text)
    assert receipt["company"] == "google" and len(receipt["withdrawal_secret"]) == 43
    assert Signature.objects.count() == 0  # a token, not yet a signature
    response = client.post(verify_path(letter, "submit/"), {"receipt": receipt_text, "visibility": "anonymous",
                                                            "role": "Engineer"})
    assert response.status_code == 201
    signature = Signature.objects.get()
    assert (signature.kind, signature.status, signature.company.slug, signature.role) == ("verified", "confirmed", "google", "Engineer")
    response = client.post(verify_path(letter, "withdraw/"), {"receipt": receipt_text})
    assert response.status_code == 200 and "withdrawn" in page_text(response.content.decode())
    assert Signature.objects.get().status == Signature.Status.WITHDRAWN


def test_the_pages_explain_errors(client, letter, mailbox, fast_keys):
    client.post(verify_path(letter, "code/"), {"email": "jane@google.com"})
    mailbox.deliver()
    wrong = client.post(verify_path(letter, "token/"), {"email": "jane@google.com", "code": "1"})
    assert wrong.status_code == 400 and "wrong or has expired" in wrong.content.decode()
    bad = client.post(verify_path(letter, "submit/"), {"receipt": "hello"})
    assert bad.status_code == 400 and "This is not a complete receipt" in bad.content.decode()
    no_address = client.post(verify_path(letter, "code/"), {"email": "not an address"})
    assert no_address.status_code == 400
    invitation = client.post(verify_path(letter, "token/"), {"invitation": "google-" + "a" * 24})
    assert invitation.status_code == 400



def test_the_pages_explain_errors_in_spanish(client, letter, mailbox, fast_keys):
    client.post(verify_path(letter, "code/", "es"), {"email": "jane@google.com"})
    mailbox.deliver()
    wrong = client.post(verify_path(letter, "token/", "es"), {"email": "jane@google.com", "code": "1"})
    assert wrong.status_code == 400 and "El código es incorrecto o ha caducado" in page_text(wrong.content.decode())
    bad = client.post(verify_path(letter, "submit/", "es"), {"receipt": "hola"})
    assert bad.status_code == 400 and "Esto no es un recibo completo" in page_text(bad.content.decode())
    invitation = client.post(verify_path(letter, "token/", "es"), {"invitation": "google-" + "a" * 24})
    assert "Este código de invitación no es válido" in page_text(invitation.content.decode())
    # The API is not translated (its addresses have no language prefix): English, whatever the client asks.
    path = f"/api/v1/letters/{letter.slug}/verifications"
    english = client.post(path, {"email": "not an address"}, content_type="application/json")
    assert (english.status_code, english.json()["error"]) == (400, "email must be an email address.")
    spanish = client.post(path, {"email": "not an address"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.json()["error"] == english.json()["error"]


def test_a_closed_letter_says_so(client, letter):
    letter.close()
    response = client.get(verify_path(letter))
    assert response.status_code == 403 and "closed" in page_text(response.content.decode())
    assert client.post(verify_path(letter, "code/"), {"email": "jane@google.com"}).status_code == 409


def test_the_pages_load_no_inline_script(client, letter):
    html = client.get(verify_path(letter)).content.decode()
    assert "<script>" not in html and "style=" not in html and "onclick" not in html
    assert "/static/js/verify.js" in html and "/static/js/blindrsa.bundle.js" in html

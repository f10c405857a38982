"""Our RFC 9474 code against the browser bundle (@cloudflare/blindrsa-ts) in the machine's Chromium.

A loopback HTTP server started here serves a blank page and the committed bundle, under a strict
Content Security Policy; every other request is refused. Playwright drives /usr/bin/chromium and never
downloads a browser.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from undersigned.lib import blindrsa

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUNDLE = Path(__file__).parents[1] / "src" / "undersigned" / "static" / "js" / "blindrsa.bundle.js"
VECTORS = Path(__file__).parent / "vectors" / "rfc9474_appendix_a.json"
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>blindrsa interop</title>
<script src="/blindrsa.bundle.js"></script></head><body>interop</body></html>
"""
CSP = "default-src 'none'; script-src 'self'"


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests")
    print(f"skipping: {reason}")
    pytest.skip(reason)


class _Handler(BaseHTTPRequestHandler):
    files = {"/": (PAGE, "text/html; charset=utf-8")}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/blindrsa.bundle.js":
            body, kind = BUNDLE.read_bytes(), "text/javascript; charset=utf-8"
        elif self.path in self.files:
            body, kind = self.files[self.path]
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(origin):
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            refused = []

            def only_loopback(route):
                if route.request.url.startswith(origin + "/"):
                    route.continue_()
                else:
                    refused.append(route.request.url)
                    route.abort()

            page.route("**/*", only_loopback)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(origin + "/")
            page.wait_for_function("() => !!window.UndersignedBlindRSA")
            yield page
            assert not errors, errors
            assert not refused, refused
        finally:
            browser.close()


@pytest.fixture(scope="module")
def key():
    return blindrsa.generate_private_key(2048)


def _js(page, body: str, **args):
    """Run an async function body with ``api`` and ``args`` in scope."""
    return page.evaluate(
        f"async (args) => {{ const api = window.UndersignedBlindRSA; {body} }}", args
    )


def test_it_exposes_the_api(page):
    names = _js(page, "return Object.keys(api).sort();")
    assert names == sorted(
        ["variant", "importPublicKey", "keyId", "randomMessage", "prepare", "blind", "finalize",
         "verify", "toB64url", "fromB64url"]
    )
    assert _js(page, "return api.variant;") == "RSABSSA-SHA384-PSS-Randomized"


def test_it_computes_the_same_key_id(page, key):
    spki = blindrsa.encode_public_key(key.public_key())
    assert _js(page, "return await api.keyId(args.spki);", spki=spki) == blindrsa.key_id(key.public_key())


@pytest.mark.parametrize("bits", [2048, 3072])
def test_it_signs_what_the_browser_blinded_and_the_browser_finalizes(page, key, bits):
    private_key = key if bits == 2048 else blindrsa.generate_private_key(bits)
    public_key = private_key.public_key()
    spki = blindrsa.encode_public_key(public_key)
    for _ in range(5):
        client = _js(
            page,
            """
            const key = await api.importPublicKey(args.spki);
            const message = api.randomMessage();
            const prepared = api.prepare(message);
            const { blindedMsg, inv } = await api.blind(key, prepared);
            return { message, prepared, blindedMsg, inv };
            """,
            spki=spki,
        )
        prepared = blindrsa.b64u_decode(client["prepared"])
        assert prepared[32:] == blindrsa.b64u_decode(client["message"])
        blinded = blindrsa.b64u_decode(client["blindedMsg"])
        assert blinded != prepared  # the server sees only the blinded form
        blind_sig = blindrsa.blind_sign(private_key, blinded)
        sig = _js(
            page,
            "return await api.finalize(args.spki, args.prepared, args.blindSig, args.inv);",
            spki=spki,
            prepared=client["prepared"],
            blindSig=blindrsa.b64u_encode(blind_sig),
            inv=client["inv"],
        )
        assert blindrsa.verify(public_key, prepared, blindrsa.b64u_decode(sig))


def test_it_refuses_to_finalize_a_blind_signature_from_another_key(page, key):
    other = blindrsa.generate_private_key(2048)
    spki = blindrsa.encode_public_key(key.public_key())
    while True:  # until the blinded message is in range for the other key too
        client = _js(
            page,
            """
            const prepared = api.prepare(api.randomMessage());
            return { prepared, ...(await api.blind(args.spki, prepared)) };
            """,
            spki=spki,
        )
        try:
            forged = blindrsa.blind_sign(other, blindrsa.b64u_decode(client["blindedMsg"]))
        except blindrsa.OutOfRange:
            continue
        break
    outcome = _js(
        page,
        """
        try { await api.finalize(args.spki, args.prepared, args.blindSig, args.inv); return 'finalized'; }
        catch (error) { return String(error.message); }
        """,
        spki=spki,
        prepared=client["prepared"],
        blindSig=blindrsa.b64u_encode(forged),
        inv=client["inv"],
    )
    assert outcome == "invalid signature"


def test_it_verifies_in_the_browser_what_the_python_client_made(page, key):
    public_key = key.public_key()
    spki = blindrsa.encode_public_key(public_key)
    cases = []
    for message in (b"", b"token", os.urandom(32), os.urandom(300)):
        prepared = blindrsa.prepare(message)
        blinded, inv = blindrsa.blind(public_key, prepared)
        sig = blindrsa.finalize(public_key, prepared, blindrsa.blind_sign(key, blinded), inv)
        tampered = bytearray(sig)
        tampered[17] ^= 1
        cases.append(
            {
                "prepared": blindrsa.b64u_encode(prepared),
                "sig": blindrsa.b64u_encode(sig),
                "tampered": blindrsa.b64u_encode(bytes(tampered)),
                "otherMessage": blindrsa.b64u_encode(prepared + b"!"),
            }
        )
    results = _js(
        page,
        """
        const key = await api.importPublicKey(args.spki);
        const out = [];
        for (const c of args.cases) {
          out.push([
            await api.verify(key, c.prepared, c.sig),
            await api.verify(key, c.prepared, c.tampered),
            await api.verify(key, c.otherMessage, c.sig),
          ]);
        }
        return out;
        """,
        spki=spki,
        cases=cases,
    )
    assert results == [[True, False, False]] * len(cases)


def test_it_verifies_the_rfc_vector_signatures_in_the_browser(page):
    from cryptography.hazmat.primitives.asymmetric import rsa

    results = {}
    for v in json.loads(VECTORS.read_text())["vectors"]:
        if v["variant"] != "RSABSSA-SHA384-PSS-Randomized":
            continue  # the bundle speaks the product's variant only
        public_key = rsa.RSAPublicNumbers(int(v["e"], 16), int(v["n"], 16)).public_key()
        results[v["variant"]] = _js(
            page,
            "return await api.verify(args.spki, args.prepared, args.sig);",
            spki=blindrsa.encode_public_key(public_key),
            prepared=blindrsa.b64u_encode(bytes.fromhex(v["input_msg"])),
            sig=blindrsa.b64u_encode(bytes.fromhex(v["sig"])),
        )
    assert results == {"RSABSSA-SHA384-PSS-Randomized": True}


def test_it_refuses_malformed_base64url_in_the_browser(page):
    outcome = _js(
        page,
        """
        const out = [];
        for (const bad of ['AR', 'a+b/', 'A', '=', 'AQ==']) {
          try { api.fromB64url(bad); out.push('accepted ' + bad); } catch (e) { out.push(e.name); }
        }
        out.push(api.toB64url(api.fromB64url('-_8')));
        return out;
        """,
    )
    assert outcome == ["TypeError"] * 5 + ["-_8"]


def _id_rsassa_pss_spki(public_key) -> bytes:
    """The same key as an id-RSASSA-PSS SPKI with SHA-384/MGF1-SHA-384/salt 48 parameters (RFC 4055
    §3.1), the form Privacy Pass (RFC 9578) publishes."""
    der = blindrsa.public_key_der(public_key)
    rsa_encryption = bytes.fromhex("300d06092a864886f70d0101010500")
    assert der[:2] == b"\x30\x82" and der[4:19] == rsa_encryption
    sha384 = bytes.fromhex("300d06096086480165030402020500")
    mgf1_sha384 = bytes.fromhex("301a06092a864886f70d010108") + sha384
    params = b"\xa0\x0f" + sha384 + b"\xa1\x1c" + mgf1_sha384 + bytes.fromhex("a203020130")
    algorithm = bytes.fromhex("304106092a864886f70d01010a3034") + params
    body = algorithm + der[19:]
    return b"\x30\x82" + len(body).to_bytes(2, "big") + body


def test_it_publishes_the_spki_form_that_webcrypto_imports(page, key):
    # WebCrypto (importKey "spki" for RSA-PSS) requires the rsaEncryption identifier and refuses
    # id-RSASSA-PSS with a DataError; that is why encode_public_key() publishes rsaEncryption.
    published = blindrsa.encode_public_key(key.public_key())
    pss_form = blindrsa.b64u_encode(_id_rsassa_pss_spki(key.public_key()))
    with pytest.raises(blindrsa.MalformedInput):
        blindrsa.decode_public_key(pss_form)  # and we accept one form only
    outcome = _js(
        page,
        """
        const out = [];
        for (const spki of [args.published, args.pssForm]) {
          try { await api.importPublicKey(spki); out.push('imported'); } catch (e) { out.push(e.name); }
        }
        return out;
        """,
        published=published,
        pssForm=pss_form,
    )
    assert outcome == ["imported", "DataError"]

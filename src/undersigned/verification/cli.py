"""`undersigned sign URL` and `undersigned withdraw RECEIPT`: verified signing from a terminal.

The token is blinded and finalised on this computer (undersigned.lib.blindrsa, RFC 9474), exactly as
the browser does. Over Tor: ``torsocks undersigned sign http://….onion/letters/…/`` (httpx's own
SOCKS support needs an extra package, so it is not offered here).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import click

TIMEOUT = 30.0
POLL_SECONDS = 15.0


def _split_letter_url(url: str) -> tuple[str, str]:
    """``https://site/es/letters/slug/verify/`` → ``("https://site", "slug")``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter("give the letter's address, e.g. https://letters.example.org/letters/its-name/")
    segments = [s for s in parts.path.split("/") if s]
    if "letters" not in segments or segments.index("letters") + 1 >= len(segments):
        raise click.BadParameter("the address must contain /letters/<name>/")
    at = segments.index("letters")
    prefix = "/".join(segments[:at])
    # A language prefix (/es/) belongs to the pages, not to the API.
    if len(prefix) == 2:
        prefix = ""
    base = f"{parts.scheme}://{parts.netloc}" + (f"/{prefix}" if prefix else "")
    return base, segments[at + 1]


def _client(base: str, slug: str):
    import httpx

    from undersigned.verification.client import SigningClient, Unanswered

    http = httpx.Client(base_url=base, timeout=TIMEOUT, follow_redirects=False, trust_env=True,
                        headers={"User-Agent": "undersigned-sign"})

    def answer(send, path, **body):
        try:
            response = send(path, **body)
        except httpx.HTTPError as error:  # no answer at all: refused, timed out, a proxy (Tor) failed, …
            raise Unanswered(0, f"cannot reach {base}: {type(error).__name__}: {error}") from None
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"error": response.text[:200]}

    def get(path):
        return answer(http.get, path)

    def post(path, body):
        return answer(http.post, path, json=body)

    return SigningClient(site=base, letter=slug, get=get, post=post)


def _wait_for_key_in_log(api, receipt: dict, log_key: str | None, wait_seconds: int) -> dict:
    """The token key's inclusion proof (client.SigningClient.key_log_proof), asked for again every
    POLL_SECONDS for up to ``wait_seconds`` while the key is not published yet or the site does not
    answer (a lost connection, a busy server)."""
    from undersigned.verification.client import ClientError, KeyNotLoggedYet, Unanswered

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return api.key_log_proof(receipt, log_key)
        except (KeyNotLoggedYet, Unanswered) as error:
            transient = error
        except ClientError as error:
            if not (error.status == 429 or error.status >= 500):
                raise
            transient = error
        left = deadline - time.monotonic()
        if left <= 0:
            raise transient
        what = "appear in the letter's public log" if isinstance(transient, KeyNotLoggedYet) else "be checked"
        click.echo(f"Waiting for the token's key to {what} (up to {int(left)} s more; the token is saved) …")
        time.sleep(min(POLL_SECONDS, left))


@click.command()
@click.argument("url")
@click.option("--email", help="Your work email address (asked for if not given).")
@click.option("--code", help="The code from the email (asked for if not given).")
@click.option("--invitation", help="An organizer's invitation code, instead of an email address.")
@click.option("--name", default="", help="Your name, shown only with --show-name after an organizer reviews it.")
@click.option("--role", default="", help="Your role (optional).")
@click.option("--comment", default="", help="A comment (optional, up to 500 characters).")
@click.option("--show-name", is_flag=True, help="Show your name instead of 'Anonymous'.")
@click.option("--later", is_flag=True, help="Get the token but do not submit it: save the receipt and submit it later with --submit.")
@click.option("--submit", "submit_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Submit a receipt saved earlier with --later (from any network).")
@click.option("--receipt", "receipt_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to save the receipt (default: undersigned-receipt-<letter>.json here).")
@click.option("--wait", "wait_seconds", type=click.IntRange(0, 86400), default=600, show_default=True,
              help="Seconds to wait for the token's key to appear in the letter's public log before submitting "
                   "(the log is published in batches); after that the token is saved for --submit.")
@click.option("--log-key", help="The log's public key (base64url Ed25519), as published elsewhere, to check the "
                                "site's log against instead of the key the site itself serves.")
def sign(url, email, code, invitation, name, role, comment, show_name, later, submit_path, receipt_path,
         wait_seconds, log_key):
    """Sign a letter as a verified employee, anonymously, from this terminal.

    URL is the letter's address. The program asks for your work email, then for the code emailed to
    you; it blinds a token on this computer, has it signed, submits it and saves the receipt (which
    proves the signature is yours and withdraws it: keep it private). Over Tor: torsocks undersigned sign URL.

    Before submitting, it checks that the site lists one key for your company and that the letter's public
    log holds it: a key the site gave you alone, to recognise your token by, would then be in the log for
    any audit to find, and the signed proof stays in your receipt. Pin the log's key with --log-key.
    """
    from undersigned.verification import protocol
    from undersigned.verification.client import ClientError

    base, slug = _split_letter_url(url)
    if log_key is not None:
        from undersigned.lib import treehead

        try:
            treehead.load_public_key(log_key)
        except (ValueError, TypeError) as error:
            raise click.BadParameter(f"not an Ed25519 public key in base64url ({error})", param_hint="--log-key") from None
    path = receipt_path or Path(f"undersigned-receipt-{slug}.json")
    # Before the one token is asked for: where it will be kept must be writable.
    if not os.access(path.parent.resolve() if str(path.parent) else Path.cwd(), os.W_OK):
        raise click.BadParameter(f"cannot write in {path.parent.resolve()}", param_hint="--receipt")
    api = _client(base, slug)
    if log_key is None and not later:
        click.echo("Note: the log is checked against the key the site itself serves; pin one published elsewhere "
                   "with --log-key for a stronger check.")
    try:
        if submit_path:
            receipt = protocol.read_receipt(submit_path.read_text())
        elif invitation:
            receipt = api.token_with_invitation(invitation)
        else:
            email = email or click.prompt("Work email address")
            api.request_code(email)
            key = api.key_for_email(email)
            click.echo("If the address can be verified, a code is on its way (it works for 15 minutes).")
            code = code or click.prompt("Code")
            receipt = api.token_with_code(email, code, key)
        if later:
            protocol.write_receipt_file(path, receipt)
            click.echo(f"Token saved, not submitted: {path}\nSubmit it later with: undersigned sign {url} --submit {path}")
            return
        # The token is this person's only one for the letter: on disk from here until it is redeemed,
        # whatever happens next (a wait, a refusal, a lost connection, Ctrl-C).
        if not submit_path or submit_path.resolve() != path.resolve():
            protocol.write_receipt_file(path, receipt)
        final, key_log = _check_and_submit(api, receipt, log_key, wait_seconds,
                                           dict(name=name, role=role, comment=comment, show_name=show_name), url)
    except _NotSubmitted as stop:
        raise click.ClickException(f"{stop}\nThe token is saved, not submitted: {path}\n"
                                   f"Submit it later with: undersigned sign {url} --submit {path}") from None
    except ClientError as error:
        raise click.ClickException(error.message) from None
    except protocol.BadToken as error:
        raise click.ClickException(str(error)) from None
    try:
        # The key's inclusion proof stays with the receipt: evidence of the log this signer was shown.
        protocol.write_receipt_file(path, {**final, "key_log": key_log})
    except OSError as error:  # the signature counts; the receipt must not be lost with the file
        click.echo(protocol.receipt_text({**final, "key_log": key_log}))
        raise click.ClickException(f"Signed, but the receipt could not be saved in {path} ({error}). It is printed "
                                   "above: copy it somewhere private now.") from None
    click.echo(f"Signed as a verified employee of {final['company']}. Receipt (keep it private): {path}")


class _NotSubmitted(Exception):
    """The token was not redeemed (and is saved): why, in plain words."""


def _check_and_submit(api, receipt: dict, log_key: str | None, wait_seconds: int, display: dict,
                      url: str) -> tuple[dict, dict]:
    """(the site's receipt, the key's log proof): the token redeemed once its key is in the log."""
    from undersigned.verification.client import ClientError, KeyNotLoggedYet, KeyNotTrustworthy

    try:
        key_log = _wait_for_key_in_log(api, receipt, log_key, wait_seconds)
    except KeyNotLoggedYet as error:
        raise _NotSubmitted(f"{error.message} Logs are published in batches.") from None
    except KeyNotTrustworthy as error:
        raise _NotSubmitted(f"Not submitted: {error.message}\nRedeeming this token could let the site tell who you "
                            "are. Show this message to the letter's organizers, or to whoever audits its log "
                            f"(undersigned audit {url}).") from None
    except ClientError as error:
        raise _NotSubmitted(error.message) from None
    except (KeyboardInterrupt, click.Abort):
        raise _NotSubmitted("Stopped before submitting.") from None
    try:
        return api.submit(receipt, **display), key_log
    except ClientError as error:
        if error.status:  # refused by the site (the token stays saved: a refusal says why)
            raise
        raise _NotSubmitted(error.message) from None  # no answer: the token may not have been used


@click.command()
@click.argument("receipt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def withdraw(receipt):
    """Withdraw a verified signature with its receipt file (no email needed)."""
    from undersigned.verification import protocol
    from undersigned.verification.client import ClientError

    try:
        data = protocol.read_receipt(receipt.read_text())
        if not isinstance(data.get("site"), str) or not isinstance(data.get("withdrawal_secret"), str):
            raise protocol.BadToken("The receipt has no site or no withdrawal secret.")
        api = _client(data["site"], data["letter"])
        api.withdraw(data)
    except (ClientError, protocol.BadToken) as error:
        raise click.ClickException(getattr(error, "message", str(error))) from None
    click.echo("Your signature is withdrawn.")

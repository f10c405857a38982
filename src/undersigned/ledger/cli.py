"""`undersigned audit` (check a letter's log from public data) and `undersigned export` (write it).

The checks themselves are in ``ledger/audit.py``; this module fetches, compares with what the site shows
and reports. Any failure gives exit status 1 and names the failing line and entry; bad input never
gives a traceback.
"""

from __future__ import annotations

import json
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import click

TIMEOUT = 60.0


class AuditProblem(Exception):
    """Something the auditor could not do (network, unreadable input): reported, exit status 1."""


def _console(json_output: bool = False):
    from rich.console import Console

    return Console(stderr=json_output, highlight=False, soft_wrap=True)


def _get(client, url: str, what: str):
    import httpx

    try:
        response = client.get(url)
    except httpx.HTTPError as error:
        raise AuditProblem(f"cannot fetch {what} ({url}): {type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise AuditProblem(f"cannot fetch {what} ({url}): HTTP {response.status_code}{_said(response)}")
    return response


def _said(response) -> str:
    """The site's own explanation of a refusal (the API answers errors as {"error": "…"}), if any."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f": {error[:300]}" if isinstance(error, str) and error else ""


def _get_json(client, url: str, what: str) -> dict:
    response = _get(client, url, what)
    try:
        data = response.json()
    except ValueError:
        raise AuditProblem(f"{what} ({url}) is not JSON") from None
    if not isinstance(data, dict):
        raise AuditProblem(f"{what} ({url}) is not a JSON object")
    return data


def _read_json_file(path: str, what: str):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AuditProblem(f"cannot read {what} {path}: {error}") from None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _saved_tree_head(path: str):
    from undersigned.lib.treehead import SignedTreeHead, TreeHeadError

    data = _read_json_file(path, "the saved tree head")
    if isinstance(data, dict) and "latest_tree_head" in data:  # a saved `audit --json` report
        data = data["latest_tree_head"]
    try:
        return SignedTreeHead.from_dict(data)
    except TreeHeadError as error:
        raise AuditProblem(f"{path} is not a signed tree head: {error}") from None


def _log_counts(report, roots: dict[str, str]) -> dict:
    """The log's counts keyed as the site shows them: by top parent company, None for no company."""
    counts: dict = {}
    for slug, row in report.by_company.items():
        root = roots.get(slug, slug)
        bucket = counts.setdefault(root, [0, 0])
        bucket[0] += row["verified"]
        bucket[1] += row["self_reported"]
    if report.self_reported_without_company:
        counts.setdefault(None, [0, 0])[1] += report.self_reported_without_company
    return {k: tuple(v) for k, v in counts.items() if v != [0, 0]}


def _site_counts(api_counts: dict) -> dict:
    counts: dict = {}
    for row in api_counts.get("by_company", []):
        bucket = counts.setdefault(row.get("company"), [0, 0])
        bucket[0] += int(row.get("verified", 0))
        bucket[1] += int(row.get("self_reported", 0))
    return {k: tuple(v) for k, v in counts.items() if v != [0, 0]}


def _compare_counts(report, api_counts: dict, page_counts: dict, roots: dict[str, str]) -> list[str]:
    """What differs between the log's counts and those the API and the letter page show (same shape each)."""
    problems = []
    log_rows = _log_counts(report, roots)
    for where, shown in (("the API", api_counts), ("the letter page", page_counts)):
        if report.verified != shown.get("verified"):
            problems.append(f"verified: the log counts {report.verified}, {where} shows {shown.get('verified')}")
        if report.self_reported != shown.get("self_reported"):
            problems.append(f"self-reported: the log counts {report.self_reported}, {where} shows {shown.get('self_reported')}")
        site_rows = _site_counts(shown)
        for company in sorted(set(log_rows) | set(site_rows), key=lambda c: (c is None, c or "")):
            if log_rows.get(company, (0, 0)) != site_rows.get(company, (0, 0)):
                name = company or "(no registry company)"
                lv, ls = log_rows.get(company, (0, 0))
                sv, ss = site_rows.get(company, (0, 0))
                problems.append(f"{name}: the log counts {lv} verified + {ls} self-reported, {where} shows {sv} + {ss}")
    return problems


def _fetch_and_audit(client, base: str, slug: str, trusted_key, since, workdir: Path):
    from undersigned.ledger.audit import audit_file

    export_url = f"{base}/api/v1/letters/{slug}/log/export.jsonl.gz"
    path = workdir / f"{slug}.log.jsonl.gz"
    try:
        with client.stream("GET", export_url) as response:
            if response.status_code != 200:
                raise AuditProblem(f"cannot fetch the export ({export_url}): HTTP {response.status_code}")
            with path.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
    except AuditProblem:
        raise
    except Exception as error:  # noqa: BLE001 - network trouble of any kind
        raise AuditProblem(f"cannot fetch the export ({export_url}): {type(error).__name__}: {error}") from None
    since_proof = None
    if since is not None and since.tree_head.tree_size > 0:
        data = _get_json(client, f"{base}/api/v1/letters/{slug}/log/proof/consistency?first={since.tree_head.tree_size}",
                         "the consistency proof")
        since_proof = data.get("proof")
    report = audit_file(path, trusted_key=trusted_key, since=since, since_proof=since_proof)
    return report, path


class _PageCounts(HTMLParser):
    """The counts on a letter page, read from the data-* attributes of its count and its table's rows."""

    def __init__(self):
        super().__init__()
        self.counts: dict = {"by_company": []}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id") == "count-total":
            self.counts["verified"] = int(attributes["data-verified"])
            self.counts["self_reported"] = int(attributes["data-self-reported"])
        elif tag == "tr" and "data-company" in attributes:
            self.counts["by_company"].append({
                "company": attributes["data-company"] or None,
                "verified": int(attributes["data-verified"]),
                "self_reported": int(attributes["data-self-reported"]),
            })


def _page_counts(client, base: str, slug: str) -> dict:
    """The letter page's counts, in the API's shape; AuditProblem if the page does not show them."""
    page = _PageCounts()
    try:
        page.feed(_get(client, f"{base}/letters/{slug}/", "the letter page").text)
        page.close()
    except (KeyError, ValueError, TypeError):
        raise AuditProblem(f"the letter page ({base}/letters/{slug}/) shows counts this audit cannot read") from None
    if "verified" not in page.counts:
        raise AuditProblem(f"the letter page ({base}/letters/{slug}/) shows no counts this audit can read")
    return page.counts


def _print_report(console, report, extra_failures: list[str], source: str) -> None:
    from rich.table import Table

    console.print(f"[bold]Audit of {report.letter or '?'}[/bold] ({source})")
    table = Table(show_header=True, header_style="bold")
    table.add_column("check")
    table.add_column("result")
    checks = {f.check for f in report.failures}

    def row(name: str, text: str, failed: bool) -> None:
        table.add_row(name, f"[red]✗ FAIL[/red] {text}" if failed else f"[green]✓[/green] {text}")

    row("file", f"{report.lines} lines, {report.entries} entries", bool(checks & {"read", "format"}))
    row("tree heads", f"{report.tree_heads_verified}/{report.tree_heads} signatures valid "
        f"({'key pinned' if report.key_pinned else 'key from the export header, id ' + (report.log_key_id or '?')[:16] + '…'})",
        "tree_head" in checks)
    row("Merkle roots", "recomputed from the entries, equal to every tree head", "root" in checks)
    row("token keys", f"{report.keys} published", "key" in checks)
    row("tokens", f"{report.tokens_verified} verified signatures valid, none used twice", "token" in checks)
    row("references", f"{report.withdrawn} withdrawn, {report.invalidated} invalidated", "reference" in checks)
    if report.since is not None:
        row("since", f"the log only grew since the saved tree head ({report.since})", "since" in checks)
    console.print(table)
    console.print(f"Counts from the log: [bold]{report.verified}[/bold] verified, [bold]{report.self_reported}[/bold] "
                  f"self-reported ({report.verified + report.self_reported} in all)")
    for slug, row_counts in sorted(report.by_company.items()):
        console.print(f"  {slug}: {row_counts['verified']} verified, {row_counts['self_reported']} self-reported")
    if report.self_reported_without_company:
        console.print(f"  (no registry company): {report.self_reported_without_company} self-reported")
    for warning in report.warnings:
        console.print(f"[yellow]note:[/yellow] {warning}")
    failures = [str(f) for f in report.failures] + extra_failures
    for name, omitted in report.failures_omitted.items():
        failures.append(f"[{name}] … and {omitted} more")
    if failures:
        console.print(f"[red bold]FAILED[/red bold]: {len(failures)} problem(s)")
        for failure in failures:
            console.print("  ✗ " + failure, markup=False)
    else:
        console.print("[green bold]All checks passed.[/green bold]")


def _check_receipt(client, receipt_path: str, base: str | None, trusted_key) -> tuple[list[str], list[str]]:
    """(what passed, failures) for a signer's receipt checked against the site's log.

    A receipt made before its signature's batch was published has no inclusion proof ("log": null);
    once the proof verifies, it is written into the receipt file, so that the receipt proves inclusion
    by itself from then on.
    """
    from undersigned.lib.blindrsa import BlindRSAError, b64u_decode
    from undersigned.lib.logproof import InclusionError, verify_inclusion_answer
    from undersigned.verification.protocol import read_receipt

    try:
        text = Path(receipt_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AuditProblem(f"cannot read the receipt {receipt_path}: {error}") from None
    try:
        receipt = read_receipt(text)
        slug, message = receipt["letter"], receipt["message"]
        b64u_decode(message)
    except (ValueError, KeyError, TypeError, BlindRSAError) as error:
        raise AuditProblem(f"{receipt_path} is not a receipt: {error}") from None
    base = base or str(receipt.get("site", "")).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise AuditProblem("the receipt names no site; give the letter's address too")
    from urllib.parse import quote

    proof = _get_json(client, f"{base}/api/v1/letters/{quote(slug)}/log/proof/inclusion?message={quote(message)}",
                      "the inclusion proof of the receipt")
    passed, failed = [], []
    try:
        if not isinstance(proof, dict):
            raise InclusionError("the answer is not a JSON object")
        entry = proof.get("entry")
        if not isinstance(entry, dict) or entry.get("message") != message \
                or entry.get("signature") != receipt.get("signature") or entry.get("key_id") != receipt.get("key_id"):
            failed.append(f"[receipt] leaf {proof.get('leaf_index')}: the log entry is not this receipt's token")
        key = trusted_key
        if key is None:
            key = _get_json(client, f"{base}/api/v1/log/key", "the site's log key")["public_key"]
        sth = verify_inclusion_answer(proof, key, slug)
        passed.append(f"the receipt's token is leaf {proof['leaf_index']} of the log; the inclusion proof verifies "
                      f"against the signed tree head of size {sth.tree_head.tree_size}")
        saved = receipt.get("log")
        if isinstance(saved, dict):  # the proof the site gave when the signature was made
            saved_head = verify_inclusion_answer(saved, key, slug)
            if saved["entry"] != entry or saved["leaf_index"] != proof["leaf_index"]:
                failed.append("[receipt] the log entry differs from the one the receipt was given")
            passed.append(f"the receipt's own inclusion proof verifies against the tree head of size "
                          f"{saved_head.tree_head.tree_size} it was given")
        elif not failed:
            keep = {"leaf_index": proof["leaf_index"], "entry": entry, "proof": proof["proof"], "tree_head": proof["tree_head"]}
            _rewrite_receipt(Path(receipt_path), text, {**receipt, "log": keep})
            passed.append(f"the receipt had no inclusion proof yet: this one is now saved in {receipt_path}")
    except (KeyError, TypeError, InclusionError) as error:
        failed.append(f"[receipt] the inclusion proof does not verify: {error}")
        return passed, failed
    if "key_log" in receipt:
        _check_key_log(client, f"{base}/api/v1/letters/{quote(slug)}/log", receipt, key, sth, passed, failed)
    return passed, failed


def _check_key_log(client, log_url: str, receipt: dict, key, latest, passed: list[str], failed: list[str]) -> None:
    """The token key's entry that `undersigned sign` checked before redeeming (the receipt's ``key_log``)
    must be in the log the site shows now: its proof verifies, it is this token's key, and the tree head it
    was proved under is consistent with ``latest``. Otherwise the site showed this signer a log of their
    own then. (Only comparing tree heads with other people shows that the log shown now is theirs too.)"""
    from undersigned.lib import merkle
    from undersigned.lib.blindrsa import BlindRSAError, b64u_decode
    from undersigned.lib.logproof import InclusionError, check_key_entry, verify_inclusion_answer

    key_log = receipt["key_log"]
    try:
        shown = verify_inclusion_answer(key_log, key, receipt["letter"]).tree_head
        check_key_entry(key_log["entry"], company=receipt.get("company"), key_id=receipt.get("key_id"),
                        message=b64u_decode(receipt["message"]), signature=b64u_decode(receipt["signature"]))
        now = latest.tree_head
        if shown.tree_size > now.tree_size:
            raise InclusionError(f"it was shown a tree of {shown.tree_size} entries; the log has {now.tree_size} now")
        if shown.tree_size == now.tree_size:
            if shown.root_hash != now.root_hash:
                raise InclusionError(f"two different trees of {now.tree_size} entries were signed")
        else:
            answer = _get_json(client, f"{log_url}/proof/consistency?first={shown.tree_size}&second={now.tree_size}",
                               "the consistency proof of the key's tree head")
            merkle.verify_consistency(shown.tree_size, now.tree_size, shown.root_hash, now.root_hash,
                                      [b64u_decode(h) for h in answer.get("proof", [])])
    except (KeyError, TypeError, ValueError, AttributeError, BlindRSAError) as error:  # InclusionError, ProofError …
        failed.append(f"[receipt] the token key's log entry the signer was shown is not in the log shown now: {error}")
        return
    size = f"{shown.tree_size} entr{'y' if shown.tree_size == 1 else 'ies'}"
    passed.append(f"the token's key was in the log the signer was shown (leaf {key_log['leaf_index']} of a tree of "
                  f"{size}), and that log is part of the one the site shows now")


def _rewrite_receipt(path: Path, old_text: str, receipt: dict) -> None:
    """Replace the receipt file, in the form it had (the one-line text, or JSON)."""
    from undersigned.verification.protocol import RECEIPT_TEXT_PREFIX, write_receipt_file

    write_receipt_file(path, receipt, one_line=old_text.strip().startswith(RECEIPT_TEXT_PREFIX))


@click.command()
@click.argument("url", required=False)
@click.option("--file", "export_file", type=click.Path(dir_okay=False), help="Audit a downloaded export (offline) instead of fetching one.")
@click.option("--since", "since_file", type=click.Path(dir_okay=False), help="A signed tree head saved earlier (or a saved --json report): check that the log only grew since.")
@click.option("--receipt", "receipt_file", type=click.Path(dir_okay=False), help="A signer's receipt: check that its signature is in the log (inclusion proof).")
@click.option("--key", "trusted_key", help="The site's log key (base64url Ed25519 public key) to trust instead of the one in the export.")
@click.option("--save-tree-head", "save_file", type=click.Path(dir_okay=False), help="Write the latest verified tree head here, for a later --since.")
@click.option("--json", "json_output", is_flag=True, help="Print the report as JSON on standard output.")
def audit(url, export_file, since_file, receipt_file, trusted_key, save_file, json_output):
    """Check a letter's public log: signatures, roots, tokens and the counts the site shows.

    URL is the letter's page (https://host/letters/SLUG/). With --file, the check is offline.
    Exit status 0 when every check passes, 1 otherwise.
    """
    console = _console(json_output)
    try:
        ok = _audit(console, url, export_file, since_file, receipt_file, trusted_key, save_file, json_output)
    except AuditProblem as problem:
        console.print(f"FAILED: {problem}", markup=False)
        sys.exit(1)
    except click.ClickException:
        raise
    except Exception as error:  # noqa: BLE001 - never a traceback on bad input
        console.print(f"FAILED: unexpected problem: {type(error).__name__}: {error}", markup=False)
        sys.exit(1)
    sys.exit(0 if ok else 1)


def _audit(console, url, export_file, since_file, receipt_file, trusted_key, save_file, json_output) -> bool:
    import httpx

    from undersigned.ledger.audit import audit_file

    if not url and not export_file and not receipt_file:
        raise click.UsageError("give the letter's address, or --file EXPORT, or --receipt FILE")
    since = _saved_tree_head(since_file) if since_file else None
    base = slug = None
    if url:
        from undersigned.verification.cli import _split_letter_url

        base, slug = _split_letter_url(url)
    extra, passed = [], []
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as client, tempfile.TemporaryDirectory() as tmp:
        report = None
        if export_file:
            report = audit_file(export_file, trusted_key=trusted_key, since=since)
            source = export_file
        elif url:
            for attempt in range(3):  # a publication between two requests changes the counts: ask again
                report, _path = _fetch_and_audit(client, base, slug, trusted_key, since, Path(tmp))
                api = _get_json(client, f"{base}/api/v1/letters/{slug}", "the letter's counts")
                page = _page_counts(client, base, slug)
                companies = _get_json(client, f"{base}/api/v1/companies", "the company registry")
                roots = {c.get("slug"): c.get("root") for c in companies.get("companies", [])}
                extra = [f"[counts] {p}" for p in _compare_counts(report, api.get("counts", {}), page, roots)]
                if not extra or not report.ok:
                    break
            passed.append("the counts equal what the letter page and the API show")
            source = url
        if receipt_file:
            ok_lines, failed = _check_receipt(client, receipt_file, base, trusted_key)
            passed += ok_lines
            extra += failed
    if report is not None:
        if save_file and report.latest_tree_head is not None and not report.failures:
            Path(save_file).write_text(json.dumps(report.latest_tree_head.to_dict(), indent=2) + "\n")
        if json_output:
            data = report.to_dict()
            data["ok"] = report.ok and not extra
            data["other_failures"] = extra
            click.echo(json.dumps(data, indent=2))
        else:
            _print_report(console, report, extra, source)
            if not extra:
                for line in passed:
                    console.print(f"[green]✓[/green] {line}")
        return report.ok and not extra
    for line in passed:
        console.print(f"[green]✓[/green] {line}")
    for line in extra:
        console.print("✗ " + line, markup=False)
    console.print("[red bold]FAILED[/red bold]" if extra else "[green bold]The receipt checks out.[/green bold]")
    return not extra


@click.command()
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write it (default: SLUG.log.jsonl.gz).")
def export(slug, output):
    """Write a letter's complete log (gzip JSON Lines) for `undersigned audit --file`."""
    from undersigned.ledger.export import write_export
    from undersigned.letters.models import Letter

    letter = Letter.objects.filter(slug=slug).first()
    if letter is None:
        raise click.ClickException(f"there is no letter {slug!r}")
    path = output or f"{slug}.log.jsonl.gz"
    with open(path, "wb") as f:
        size = write_export(letter, f)
    click.echo(f"Wrote {path} ({size} bytes). Check it with: undersigned audit --file {path}")


@click.command("rotate-log-key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rotate_log_key(yes):
    """Replace the instance's tree-head signing key (after a compromise, or on a schedule).

    The new key signs every tree head from now on; a statement signed by both keys, published in every
    export, lets auditors who trust the old key follow to the new one (lib/treehead.py). Announce the
    new key id on the site as well.
    """
    from undersigned.ledger import keys
    from undersigned.ledger.models import InstanceKey

    if not InstanceKey.objects.filter(retired=False).exists():
        raise click.ClickException("there is no log key yet (it is made with the first tree head): nothing to rotate")
    old = keys.current_key()
    if not yes:
        click.confirm(f"Replace the log key {old.key_id}?", abort=True)
    new = keys.rotate()
    click.echo(f"The log key {old.key_id} is retired; tree heads are signed from now on by {new.key_id}.\n"
               "Announce the new key id on the site; exports carry the rotation statement signed by both keys.")

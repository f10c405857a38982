"""A verified signing flow on a SQLite file, then closings, then a search of the raw database files.

Run in a child process (``python -m tests.support.remnants DATA_DIR``): the test suite's own database is
in memory and has no write-ahead log, and its tests run inside transactions (VACUUM cannot). With
DATABASE_URL naming a PostgreSQL server, the flow runs on a new database there, and what is compared is
each table's file number (VACUUM FULL writes the table to a new file) instead of the files' bytes. Prints one JSON object: for each closing, which of the values it
should have erased are still somewhere in the bytes of ``undersigned.sqlite3`` or ``-wal``. Another
connection stays open the whole time, as a second server process would: with it, SQLite never removes
the ``-wal`` file by itself.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import sys
from pathlib import Path


def main(data_dir: str) -> dict:
    os.environ["DATA_DIR"] = data_dir
    postgres = os.getenv("DATABASE_URL", "").startswith("postgres")
    if postgres:  # a database of its own, created empty
        from tests.support.site import _fresh_postgres_database, drop_postgres_database

        server_url = os.environ["DATABASE_URL"]
        os.environ["DATABASE_URL"], _name = _fresh_postgres_database(server_url)
    os.environ["PUBLICATION_INTERVAL"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "undersigned.settings_test"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", interactive=False, verbosity=0)
    settings.ALLOWED_HOSTS.append("testserver")

    from tests.support.verified import client_for, key_pool
    from undersigned.companies.models import Company, EmailDomain
    from undersigned.letters.models import Letter, LetterSecret
    from undersigned.messaging.models import OutgoingEmail
    from undersigned.messaging.worker import deliver_due_emails, run_scheduled_jobs
    from undersigned.verification import actions, keys
    from undersigned.verification.models import Issuance, SecretsDestroyed, TokenKey, VerificationSecret

    pool = itertools.cycle(key_pool(2))
    keys.generate_private_key = lambda bits=2048: next(pool)
    actions.CHECKPOINT_TRIES = 2  # the busy case below should not wait long
    google = Company.objects.create(slug="google", name="Google")
    EmailDomain.objects.create(domain="google.com", company=google)
    path = Path(settings.DATABASES["default"]["NAME"])
    if postgres:
        import psycopg

        other_process = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    else:
        other_process = sqlite3.connect(path, isolation_level=None)  # autocommit: no snapshot between reads
    other_process.execute("SELECT count(*) FROM letters_letter").fetchall()
    client = Client()

    def open_letter_with_signatures(slug: str) -> tuple[Letter, list[bytes]]:
        letter = Letter.objects.create(slug=slug, language="en", status="open", title=slug, body="b")
        api = client_for(client, slug)
        needles = []
        for number in range(5):
            email = f"person{number}@google.com"
            api.request_code(email)
            message = OutgoingEmail.objects.order_by("-id").first()
            needles.append(message.sealed_recipient.encode())
            code = re.search(r"\b(\d{8})\b", message.body_text).group(1)
            api.submit(api.token_with_code(email, code))
        client.post(f"/letters/{slug}/sign/", {"company": "Google", "email": "self@google.com", "visibility": "anonymous"})
        secret = VerificationSecret.objects.get(letter=letter)
        needles += [secret.digest_key, secret.sealed_digest_key.encode()]
        needles += [bytes(digest) for digest in Issuance.objects.filter(letter=letter).values_list("address_digest", flat=True)]
        needles += [sealed.encode() for sealed in TokenKey.objects.filter(letter=letter).values_list("sealed_private_key", flat=True)]
        letter_secret = LetterSecret.objects.get(letter=letter)
        needles += [letter_secret.email_digest_key, letter_secret.sealed_email_digest_key.encode()]
        deliver_due_emails()  # the outbox rows are deleted once sent
        return letter, needles

    def found(needles: list[bytes]) -> dict[str, int]:
        if postgres:  # the server's files are not ours to read: the table files' numbers are compared
            with connection.cursor() as cursor:
                return {table: _filenode(cursor, table) for table in actions.SECRET_TABLES}
        files = {}
        for file in sorted(path.parent.glob(path.name + "*")):
            blob = file.read_bytes()
            files[file.name] = sum(needle in blob for needle in needles)
        return files

    result = {}
    # 1. A closing while no other connection is reading: erased at once.
    letter, needles = open_letter_with_signatures("first")
    result["needles"] = len(needles)
    # Copy the pages into the database file too (as SQLite's automatic checkpoints do), so that both
    # files hold the secrets before the closing.
    if not postgres:
        other_process.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    result["before_closing"] = found(needles)
    letter.close()
    result["erased_at_closing"] = SecretsDestroyed.objects.get(letter=letter).remnants_erased_at is not None
    Letter.objects.create(slug="later", language="en", status="open", title="later", body="b")  # later writes
    result["first"] = found(needles)

    # 2. A closing while another connection reads an older snapshot (PostgreSQL: holds a lock that VACUUM
    # FULL waits for): left to the worker, which finishes it.
    letter, needles = open_letter_with_signatures("second")
    result["before_second"] = found(needles)
    other_process.execute("BEGIN")
    other_process.execute("SELECT count(*) FROM verification_issuance").fetchall()
    letter.close()
    result["erased_while_busy"] = SecretsDestroyed.objects.get(letter=letter).remnants_erased_at is not None
    other_process.execute("COMMIT")
    run_scheduled_jobs()
    result["erased_by_worker"] = SecretsDestroyed.objects.get(letter=letter).remnants_erased_at is not None
    result["second"] = found(needles)
    other_process.close()
    if postgres:
        connection.close()
        drop_postgres_database(server_url, _name)
    return result


def _filenode(cursor, table: str) -> int:
    cursor.execute("SELECT pg_relation_filenode(%s::regclass)", [table])
    return cursor.fetchone()[0]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))

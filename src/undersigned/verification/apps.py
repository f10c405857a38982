from django.apps import AppConfig


def _secure_delete(sender, connection, **kwargs):  # noqa: ARG001
    # Deleted rows (issuance records, challenges, secrets) are overwritten with zeros in the database
    # file, not just unlinked. That alone is not enough in WAL mode: the -wal file keeps the pages as
    # they were before the deletion, so a closing also truncates it (actions.erase_remnants). PostgreSQL
    # keeps dead rows until its tables are rewritten: see protocol.md, "Remnants on disk".
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


class VerificationConfig(AppConfig):
    name = "undersigned.verification"

    def ready(self):
        from django.db.backends.signals import connection_created

        connection_created.connect(_secure_delete, dispatch_uid="undersigned-verification-secure-delete")

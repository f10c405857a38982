from django.apps import AppConfig


def _secure_delete(sender, connection, **kwargs):  # noqa: ARG001
    # Deleted rows (issuance records, challenges) are overwritten on disk, not just unlinked, so that a
    # copy of the SQLite file taken after a letter closes holds no remnant of them. (PostgreSQL keeps
    # dead rows until VACUUM: see protocol.md.)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


class VerificationConfig(AppConfig):
    name = "undersigned.verification"

    def ready(self):
        from django.db.backends.signals import connection_created

        connection_created.connect(_secure_delete, dispatch_uid="undersigned-verification-secure-delete")

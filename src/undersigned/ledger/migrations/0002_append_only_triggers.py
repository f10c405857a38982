"""Database-level guard: UPDATE and DELETE on log entries and tree heads fail, whatever the code path
(``_append_only.py``)."""

from django.db import migrations

from undersigned.ledger.migrations._append_only import create_triggers, drop_triggers

TABLES = ("ledger_logentry", "ledger_treeheadrecord")


def create(apps, schema_editor):
    create_triggers(schema_editor, TABLES)


def drop(apps, schema_editor):
    drop_triggers(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]

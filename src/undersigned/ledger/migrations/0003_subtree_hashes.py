"""Subtree hashes (ledger/subtrees.py), append-only like the entries: the same triggers as 0002.

Filled for logs published before by 0004.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "ledger_subtreehash"


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # ledger_append_only() is 0002's function; created again in case 0002 ran on another engine's dump.
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the transparency log is append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$",
            None,  # no interpolation: the % are PL/pgSQL's
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )
    elif vendor == "sqlite":
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, 'the transparency log is append-only ({op} on {TABLE})'); END"
            )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    elif vendor == "sqlite":
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{op}")


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_append_only_triggers'),
    ]

    operations = [
        migrations.CreateModel(
            name='SubtreeHash',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('height', models.PositiveSmallIntegerField()),
                ('index', models.PositiveBigIntegerField()),
                ('hash', models.BinaryField(max_length=32)),
                ('log', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='subtrees', to='ledger.letterlog')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('log', 'height', 'index'), name='one_subtree_per_position')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]

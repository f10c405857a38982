"""Subtree hashes (ledger/subtrees.py), append-only like the entries: the same triggers as 0002 (_append_only.py).

Filled for logs published before by 0004.
"""

import django.db.models.deletion
from django.db import migrations, models

from undersigned.ledger.migrations._append_only import create_triggers, drop_triggers

TABLE = "ledger_subtreehash"


def create(apps, schema_editor):
    create_triggers(schema_editor, [TABLE])


def drop(apps, schema_editor):
    drop_triggers(schema_editor, [TABLE])


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
        migrations.RunPython(create, drop),
    ]

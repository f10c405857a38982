"""Sealed verification secrets, invitations used yes/no, and the erasure of a closing's remnants.

In three steps (this one adds the new columns; 0003 fills them; 0004 drops the old ones) so that no
migration changes rows and the schema of one table in the same transaction (PostgreSQL refuses ALTER
TABLE with pending trigger events).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("verification", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="verificationsecret", name="sealed_digest_key",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="invitation", name="used", field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="secretsdestroyed", name="remnants_erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True,
                                       verbose_name="copies in the database log erased at"),
        ),
    ]

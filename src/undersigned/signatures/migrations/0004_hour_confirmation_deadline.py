"""The confirmation deadline of pending signatures, rounded up to the hour (models.HourDateTimeField),
for the pending signatures already there too."""

import undersigned.signatures.models
from django.db import migrations


def round_existing(apps, schema_editor):
    Signature = apps.get_model("signatures", "Signature")
    pending = Signature.objects.filter(confirmation_expires_at__isnull=False)
    for pk, deadline in pending.values_list("pk", "confirmation_expires_at").iterator():
        Signature.objects.filter(pk=pk).update(confirmation_expires_at=deadline)  # the field rounds it


class Migration(migrations.Migration):
    dependencies = [("signatures", "0003_withdrawal_secret")]

    operations = [
        migrations.AlterField(
            model_name="signature",
            name="confirmation_expires_at",
            field=undersigned.signatures.models.HourDateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(round_existing, migrations.RunPython.noop),
    ]

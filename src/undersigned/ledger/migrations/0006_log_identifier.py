"""Each log keeps the name its tree heads are signed for (LetterLog.identifier).

Before this, the name was rebuilt from SITE_URL on every use. Logs made before are given the name their
tree heads were signed with, which was the SITE_URL of the processes that published them: run this
migration with that SITE_URL (the one in production), as every other command is.
"""

from django.conf import settings
from django.db import migrations, models


def name_existing_logs(apps, schema_editor):
    LetterLog = apps.get_model("ledger", "LetterLog")
    for state in LetterLog.objects.select_related("letter").filter(identifier=""):
        state.identifier = f"{settings.SITE_URL}/letters/{state.letter.slug}"
        state.save(update_fields=["identifier"])


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_public_list_in_log_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="letterlog", name="identifier", field=models.CharField(default="", max_length=500),
            preserve_default=False,
        ),
        migrations.RunPython(name_existing_logs, migrations.RunPython.noop),
    ]

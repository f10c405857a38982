"""The email-digest key of a letter, sealed (lib/sealing.py). In three steps: see verification 0002."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("letters", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="lettersecret", name="sealed_email_digest_key",
            field=models.TextField(default="", editable=False),
        ),
    ]

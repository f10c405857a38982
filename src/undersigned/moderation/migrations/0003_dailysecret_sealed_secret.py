"""Each day's rate-limit key, sealed (lib/sealing.py). In three steps: see verification 0002."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("moderation", "0002_default_limits")]

    operations = [
        migrations.AddField(model_name="dailysecret", name="sealed_secret", field=models.TextField(default="")),
    ]

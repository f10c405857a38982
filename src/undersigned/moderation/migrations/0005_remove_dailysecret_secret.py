import undersigned.lib.sealing
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("moderation", "0004_seal_existing_daily_secrets")]

    operations = [
        migrations.RemoveField(model_name="dailysecret", name="secret"),
        migrations.AlterField(
            model_name="dailysecret", name="sealed_secret",
            field=models.TextField(default=undersigned.lib.sealing.new_sealed_secret),
        ),
    ]

import undersigned.lib.sealing
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("letters", "0003_seal_existing_email_digest_keys")]

    operations = [
        migrations.RemoveField(model_name="lettersecret", name="email_digest_key"),
        migrations.AlterField(
            model_name="lettersecret", name="sealed_email_digest_key",
            field=models.TextField(default=undersigned.lib.sealing.new_sealed_secret, editable=False),
        ),
    ]

import undersigned.lib.sealing
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("verification", "0003_seal_existing_secrets")]

    operations = [
        migrations.RemoveField(model_name="verificationsecret", name="digest_key"),
        migrations.RemoveField(model_name="invitation", name="used_on"),
        migrations.AlterField(
            model_name="verificationsecret", name="sealed_digest_key",
            field=models.TextField(default=undersigned.lib.sealing.new_sealed_secret, editable=False),
        ),
    ]

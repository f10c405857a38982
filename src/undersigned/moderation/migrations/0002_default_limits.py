from django.db import migrations


def create_default_limits(apps, schema_editor):
    RateLimit = apps.get_model("moderation", "RateLimit")
    # Generous defaults: signatures over a limit are held for review, never dropped. Offices behind
    # one address and large employers' domains are the reason the numbers are not lower.
    RateLimit.objects.get_or_create(scope="network", letter=None, defaults={"max_per_day": 50})
    RateLimit.objects.get_or_create(scope="email_domain", letter=None, defaults={"max_per_day": 2000})


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]
    operations = [migrations.RunPython(create_default_limits, migrations.RunPython.noop)]

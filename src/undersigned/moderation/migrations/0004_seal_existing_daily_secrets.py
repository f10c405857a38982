from django.db import migrations


def forward(apps, schema_editor):
    from undersigned.lib.sealing import seal_secret

    DailySecret = apps.get_model("moderation", "DailySecret")
    for row in DailySecret.objects.all():
        DailySecret.objects.filter(pk=row.pk).update(sealed_secret=seal_secret(bytes(row.secret)))


def backward(apps, schema_editor):
    from undersigned.lib.sealing import unseal_secret

    DailySecret = apps.get_model("moderation", "DailySecret")
    for row in DailySecret.objects.all():
        DailySecret.objects.filter(pk=row.pk).update(secret=unseal_secret(row.sealed_secret))


class Migration(migrations.Migration):
    dependencies = [("moderation", "0003_dailysecret_sealed_secret")]
    operations = [migrations.RunPython(forward, backward)]

from django.db import migrations


def forward(apps, schema_editor):
    from undersigned.lib.sealing import seal_secret

    LetterSecret = apps.get_model("letters", "LetterSecret")
    for row in LetterSecret.objects.all():
        LetterSecret.objects.filter(pk=row.pk).update(sealed_email_digest_key=seal_secret(bytes(row.email_digest_key)))


def backward(apps, schema_editor):
    from undersigned.lib.sealing import unseal_secret

    LetterSecret = apps.get_model("letters", "LetterSecret")
    for row in LetterSecret.objects.all():
        LetterSecret.objects.filter(pk=row.pk).update(email_digest_key=unseal_secret(row.sealed_email_digest_key))


class Migration(migrations.Migration):
    dependencies = [("letters", "0002_lettersecret_sealed_email_digest_key")]
    operations = [migrations.RunPython(forward, backward)]

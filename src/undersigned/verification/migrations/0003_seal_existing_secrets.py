"""Seal the verification secrets of open letters (lib/sealing.py) and keep only whether an invitation
was used, not the day. Closings recorded before this have their remnants erased by the worker's next
scheduled jobs (remnants_erased_at is empty)."""

from django.db import migrations


def forward(apps, schema_editor):
    from undersigned.lib.sealing import seal_secret

    VerificationSecret = apps.get_model("verification", "VerificationSecret")
    for row in VerificationSecret.objects.all():
        VerificationSecret.objects.filter(pk=row.pk).update(sealed_digest_key=seal_secret(bytes(row.digest_key)))
    Invitation = apps.get_model("verification", "Invitation")
    Invitation.objects.filter(used_on__isnull=False).update(used=True)


def backward(apps, schema_editor):
    from django.utils import timezone

    from undersigned.lib.sealing import unseal_secret

    VerificationSecret = apps.get_model("verification", "VerificationSecret")
    for row in VerificationSecret.objects.all():
        VerificationSecret.objects.filter(pk=row.pk).update(digest_key=unseal_secret(row.sealed_digest_key))
    Invitation = apps.get_model("verification", "Invitation")
    Invitation.objects.filter(used=True).update(used_on=timezone.localdate())  # the day is not known any more


class Migration(migrations.Migration):
    dependencies = [("verification", "0002_sealed_secret_used_invitations")]
    operations = [migrations.RunPython(forward, backward)]

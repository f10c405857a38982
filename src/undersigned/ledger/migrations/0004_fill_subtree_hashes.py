"""Store the subtree hashes of logs published before 0003 (one pass over each log's leaf hashes).

Half a minute (SQLite) to a minute (PostgreSQL) per million entries (bench/log_proofs.py, on a loaded
2-core machine). Proofs for these logs need the rows (ledger/subtrees.py); the publisher also refills a
log that lacks them, should an older process publish after this ran.
"""

from django.db import migrations


def fill(apps, schema_editor):
    from undersigned.ledger.subtrees import backfill

    LetterLog = apps.get_model("ledger", "LetterLog")
    LogEntry = apps.get_model("ledger", "LogEntry")
    SubtreeHash = apps.get_model("ledger", "SubtreeHash")
    for log_id in LetterLog.objects.filter(size__gt=0).order_by("pk").values_list("pk", flat=True):
        backfill(log_id, entry_model=LogEntry, subtree_model=SubtreeHash)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_subtree_hashes")]
    # Going back drops the table (0003), rows and all: nothing to undo here.
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]

from django.urls import path

from undersigned.ledger import api

urlpatterns = [
    path("log/key", api.instance_key, name="api-log-key"),
    path("letters/<slug:slug>/log", api.log_summary, name="api-letter-log"),
    path("letters/<slug:slug>/log/entries", api.entries, name="api-letter-log-entries"),
    path("letters/<slug:slug>/log/tree-head", api.tree_head, name="api-letter-log-tree-head"),
    path("letters/<slug:slug>/log/tree-heads", api.tree_heads, name="api-letter-log-tree-heads"),
    path("letters/<slug:slug>/log/proof/inclusion", api.inclusion, name="api-letter-log-inclusion"),
    path("letters/<slug:slug>/log/proof/consistency", api.consistency, name="api-letter-log-consistency"),
    path("letters/<slug:slug>/log/export.jsonl.gz", api.export, name="api-letter-log-export"),
]

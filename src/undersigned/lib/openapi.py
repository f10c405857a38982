"""The OpenAPI description of the public JSON API, assembled from one fragment per app.

Each app that serves API endpoints keeps ``openapi.json`` beside its views with ``paths`` and
``components.schemas``; this module merges them, so the description lives next to the code it describes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.http import JsonResponse

PACKAGE_DIR = Path(__file__).resolve().parent.parent
FRAGMENT_APPS = ["letters", "signatures", "verification", "ledger", "contracts", "companies"]


@cache
def openapi_document() -> dict:
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "undersigned public API",
            "version": "1",
            "description": "Open letters, their signatures and counts, the company registry and the contract record.",
        },
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {}, "parameters": {}},
    }
    for app in FRAGMENT_APPS:
        path = PACKAGE_DIR / app / "openapi.json"
        if path.exists():
            fragment = json.loads(path.read_text())
            document["paths"].update(fragment.get("paths", {}))
            for kind in ("schemas", "parameters"):
                document["components"][kind].update(fragment.get("components", {}).get(kind, {}))
    return document


def openapi_view(request):
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})

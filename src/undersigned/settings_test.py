"""Settings for the test suite: the normal settings, with a throwaway data directory."""

import os
import tempfile

os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="undersigned-test-"))

from undersigned.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; no real passwords in tests
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
COMPANY_INDEX_CHECK_SECONDS = 0  # tests change the registry between requests
RATE_LIMIT_CACHE_SECONDS = 0  # tests edit limits with queryset updates, which send no signal
PUBLICATION_INTERVAL = 0  # publish at once, so that tests see counts right away (production: batches)

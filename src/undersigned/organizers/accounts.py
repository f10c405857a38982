from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from undersigned.lib.tokens import new_token, token_digest
from undersigned.organizers.models import LoginToken

LINK_HOURS = 24


def organizer_login_link(username: str = "organizer") -> str:
    """A one-time sign-in link for ``username``, creating that organizer (with no password) if needed."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
    if created:
        user.set_unusable_password()
        user.save()
    token = new_token()
    LoginToken.objects.create(user=user, digest=token_digest(token), expires_at=timezone.now() + timedelta(hours=LINK_HOURS))
    return settings.SITE_URL + reverse("organizers:login", args=[token])

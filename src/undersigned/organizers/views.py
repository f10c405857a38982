"""Signing in with a one-time link (printed by `undersigned serve` or `undersigned organizer-link`)."""

from __future__ import annotations

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from undersigned.lib.tokens import token_digest
from undersigned.organizers.models import LoginToken


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_with_token(request, token):
    login_token = LoginToken.objects.select_related("user").filter(
        digest=token_digest(token), expires_at__gt=timezone.now()
    ).first()
    if login_token is None or not login_token.user.is_active:
        return render(request, "organizers/login_invalid.html", status=404)
    if request.method == "POST":
        # One use only: the link is gone once it has signed someone in.
        if LoginToken.objects.filter(pk=login_token.pk).delete()[0]:
            login(request, login_token.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("admin:index")
        return render(request, "organizers/login_invalid.html", status=404)
    return render(request, "organizers/login.html")

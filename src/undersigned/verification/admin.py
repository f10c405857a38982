"""The organizer area for verification: token keys (public halves only), invitation codes (listed
without any holder; minted here and shown once), and the record of each letter's destroyed secrets.

Challenges and issuance records are not shown: they hold nothing an organizer needs.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from undersigned.companies.models import Company
from undersigned.letters.models import Letter
from undersigned.verification import actions
from undersigned.verification.models import Invitation, SecretsDestroyed, TokenKey


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TokenKey)
class TokenKeyAdmin(ReadOnlyAdmin):
    list_display = ["letter", "company", "short_key_id", "created_on", "private_key"]
    list_filter = ["letter"]
    list_select_related = ["letter", "company"]
    fields = ["letter", "company", "key_id", "public_key", "created_on", "destroyed_on"]

    @admin.display(description=_("Key id"))
    def short_key_id(self, key):
        return key.key_id[:16] + "…"

    @admin.display(description=_("Private key"))
    def private_key(self, key):
        if key.is_live:
            return _("signs tokens (encrypted at rest)")
        return _("destroyed on %(day)s") % {"day": key.destroyed_on}


class MintForm(forms.Form):
    letter = forms.ModelChoiceField(Letter.objects.filter(status__in=[Letter.Status.DRAFT, Letter.Status.OPEN]), label=_("Letter"))
    company = forms.ModelChoiceField(Company.objects.order_by("name"), label=_("Company"),
                                     help_text=_("The company you verified the person works at, by other means."))
    count = forms.IntegerField(label=_("How many codes"), min_value=1, max_value=100, initial=1)
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=90, initial=7)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["hint", "letter", "company", "created_on", "expires_at", "status_shown"]
    list_filter = ["letter", "used"]
    list_select_related = ["letter", "company"]
    fields = ["hint", "letter", "company", "created_on", "expires_at", "used"]
    readonly_fields = fields
    change_list_template = "verification/admin_invitations.html"

    @admin.display(description=_("Status"))
    def status_shown(self, invitation):
        return Invitation.Status(invitation.status).label

    def has_add_permission(self, request):
        return False  # minted with the form below, which shows each code once

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("mint/", self.admin_site.admin_view(self.mint), name="verification_invitation_mint"), *super().get_urls()]

    def mint(self, request):
        if not request.user.has_perm("verification.view_invitation"):
            raise PermissionDenied
        form = MintForm(request.POST or None)
        codes = []
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                codes = actions.mint_invitations(data["letter"], data["company"], count=data["count"], days=data["days"])
            except actions.VerificationError as error:
                self.message_user(request, error.message, messages.ERROR)
        return render(request, "verification/admin_mint.html", {
            **self.admin_site.each_context(request), "form": form, "codes": codes, "title": _("Mint invitation codes"),
            "opts": self.model._meta,
        })


@admin.register(SecretsDestroyed)
class SecretsDestroyedAdmin(ReadOnlyAdmin):
    list_display = ["letter", "destroyed_at", "keys_destroyed", "issuance_records_deleted", "challenges_deleted",
                    "invitations_deleted", "remnants_erased_at"]
    list_select_related = ["letter"]


"""The moderation queue: approve or hide display names and comments, release held signatures,
invalidate with a recorded reason, download as CSV. Email digests and tokens are never shown."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from undersigned.ledger.models import LetterLog, PublishedSignature
from undersigned.ledger.publish import letter_log
from undersigned.letters.models import Letter
from undersigned.lib.csv_export import csv_response
from undersigned.moderation import actions as moderation
from undersigned.signatures.models import Signature

CSV_HEADER = ["id", "letter", "kind", "status", "company", "company_as_written", "name", "role", "comment",
              "show_name", "review", "confirmed_on"]


def csv_rows(signatures):
    for s in signatures.select_related("letter", "company").iterator():
        yield [s.pk, s.letter.slug, s.kind, s.status, s.company.name if s.company else "", s.company_as_written,
               s.name, s.role, s.comment, s.show_name, s.review, s.confirmed_on]


class InvalidationForm(forms.Form):
    reason = forms.CharField(label=_("Reason (published with the invalidation)"), widget=forms.Textarea, max_length=2000)


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ["id", "letter", "kind", "status", "company_as_written", "company", "name", "show_name", "review", "short_comment"]
    list_filter = ["review", "status", "kind", "letter", "held_for_review"]
    search_fields = ["name", "company_as_written", "role", "comment"]
    list_select_related = ["letter", "company"]
    fields = ["letter", "kind", "status", "company", "company_as_written", "name", "role", "comment", "show_name", "review", "held_for_review", "confirmed_on"]
    readonly_fields = ["letter", "kind", "status", "company_as_written", "name", "role", "comment", "show_name", "held_for_review", "confirmed_on"]
    actions = ["approve", "hide", "release", "invalidate", "download_csv"]

    @staticmethod
    def company_is_final(signature) -> bool:
        # The public log records each signature's company when it publishes it, and the counts must
        # stay equal to the log's (`undersigned audit` checks): the company can be set while a
        # self-reported signature waits (pending or held for review), not once it is published. A
        # verified signature's company is the one its token proves.
        return signature.kind == Signature.Kind.VERIFIED or PublishedSignature.objects.filter(signature=signature).exists()

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "company"] if obj is not None and self.company_is_final(obj) else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if "company" not in form.changed_data:
            return super().save_model(request, obj, form, change)
        with transaction.atomic():
            # The publisher holds this lock while it reads companies into the log: check again under it.
            LetterLog.objects.select_for_update().get(pk=letter_log(obj.letter).pk)
            if self.company_is_final(obj):
                raise PermissionDenied(_("The public log has just recorded this signature: its company can no longer change."))
            return super().save_model(request, obj, form, change)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # invalidate instead: it is recorded, with a reason

    @admin.display(description=_("Comment"))
    def short_comment(self, signature):
        return (signature.comment[:80] + "…") if len(signature.comment) > 80 else signature.comment

    @admin.action(description=_("Approve names and comments"))
    def approve(self, request, queryset):
        self.message_user(request, _("%(count)s signature(s) approved.") % {"count": moderation.approve_details(queryset)})

    @admin.action(description=_("Hide names and comments (still counted, shown as Anonymous)"))
    def hide(self, request, queryset):
        self.message_user(request, _("%(count)s signature(s) hidden.") % {"count": moderation.hide_details(queryset)})

    @admin.action(description=_("Release held signatures (count them)"))
    def release(self, request, queryset):
        self.message_user(request, _("%(count)s signature(s) released.") % {"count": moderation.release_held(queryset)})

    @admin.action(description=_("Invalidate (stop counting, with a reason)"))
    def invalidate(self, request, queryset):
        letters = set(queryset.values_list("letter", flat=True))
        if len(letters) != 1:
            self.message_user(request, _("Choose signatures of one letter at a time."), messages.ERROR)
            return None
        form = InvalidationForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            letter = Letter.objects.get(pk=letters.pop())
            record = moderation.invalidate(letter, queryset, reason=form.cleaned_data["reason"], user=request.user)
            self.message_user(request, _("%(count)s signature(s) invalidated.") % {"count": record.signature_count})
            return None
        return render(request, "admin/signatures/invalidate.html", {
            **self.admin_site.each_context(request), "form": form, "signatures": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "title": _("Invalidate signatures"),
        })

    @admin.action(description=_("Download the selected signatures as CSV"))
    def download_csv(self, request, queryset):
        return csv_response("signatures.csv", CSV_HEADER, csv_rows(queryset))


def letter_signatures_csv(request, slug):
    if not request.user.has_perm("signatures.view_signature"):
        raise PermissionDenied
    letter = get_object_or_404(Letter, slug=slug)
    return csv_response(f"{letter.slug}-signatures.csv", CSV_HEADER, csv_rows(letter.signatures.all()))

"""The contract record in the organizer area: review fuzzy suggestions, curate links."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from undersigned.contracts.models import Award, CuratedLink, LinkStatus, RecipientLink


def _relink(recipient_keys: set[str]) -> None:
    from undersigned.contracts.attribution import apply_links

    apply_links(recipient_keys=recipient_keys)


@admin.register(RecipientLink)
class RecipientLinkAdmin(admin.ModelAdmin):
    list_display = ["recipient", "company", "method", "confidence", "status", "evidence"]
    list_filter = ["status", "method"]
    search_fields = ["recipient__name", "recipient__uei", "company__name"]
    raw_id_fields = ["recipient"]
    actions = ["confirm", "reject"]

    @admin.action(description=_("Confirm: these recipients are these companies"))
    def confirm(self, request, queryset):
        with transaction.atomic():
            keys = set(queryset.values_list("recipient_id", flat=True))
            count = queryset.update(status=LinkStatus.CONFIRMED)
            _relink(keys)
        messages.success(request, _("%(count)d links confirmed; their awards now count for the company.") % {"count": count})

    @admin.action(description=_("Reject: not the same company"))
    def reject(self, request, queryset):
        with transaction.atomic():
            keys = set(queryset.values_list("recipient_id", flat=True))
            count = queryset.update(status=LinkStatus.REJECTED)
            _relink(keys)
        messages.success(request, _("%(count)d links rejected; they will not be suggested again.") % {"count": count})

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            _relink({obj.recipient_id})


@admin.register(CuratedLink)
class CuratedLinkAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "company", "note"]
    list_filter = ["kind"]
    search_fields = ["value", "company__name", "note"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        messages.info(request, _("Run `undersigned contracts link` to apply curated links to loaded awards."))


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin):
    list_display = ["piid", "recipient", "subtier_code", "obligated", "first_action_date", "status", "company", "link_method"]
    list_filter = ["status", "link_method", "subtier_code"]
    search_fields = ["award_key", "piid", "recipient__name", "description"]
    readonly_fields = [field.name for field in Award._meta.fields]

    def has_add_permission(self, request):
        return False

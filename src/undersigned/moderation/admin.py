from django.contrib import admin

from undersigned.moderation.models import Invalidation, RateLimit


@admin.register(RateLimit)
class RateLimitAdmin(admin.ModelAdmin):
    list_display = ["scope", "letter", "max_per_day", "enabled"]
    list_editable = ["max_per_day", "enabled"]
    list_filter = ["scope"]


@admin.register(Invalidation)
class InvalidationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "letter", "signature_count", "reason", "created_by"]
    readonly_fields = ["letter", "reason", "signature_count", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ModerationConfig(AppConfig):
    name = "undersigned.moderation"

    def ready(self):
        from undersigned.moderation.limits import forget_cached_limits
        from undersigned.moderation.models import RateLimit

        # An organizer's change applies at once in this process, within seconds in the others.
        post_save.connect(forget_cached_limits, sender=RateLimit, dispatch_uid="ratelimit-save")
        post_delete.connect(forget_cached_limits, sender=RateLimit, dispatch_uid="ratelimit-delete")

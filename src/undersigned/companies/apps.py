from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CompaniesConfig(AppConfig):
    name = "undersigned.companies"

    def ready(self):
        from undersigned.companies.matching import forget_registry_index
        from undersigned.companies.models import Company

        # A change made in this process is seen at once; other processes see it within CHECK_SECONDS.
        post_save.connect(forget_registry_index, sender=Company, dispatch_uid="companies-index-save")
        post_delete.connect(forget_registry_index, sender=Company, dispatch_uid="companies-index-delete")

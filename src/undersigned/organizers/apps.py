from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OrganizersConfig(AppConfig):
    name = "undersigned.organizers"
    label = "organizers"


class OrganizersAdminConfig(AdminConfig):
    """The organizer area is Django's admin, under our own site class (titles, sign-in, menus)."""

    default_site = "undersigned.organizers.site.OrganizerSite"

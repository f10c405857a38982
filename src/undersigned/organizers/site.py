from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class OrganizerSite(admin.AdminSite):
    site_header = _("undersigned — organizer area")
    site_title = _("Organizer area")
    index_title = _("Letters, signatures and the company registry")

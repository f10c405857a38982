from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language_info


def site(request):
    """Site-wide template context: the site name, the demo outbox flag, and the language switch."""
    language_links = [
        {
            "code": code,
            "name": get_language_info(code)["name_local"],
            "url": translate_url(request.get_full_path(), code) if request else "/",
        }
        for code, _name in settings.LANGUAGES
    ]
    return {"SITE_NAME": settings.SITE_NAME, "DEMO_OUTBOX": settings.DEMO_OUTBOX, "language_links": language_links}

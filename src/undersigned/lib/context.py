from django.conf import settings
from django.urls import NoReverseMatch, reverse, translate_url
from django.utils.encoding import iri_to_uri
from django.utils.translation import get_language_info, override


def _in_language(request, code: str) -> str:
    """This page's address in another language.

    What ``translate_url`` does, without resolving the path a second time: the request already knows
    which view it matched (error pages, which matched none, go through ``translate_url``).
    """
    match = getattr(request, "resolver_match", None)
    if match is None or not match.url_name:
        return translate_url(request.get_full_path(), code)
    name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
    try:
        with override(code):
            path = reverse(name, args=match.args, kwargs=match.kwargs)
    except NoReverseMatch:
        return request.get_full_path()
    query = iri_to_uri(request.META.get("QUERY_STRING", ""))
    return f"{path}?{query}" if query else path


def site(request):
    """Site-wide template context: the site name, the demo outbox flag, and the language switch."""
    language_links = [
        {"code": code, "name": get_language_info(code)["name_local"], "url": _in_language(request, code) if request else "/"}
        for code, _name in settings.LANGUAGES
    ]
    return {"SITE_NAME": settings.SITE_NAME, "DEMO_OUTBOX": settings.DEMO_OUTBOX, "language_links": language_links}

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from undersigned.lib import openapi
from undersigned.signatures.admin import letter_signatures_csv

# Pages people read are under a language prefix (/es/…) except English, so that links can be shared
# in a language and pages cached per URL; the API and the organizer area are not translated by URL.
urlpatterns = [
    path("api/v1/openapi.json", openapi.openapi_view, name="openapi"),
    path("api/v1/", include("undersigned.letters.api_urls")),
    path("api/v1/", include("undersigned.companies.api_urls")),
    path("api/v1/", include("undersigned.verification.api_urls")),
    path("api/v1/", include("undersigned.contracts.api_urls")),
    path("api/v1/", include("undersigned.ledger.api_urls")),
    path("organizer/", include("undersigned.organizers.urls")),
    path(
        "organizer/letters/<slug:slug>/signatures.csv",
        admin.site.admin_view(letter_signatures_csv),
        name="organizer-signatures-csv",
    ),
    path("organizer/", admin.site.urls),
    path("outbox/", include("undersigned.messaging.urls")),
]
urlpatterns += i18n_patterns(
    path("", include("undersigned.letters.urls")),
    path("", include("undersigned.signatures.urls")),
    path("", include("undersigned.verification.urls")),
    path("", include("undersigned.contracts.urls")),
    path("", include("undersigned.ledger.urls")),
    prefix_default_language=False,
)

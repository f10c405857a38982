from django.urls import path

from undersigned.letters import api

urlpatterns = [
    path("letters", api.letters, name="api-letters"),
    path("letters/<slug:slug>", api.letter, name="api-letter"),
    path("letters/<slug:slug>/signatures", api.signatures, name="api-letter-signatures"),
]
